import Foundation
import SERKernels
import SERNumerics
import SERSupport

/// `ser-bench dense-kernels`: the encoder's dense-layer shapes (Whisper-base on
/// a 4 s clip: 200 positions, width 512, feed-forward 2048) through OpenBLAS's
/// sgemm, each packed float32 kernel and each int8 kernel this CPU runs, in one
/// run on one thread. int8 times include quantizing the activations, which
/// every call does. Prints JSON: milliseconds per shape and kernel, the sum over
/// one encoder block's products, and each kernel's speed-up over float32.
enum DenseKernelTiming {
    static func run(_ arguments: [String]) -> Int32 {
        var rows = 200, repeats = 20
        var rest = arguments[...]
        while let argument = rest.popFirst() {
            guard let value = rest.popFirst(), let number = Int(value), number > 0 else { return usage() }
            switch argument {
            case "--rows": rows = number
            case "--repeat": repeats = number
            default: return usage()
            }
        }
        useSingleThreadedBLAS()
        // (inputs, outputs, uses per encoder block): q, k, v, out projections; fc1; fc2.
        let shapes = [(512, 512, 4), (512, 2048, 1), (2048, 512, 1)]
        let int8Kernels = Array(Int32(SER_INT8_PORTABLE)...ser_int8_kernel())
        let packedNames = [Int32(SER_ISA_AVX2): "float32_packed_avx2", Int32(SER_ISA_AVX512): "float32_packed_avx512"]
        let names = [Int32(SER_INT8_PORTABLE): "int8_portable", Int32(SER_INT8_AVX2): "int8_avx2", Int32(SER_INT8_VNNI): "int8_vnni"]
        var random = SplitMix64(seed: 7)
        var perShape: [[String: Any]] = []
        var blockTotals: [String: Double] = [:]
        for (inputs, outputs, uses) in shapes {
            let x = (0..<(rows * inputs)).map { _ in Float(random.nextStandardNormal()) }
            let w = (0..<(outputs * inputs)).map { _ in Float(random.nextStandardNormal()) * 0.05 }
            let bias = [Float](repeating: 0.1, count: outputs)
            var y = [Float](repeating: 0, count: rows * outputs)
            var timings: [String: Double] = [:]
            timings["float32_openblas"] = fastest(repeats) {
                x.withUnsafeBufferPointer { px in w.withUnsafeBufferPointer { pw in y.withUnsafeMutableBufferPointer { py in
                    gemm(m: rows, n: outputs, k: inputs, px.baseAddress!, lda: inputs, pw.baseAddress!, ldb: inputs, transposeB: true,
                         into: py.baseAddress!, ldc: outputs)
                } } }
            }
            if ser_packed_gemm_available() == 1 {
                var packedW = [Float](repeating: 0, count: ser_packed_weights_count(Int32(outputs), Int32(inputs)))
                ser_pack_weights(w, Int32(outputs), Int32(inputs), &packedW)
                var packedX = [Float](repeating: 0, count: ser_packed_rows_count(Int32(rows), Int32(inputs)))
                for kernel in [Int32(SER_ISA_AVX2), Int32(SER_ISA_AVX512)] where kernel <= ser_packed_kernel() {
                    timings[packedNames[kernel] ?? "float32_packed"] = fastest(repeats) {
                        ser_pack_rows(x, Int32(rows), Int32(inputs), Int32(inputs), &packedX)
                        _ = ser_packed_gemm_using(kernel, packedX, Int32(rows), Int32(inputs), packedW, bias, Int32(outputs), 0,
                                                  ser_packed_panels(Int32(outputs)), &y, Int32(outputs), 0)
                    }
                }
            }
            var packed = [Int8](repeating: 0, count: ser_int8_weights_size(Int32(outputs), Int32(inputs)))
            var scales = [Float](repeating: 0, count: ser_int8_scales_count(Int32(outputs), Int32(inputs)))
            var sums = [Int32](repeating: 0, count: scales.count)
            ser_int8_pack_weights(w, Int32(outputs), Int32(inputs), &packed, &scales, &sums)
            var quantized = [UInt8](repeating: 0, count: rows * Int(ser_int8_padded_inputs(Int32(inputs))))
            var rowScales = [Float](repeating: 0, count: rows)
            for kernel in int8Kernels {
                timings[names[kernel] ?? "int8_\(kernel)"] = fastest(kernel == Int32(SER_INT8_PORTABLE) ? 2 : repeats) {
                    ser_int8_quantize_rows(x, Int32(rows), Int32(inputs), Int32(inputs), &quantized, &rowScales)
                    _ = ser_int8_gemm(quantized, rowScales, Int32(rows), Int32(inputs), packed, scales, sums, bias, Int32(outputs), 0,
                                      ser_int8_panels(Int32(outputs)), &y, Int32(outputs), 0, kernel)
                }
            }
            for (name, ms) in timings { blockTotals[name, default: 0] += ms * Double(uses) }
            perShape.append(["rows": rows, "inputs": inputs, "outputs": outputs, "uses_per_block": uses, "ms": timings])
        }
        let reference = packedNames[ser_packed_kernel()] ?? "float32_openblas"
        let float32 = blockTotals[reference] ?? 1
        let report: [String: Any] = [
            "shapes": perShape, "block_ms": blockTotals,
            "speedup_over_float32": blockTotals.mapValues { float32 / $0 },
            "float32_reference": reference,
            "int8_kernel": names[ser_int8_kernel()] ?? "int8_portable",
        ]
        if let json = try? JSONSerialization.data(withJSONObject: report, options: [.sortedKeys, .prettyPrinted]) {
            print(String(decoding: json, as: UTF8.self))
        }
        return 0
    }

    /// The fastest of `repeats` timed runs of `body` (after one untimed warm-up), in milliseconds.
    static func fastest(_ repeats: Int, _ body: () -> Void) -> Double {
        body()
        let clock = ContinuousClock()
        var best = Duration.seconds(1000)
        for _ in 0..<repeats { best = min(best, clock.measure(body)) }
        return Double(best.components.seconds) * 1000 + Double(best.components.attoseconds) / 1e15
    }

    static func usage() -> Int32 {
        FileHandle.standardError.write(Data("usage: ser-bench dense-kernels [--rows R] [--repeat K]\n".utf8))
        return 2
    }
}
