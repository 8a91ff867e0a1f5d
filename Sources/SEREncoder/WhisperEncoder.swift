import SERNumerics
import Dispatch
import Foundation
import SERKernels
import SERSupport
import Synchronization

/// The shape of a Whisper audio encoder.
public struct WhisperEncoderShape: Equatable, Sendable, Codable {
    /// Log-mel bands of the input (80 for every Whisper before large-v3).
    public var melBands: Int
    /// Width of the hidden states.
    public var width: Int
    /// Attention heads per block.
    public var heads: Int
    /// Transformer blocks.
    public var layers: Int
    /// Width of each block's feed-forward layer (4 × width).
    public var feedForwardWidth: Int
    /// Rows of the positional table: encoder frames of a 30 s window.
    public var maximumFrames: Int

    /// Whisper-base: 6 blocks of width 512 with 8 heads.
    public static let base = WhisperEncoderShape(melBands: 80, width: 512, heads: 8, layers: 6, feedForwardWidth: 2048, maximumFrames: 1500)

    /// A shape from its dimensions.
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

/// How the encoder's dense layers multiply.
public enum EncoderPrecision: String, Sendable, Codable, CaseIterable {
    /// float32 throughout: the reference, equal to Whisper within float rounding.
    case float32
    /// The dense layers (convolutions, attention projections, feed-forward) in
    /// 8-bit integers (SERKernels' int8 products: 7-bit weights with a scale per
    /// output channel and 64 inputs, 8-bit activations per row, exact integer
    /// sums, the same bits on every CPU); attention's own products, LayerNorm,
    /// GELU and softmax stay float32.
    case int8

    /// The int8 path's quantization, in a feature cache's and a model's encoder
    /// identity: 7-bit weights with a scale per 64 inputs, 8-bit activations per
    /// row. A change of scheme changes it, so vectors of an older scheme are never
    /// read as the new one's.
    public static let int8Scheme = "w7g64a8"
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
    /// The encoder's dimensions.
    public let shape: WhisperEncoderShape
    /// Where the weights came from and how they multiply, for feature caches and
    /// model files: the source digest, with `+int8-` and the quantization scheme
    /// (`EncoderPrecision.int8Scheme`) for the 8-bit path, so that
    /// features of one precision are never read as the other's.
    public let identity: String
    /// How the dense layers multiply.
    public let precision: EncoderPrecision

    private let conv1: Linear
    private let conv2: Linear
    private let positions: [Float]
    private let finalNorm: Norm
    private let blocks: [Block]
    private let arenas = ArenaPool()

    /// A fully connected map `y = x · Wᵀ + b` with `W` stored `outputs × inputs`.
    ///
    /// With `.int8`, the weights are quantized once here and every product runs on
    /// SERKernels' int8 kernel (VNNI, AVX2 or portable). With `.float32`, on CPUs
    /// with AVX-512 or AVX2 and FMA the weights are kept packed for SERKernels'
    /// float32 kernel (packed once here instead of inside every sgemm call; both
    /// kernels give the same bits); elsewhere the product is OpenBLAS's sgemm. Kernel products are split by output panels over the
    /// work thread count (`workThreadCount`: the calling thread's budget, else
    /// OpenBLAS's thread count).
    struct Linear: Sendable {
        /// `W` row-major for OpenBLAS, or empty when a packed copy replaces it.
        let weight: [Float]
        let bias: [Float]
        let inputs: Int
        let outputs: Int
        /// `W` in SERKernels' float32 panel layout, or empty.
        let packedWeight: [Float]
        /// `W` quantized in SERKernels' int8 panel layout, with its scales and offsets (per channel and 64 inputs), or empty.
        let int8Weight: [Int8]
        let int8Scales: [Float]
        let int8Offsets: [Int32]

