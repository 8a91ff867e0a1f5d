/// A filter bank whose rows are non-zero only over a contiguous range of bins
/// (mel triangles): applied as short dot products instead of a dense product.
struct BandedFilterBank: Sendable {
    let rows: Int
    let columns: Int
    /// For each row, the first bin and its weights over the non-zero range.
    let bands: [(start: Int, weights: [Float])]

    /// Keeps each row's range from its first to its last non-zero weight.
    init(_ dense: FeatureMatrix) {
        rows = dense.rows
        columns = dense.columns
        bands = (0..<dense.rows).map { r in
            let row = Array(dense.row(r))
            guard let first = row.firstIndex(where: { $0 != 0 }), let last = row.lastIndex(where: { $0 != 0 }) else {
                return (0, [])
            }
            return (first, Array(row[first...last]))
        }
    }

    /// The bank applied to a frame-major spectrogram: `rows × frames`.
    func apply(frameMajor values: [Float], frames: Int) -> FeatureMatrix {
        precondition(values.count == frames * columns, "frame-major data does not have \(columns) values per frame")
        var out = FeatureMatrix(rows: rows, columns: frames)
        values.withUnsafeBufferPointer { spectrum in
            out.values.withUnsafeMutableBufferPointer { result in
                for (r, band) in bands.enumerated() where !band.weights.isEmpty {
                    band.weights.withUnsafeBufferPointer { weights in
                        for t in 0..<frames {
                            let frame = spectrum.baseAddress! + t * columns + band.start
                            var sum: Float = 0
                            for k in 0..<weights.count { sum += weights[k] * frame[k] }
                            result[r * frames + t] = sum
                        }
                    }
                }
            }
        }
        return out
    }
}
