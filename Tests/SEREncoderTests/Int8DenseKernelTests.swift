import SERKernels
import SERSupport
import Testing

/// SERKernels' int8 dense-layer kernels: every kernel this CPU runs gives the
/// portable kernel's bits, and the quantized product stays within the bound that
/// its rounding allows of the exact product.
@Suite("int8 dense-layer kernels")
struct Int8DenseKernelTests {
    /// The kernels this CPU can run, portable first.
    static var kernels: [Int32] { Array(Int32(SER_INT8_PORTABLE)...ser_int8_kernel()) }

    struct Quantized {
        var weights: [Int8], weightScales: [Float], weightOffsets: [Int32]
        var rows: [UInt8], rowScales: [Float]
    }

    static func quantize(x: [Float], rows: Int, w: [Float], outputs: Int, inputs: Int) -> Quantized {
        var q = Quantized(weights: [Int8](repeating: 0, count: ser_int8_weights_size(Int32(outputs), Int32(inputs))),
                          weightScales: [Float](repeating: .nan, count: ser_int8_scales_count(Int32(outputs), Int32(inputs))),
                          weightOffsets: [Int32](repeating: 7, count: ser_int8_scales_count(Int32(outputs), Int32(inputs))),
                          rows: [UInt8](repeating: 0, count: rows * Int(ser_int8_padded_inputs(Int32(inputs)))),
                          rowScales: [Float](repeating: .nan, count: rows))
        ser_int8_pack_weights(w, Int32(outputs), Int32(inputs), &q.weights, &q.weightScales, &q.weightOffsets)
        ser_int8_quantize_rows(x, Int32(rows), Int32(inputs), Int32(inputs), &q.rows, &q.rowScales)
        return q
    }

    /// `out` after one product over all panels, in two calls over disjoint panel ranges as two threads make them.
    static func product(_ q: Quantized, rows: Int, inputs: Int, outputs: Int, bias: [Float]?, start: [Float], accumulate: Bool,
                        kernel: Int32) -> [Float] {
        var y = start
        let panels = ser_int8_panels(Int32(outputs)), middle = panels / 2
        for (begin, end) in [(0, middle), (middle, panels)] {
            let status = ser_int8_gemm(q.rows, q.rowScales, Int32(rows), Int32(inputs), q.weights, q.weightScales, q.weightOffsets,
                                       bias, Int32(outputs), begin, end, &y, Int32(outputs), accumulate ? 1 : 0, kernel)
            #expect(status == 1)
        }
        return y
    }

    @Test("every kernel gives the portable kernel's bits, within the rounding bound of the exact product",
          arguments: [(1, 1, 1), (3, 5, 17), (4, 16, 16), (9, 7, 33), (13, 64, 70), (50, 240, 96), (17, 600, 40)])
    func kernelsAgreeAndStayWithinTheBound(rows: Int, inputs: Int, outputs: Int) {
        var random = SplitMix64(seed: UInt64(rows * 7_919 + inputs * 131 + outputs))
        let x = (0..<(rows * inputs)).map { _ in Float(random.nextStandardNormal()) }
        let w = (0..<(outputs * inputs)).map { _ in Float(random.nextStandardNormal()) * 0.1 }
        let bias = (0..<outputs).map { _ in Float(random.nextStandardNormal()) }
        let start = (0..<(rows * outputs)).map { _ in Float(random.nextStandardNormal()) }
        let q = Self.quantize(x: x, rows: rows, w: w, outputs: outputs, inputs: inputs)
        for accumulate in [false, true] {
            let reference = Self.product(q, rows: rows, inputs: inputs, outputs: outputs, bias: bias, start: start,
                                         accumulate: accumulate, kernel: Int32(SER_INT8_PORTABLE))
            for kernel in Self.kernels.dropFirst() {
                let y = Self.product(q, rows: rows, inputs: inputs, outputs: outputs, bias: bias, start: start,
                                     accumulate: accumulate, kernel: kernel)
                let differing = zip(y, reference).filter { $0.0 != $0.1 }.count
                #expect(differing == 0, "kernel \(kernel), accumulate \(accumulate): \(differing) of \(y.count) values differ")
            }
            var excess = 0.0
            let groups = Int(ser_int8_padded_inputs(Int32(inputs))) / 64
            for r in 0..<rows {
                let sx = Double(q.rowScales[r])
                for c in 0..<outputs {
                    var exact = Double(bias[c]) + (accumulate ? Double(start[r * outputs + c]) : 0)
                    // Each factor is off by at most half its step (the weight's step is its
                    // channel's and group's scale); their product by the cross term too.
                    var bound = 1e-5 * abs(exact)
                    for k in 0..<inputs {
                        let sw = Double(q.weightScales[((c / 16) * groups + k / 64) * 16 + c % 16])
                        let a = Double(x[r * inputs + k]), b = Double(w[c * inputs + k])
                        exact += a * b
                        bound += abs(a) * sw / 2 + abs(b) * sx / 2 + sx * sw / 4 + 1e-6 * abs(a * b)
                    }
                    excess = max(excess, abs(Double(reference[r * outputs + c]) - exact) - bound)
                }
            }
            #expect(excess <= 0, "the quantized product leaves its rounding bound by \(excess)")
        }
    }

