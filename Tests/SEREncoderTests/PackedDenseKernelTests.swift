import SERKernels
import SERSupport
import Testing

/// SERKernels' packed dense-layer kernels (AVX-512 and AVX2) against the product
/// written out in double precision, over sizes that leave partial row blocks and
/// partial output panels (and, at 600 inputs, a reduction split into passes of 256),
/// and against each other.
@Suite("packed dense-layer kernel")
struct PackedDenseKernelTests {
    static let shapes = [(1, 1, 1), (11, 3, 5), (12, 16, 32), (13, 7, 33), (25, 64, 70), (50, 240, 96), (13, 600, 40), (7, 20, 17)]

    /// The kernels this CPU runs, narrowest first.
    static var kernels: [Int32] {
        [Int32(SER_ISA_AVX2), Int32(SER_ISA_AVX512)].filter { $0 <= ser_packed_kernel() }
    }

    /// `y` (starting from `start`) through `kernel`, in two calls over disjoint panel ranges, as two threads would make them.
    static func product(kernel: Int32, x: [Float], w: [Float], b: [Float], start: [Float], rows: Int, inputs: Int, outputs: Int,
                        accumulate: Bool) -> [Float] {
        var packedW = [Float](repeating: .nan, count: ser_packed_weights_count(Int32(outputs), Int32(inputs)))
        ser_pack_weights(w, Int32(outputs), Int32(inputs), &packedW)
        var packedX = [Float](repeating: .nan, count: ser_packed_rows_count(Int32(rows), Int32(inputs)))
        ser_pack_rows(x, Int32(rows), Int32(inputs), Int32(inputs), &packedX)
        let panels = ser_packed_panels(Int32(outputs)), middle = panels / 2
        var y = start
        let flag: Int32 = accumulate ? 1 : 0
        #expect(ser_packed_gemm_using(kernel, packedX, Int32(rows), Int32(inputs), packedW, b, Int32(outputs), 0, middle, &y, Int32(outputs), flag) == 1)
        #expect(ser_packed_gemm_using(kernel, packedX, Int32(rows), Int32(inputs), packedW, b, Int32(outputs), middle, panels, &y, Int32(outputs), flag) == 1)
        return y
    }

    @Test("y = x·Wᵀ + b, and y += x·Wᵀ + b, match plain maths for every tail shape on every kernel", arguments: shapes)
    func matchesPlainMaths(rows: Int, inputs: Int, outputs: Int) throws {
        guard !Self.kernels.isEmpty else {
            print("skipped: this CPU has neither AVX2 with FMA nor AVX-512F, so the encoder uses OpenBLAS's sgemm instead")
            return
        }
        var random = SplitMix64(seed: UInt64(rows * 10_007 + inputs * 101 + outputs))
        let x = (0..<(rows * inputs)).map { _ in Float(random.nextStandardNormal()) }
        let w = (0..<(outputs * inputs)).map { _ in Float(random.nextStandardNormal()) }
        let b = (0..<outputs).map { _ in Float(random.nextStandardNormal()) }
        let start = (0..<(rows * outputs)).map { _ in Float(random.nextStandardNormal()) }

        for kernel in Self.kernels {
            for accumulate in [false, true] {
                let y = Self.product(kernel: kernel, x: x, w: w, b: b, start: start, rows: rows, inputs: inputs, outputs: outputs,
                                     accumulate: accumulate)
                var worst = 0.0
                for r in 0..<rows {
                    for c in 0..<outputs {
                        var sum = Double(b[c]) + (accumulate ? Double(start[r * outputs + c]) : 0)
                        // Float rounding grows with the terms' magnitudes, not with their (cancelling) sum.
                        var magnitude = abs(sum)
                        for k in 0..<inputs {
                            let term = Double(x[r * inputs + k]) * Double(w[c * inputs + k])
                            sum += term
                            magnitude += abs(term)
                        }
                        worst = max(worst, abs(Double(y[r * outputs + c]) - sum) / magnitude)
                    }
                }
                #expect(worst < 2e-6, "kernel \(kernel), accumulate \(accumulate): worst relative error \(worst)")
            }
        }
    }

    @Test("the AVX2 kernel gives the AVX-512 kernel's bits", arguments: shapes)
    func kernelsAgreeBitForBit(rows: Int, inputs: Int, outputs: Int) {
        guard Self.kernels.count == 2 else {
            print("skipped: this CPU does not run both packed kernels (it runs \(Self.kernels.count))")
            return
        }
        var random = SplitMix64(seed: UInt64(rows * 7 + inputs * 13 + outputs * 17))
        let x = (0..<(rows * inputs)).map { _ in Float(random.nextStandardNormal()) }
        let w = (0..<(outputs * inputs)).map { _ in Float(random.nextStandardNormal()) }
        let b = (0..<outputs).map { _ in Float(random.nextStandardNormal()) }
        let start = (0..<(rows * outputs)).map { _ in Float(random.nextStandardNormal()) }
        for accumulate in [false, true] {
            let products = Self.kernels.map {
                Self.product(kernel: $0, x: x, w: w, b: b, start: start, rows: rows, inputs: inputs, outputs: outputs, accumulate: accumulate)
            }
            #expect(products[0].map(\.bitPattern) == products[1].map(\.bitPattern), "accumulate \(accumulate)")
        }
    }

    @Test("packing a transposed, strided copy gives the same panels as packing the matrix", arguments: [(3, 5), (33, 64), (70, 13)])
    func stridedPackingMatchesPlain(outputs: Int, inputs: Int) {
        var random = SplitMix64(seed: UInt64(outputs * 31 + inputs))
        let w = (0..<(outputs * inputs)).map { _ in Float(random.nextStandardNormal()) }
        // Wᵀ stored inputs × (outputs + 3): W[o][k] sits at k · (outputs + 3) + o.
        let stride = outputs + 3
        var transposed = [Float](repeating: .nan, count: inputs * stride)
        for o in 0..<outputs { for k in 0..<inputs { transposed[k * stride + o] = w[o * inputs + k] } }
        let count = ser_packed_weights_count(Int32(outputs), Int32(inputs))
        var plain = [Float](repeating: -1, count: count), strided = [Float](repeating: -2, count: count)
        ser_pack_weights(w, Int32(outputs), Int32(inputs), &plain)
        ser_pack_weights_strided(transposed, Int32(outputs), Int32(inputs), 1, Int32(stride), &strided)
        #expect(plain == strided)
        #expect(!plain.contains { $0.isNaN })
    }

    @Test("an invalid size writes nothing and reports it")
    func invalidSizesAreRefused() {
        var y: [Float] = [7]
        let one: [Float] = [1]
        #expect(ser_packed_gemm(one, 0, 1, one, nil, 1, 0, 1, &y, 1, 0) == 0)
        #expect(ser_packed_gemm(one, 1, 1, one, nil, 2, 0, 1, &y, 1, 0) == 0) // out_stride < outputs
        #expect(ser_packed_gemm_using(Int32(SER_ISA_PORTABLE), one, 1, 1, one, nil, 1, 0, 1, &y, 1, 0) == 0) // no such kernel
        #expect(ser_packed_gemm_using(Int32(SER_ISA_AVX512) + 1, one, 1, 1, one, nil, 1, 0, 1, &y, 1, 0) == 0)
        #expect(y == [7])
        #expect(ser_packed_weights_count(0, 5) == 0)
    }
}
