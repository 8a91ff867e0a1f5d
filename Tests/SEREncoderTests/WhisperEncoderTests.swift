import Foundation
import SEREncoder
import SERFeatures
import SERModels
import SERNumerics
import SERSupport
import Testing

/// A tiny encoder's shape, so the layers can be checked against plain maths.
private let tinyShape = WhisperEncoderShape(melBands: 4, width: 8, heads: 2, layers: 2, feedForwardWidth: 16, maximumFrames: 12)

/// Random tensors for every weight of `shape`.
private func randomTensors(_ shape: WhisperEncoderShape, seed: UInt64) -> [String: SafeTensorsFile.Tensor] {
    var random = SplitMix64(seed: seed)
    var tensors: [String: SafeTensorsFile.Tensor] = [:]
    for (name, dims) in shape.tensorShapes.sorted(by: { $0.key < $1.key }) {
        let count = dims.reduce(1, *)
        let isGain = name.hasSuffix(".gamma")
        let values = (0..<count).map { _ in Float(random.nextStandardNormal()) * (isGain ? 0.2 : 0.5) + (isGain ? 1 : 0) }
        tensors[name] = SafeTensorsFile.Tensor(shape: dims, values: values)
    }
    return tensors
}

/// The encoder's maths written out naively in double precision, for the layer tests:
/// loops instead of GEMMs, the convolution by its definition, attention head by head.
private func referenceStates(_ t: [String: SafeTensorsFile.Tensor], shape s: WhisperEncoderShape, mel: [Float], frames: Int) -> [[Double]] {
    func v(_ name: String) -> [Double] { t[name]!.values.map(Double.init) }
    func gelu(_ x: Double) -> Double { 0.5 * x * (1 + erf(x / 2.0.squareRoot())) }
    func linear(_ x: [[Double]], _ name: String) -> [[Double]] {
        let w = v(name + ".weight"), b = v(name + ".bias"), inputs = x[0].count, outputs = b.count
        return x.map { row in
            (0..<outputs).map { o -> Double in
                var sum = b[o]
                for i in 0..<inputs { sum += row[i] * w[o * inputs + i] }
                return sum
            }
        }
    }
    func norm(_ x: [[Double]], _ name: String) -> [[Double]] {
        let g = v(name + ".gamma"), b = v(name + ".beta")
        return x.map { row in
            let mean = row.reduce(0, +) / Double(row.count)
            let variance = row.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(row.count)
            return row.indices.map { (row[$0] - mean) / (variance + 1e-5).squareRoot() * g[$0] + b[$0] }
        }
    }
    // conv(x)[t][o] = b[o] + Σ_c Σ_k w[o][c][k] · x[c][stride·t + k − 1]
    func conv(_ input: (Int, Int) -> Double, channels: Int, length: Int, stride: Int, _ name: String) -> [[Double]] {
        let w = v(name + ".weight"), b = v(name + ".bias"), outputs = b.count
        let outFrames = (length - 1) / stride + 1
        return (0..<outFrames).map { tt in
            (0..<outputs).map { o in
                var sum = b[o]
                for c in 0..<channels {
                    for k in 0..<3 {
                        let source = stride * tt + k - 1
                        if source >= 0 && source < length { sum += w[(o * channels + c) * 3 + k] * input(c, source) }
                    }
                }
                return gelu(sum)
            }
        }
    }
    let first = conv({ c, time in Double(mel[c * frames + time]) }, channels: s.melBands, length: frames, stride: 1, "conv1")
    var x = conv({ c, time in first[time][c] }, channels: s.width, length: frames, stride: 2, "conv2")
    let positions = v("position_encodings.encodings")
    for time in x.indices { for c in 0..<s.width { x[time][c] += positions[time * s.width + c] } }
    var states = [x.flatMap { $0 }]
    let headWidth = s.width / s.heads
    for l in 0..<s.layers {
        let p = "layer_\(l)."
        let qkv = linear(norm(x, p + "self_attention.layer_norm"), p + "self_attention.linear_0")
        var attended = Array(repeating: Array(repeating: 0.0, count: s.width), count: x.count)
        for h in 0..<s.heads {
            for i in x.indices {
                let scores = x.indices.map { j in
                    (0..<headWidth).reduce(0.0) { $0 + qkv[i][h * headWidth + $1] * qkv[j][s.width + h * headWidth + $1] } / Double(headWidth).squareRoot()
                }
                let peak = scores.max()!
                let weights = scores.map { exp($0 - peak) }
                let total = weights.reduce(0, +)
                for d in 0..<headWidth {
                    attended[i][h * headWidth + d] = x.indices.reduce(0.0) { $0 + weights[$1] / total * qkv[$1][2 * s.width + h * headWidth + d] }
                }
            }
        }
        let projected = linear(attended, p + "self_attention.linear_1")
        for i in x.indices { for c in 0..<s.width { x[i][c] += projected[i][c] } }
        let hidden = linear(norm(x, p + "ffn.layer_norm"), p + "ffn.linear_0").map { $0.map(gelu) }
        let out = linear(hidden, p + "ffn.linear_1")
        for i in x.indices { for c in 0..<s.width { x[i][c] += out[i][c] } }
        states.append(x.flatMap { $0 })
    }
    states[states.count - 1] = norm(x, "layer_norm").flatMap { $0 }
    return states
}