    @Test("each group of 64 inputs has its own scale: a large weight in one group leaves the others' precision")
    func groupsKeepTheirOwnScales() {
        let inputs = 128, outputs = 1
        var w = [Float](repeating: 0.001, count: inputs)
        w[3] = 10   // group 0 only
        let x = [Float](repeating: 1, count: inputs)
        let q = Self.quantize(x: x, rows: 1, w: w, outputs: outputs, inputs: inputs)
        #expect(abs(q.weightScales[0] - 10 / 63) < 1e-6 && abs(q.weightScales[16] - 0.001 / 63) < 1e-9,
                "scales \(q.weightScales[0]) and \(q.weightScales[16])")
        let y = Self.product(q, rows: 1, inputs: inputs, outputs: outputs, bias: nil, start: [0], accumulate: false,
                             kernel: Int32(SER_INT8_PORTABLE))
        // Group 0's small weights round to zero beside the large one (10), group 1's 64 keep theirs
        // (+0.064); one scale for the whole row would round all of them away (10.0).
        #expect(abs(y[0] - 10.064) < 0.001, "\(y[0])")
    }

    @Test("the largest products do not saturate: 600 inputs of full-scale bytes against full-scale weights")
    func fullScaleProductsAreExact() {
        let inputs = 600, outputs = 16
        let x = [Float](repeating: 1, count: inputs) + [Float](repeating: -1, count: inputs)
        let w = [Float](repeating: 1, count: outputs * inputs)
        let q = Self.quantize(x: x, rows: 2, w: w, outputs: outputs, inputs: inputs)
        for kernel in Self.kernels {
            let y = Self.product(q, rows: 2, inputs: inputs, outputs: outputs, bias: nil,
                                 start: [Float](repeating: .nan, count: 2 * outputs), accumulate: false, kernel: kernel)
            #expect(y.prefix(outputs).allSatisfy { abs($0 - 600) < 1e-3 } && y.suffix(outputs).allSatisfy { abs($0 + 600) < 1e-3 },
                    "kernel \(kernel): \(y[0]), \(y[outputs])")
        }
    }

    @Test("activations are quantized as plain maths says, on every length", arguments: [1, 7, 8, 9, 64, 100, 2048])
    func rowsQuantizeAsPlainMaths(inputs: Int) {
        var random = SplitMix64(seed: UInt64(inputs))
        let rows = 3
        var x = (0..<(rows * inputs)).map { _ in Float(random.nextStandardNormal()) }
        x[inputs / 2] = 0.5   // an exact half step somewhere is rounded to even
        let padded = Int(ser_int8_padded_inputs(Int32(inputs)))
        var bytes = [UInt8](repeating: 0, count: rows * padded), scales = [Float](repeating: .nan, count: rows)
        ser_int8_quantize_rows(x, Int32(rows), Int32(inputs), Int32(inputs), &bytes, &scales)
        for r in 0..<rows {
            let row = x[(r * inputs)..<((r + 1) * inputs)]
            let peak = row.map(abs).max() ?? 0
            let inverse: Float = peak > 0 ? 127 / peak : 0
            #expect(scales[r] == peak / 127)
            let expected = row.map { UInt8(Int(min(max(($0 * inverse).rounded(.toNearestOrEven), -127), 127)) + 128) }
                + [UInt8](repeating: 128, count: padded - inputs)
            #expect(Array(bytes[(r * padded)..<((r + 1) * padded)]) == expected, "row \(r)")
        }
    }

    @Test("silent rows and zero weights give the bias alone")
    func zerosGiveTheBias() {
        let inputs = 10, outputs = 3
        let q = Self.quantize(x: [Float](repeating: 0, count: inputs), rows: 1, w: [Float](repeating: 0, count: outputs * inputs),
                              outputs: outputs, inputs: inputs)
        for kernel in Self.kernels {
            let y = Self.product(q, rows: 1, inputs: inputs, outputs: outputs, bias: [1, -2, 3], start: [9, 9, 9],
                                 accumulate: false, kernel: kernel)
            #expect(y == [1, -2, 3], "kernel \(kernel)")
        }
        var out: [Float] = [0]
        #expect(ser_int8_gemm(q.rows, q.rowScales, 1, Int32(inputs), q.weights, q.weightScales, q.weightOffsets, nil, Int32(outputs),
                              0, 1, &out, 1, 0, -1) == 0, "an output stride shorter than a row is refused")
    }
}
