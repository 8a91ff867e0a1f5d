import SERKernels
import SERNumerics

/// `A · Fᵀ` where `F` is stored frame-major (`frames × k`): the product of a
/// filter bank with a frame-major spectrogram, giving `m × frames`.
func multiply(_ a: Matrix, frameMajor f: [Float], frames: Int) -> Matrix {
    let k = a.columns
    precondition(f.count == frames * k, "frame-major data does not have \(k) values per frame")
    var c = Matrix(rows: a.rows, columns: frames)
    guard a.rows > 0, frames > 0, k > 0 else { return c }
    a.values.withUnsafeBufferPointer { pa in
        f.withUnsafeBufferPointer { pf in
            c.values.withUnsafeMutableBufferPointer { pc in
                guard let pa = pa.baseAddress, let pf = pf.baseAddress, let pc = pc.baseAddress else { return }
                // A bank of a few rows (chroma) by the AVX2 kernel, which reads the
                // spectrogram in place; GEMM would first pack all of it.
                if a.rows <= 16, ser_apply_dense_bank(pa, Int32(a.rows), Int32(k), pf, Int32(frames), pc) != 0 { return }
                gemm(m: a.rows, n: frames, k: k, pa, lda: k, pf, ldb: k, transposeB: true, into: pc, ldc: frames)
            }
        }
    }
    return c
}