@Suite("Whisper encoder layers against plain maths")
struct WhisperEncoderLayerTests {
    @Test("every hidden state matches a naive double-precision forward pass", arguments: [1, 7, 12, 24, 31])
    func hiddenStatesMatchPlainMaths(frames: Int) throws {
        let tensors = randomTensors(tinyShape, seed: 5)
        let encoder = try WhisperEncoder(shape: tinyShape, tensors: tensors, source: "test", identity: "test")
        var random = SplitMix64(seed: UInt64(frames))
        let mel = (0..<(tinyShape.melBands * frames)).map { _ in Float(random.nextStandardNormal()) }
        let states = encoder.hiddenStates(logMel: mel, frames: frames)
        #expect(states.count == tinyShape.layers + 1)
        // Inputs up to 2 × 12 mel frames go in one pass; 31 frames are encoded as 24 + 7.
        let pieces = frames <= 24 ? [(0, frames)] : [(0, 24), (24, frames - 24)]
        var expected = Array(repeating: [Double](), count: tinyShape.layers + 1)
        for (start, count) in pieces {
            let slice = (0..<tinyShape.melBands).flatMap { b in mel[(b * frames + start)..<(b * frames + start + count)] }
            let reference = referenceStates(tensors, shape: tinyShape, mel: slice, frames: count)
            for l in expected.indices { expected[l] += reference[l] }
        }
        for l in states.indices {
            #expect(states[l].count == expected[l].count, "layer \(l) size")
            let worst = zip(states[l], expected[l]).map { abs(Double($0) - $1) }.max() ?? 0
            let scale = expected[l].map(abs).max() ?? 1
            #expect(worst <= 1e-4 * max(scale, 1), "layer \(l): worst difference \(worst) (scale \(scale))")
        }
    }

    @Test("the int8 path stays near the exact forward pass and is told apart from float32 in its identity")
    func int8HiddenStatesStayNearPlainMaths() throws {
        let tensors = randomTensors(tinyShape, seed: 5)
        let int8 = try WhisperEncoder(shape: tinyShape, tensors: tensors, source: "test", identity: "digest", precision: .int8)
        let float32 = try WhisperEncoder(shape: tinyShape, tensors: tensors, source: "test", identity: "digest")
        #expect(int8.identity == "digest+int8-w7g64a8" && float32.identity == "digest", "caches and models keep the precisions apart")
        var random = SplitMix64(seed: 3)
        let frames = 20
        let mel = (0..<(tinyShape.melBands * frames)).map { _ in Float(random.nextStandardNormal()) }
        let states = int8.hiddenStates(logMel: mel, frames: frames)
        let exact = referenceStates(tensors, shape: tinyShape, mel: mel, frames: frames)
        let floatStates = float32.hiddenStates(logMel: mel, frames: frames)
        for l in states.indices {
            let error = zip(states[l], exact[l]).reduce(0.0) { $0 + (Double($1.0) - $1.1) * (Double($1.0) - $1.1) }
            let energy = exact[l].reduce(0.0) { $0 + $1 * $1 }
            let relative = (error / energy).squareRoot()
            // 7-bit weights and 8-bit activations: a few per cent, growing with depth; float32 is exact to 1e-4.
            #expect(relative < 0.05, "layer \(l): int8 is \(relative) (relative RMS) from the exact pass")
            #expect(relative > 1e-4, "layer \(l): the int8 path ran (it is not float32's \(floatStates[l].first ?? 0))")
        }
    }

