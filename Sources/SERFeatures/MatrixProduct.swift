import COpenBLAS
import SERKernels

/// `A · B` with OpenBLAS's `cblas_sgemm`, where `A` is `m × k` and `B` is `k × n`.
func multiply(_ a: FeatureMatrix, _ b: FeatureMatrix) -> FeatureMatrix {
    precondition(a.columns == b.rows, "inner dimensions differ: \(a.columns) vs \(b.rows)")
    var c = FeatureMatrix(rows: a.rows, columns: b.columns)
    guard a.rows > 0, b.columns > 0, a.columns > 0 else { return c }
    a.values.withUnsafeBufferPointer { pa in
        b.values.withUnsafeBufferPointer { pb in
            c.values.withUnsafeMutableBufferPointer { pc in
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans,
                            Int32(a.rows), Int32(b.columns), Int32(a.columns),
                            1, pa.baseAddress, Int32(a.columns), pb.baseAddress, Int32(b.columns),
                            0, pc.baseAddress, Int32(b.columns))
            }
        }
    }
    return c
}

/// `A · Fᵀ` where `F` is stored frame-major (`frames × k`): the product of a
/// filter bank with a frame-major spectrogram, giving `m × frames`.
func multiply(_ a: FeatureMatrix, frameMajor f: [Float], frames: Int) -> FeatureMatrix {
    let k = a.columns
    precondition(f.count == frames * k, "frame-major data does not have \(k) values per frame")
    var c = FeatureMatrix(rows: a.rows, columns: frames)
    guard a.rows > 0, frames > 0, k > 0 else { return c }
    a.values.withUnsafeBufferPointer { pa in
        f.withUnsafeBufferPointer { pf in
            c.values.withUnsafeMutableBufferPointer { pc in
                // A bank of a few rows (chroma) by the AVX2 kernel, which reads the
                // spectrogram in place; GEMM would first pack all of it.
                if a.rows <= 16,
                   ser_apply_dense_bank(pa.baseAddress, Int32(a.rows), Int32(k), pf.baseAddress, Int32(frames), pc.baseAddress) != 0 {
                    return
                }
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans,
                            Int32(a.rows), Int32(frames), Int32(k),
                            1, pa.baseAddress, Int32(k), pf.baseAddress, Int32(k),
                            0, pc.baseAddress, Int32(frames))
            }
        }
    }
    return c
}

/// Limits OpenBLAS to one thread per call; batch code parallelises over files.
public func useSingleThreadedBLAS() {
    openblas_set_num_threads(1)
}

