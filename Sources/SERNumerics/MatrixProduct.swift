import COpenBLAS
import Dispatch
import SERKernels

/// `C = alpha · op(A) · op(B) + beta · C` with OpenBLAS's `cblas_sgemm`.
package func gemm(_ a: Matrix, transposeA: Bool = false, _ b: Matrix, transposeB: Bool = false,
                  alpha: Float = 1, beta: Float = 0, into c: inout Matrix) {
    let m = transposeA ? a.columns : a.rows
    let k = transposeA ? a.rows : a.columns
    let n = transposeB ? b.rows : b.columns
    precondition(k == (transposeB ? b.columns : b.rows), "inner dimensions differ: \(k) vs \(transposeB ? b.columns : b.rows)")
    precondition(c.rows == m && c.columns == n, "output is \(c.rows)×\(c.columns), product is \(m)×\(n)")
    guard m > 0, n > 0, k > 0 else { return }
    a.values.withUnsafeBufferPointer { pa in
        b.values.withUnsafeBufferPointer { pb in
            c.values.withUnsafeMutableBufferPointer { pc in
                guard let pa = pa.baseAddress, let pb = pb.baseAddress, let pc = pc.baseAddress else { return }
                gemm(m: m, n: n, k: k, pa, lda: a.columns, transposeA: transposeA,
                     pb, ldb: b.columns, transposeB: transposeB, alpha: alpha, beta: beta, into: pc, ldc: n)
            }
        }
    }
}

/// `A · B`, where `A` is `m × k` and `B` is `k × n`.
package func multiply(_ a: Matrix, _ b: Matrix) -> Matrix {
    var c = Matrix(rows: a.rows, columns: b.columns)
    gemm(a, b, into: &c)
    return c
}

/// `C = alpha · op(A) · op(B) + beta · C` on raw row-major buffers, for code
/// that multiplies slices of larger buffers (one time step of a batch, a
/// frame-major spectrogram). `m × k` is op(A)'s shape and `k × n` op(B)'s;
/// `lda`, `ldb`, `ldc` are row strides. Nothing happens when a side is empty.
package func gemm(m: Int, n: Int, k: Int, _ a: UnsafePointer<Float>, lda: Int, transposeA: Bool = false,
                  _ b: UnsafePointer<Float>, ldb: Int, transposeB: Bool = false,
                  alpha: Float = 1, beta: Float = 0, into c: UnsafeMutablePointer<Float>, ldc: Int) {
    guard m > 0, n > 0, k > 0 else { return }
    if n <= narrowColumnLimit, !transposeB, m * k >= narrowMinimumSize, ser_narrow_gemm_available() == 1 {
        return narrowProduct(m: m, n: n, k: k, a, lda: lda, transposeA: transposeA, b, ldb: ldb, alpha: alpha, beta: beta,
                             into: c, ldc: ldc)
    }
    cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// Output columns up to which `gemm` uses SERKernels' narrow products instead of sgemm.
let narrowColumnLimit = 16
/// `m · k` from which the narrow products pay (below it sgemm's packing costs little).
let narrowMinimumSize = 1 << 14

/// `gemm` for at most 16 output columns (a linear classifier's logits and gradient
/// over its training rows): A is streamed once instead of packed, and the rows of
/// C are split over the work thread count (`workThreadCount`). Every output is
/// summed in the same order however the rows are split, so the thread count does
/// not change the bits.
private func narrowProduct(m: Int, n: Int, k: Int, _ a: UnsafePointer<Float>, lda: Int, transposeA: Bool,
                           _ b: UnsafePointer<Float>, ldb: Int, alpha: Float, beta: Float,
                           into c: UnsafeMutablePointer<Float>, ldc: Int) {
    let width = Int(ser_narrow_width(Int32(n)))
    // B is k × n either way (k rows of A's inputs, or k rows of A when it is transposed).
    let padded = UnsafeMutablePointer<Float>.allocate(capacity: k * width)
    defer { padded.deallocate() }
    ser_narrow_pad(b, Int32(k), Int32(n), Int32(ldb), padded)
    let threads = max(1, min(workThreadCount(), m / 64))
    // Transposed, A is stored k × m: its columns are C's rows, summed in scratch first.
    let scratch = transposeA ? UnsafeMutablePointer<Float>.allocate(capacity: m * width) : nil
    defer { scratch?.deallocate() }
    let operands = NarrowOperands(a: a, b: padded, c: c, scratch: scratch)
    forEachRange(of: m, parts: threads) { begin, end in
        if let scratch = operands.scratch {
            _ = ser_narrow_gemm_tn(operands.a, Int32(lda), operands.b, Int32(k), Int32(n), Int32(begin), Int32(end),
                                   alpha, beta, operands.c, Int32(ldc), scratch)
        } else {
            _ = ser_narrow_gemm_nn(operands.a, Int32(lda), operands.b, Int32(k), Int32(n), Int32(begin), Int32(end),
                                   alpha, beta, operands.c, Int32(ldc))
        }
    }
}

/// Pointers that parallel parts read (`a`, `b`) or write in disjoint rows (`c`, `scratch`).
private struct NarrowOperands: @unchecked Sendable {
    let a: UnsafePointer<Float>, b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>
    let scratch: UnsafeMutablePointer<Float>?
}

/// Runs `body(begin, end)` over `count` items in `parts` contiguous ranges (at most
/// `count`), concurrently when there are several: the split code that divides its own
/// work over the work thread count uses.
package func forEachRange(of count: Int, parts: Int, _ body: @escaping @Sendable (Int, Int) -> Void) {
    let parts = max(1, min(parts, count))
    guard parts > 1 else { return body(0, count) }
    DispatchQueue.concurrentPerform(iterations: parts) { part in body(count * part / parts, count * (part + 1) / parts) }
}
