/// A real matrix in librosa's layout: one row per feature (or frequency bin),
/// one column per frame, stored row-major in one contiguous buffer.
public struct FeatureMatrix: Equatable, Sendable {
    /// Number of features (rows).
    public let rows: Int
    /// Number of frames (columns).
    public let columns: Int
    /// `rows × columns` values, row by row.
    public var values: [Float]

    /// A matrix of zeros.
    public init(rows: Int, columns: Int) {
        self.init(rows: rows, columns: columns, values: [Float](repeating: 0, count: rows * columns))
    }

    public init(rows: Int, columns: Int, values: [Float]) {
        precondition(rows >= 0 && columns >= 0 && values.count == rows * columns, "values do not fill \(rows)×\(columns)")
        self.rows = rows
        self.columns = columns
        self.values = values
    }

    public subscript(row: Int, column: Int) -> Float {
        get { values[row * columns + column] }
        set { values[row * columns + column] = newValue }
    }

    /// One feature across all frames.
    public func row(_ index: Int) -> ArraySlice<Float> {
        values[(index * columns)..<((index + 1) * columns)]
    }

    /// The matrix with rows and columns swapped.
    public func transposed() -> FeatureMatrix {
        var out = [Float](repeating: 0, count: values.count)
        values.withUnsafeBufferPointer { source in
            out.withUnsafeMutableBufferPointer { target in
                for r in 0..<rows {
                    for c in 0..<columns { target[c * rows + r] = source[r * columns + c] }
                }
            }
        }
        return FeatureMatrix(rows: columns, columns: rows, values: out)
    }
}
