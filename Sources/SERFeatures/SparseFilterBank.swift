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
                bands.withUnsafeBufferPointer { bands in
                    // Four frames at a time (16 KB of spectrum, resident in L1) through
                    // every band; within a band the four frames share each load of
                    // the weights, and every frame is summed in the same order as the
                    // single-frame tail.
                    var t = 0
                    while t + 4 <= frames {
                        for r in 0..<bands.count where !bands[r].weights.isEmpty {
                            let band = bands[r]
                            band.weights.withUnsafeBufferPointer { weights in
                                let count = weights.count
                                let w = UnsafeRawPointer(weights.baseAddress!)
                                let f0 = UnsafeRawPointer(spectrum.baseAddress! + t * columns + band.start)
                                let f1 = f0 + columns * 4, f2 = f1 + columns * 4, f3 = f2 + columns * 4
                                var a0 = SIMD8<Float>(), a1 = a0, a2 = a0, a3 = a0
                                var k = 0
                                while k + 8 <= count {
                                    let weight = w.loadUnaligned(fromByteOffset: k * 4, as: SIMD8<Float>.self)
                                    a0 += weight * f0.loadUnaligned(fromByteOffset: k * 4, as: SIMD8<Float>.self)
                                    a1 += weight * f1.loadUnaligned(fromByteOffset: k * 4, as: SIMD8<Float>.self)
                                    a2 += weight * f2.loadUnaligned(fromByteOffset: k * 4, as: SIMD8<Float>.self)
                                    a3 += weight * f3.loadUnaligned(fromByteOffset: k * 4, as: SIMD8<Float>.self)
                                    k += 8
                                }
                                var s0 = a0.sum(), s1 = a1.sum(), s2 = a2.sum(), s3 = a3.sum()
                                while k < count {
                                    let weight = weights[k]
                                    s0 += weight * f0.load(fromByteOffset: k * 4, as: Float.self)
                                    s1 += weight * f1.load(fromByteOffset: k * 4, as: Float.self)
                                    s2 += weight * f2.load(fromByteOffset: k * 4, as: Float.self)
                                    s3 += weight * f3.load(fromByteOffset: k * 4, as: Float.self)
                                    k += 1
                                }
                                let row = result.baseAddress! + r * frames + t
                                row[0] = s0; row[1] = s1; row[2] = s2; row[3] = s3
                            }
                        }
                        t += 4
                    }
                    while t < frames {
                        for r in 0..<bands.count where !bands[r].weights.isEmpty {
                            let band = bands[r]
                            band.weights.withUnsafeBufferPointer { weights in
                                let count = weights.count
                                let w = UnsafeRawPointer(weights.baseAddress!)
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
                        t += 1
                    }
                }
            }
        }
        return out
    }
}