    @Test("a missing or misshapen tensor is refused with its name")
    func badWeightsAreRefused() {
        var tensors = randomTensors(tinyShape, seed: 1)
        tensors["layer_1.ffn.linear_0.bias"] = nil
        #expect(throws: WhisperEncoder.Failure.missingTensor(source: "w", name: "layer_1.ffn.linear_0.bias")) {
            try WhisperEncoder(shape: tinyShape, tensors: tensors, source: "w", identity: "")
        }
        tensors = randomTensors(tinyShape, seed: 1)
        tensors["conv1.weight"] = SafeTensorsFile.Tensor(shape: [8, 4, 2], values: Array(repeating: 0, count: 64))
        #expect(throws: WhisperEncoder.Failure.wrongShape(source: "w", name: "conv1.weight", expected: [8, 4, 3], found: [8, 4, 2])) {
            try WhisperEncoder(shape: tinyShape, tensors: tensors, source: "w", identity: "")
        }
    }

    @Test("pooling gives each layer's mean and population deviation over frames")
    func poolingIsMeanThenDeviation() {
        // Two frames of width 2: layer values (1, 10) and (3, 30).
        let states: [[Float]] = [[0, 0, 0, 0], [1, 10, 3, 30]]
        let pooled = WhisperEmbedder.pool(states, frames: 2, width: 2, layers: [1])
        #expect(pooled == [2, 20, 1, 10])
        // Weights 3:1 give the weighted mean (1·3 + 3·1)/4 = 1.5 and deviation √(0.25·3/4 + 2.25·1/4) = √0.75.
        let weighted = WhisperEmbedder.pool(states, frames: 2, width: 2, layers: [1], weights: [3, 1])
        #expect(abs(weighted[0] - 1.5) < 1e-6 && abs(weighted[1] - 15) < 1e-5)
        #expect(abs(weighted[2] - Float(0.75).squareRoot()) < 1e-6 && abs(weighted[3] - Float(75).squareRoot()) < 1e-4)
        #expect(WhisperEmbedder.pool(states, frames: 2, width: 2, layers: [1], weights: [0, 0]) == pooled,
                "weights that are all zero fall back to every frame alike")
    }

    @Test("frame weights follow each frame's power, whatever the gain")
    func frameWeightsFollowPowerNotGain() {
        // Four stretches of four frames each: loud, silent, quiet (20 dB lower), loud.
        let hop = WhisperEmbedder.samplesPerFrame
        var samples = [Float](repeating: 0, count: 16 * hop)
        for i in 0..<samples.count {
            let amplitude: Float = [1, 0, 0.1, 1][i / (4 * hop)]
            samples[i] = amplitude * sin(Float(i) * 0.3)
        }
        let weights = WhisperEmbedder.frameWeights(of: samples, frames: 16, exponent: 1)
        let quieter = WhisperEmbedder.frameWeights(of: samples.map { $0 * 0.01 }, frames: 16, exponent: 1)
        #expect(weights[1] > 50 * weights[9] && weights[13] > 50 * weights[9], "a loud frame outweighs a quiet one")
        #expect(weights[5] == 0 && weights[9] > 0, "a silent frame counts for nothing")
        let ratio = weights.map { $0 / weights[1] }, quieterRatio = quieter.map { $0 / quieter[1] }
        #expect(zip(ratio, quieterRatio).allSatisfy { abs($0 - $1) < 1e-4 }, "pooling with them does not depend on the gain")
        #expect(WhisperEmbedder.frameWeights(of: samples, frames: 16, exponent: 0) == [Float](repeating: 1, count: 16))
    }

    @Test("a power-weighted layout pools differently, keeps its own cache key and ignores the gain")
    func powerWeightedLayoutPoolsByPower() throws {
        let shape = WhisperEncoderShape(melBands: 80, width: 8, heads: 2, layers: 2, feedForwardWidth: 16, maximumFrames: 200)
        let embedder = try WhisperEmbedder(encoder: WhisperEncoder(shape: shape, tensors: randomTensors(shape, seed: 4),
                                                                   source: "test", identity: "t"))
        // A loud tone, then the same tone 30 dB quieter: uniform pooling counts both halves alike.
        let samples = (0..<16_000).map { i in Float(i < 8_000 ? 0.5 : 0.016) * sin(Float(i) * 0.07) }
        let uniform = SpeechEmbedding(layers: [1, 2]), weighted = SpeechEmbedding(layers: [1, 2], frameWeightExponent: 0.5)
        let a = try embedder.embedding(of: samples, sampleRate: 16000, layout: uniform)
        let b = try embedder.embedding(of: samples, sampleRate: 16000, layout: weighted)
        #expect(a.count == b.count && a.count == 2 * 2 * 8)
        #expect(zip(a, b).map { abs($0 - $1) }.max() ?? 0 > 1e-3, "weighting by power changes the pooled vector")
        #expect(uniform.cacheKey != weighted.cacheKey && uniform.cacheKey == SpeechEmbedding(layers: [1, 2]).cacheKey)
        #expect(SpeechEmbedding.everyBlock.cacheKey == "layers=1,2,3,4,5,6,v1", "vectors cached before weighting existed stay valid")
        // The weights are relative, so only the encoder's own response to level can move the vector.
        let weights = WhisperEmbedder.frameWeights(of: samples, frames: 50, exponent: 0.5)
        let louder = WhisperEmbedder.frameWeights(of: samples.map { $0 * 1.5 }, frames: 50, exponent: 0.5)
        #expect(zip(weights, louder).allSatisfy { abs($0 * 1.5 - $1) <= 1e-5 * $1 + 1e-9 })
    }

    @Test("one clip split over two threads gives the same bits as on one", arguments: [EncoderPrecision.float32, .int8])
    func twoThreadsGiveTheSameStates(precision: EncoderPrecision) throws {
        // Wide enough that the products split into several panels and GELU into two chunks.
        let shape = WhisperEncoderShape(melBands: 8, width: 64, heads: 4, layers: 2, feedForwardWidth: 256, maximumFrames: 320)
        let encoder = try WhisperEncoder(shape: shape, tensors: randomTensors(shape, seed: 3), source: "test", identity: "t",
                                         precision: precision)
        var random = SplitMix64(seed: 11)
        let frames = 300
        let mel = (0..<(shape.melBands * frames)).map { _ in Float(random.nextStandardNormal()) }
        let one = withWorkThreads(1) { encoder.hiddenStates(logMel: mel, frames: frames) }
        let two = withWorkThreads(2) { encoder.hiddenStates(logMel: mel, frames: frames) }
        #expect(one.count == shape.layers + 1)
        #expect(one == two)
    }
}

