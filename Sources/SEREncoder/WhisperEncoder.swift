import COpenBLAS
import Foundation
import SERModels

/// The shape of a Whisper audio encoder.
public struct WhisperEncoderShape: Equatable, Sendable, Codable {
    /// Log-mel bands of the input (80 for every Whisper before large-v3).
    public var melBands: Int
    /// Width of the hidden states.
    public var width: Int
    public var heads: Int
    public var layers: Int
    /// Width of each block's feed-forward layer (4 × width).
    public var feedForwardWidth: Int
    /// Rows of the positional table: encoder frames of a 30 s window.
    public var maximumFrames: Int

    /// Whisper-base: 6 blocks of width 512 with 8 heads.
    public static let base = WhisperEncoderShape(melBands: 80, width: 512, heads: 8, layers: 6, feedForwardWidth: 2048, maximumFrames: 1500)

    public init(melBands: Int, width: Int, heads: Int, layers: Int, feedForwardWidth: Int, maximumFrames: Int) {
        self.melBands = melBands
        self.width = width
        self.heads = heads
        self.layers = layers
        self.feedForwardWidth = feedForwardWidth
        self.maximumFrames = maximumFrames
    }

    /// The tensors an encoder of this shape needs, by name and shape: the names
    /// of ser's converted file (CTranslate2's, without `encoder/`, dots for slashes).
    public var tensorShapes: [String: [Int]] {
        var shapes: [String: [Int]] = [
            "conv1.weight": [width, melBands, 3], "conv1.bias": [width],
            "conv2.weight": [width, width, 3], "conv2.bias": [width],
            "position_encodings.encodings": [maximumFrames, width],
            "layer_norm.gamma": [width], "layer_norm.beta": [width],
        ]
        for l in 0..<layers {
            let p = "layer_\(l)."
            for norm in ["self_attention.layer_norm", "ffn.layer_norm"] {
                shapes[p + norm + ".gamma"] = [width]
                shapes[p + norm + ".beta"] = [width]
            }
            shapes[p + "self_attention.linear_0.weight"] = [3 * width, width]
            shapes[p + "self_attention.linear_0.bias"] = [3 * width]
            shapes[p + "self_attention.linear_1.weight"] = [width, width]
            shapes[p + "self_attention.linear_1.bias"] = [width]
            shapes[p + "ffn.linear_0.weight"] = [feedForwardWidth, width]
            shapes[p + "ffn.linear_0.bias"] = [feedForwardWidth]
            shapes[p + "ffn.linear_1.weight"] = [width, feedForwardWidth]
            shapes[p + "ffn.linear_1.bias"] = [width]
        }
        return shapes
    }

    /// Parameters in all.
    public var parameterCount: Int { tensorShapes.values.reduce(0) { $0 + $1.reduce(1, *) } }
}

/// Whisper's audio encoder, inference only, on OpenBLAS.
///
/// Two convolutions (kernel 3; the second with stride 2, halving the frame
/// rate to 50 per second) each followed by GELU, sinusoidal positions added,
/// then pre-LayerNorm transformer blocks (self-attention over all frames,
/// then a GELU feed-forward layer, each added back to its input) and a final
/// LayerNorm. Inputs of any length up to 30 s are encoded as they are: the
/// positional table is sliced to the frames present instead of padding to 30 s.
public final class WhisperEncoder: Sendable {
    public let shape: WhisperEncoderShape
    /// Where the weights came from, for feature caches and model files (e.g. the source digest).
    public let identity: String

    private let conv1: Linear
    private let conv2: Linear
    private let positions: [Float]
    private let finalNorm: Norm
    private let blocks: [Block]

    /// A fully connected map `y = x · Wᵀ + b` with `W` stored `outputs × inputs`.
    struct Linear: Sendable {
        let weight: [Float]
        let bias: [Float]
        let inputs: Int
        let outputs: Int

        /// `output[rows × outputs] = input[rows × inputs] · Wᵀ + b`.
        func apply(_ input: UnsafePointer<Float>, rows: Int, into output: UnsafeMutablePointer<Float>) {
            bias.withUnsafeBufferPointer { b in
                for r in 0..<rows { (output + r * outputs).update(from: b.baseAddress!, count: outputs) }
            }
            multiplyAdding(input, rows: rows, into: output)
        }

