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
                        let count = weights.count
                        let w = UnsafeRawPointer(weights.baseAddress!)
                        for t in 0..<frames {
                            let frame = UnsafeRawPointer(spectrum.baseAddress! + t * columns + band.start)
                            var accumulator = SIMD8<Float>()
                            var k = 0
                            while k + 8 <= count {
                                accumulator += w.loadUnaligned(fromByteOffset: k * 4, as: SIMD8<Float>.self)
                                    * frame.loadUnaligned(fromByteOffset: k * 4, as: SIMD8<Float>.self)
                                k += 8
                            }
                            var sum = accumulator.sum()
                            while k < count { sum += weights[k] * frame.load(fromByteOffset: k * 4, as: Float.self); k += 1 }
                            result[r * frames + t] = sum
                        }
                    }
                }
            }
        }
        return out
    }
}