/// Builds CTranslate2's binary layout by hand (see `CTranslate2Model`'s documentation).
private struct CTranslate2Writer {
    var data = Data()
    mutating func u8(_ v: UInt8) { data.append(v) }
    mutating func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { data.append(contentsOf: $0) } }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { data.append(contentsOf: $0) } }
    mutating func string(_ s: String) { u16(UInt16(s.utf8.count + 1)); data.append(contentsOf: Array(s.utf8)); u8(0) }
    mutating func variable(_ name: String, shape: [Int], type: UInt8, bytes: Data) {
        string(name); u8(UInt8(shape.count)); shape.forEach { u32(UInt32($0)) }; u8(type); u32(UInt32(bytes.count)); data.append(bytes)
    }
    static func float16(_ values: [Float]) -> Data {
        var d = Data()
        for v in values { withUnsafeBytes(of: Float16(v).bitPattern.littleEndian) { d.append(contentsOf: $0) } }
        return d
    }
}

@Suite("CTranslate2 model files")
struct CTranslate2ModelTests {
    /// A WhisperSpec file holding `tensors` as float16 under `encoder/`, plus a decoder variable and an alias.
    private func whisperFile(_ tensors: [String: SafeTensorsFile.Tensor], heads: Int16) -> Data {
        var w = CTranslate2Writer()
        w.u32(6); w.string("WhisperSpec"); w.u32(3)
        w.u32(UInt32(tensors.count + 2))
        w.variable("decoder/embeddings/weight", shape: [3, 2], type: 4, bytes: CTranslate2Writer.float16([1, 2, 3, 4, 5, 6]))
        var headBytes = Data()
        withUnsafeBytes(of: heads.littleEndian) { headBytes.append(contentsOf: $0) }
        w.variable("encoder/num_heads", shape: [], type: 2, bytes: headBytes)
        for (name, tensor) in tensors.sorted(by: { $0.key < $1.key }) {
            w.variable("encoder/" + name.replacingOccurrences(of: ".", with: "/"), shape: tensor.shape, type: 4,
                       bytes: CTranslate2Writer.float16(tensor.values))
        }
        w.u32(1); w.string("decoder/projection/weight"); w.string("decoder/embeddings/weight")
        return w.data
    }

