import COpenBLAS

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
    cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}