        init(weight: [Float], bias: [Float], inputs: Int, outputs: Int, precision: EncoderPrecision) {
            self.bias = bias
            self.inputs = inputs
            self.outputs = outputs
            var packed: [Float] = [], quantized: [Int8] = [], scales: [Float] = [], sums: [Int32] = []
            switch precision {
            case .int8:
                quantized = [Int8](repeating: 0, count: ser_int8_weights_size(Int32(outputs), Int32(inputs)))
                scales = [Float](repeating: 0, count: ser_int8_scales_count(Int32(outputs), Int32(inputs)))
                sums = [Int32](repeating: 0, count: scales.count)
                ser_int8_pack_weights(weight, Int32(outputs), Int32(inputs), &quantized, &scales, &sums)
                self.weight = []
            case .float32 where Self.usesPackedKernel:
                packed = [Float](repeating: 0, count: ser_packed_weights_count(Int32(outputs), Int32(inputs)))
                ser_pack_weights(weight, Int32(outputs), Int32(inputs), &packed)
                self.weight = []
            case .float32:
                self.weight = weight
            }
            packedWeight = packed
            int8Weight = quantized
            int8Scales = scales
            int8Offsets = sums
        }

        /// Whether this CPU runs the packed float32 kernel (checked once per process).
        static let usesPackedKernel = ser_packed_gemm_available() == 1

        /// Floats of scratch `apply`/`accumulate` need for `rows` input rows
        /// (packed float32 rows, or quantized bytes and row scales).
        func scratchCount(rows: Int) -> Int {
            if !int8Weight.isEmpty { return (rows * Int(ser_int8_padded_inputs(Int32(inputs))) + 3) / 4 + rows }
            return packedWeight.isEmpty ? 0 : ser_packed_rows_count(Int32(rows), Int32(inputs))
        }

        /// `output[rows × outputs] = input[rows × inputs] · Wᵀ + b`.
        func apply(_ input: UnsafePointer<Float>, rows: Int, into output: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
            product(input, rows: rows, into: output, accumulating: false, scratch: scratch)
        }

        /// `output += input · Wᵀ + b` (a residual connection).
        func accumulate(_ input: UnsafePointer<Float>, rows: Int, into output: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
            product(input, rows: rows, into: output, accumulating: true, scratch: scratch)
        }

        /// Runs `body(begin, end)` over the output panels, split over the work thread count (`workThreadCount`).
        private func splittingPanels(_ panels: Int, _ body: @escaping @Sendable (Int32, Int32) -> Void) {
            forEachRange(of: panels, parts: workThreadCount()) { begin, end in body(Int32(begin), Int32(end)) }
        }

        private func product(_ input: UnsafePointer<Float>, rows: Int, into output: UnsafeMutablePointer<Float>,
                             accumulating: Bool, scratch: UnsafeMutablePointer<Float>) {
            guard rows > 0 else { return }
            let (inputs32, outputs32, rows32, accumulate32) = (Int32(inputs), Int32(outputs), Int32(rows), Int32(accumulating ? 1 : 0))
            if !int8Weight.isEmpty {
                // Quantized rows first (bytes), then one scale per row.
                let padded = Int(ser_int8_padded_inputs(inputs32))
                let bytes = UnsafeMutableRawPointer(scratch).bindMemory(to: UInt8.self, capacity: rows * padded)
                let rowScales = scratch + (rows * padded + 3) / 4
                ser_int8_quantize_rows(input, rows32, inputs32, inputs32, bytes, rowScales)
                int8Weight.withUnsafeBufferPointer { w in
                    int8Scales.withUnsafeBufferPointer { scales in
                        int8Offsets.withUnsafeBufferPointer { sums in
                            bias.withUnsafeBufferPointer { b in
                                let operands = Int8Operands(rows: bytes, rowScales: rowScales, weights: w.baseAddress!, scales: scales.baseAddress!,
                                                            sums: sums.baseAddress!, bias: b.baseAddress, output: output)
                                splittingPanels(Int(ser_int8_panels(outputs32))) { begin, end in
                                    _ = ser_int8_gemm(operands.rows, operands.rowScales, rows32, inputs32, operands.weights, operands.scales,
                                                      operands.sums, operands.bias, outputs32, begin, end, operands.output, outputs32,
                                                      accumulate32, -1)
                                }
                            }
                        }
                    }
                }
                return
            }
            if !packedWeight.isEmpty {
                ser_pack_rows(input, rows32, inputs32, inputs32, scratch)
                packedWeight.withUnsafeBufferPointer { w in
                    bias.withUnsafeBufferPointer { b in
                        // Each part writes its own columns of `output`; the pointers outlive the parallel loop.
                        let operands = Operands(rows: scratch, weights: w.baseAddress!, bias: b.baseAddress, output: output)
                        splittingPanels(Int(ser_packed_panels(outputs32))) { begin, end in
                            _ = ser_packed_gemm(operands.rows, rows32, inputs32, operands.weights, operands.bias,
                                                outputs32, begin, end, operands.output, outputs32, accumulate32)
                        }
                    }
                }
                return
            }
            bias.withUnsafeBufferPointer { b in
                for r in 0..<rows {
                    let row = output + r * outputs
                    if accumulating {
                        for c in 0..<outputs { row[c] += b[c] }
                    } else {
                        row.update(from: b.baseAddress!, count: outputs)
                    }
                }
            }
            weight.withUnsafeBufferPointer { w in
                guard let w = w.baseAddress else { return }
                gemm(m: rows, n: outputs, k: inputs, input, lda: inputs, w, ldb: inputs, transposeB: true, beta: 1, into: output, ldc: outputs)
            }
        }
    }

