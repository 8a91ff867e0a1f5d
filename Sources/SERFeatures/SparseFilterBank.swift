import SERKernels
import SERNumerics

/// A filter bank whose rows are non-zero only over a contiguous range of bins
/// (mel triangles): applied as short dot products instead of a dense product.
/// The rows' weights are stored back to back, in the layout the vector STFT
/// kernel reads (`ser_banded_bank`).
struct BandedFilterBank: Sendable {
    let rows: Int
    let columns: Int
    /// Row r covers bins `starts[r] ..< starts[r] + lengths[r]` with the weights
    /// at `weights[offsets[r]...]` (an all-zero row has length 0).
    let starts: [Int32]
    let lengths: [Int32]
    let offsets: [Int32]
    let weights: [Float]

    /// Keeps each row's range from its first to its last non-zero weight.
    init(_ dense: Matrix) {
        rows = dense.rows
        columns = dense.columns
        var starts: [Int32] = [], lengths: [Int32] = [], offsets: [Int32] = [], weights: [Float] = []
        for r in 0..<dense.rows {
            let row = dense.row(r)
            offsets.append(Int32(weights.count))
            if let first = row.firstIndex(where: { $0 != 0 }), let last = row.lastIndex(where: { $0 != 0 }) {
                starts.append(Int32(first - row.startIndex))
                lengths.append(Int32(last - first + 1))
                weights.append(contentsOf: row[first...last])
            } else {
                starts.append(0)
                lengths.append(0)
            }
        }
        (self.starts, self.lengths, self.offsets, self.weights) = (starts, lengths, offsets, weights)
    }

    /// The bank applied to a frame-major spectrogram: `rows × frames`.
    func apply(frameMajor values: [Float], frames: Int) -> Matrix {
        apply(frameMajor: values, frames: frames, squaring: false)
    }

    /// The bank applied to the squares (in float32) of a frame-major
    /// spectrogram: a power mel spectrogram from magnitudes, with no power
    /// matrix in between.
    func apply(squaresOf values: [Float], frames: Int) -> Matrix {
        apply(frameMajor: values, frames: frames, squaring: true)
    }

    /// Calls `body` with the kernel's view of the bank (valid only inside `body`).
    func withKernelBank<Result>(_ body: (UnsafePointer<ser_banded_bank>) -> Result) -> Result {
        starts.withUnsafeBufferPointer { starts in
            lengths.withUnsafeBufferPointer { lengths in
                offsets.withUnsafeBufferPointer { offsets in
                    weights.withUnsafeBufferPointer { weights in
                        var bank = ser_banded_bank(rows: Int32(rows), starts: starts.baseAddress, lengths: lengths.baseAddress,
                                                   offsets: offsets.baseAddress, weights: weights.baseAddress)
                        return withUnsafePointer(to: &bank, body)
                    }
                }
            }
        }
    }

    private func apply(frameMajor values: [Float], frames: Int, squaring: Bool) -> Matrix {
        precondition(values.count == frames * columns, "frame-major data does not have \(columns) values per frame")
        var out = Matrix(rows: rows, columns: frames)
        guard !weights.isEmpty else { return out }
        values.withUnsafeBufferPointer { spectrum in
            out.values.withUnsafeMutableBufferPointer { result in
                weights.withUnsafeBufferPointer { allWeights in
                    if squaring {
                        Self.accumulate(spectrum.baseAddress!, frames: frames, columns: columns, into: result.baseAddress!,
                                        bank: self, weights: allWeights.baseAddress!, { $0 * $0 }, { $0 * $0 })
                    } else {
                        Self.accumulate(spectrum.baseAddress!, frames: frames, columns: columns, into: result.baseAddress!,
                                        bank: self, weights: allWeights.baseAddress!, { $0 }, { $0 })
                    }
                }
            }
        }
        return out
    }

    /// Four frames at a time (16 KB of spectrum, resident in L1) through every
    /// band; within a band the four frames share each load of the weights, and
    /// every frame is summed in the same order as the single-frame tail.
    /// `transform` maps the spectrum's values (identity or square) as they are read.
    @inline(__always)
    private static func accumulate(_ spectrum: UnsafePointer<Float>, frames: Int, columns: Int, into result: UnsafeMutablePointer<Float>,
                                   bank: BandedFilterBank, weights: UnsafePointer<Float>,
                                   _ transform: (SIMD8<Float>) -> SIMD8<Float>, _ scalarTransform: (Float) -> Float) {
        let rows = bank.rows
        func band(_ r: Int) -> (start: Int, count: Int, weights: UnsafePointer<Float>) {
            (Int(bank.starts[r]), Int(bank.lengths[r]), weights + Int(bank.offsets[r]))
        }
        var t = 0
        while t + 4 <= frames {
            for r in 0..<rows {
                let (start, count, w) = band(r)
                let weightBytes = UnsafeRawPointer(w)
                let f0 = UnsafeRawPointer(spectrum + t * columns + start)
                let f1 = f0 + columns * 4, f2 = f1 + columns * 4, f3 = f2 + columns * 4
                var a0 = SIMD8<Float>(), a1 = a0, a2 = a0, a3 = a0
                var k = 0
                while k + 8 <= count {
                    let weight = weightBytes.loadUnaligned(fromByteOffset: k * 4, as: SIMD8<Float>.self)
                    a0 += weight * transform(f0.loadUnaligned(fromByteOffset: k * 4, as: SIMD8<Float>.self))
                    a1 += weight * transform(f1.loadUnaligned(fromByteOffset: k * 4, as: SIMD8<Float>.self))
                    a2 += weight * transform(f2.loadUnaligned(fromByteOffset: k * 4, as: SIMD8<Float>.self))
                    a3 += weight * transform(f3.loadUnaligned(fromByteOffset: k * 4, as: SIMD8<Float>.self))
                    k += 8
                }
                var s0 = a0.sum(), s1 = a1.sum(), s2 = a2.sum(), s3 = a3.sum()
                while k < count {
                    let weight = w[k]
                    s0 += weight * scalarTransform(f0.load(fromByteOffset: k * 4, as: Float.self))
                    s1 += weight * scalarTransform(f1.load(fromByteOffset: k * 4, as: Float.self))
                    s2 += weight * scalarTransform(f2.load(fromByteOffset: k * 4, as: Float.self))
                    s3 += weight * scalarTransform(f3.load(fromByteOffset: k * 4, as: Float.self))
                    k += 1
                }
                let row = result + r * frames + t
                row[0] = s0; row[1] = s1; row[2] = s2; row[3] = s3
            }
            t += 4
        }
        while t < frames {
            for r in 0..<rows {
                let (start, count, w) = band(r)
                let weightBytes = UnsafeRawPointer(w)
                let frame = UnsafeRawPointer(spectrum + t * columns + start)
                var accumulator = SIMD8<Float>()
                var k = 0
                while k + 8 <= count {
                    accumulator += weightBytes.loadUnaligned(fromByteOffset: k * 4, as: SIMD8<Float>.self)
                        * transform(frame.loadUnaligned(fromByteOffset: k * 4, as: SIMD8<Float>.self))
                    k += 8
                }
                var sum = accumulator.sum()
                while k < count { sum += w[k] * scalarTransform(frame.load(fromByteOffset: k * 4, as: Float.self)); k += 1 }
                result[r * frames + t] = sum
            }
            t += 1
        }
    }
}