        /// `output += input · Wᵀ + b` (a residual connection).
        func accumulate(_ input: UnsafePointer<Float>, rows: Int, into output: UnsafeMutablePointer<Float>) {
            bias.withUnsafeBufferPointer { b in
                for r in 0..<rows {
                    let row = output + r * outputs
                    for c in 0..<outputs { row[c] += b[c] }
                }
            }
            multiplyAdding(input, rows: rows, into: output)
        }

        private func multiplyAdding(_ input: UnsafePointer<Float>, rows: Int, into output: UnsafeMutablePointer<Float>) {
            weight.withUnsafeBufferPointer { w in
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(outputs), Int32(inputs),
                            1, input, Int32(inputs), w.baseAddress, Int32(inputs), 1, output, Int32(outputs))
            }
        }
    }

    /// LayerNorm's gain and bias (ε = 1e-5, as Whisper).
    struct Norm: Sendable {
        let gain: [Float]
        let bias: [Float]
    }

    struct Block: Sendable {
        let attentionNorm: Norm
        let queryKeyValue: Linear
        let attentionOutput: Linear
        let feedForwardNorm: Norm
        let feedForwardIn: Linear
        let feedForwardOut: Linear
    }

    /// Why weights cannot make an encoder.
    public enum Failure: Error, Equatable, Sendable, CustomStringConvertible {
        case missingTensor(source: String, name: String)
        case wrongShape(source: String, name: String, expected: [Int], found: [Int])

        public var description: String {
            switch self {
            case .missingTensor(let source, let name):
                return "\(source): the encoder weights lack \(name); reinstall them with 'ser encoder install --force'"
            case .wrongShape(let source, let name, let expected, let found):
                return "\(source): encoder tensor \(name) is \(found), expected \(expected); reinstall with 'ser encoder install --force'"
            }
        }
    }

    /// An encoder of `shape` from named float32 tensors (see `WhisperEncoderShape.tensorShapes`).
    public init(shape: WhisperEncoderShape, tensors: [String: SafeTensorsFile.Tensor], source: String, identity: String) throws {
        for (name, expected) in shape.tensorShapes {
            guard let tensor = tensors[name] else { throw Failure.missingTensor(source: source, name: name) }
            guard tensor.shape == expected else { throw Failure.wrongShape(source: source, name: name, expected: expected, found: tensor.shape) }
        }
        func values(_ name: String) -> [Float] { tensors[name]?.values ?? [] }
        func linear(_ name: String, inputs: Int, outputs: Int) -> Linear {
            Linear(weight: values(name + ".weight"), bias: values(name + ".bias"), inputs: inputs, outputs: outputs)
        }
        func norm(_ name: String) -> Norm { Norm(gain: values(name + ".gamma"), bias: values(name + ".beta")) }
        self.shape = shape
        self.identity = identity
        // The convolutions as linear maps of their unrolled receptive fields (channel-major, then tap).
        conv1 = linear("conv1", inputs: 3 * shape.melBands, outputs: shape.width)
        conv2 = linear("conv2", inputs: 3 * shape.width, outputs: shape.width)
        positions = values("position_encodings.encodings")
        finalNorm = norm("layer_norm")
        let w = shape.width, f = shape.feedForwardWidth
        blocks = (0..<shape.layers).map { l in
            let p = "layer_\(l)."
            return Block(attentionNorm: norm(p + "self_attention.layer_norm"),
                         queryKeyValue: linear(p + "self_attention.linear_0", inputs: w, outputs: 3 * w),
                         attentionOutput: linear(p + "self_attention.linear_1", inputs: w, outputs: w),
                         feedForwardNorm: norm(p + "ffn.layer_norm"),
                         feedForwardIn: linear(p + "ffn.linear_0", inputs: w, outputs: f),
                         feedForwardOut: linear(p + "ffn.linear_1", inputs: f, outputs: w))
        }
    }

    /// Loads an encoder from ser's converted weights file (`ser encoder install`).
    public convenience init(contentsOf path: String, shape: WhisperEncoderShape = .base) throws {
        let file = try SafeTensorsFile(contentsOf: path)
        try self.init(shape: shape, tensors: file.tensors, source: path, identity: file.metadata["source_sha256"] ?? "unknown")
    }

    /// Encoder frames for `melFrames` input frames (the stride-2 convolution halves them, rounding up).
    public func outputFrames(forMelFrames melFrames: Int) -> Int { (melFrames + 1) / 2 }

    /// The longest input encoded in one pass, in mel frames (30 s).
    public var maximumMelFrames: Int { 2 * shape.maximumFrames }

    /// Every layer's hidden states for one log-mel input (`melBands × frames`,
    /// band-major, as `WhisperLogMel` gives it): `layers + 1` matrices of
    /// `outputFrames × width` (row-major, frame by frame). Entry 0 is the
    /// convolutions' output with positions added, entry `l` the output of
    /// block `l`, and the last one has the final LayerNorm applied (what
    /// Whisper's decoder reads). Inputs longer than 30 s are encoded in 30 s
    /// pieces whose frames are concatenated.
    public func hiddenStates(logMel: [Float], frames: Int) -> [[Float]] {
        precondition(logMel.count == shape.melBands * frames, "log-mel input is not \(shape.melBands) × \(frames)")
        guard frames > 0 else { return Array(repeating: [], count: shape.layers + 1) }
        if frames <= maximumMelFrames { return encodeWindow(logMel, frames: frames, offset: 0, count: frames) }
        var states = Array(repeating: [Float](), count: shape.layers + 1)
        var start = 0
        while start < frames {
            let count = min(maximumMelFrames, frames - start)
            let piece = encodeWindow(logMel, frames: frames, offset: start, count: count)
            for l in states.indices { states[l] += piece[l] }
            start += count
        }
        return states
    }

    /// Encodes mel frames `offset ..< offset + count` of a `melBands × frames` input.
    private func encodeWindow(_ logMel: [Float], frames: Int, offset: Int, count: Int) -> [[Float]] {
        let width = shape.width, bands = shape.melBands, heads = shape.heads
        let headWidth = width / heads
        let outFrames = outputFrames(forMelFrames: count)
        var states: [[Float]] = []
        states.reserveCapacity(shape.layers + 1)

        // Scratch for the whole pass, allocated once.
        var unrolled = [Float](repeating: 0, count: max(count * 3 * bands, outFrames * 3 * width))
        var convolved = [Float](repeating: 0, count: count * width)
        var x = [Float](repeating: 0, count: outFrames * width)
        var normed = [Float](repeating: 0, count: outFrames * width)
        var qkv = [Float](repeating: 0, count: outFrames * 3 * width)
        var scores = [Float](repeating: 0, count: outFrames * outFrames)
        var attended = [Float](repeating: 0, count: outFrames * width)
        var hidden = [Float](repeating: 0, count: outFrames * shape.feedForwardWidth)

        // conv1 (stride 1, padding 1): unroll each frame's 3-tap window of every band.
        logMel.withUnsafeBufferPointer { mel in
            unrolled.withUnsafeMutableBufferPointer { u in
                for t in 0..<count {
                    let row = u.baseAddress! + t * 3 * bands
                    for b in 0..<bands {
                        let source = mel.baseAddress! + b * frames + offset
                        for k in 0..<3 {
                            let s = t + k - 1
                            row[b * 3 + k] = (s >= 0 && s < count) ? source[s] : 0
                        }
                    }
                }
            }
        }
        unrolled.withUnsafeBufferPointer { u in
            convolved.withUnsafeMutableBufferPointer { c in conv1.apply(u.baseAddress!, rows: count, into: c.baseAddress!) }
        }
        Self.gelu(&convolved)
        // conv2 (stride 2, padding 1) over the frame-major conv1 output.
        convolved.withUnsafeBufferPointer { c in
            unrolled.withUnsafeMutableBufferPointer { u in
                for t in 0..<outFrames {
                    let row = u.baseAddress! + t * 3 * width
                    for k in 0..<3 {
                        let s = 2 * t + k - 1
                        if s >= 0 && s < count {
                            let source = c.baseAddress! + s * width
                            for ch in 0..<width { row[ch * 3 + k] = source[ch] }
                        } else {
                            for ch in 0..<width { row[ch * 3 + k] = 0 }
                        }
                    }
                }
            }
        }
        unrolled.withUnsafeBufferPointer { u in
            x.withUnsafeMutableBufferPointer { o in conv2.apply(u.baseAddress!, rows: outFrames, into: o.baseAddress!) }
        }
        Self.gelu(&x)
        x.withUnsafeMutableBufferPointer { o in
            positions.withUnsafeBufferPointer { p in
                for i in 0..<(outFrames * width) { o[i] += p[i] }
            }
        }
        states.append(x)

        let scale = 1 / Float(headWidth).squareRoot()
        for block in blocks {
            // Self-attention on the normalized input, added back.
            Self.layerNorm(x, block.attentionNorm, rows: outFrames, width: width, into: &normed)
            normed.withUnsafeBufferPointer { n in
                qkv.withUnsafeMutableBufferPointer { q in block.queryKeyValue.apply(n.baseAddress!, rows: outFrames, into: q.baseAddress!) }
            }
            qkv.withUnsafeBufferPointer { q in
                scores.withUnsafeMutableBufferPointer { s in
                    attended.withUnsafeMutableBufferPointer { a in
                        let stride = Int32(3 * width)
                        for h in 0..<heads {
                            let query = q.baseAddress! + h * headWidth
                            let key = query + width, value = query + 2 * width
                            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(outFrames), Int32(outFrames), Int32(headWidth),
                                        scale, query, stride, key, stride, 0, s.baseAddress!, Int32(outFrames))
                            VectorMath.softmaxRows(s.baseAddress!, rows: outFrames, columns: outFrames)
                            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(outFrames), Int32(headWidth), Int32(outFrames),
                                        1, s.baseAddress!, Int32(outFrames), value, stride, 0, a.baseAddress! + h * headWidth, Int32(width))
                        }
                    }
                }
            }
            attended.withUnsafeBufferPointer { a in
                x.withUnsafeMutableBufferPointer { o in
                    // x += attended · W_oᵀ + b_o
                    block.attentionOutput.accumulate(a.baseAddress!, rows: outFrames, into: o.baseAddress!)
                }
            }
            // Feed-forward on the normalized result, added back.
            Self.layerNorm(x, block.feedForwardNorm, rows: outFrames, width: width, into: &normed)
            normed.withUnsafeBufferPointer { n in
                hidden.withUnsafeMutableBufferPointer { h in block.feedForwardIn.apply(n.baseAddress!, rows: outFrames, into: h.baseAddress!) }
            }
            Self.gelu(&hidden)
            hidden.withUnsafeBufferPointer { h in
                x.withUnsafeMutableBufferPointer { o in
                    block.feedForwardOut.accumulate(h.baseAddress!, rows: outFrames, into: o.baseAddress!)
                }
            }
            states.append(x)
        }
        Self.layerNorm(x, finalNorm, rows: outFrames, width: width, into: &normed)
        states[states.count - 1] = normed
        return states
    }

    /// Row-wise LayerNorm with ε = 1e-5 (mean and variance accumulated in double).
    static func layerNorm(_ input: [Float], _ norm: Norm, rows: Int, width: Int, into output: inout [Float]) {
        input.withUnsafeBufferPointer { x in
            output.withUnsafeMutableBufferPointer { y in
              norm.gain.withUnsafeBufferPointer { gain in
                norm.bias.withUnsafeBufferPointer { bias in
                for r in 0..<rows {
                    let row = x.baseAddress! + r * width, out = y.baseAddress! + r * width
                    var sum = 0.0
                    for c in 0..<width { sum += Double(row[c]) }
                    let mean64 = sum / Double(width)
                    var squares = 0.0
                    for c in 0..<width { let d = Double(row[c]) - mean64; squares += d * d }
                    let mean = Float(mean64)
                    let inverse = Float(1 / (squares / Double(width) + 1e-5).squareRoot())
                    for c in 0..<width { out[c] = (row[c] - mean) * inverse * gain[c] + bias[c] }
                }
                }
              }
            }
        }
    }

    /// GELU with the error function (Whisper's `nn.GELU()`), in place.
    static func gelu(_ values: inout [Float]) {
        values.withUnsafeMutableBufferPointer { VectorMath.gelu($0) }
    }
}

extension WhisperEncoder {
    /// The encoder's GELU, exposed for tests.
    public static func testHookGELU(_ values: UnsafeMutableBufferPointer<Float>) { VectorMath.gelu(values) }
    /// The encoder's row softmax, exposed for tests.
    public static func testHookSoftmax(_ values: UnsafeMutablePointer<Float>, rows: Int, columns: Int) {
        VectorMath.softmaxRows(values, rows: rows, columns: columns)
    }
}