    /// The buffers one int8 product reads and writes, shared by its parallel parts.
    private struct Int8Operands: @unchecked Sendable {
        let rows: UnsafeMutablePointer<UInt8>
        let rowScales: UnsafeMutablePointer<Float>
        let weights: UnsafePointer<Int8>
        let scales: UnsafePointer<Float>
        let sums: UnsafePointer<Int32>
        let bias: UnsafePointer<Float>?
        let output: UnsafeMutablePointer<Float>
    }

    /// Scaled dot-product attention of every head, `softmax(Q·Kᵀ/√d)·V`, with
    /// scratch for one encoder pass. Heads are split over the work thread count;
    /// with AVX-512 or AVX2 both products run on SERKernels' packed kernel (keys and values
    /// packed straight from the fused Q/K/V rows), elsewhere on OpenBLAS.
    struct Attention {
        let frames: Int, width: Int, heads: Int
        /// Parallel parts (heads are split between them).
        let parts: Int
        /// Floats of scratch one part uses: scores, then (packed kernel only) packed queries, keys, scores and values.
        let partCount: Int
        let packedQueryCount: Int, packedKeyCount: Int, packedScoreCount: Int

        init(frames: Int, width: Int, heads: Int) {
            self.frames = frames
            self.width = width
            self.heads = heads
            let headWidth = width / heads
            parts = min(heads, max(1, workThreadCount()))
            let packedValueCount: Int
            if Linear.usesPackedKernel {
                packedQueryCount = ser_packed_rows_count(Int32(frames), Int32(headWidth))
                packedKeyCount = ser_packed_weights_count(Int32(frames), Int32(headWidth))
                packedScoreCount = ser_packed_rows_count(Int32(frames), Int32(frames))
                packedValueCount = ser_packed_weights_count(Int32(headWidth), Int32(frames))
            } else {
                (packedQueryCount, packedKeyCount, packedScoreCount, packedValueCount) = (0, 0, 0, 0)
            }
            partCount = frames * frames + packedQueryCount + packedKeyCount + packedScoreCount + packedValueCount
        }

        /// Floats of scratch `run` needs.
        var scratchCount: Int { parts * partCount }

