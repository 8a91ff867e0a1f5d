import COpenBLAS

/// A dense row-major float32 matrix: a batch of vectors, one per row.
public struct Matrix: Equatable, Sendable {
    public let rows: Int
    public let columns: Int
    public var values: [Float]

    public init(rows: Int, columns: Int, values: [Float]) {
        precondition(values.count == rows * columns, "values do not fill \(rows)×\(columns)")
        self.rows = rows
        self.columns = columns
        self.values = values
    }

    public init(rows: Int, columns: Int, repeating value: Float = 0) {
        self.init(rows: rows, columns: columns, values: [Float](repeating: value, count: rows * columns))
    }

    public subscript(row: Int, column: Int) -> Float {
        get { values[row * columns + column] }
        set { values[row * columns + column] = newValue }
    }

    /// The columns in `range` of every row.
    public func columns(_ range: Range<Int>) -> Matrix {
        var out = Matrix(rows: rows, columns: range.count)
        for r in 0..<rows {
            for (c, source) in range.enumerated() { out.values[r * range.count + c] = values[r * columns + source] }
        }
        return out
    }

    /// `left` and `right` joined row by row (`left`'s columns first).
    public static func sideBySide(_ left: Matrix, _ right: Matrix) -> Matrix {
        precondition(left.rows == right.rows, "joined matrices need the same rows")
        var out = Matrix(rows: left.rows, columns: left.columns + right.columns)
        for r in 0..<left.rows {
            for c in 0..<left.columns { out.values[r * out.columns + c] = left.values[r * left.columns + c] }
            for c in 0..<right.columns { out.values[r * out.columns + left.columns + c] = right.values[r * right.columns + c] }
        }
        return out
    }

    /// Rows `indices` gathered into a new matrix.
    public func rows(_ indices: [Int]) -> Matrix {
        var out = Matrix(rows: indices.count, columns: columns)
        for (r, index) in indices.enumerated() {
            for c in 0..<columns { out.values[r * columns + c] = values[index * columns + c] }
        }
        return out
    }
}

/// `C = alpha · op(A) · op(B) + beta · C` with OpenBLAS.
func gemm(_ a: Matrix, transposeA: Bool = false, _ b: Matrix, transposeB: Bool = false,
          alpha: Float = 1, beta: Float = 0, into c: inout Matrix) {
    let m = transposeA ? a.columns : a.rows
    let k = transposeA ? a.rows : a.columns
    let n = transposeB ? b.rows : b.columns
    precondition(k == (transposeB ? b.columns : b.rows), "inner dimensions differ")
    precondition(c.rows == m && c.columns == n, "output is \(c.rows)×\(c.columns), product is \(m)×\(n)")
    guard m > 0, n > 0, k > 0 else { return }
    a.values.withUnsafeBufferPointer { pa in
        b.values.withUnsafeBufferPointer { pb in
            c.values.withUnsafeMutableBufferPointer { pc in
                cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                            Int32(m), Int32(n), Int32(k), alpha, pa.baseAddress, Int32(a.columns),
                            pb.baseAddress, Int32(b.columns), beta, pc.baseAddress, Int32(n))
            }
        }
    }
}

extension Matrix {
    /// Every entry divided by `divisor` (logits by a softmax temperature).
    func divided(by divisor: Float) -> Matrix {
        Matrix(rows: rows, columns: columns, values: values.map { $0 / divisor })
    }
}

/// `C = alpha · op(A) · op(B) + beta · C` on raw row-major buffers, for layers
/// that multiply slices of larger buffers (one time step of a batch).
/// `m × k` is op(A)'s shape and `k × n` op(B)'s; `lda`, `ldb`, `ldc` are row strides.
func gemm(m: Int, n: Int, k: Int, _ a: UnsafePointer<Float>, lda: Int, transposeA: Bool = false,
          _ b: UnsafePointer<Float>, ldb: Int, transposeB: Bool = false,
          alpha: Float = 1, beta: Float = 0, into c: UnsafeMutablePointer<Float>, ldc: Int) {
    guard m > 0, n > 0, k > 0 else { return }
    cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}
