/// A dense row-major float32 matrix in one contiguous buffer.
///
/// Features use it in librosa's layout (one row per feature or frequency bin,
/// one column per frame); models use it as a batch (one row per example).
public struct Matrix: Equatable, Sendable {
    /// Number of rows.
    public let rows: Int
    /// Number of columns.
    public let columns: Int
    /// `rows × columns` values, row by row.
    public var values: [Float]

    /// A matrix holding `values`, which must fill `rows × columns` exactly.
    public init(rows: Int, columns: Int, values: [Float]) {
        precondition(rows >= 0 && columns >= 0 && values.count == rows * columns, "values do not fill \(rows)×\(columns)")
        self.rows = rows
        self.columns = columns
        self.values = values
    }

    /// A matrix with every entry `value` (zeros by default).
    public init(rows: Int, columns: Int, repeating value: Float = 0) {
        self.init(rows: rows, columns: columns, values: [Float](repeating: value, count: rows * columns))
    }

    /// The entry at `row`, `column`.
    public subscript(row: Int, column: Int) -> Float {
        get { values[row * columns + column] }
        set { values[row * columns + column] = newValue }
    }

    /// Row `index`'s values (one feature across all frames, or one example).
    public func row(_ index: Int) -> ArraySlice<Float> {
        values[(index * columns)..<((index + 1) * columns)]
    }

    /// The matrix with rows and columns swapped.
    public func transposed() -> Matrix {
        var out = [Float](repeating: 0, count: values.count)
        values.withUnsafeBufferPointer { source in
            out.withUnsafeMutableBufferPointer { target in
                for r in 0..<rows {
                    for c in 0..<columns { target[c * rows + r] = source[r * columns + c] }
                }
            }
        }
        return Matrix(rows: columns, columns: rows, values: out)
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

    /// Every entry divided by `divisor` (logits by a softmax temperature).
    public func divided(by divisor: Float) -> Matrix {
        Matrix(rows: rows, columns: columns, values: values.map { $0 / divisor })
    }
}