        /// Attends over `qkv` (`frames × 3·width`: queries, keys, values) into `output` (`frames × width`).
        func run(qkv: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>, scale: Float, scratch: UnsafeMutablePointer<Float>) {
            let operands = Operands(rows: scratch, weights: qkv, bias: nil, output: output)
            let (frames, width, heads, parts, partCount) = (frames, width, heads, parts, partCount)
            let (queryCount, keyCount, scoreCount) = (packedQueryCount, packedKeyCount, packedScoreCount)
            let headWidth = width / heads
            let stride = 3 * width
            let part: @Sendable (Int) -> Void = { index in
                let scores = operands.rows + index * partCount
                let packedQuery = scores + frames * frames, packedKey = packedQuery + queryCount
                let packedScores = packedKey + keyCount, packedValue = packedScores + scoreCount
                for h in (heads * index / parts)..<(heads * (index + 1) / parts) {
                    let query = operands.weights + h * headWidth
                    let key = query + width, value = query + 2 * width
                    let out = operands.output + h * headWidth
                    guard Linear.usesPackedKernel else {
                        gemm(m: frames, n: frames, k: headWidth, query, lda: stride, key, ldb: stride, transposeB: true, into: scores, ldc: frames)
                        VectorMath.softmaxRows(scores, rows: frames, columns: frames, scale: scale)
                        gemm(m: frames, n: headWidth, k: frames, scores, lda: frames, value, ldb: stride, into: out, ldc: width)
                        continue
                    }
                    ser_pack_rows(query, Int32(frames), Int32(headWidth), Int32(stride), packedQuery)
                    ser_pack_weights_strided(key, Int32(frames), Int32(headWidth), Int32(stride), 1, packedKey)
                    _ = ser_packed_gemm(packedQuery, Int32(frames), Int32(headWidth), packedKey, nil, Int32(frames),
                                        0, ser_packed_panels(Int32(frames)), scores, Int32(frames), 0)
                    VectorMath.softmaxRows(scores, rows: frames, columns: frames, scale: scale)
                    ser_pack_rows(scores, Int32(frames), Int32(frames), Int32(frames), packedScores)
                    // V as the weights of `scores · V`: W[d][t] = value[t][d].
                    ser_pack_weights_strided(value, Int32(headWidth), Int32(frames), 1, Int32(stride), packedValue)
                    _ = ser_packed_gemm(packedScores, Int32(frames), Int32(frames), packedValue, nil, Int32(headWidth),
                                        0, ser_packed_panels(Int32(headWidth)), out, Int32(width), 0)
                }
            }
            if parts == 1 { part(0) } else { DispatchQueue.concurrentPerform(iterations: parts, execute: part) }
        }
    }

    /// Scratch memory for encoder passes, kept between calls so a batch does not
    /// fault fresh pages in for every recording. Holds at most two arenas (one
    /// per core) of at most 32 MiB each (a 30 s window's larger arena is freed).
    final class ArenaPool: Sendable {
        final class Arena: @unchecked Sendable {
            let floats: UnsafeMutablePointer<Float>
            let capacity: Int
            init(capacity: Int) {
                self.capacity = capacity
                floats = .allocate(capacity: capacity)
            }
            deinit { floats.deallocate() }
        }

        private let free = Mutex<[Arena]>([])
        private static let keptFloats = 8 << 20, keptArenas = 2

        /// An arena of at least `floats` floats (contents undefined).
        func take(floats: Int) -> Arena {
            let reused = free.withLock { arenas -> Arena? in
                guard let index = arenas.firstIndex(where: { $0.capacity >= floats }) else { return nil }
                return arenas.remove(at: index)
            }
            return reused ?? Arena(capacity: max(floats, 1))
        }

        /// Returns an arena for later passes (or frees it).
        func give(_ arena: Arena) {
            guard arena.capacity <= Self.keptFloats else { return }
            free.withLock { arenas in
                arenas.append(arena)
                if arenas.count > Self.keptArenas {
                    arenas.sort { $0.capacity > $1.capacity }
                    arenas.removeLast()
                }
            }
        }
    }

    /// The buffers one packed product reads and writes, shared by its parallel parts.
    private struct Operands: @unchecked Sendable {
        let rows: UnsafeMutablePointer<Float>
        let weights: UnsafePointer<Float>
        let bias: UnsafePointer<Float>?
        let output: UnsafeMutablePointer<Float>
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

        /// Which tensor is missing or misshapen, and how to reinstall.
        public var description: String {
            switch self {
            case .missingTensor(let source, let name):
                return "\(source): the encoder weights lack \(name); reinstall them with 'ser encoder install --force'"
            case .wrongShape(let source, let name, let expected, let found):
                return "\(source): encoder tensor \(name) is \(found), expected \(expected); reinstall with 'ser encoder install --force'"
            }
        }
    }