    @Test("variables, float16 widening, integer scalars and aliases are read")
    func readsTheLayout() throws {
        let file = whisperFile(["conv1.bias": SafeTensorsFile.Tensor(shape: [2], values: [0.5, -1.25])], heads: 8)
        let model = try CTranslate2Model(data: file, source: "m.bin")
        #expect(model.binaryVersion == 6 && model.specName == "WhisperSpec" && model.specRevision == 3)
        #expect(model.variables["encoder/conv1/bias"]?.floats() == [0.5, -1.25])
        #expect(model.variables["encoder/num_heads"]?.integer == 8)
        #expect(model.variables["decoder/embeddings/weight"]?.shape == [3, 2])
        #expect(model.aliases == ["decoder/projection/weight": "decoder/embeddings/weight"])
        let encoderOnly = try CTranslate2Model(data: file, source: "m.bin") { $0.hasPrefix("encoder/") }
        #expect(encoderOnly.variables["decoder/embeddings/weight"] == nil)
    }

    @Test("a truncated file or a size that does not match its shape is an error, never a crash")
    func damagedFilesAreRefused() {
        let file = whisperFile(["conv1.bias": SafeTensorsFile.Tensor(shape: [2], values: [1, 2])], heads: 8)
        for cut in [0, 3, 10, 40, file.count - 5] {
            #expect(throws: CTranslate2Model.Failure.self) { try CTranslate2Model(data: file.prefix(cut), source: "m.bin") }
        }
        var w = CTranslate2Writer()
        w.u32(6); w.string("WhisperSpec"); w.u32(3); w.u32(1)
        w.variable("encoder/x", shape: [1000], type: 4, bytes: Data(count: 4))
        #expect(throws: CTranslate2Model.Failure.self) { try CTranslate2Model(data: w.data, source: "m.bin") }
    }

    @Test("conversion keeps the encoder's tensors (float16 → float32), and the result builds an encoder")
    func conversionRoundTrips() throws {
        // float16-representable values, so widening is exact.
        var tensors = randomTensors(tinyShape, seed: 9)
        for key in tensors.keys { tensors[key]!.values = tensors[key]!.values.map { Float(Float16($0)) } }
        let source = EncoderSource(name: "tiny", packages: [], modelParts: [], licensePath: "", licenseName: "MIT",
                                   modelSHA256: "", shape: tinyShape)
        let converted = try EncoderInstaller.convert(whisperFile(tensors, heads: 2), source: source, digest: "abc")
        #expect(converted.tensors == tensors)
        #expect(converted.metadata["source_sha256"] == "abc")
        _ = try WhisperEncoder(shape: tinyShape, tensors: converted.tensors, source: "tiny", identity: "abc")
        #expect(throws: EncoderInstaller.Failure.unexpectedModel(reason: "4 attention heads, expected 2")) {
            try EncoderInstaller.convert(whisperFile(tensors, heads: 4), source: source, digest: "abc")
        }
    }
}

@Suite("Encoder vector maths")
struct EncoderVectorMathTests {
    @Test("GELU matches x·(1 + erf(x/√2))/2 within 1e-6 absolute from −10 to 10")
    func geluMatchesTheErrorFunction() {
        var values = stride(from: -10.0, through: 10.0, by: 0.001).map { Float($0) }
        let expected = values.map { x in 0.5 * Double(x) * (1 + erf(Double(x) / 2.0.squareRoot())) }
        values.withUnsafeMutableBufferPointer { WhisperEncoder.testHookGELU($0) }
        let worst = zip(values, expected).map { abs(Double($0) - $1) }.max() ?? .infinity
        #expect(worst < 1e-6, "worst GELU error \(worst)")
    }

    @Test("softmax rows sum to one and match exp(x − max)/Σ within 1e-6 relative", arguments: [1, 7, 8, 61, 200])
    func softmaxMatches(columns: Int) {
        var random = SplitMix64(seed: UInt64(columns))
        var values = (0..<(3 * columns)).map { _ in Float(random.nextStandardNormal() * 6) }
        values[0] = -200   // far below the peak: exactly 0 after exp
        let expected: [Double] = (0..<3).flatMap { r -> [Double] in
            let row = values[(r * columns)..<((r + 1) * columns)].map(Double.init)
            let peak = row.max()!
            let e = row.map { exp($0 - peak) }
            return e.map { $0 / e.reduce(0, +) }
        }
        values.withUnsafeMutableBufferPointer { WhisperEncoder.testHookSoftmax($0.baseAddress!, rows: 3, columns: columns) }
        for (got, want) in zip(values, expected) { #expect(abs(Double(got) - want) <= 1e-6 * max(want, 1e-3) + 1e-9) }
    }
}