    /// An encoder of `shape` from named float32 tensors (see `WhisperEncoderShape.tensorShapes`),
    /// its dense layers multiplying at `precision`.
    public init(shape: WhisperEncoderShape, tensors: [String: SafeTensorsFile.Tensor], source: String, identity: String,
                precision: EncoderPrecision = .float32) throws {
        for (name, expected) in shape.tensorShapes {
            guard let tensor = tensors[name] else { throw Failure.missingTensor(source: source, name: name) }
            guard tensor.shape == expected else { throw Failure.wrongShape(source: source, name: name, expected: expected, found: tensor.shape) }
        }
        func values(_ name: String) -> [Float] { tensors[name]?.values ?? [] }
        func linear(_ name: String, inputs: Int, outputs: Int) -> Linear {
            Linear(weight: values(name + ".weight"), bias: values(name + ".bias"), inputs: inputs, outputs: outputs, precision: precision)
        }
        func norm(_ name: String) -> Norm { Norm(gain: values(name + ".gamma"), bias: values(name + ".beta")) }
        self.shape = shape
        self.identity = precision == .int8 ? identity + "+int8-" + EncoderPrecision.int8Scheme : identity
        self.precision = precision
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
    public convenience init(contentsOf path: String, shape: WhisperEncoderShape = .base, precision: EncoderPrecision = .float32) throws {
        let file = try SafeTensorsFile(contentsOf: path)
        try self.init(shape: shape, tensors: file.tensors, source: path, identity: file.metadata["source_sha256"] ?? "unknown",
                      precision: precision)
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
        let attention = Attention(frames: outFrames, width: width, heads: heads)
        // Scratch for the whole pass, carved from one arena that is reused across calls.
        let blockLinears = blocks.flatMap { [$0.queryKeyValue, $0.attentionOutput, $0.feedForwardIn, $0.feedForwardOut] }
        let packedCount = max(conv1.scratchCount(rows: count), conv2.scratchCount(rows: outFrames),
                              blockLinears.map { $0.scratchCount(rows: outFrames) }.max() ?? 0, 1)
        let sizes = [max(count * 3 * bands, outFrames * 3 * width), // unrolled convolution windows
                     count * width, // conv1 output
                     outFrames * width, outFrames * width, // x, normed
                     outFrames * 3 * width, outFrames * width, // qkv, attended
                     outFrames * shape.feedForwardWidth, // hidden
                     packedCount, attention.scratchCount]
        let arena = arenas.take(floats: sizes.reduce(0, +))
        defer { arenas.give(arena) }
        var buffers: [UnsafeMutablePointer<Float>] = []
        var next = arena.floats
        for size in sizes { buffers.append(next); next += size }
        let (unrolled, convolved, x, normed, qkv, attended, hidden, scratch) =
            (buffers[0], buffers[1], buffers[2], buffers[3], buffers[4], buffers[5], buffers[6], buffers[7])
        let stateCount = outFrames * width
        var states: [[Float]] = []
        states.reserveCapacity(shape.layers + 1)

        // conv1 (stride 1, padding 1): unroll each frame's 3-tap window of every band.
        logMel.withUnsafeBufferPointer { mel in
            for t in 0..<count {
                let row = unrolled + t * 3 * bands
                for b in 0..<bands {
                    let source = mel.baseAddress! + b * frames + offset
                    for k in 0..<3 {
                        let s = t + k - 1
                        row[b * 3 + k] = (s >= 0 && s < count) ? source[s] : 0
                    }
                }
            }
        }
        conv1.apply(unrolled, rows: count, into: convolved, scratch: scratch)
        Self.geluSplit(convolved, count: count * width)
        // conv2 (stride 2, padding 1) over the frame-major conv1 output.
        for t in 0..<outFrames {
            let row = unrolled + t * 3 * width
            for k in 0..<3 {
                let s = 2 * t + k - 1
                if s >= 0 && s < count {
                    let source = convolved + s * width
                    for ch in 0..<width { row[ch * 3 + k] = source[ch] }
                } else {
                    for ch in 0..<width { row[ch * 3 + k] = 0 }
                }
            }
        }
        conv2.apply(unrolled, rows: outFrames, into: x, scratch: scratch)
        Self.geluSplit(x, count: stateCount)
        positions.withUnsafeBufferPointer { p in
            for i in 0..<stateCount { x[i] += p[i] }
        }
        states.append(Array(UnsafeBufferPointer(start: x, count: stateCount)))

        let scale = 1 / Float(headWidth).squareRoot()
        for block in blocks {
            // Self-attention on the normalized input, added back: x += attend(norm(x)) · W_oᵀ + b_o.
            Self.layerNorm(x, block.attentionNorm, rows: outFrames, width: width, into: normed)
            block.queryKeyValue.apply(normed, rows: outFrames, into: qkv, scratch: scratch)
            attention.run(qkv: qkv, into: attended, scale: scale, scratch: buffers[8])
            block.attentionOutput.accumulate(attended, rows: outFrames, into: x, scratch: scratch)
            // Feed-forward on the normalized result, added back.
            Self.layerNorm(x, block.feedForwardNorm, rows: outFrames, width: width, into: normed)
            block.feedForwardIn.apply(normed, rows: outFrames, into: hidden, scratch: scratch)
            Self.geluSplit(hidden, count: outFrames * shape.feedForwardWidth)
            block.feedForwardOut.accumulate(hidden, rows: outFrames, into: x, scratch: scratch)
            states.append(Array(UnsafeBufferPointer(start: x, count: stateCount)))
        }
        Self.layerNorm(x, finalNorm, rows: outFrames, width: width, into: normed)
        states[states.count - 1] = Array(UnsafeBufferPointer(start: normed, count: stateCount))
        return states
    }

    /// GELU over `count` values, split in chunks of whole SIMD vectors over the
    /// work thread count (`workThreadCount`; each value is computed alone, so the split changes no bits).
    static func geluSplit(_ values: UnsafeMutablePointer<Float>, count: Int) {
        let threads = min(max(1, workThreadCount()), max(1, count / 16_384))
        guard threads > 1 else { return VectorMath.gelu(UnsafeMutableBufferPointer(start: values, count: count)) }
        let shared = SharedFloats(pointer: values)
        let chunk = (count / threads + 7) / 8 * 8
        DispatchQueue.concurrentPerform(iterations: threads) { part in
            let begin = min(count, part * chunk), end = part == threads - 1 ? count : min(count, begin + chunk)
            VectorMath.gelu(UnsafeMutableBufferPointer(start: shared.pointer + begin, count: end - begin))
        }
    }

    /// A buffer that parallel parts write in disjoint ranges.
    private struct SharedFloats: @unchecked Sendable {
        let pointer: UnsafeMutablePointer<Float>
    }

    /// Row-wise LayerNorm with ε = 1e-5 (sums per lane in float, combined in double).
    static func layerNorm(_ x: UnsafePointer<Float>, _ norm: Norm, rows: Int, width: Int, into y: UnsafeMutablePointer<Float>) {
        norm.gain.withUnsafeBufferPointer { gain in
            norm.bias.withUnsafeBufferPointer { bias in
                let vectorEnd = width - width % 8
                for r in 0..<rows {
                    let row = x + r * width, out = y + r * width
                    let raw = UnsafeRawPointer(row)
                    var lanes = SIMD8<Float>()
                    var c = 0
                    while c < vectorEnd { lanes += raw.loadUnaligned(fromByteOffset: 4 * c, as: SIMD8<Float>.self); c += 8 }
                    var sum = 0.0
                    for i in 0..<8 { sum += Double(lanes[i]) }
                    while c < width { sum += Double(row[c]); c += 1 }
                    let mean = Float(sum / Double(width))
                    lanes = SIMD8<Float>()
                    c = 0
                    while c < vectorEnd {
                        let d = raw.loadUnaligned(fromByteOffset: 4 * c, as: SIMD8<Float>.self) - mean
                        lanes += d * d
                        c += 8
                    }
                    var squares = 0.0
                    for i in 0..<8 { squares += Double(lanes[i]) }
                    while c < width { let d = Double(row[c] - mean); squares += d * d; c += 1 }
                    let inverse = Float(1 / (squares / Double(width) + 1e-5).squareRoot())
                    for c in 0..<width { out[c] = (row[c] - mean) * inverse * gain[c] + bias[c] }
                }
            }
        }
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
