import Foundation

/// Per-feature mean and standard deviation, learned on training data only.
public struct Standardizer: Codable, Sendable, Equatable {
    public var mean: [Float]
    public var deviation: [Float]

    public init(mean: [Float], deviation: [Float]) {
        self.mean = mean
        self.deviation = deviation
    }

    public init(fitting data: Matrix) {
        var mean = [Double](repeating: 0, count: data.columns), square = mean
        for r in 0..<data.rows {
            for c in 0..<data.columns { let x = Double(data[r, c]); mean[c] += x; square[c] += x * x }
        }
        let n = Double(max(1, data.rows))
        self.mean = mean.map { Float($0 / n) }
        deviation = zip(mean, square).map { m, s in
            let variance = max(0, s / n - (m / n) * (m / n))
            return variance > 1e-12 ? Float(variance.squareRoot()) : 1
        }
    }

    /// Fits rows given one example each (all of the same length).
    public init(fittingRows rows: [[Float]]) {
        self.init(fitting: Matrix(rows: rows.count, columns: rows.first?.count ?? 0, values: rows.flatMap { $0 }))
    }

    /// One example standardized.
    public func apply(_ vector: [Float]) -> [Float] {
        zip(vector, zip(mean, deviation)).map { value, statistics in (value - statistics.0) / statistics.1 }
    }

    public func apply(_ data: Matrix) -> Matrix {
        var out = data
        for r in 0..<data.rows { for c in 0..<data.columns { out[r, c] = (data[r, c] - mean[c]) / deviation[c] } }
        return out
    }
}

extension Standardizer {
    /// Statistics per channel (the last axis) of rows that hold `channels`-wide
    /// frames, tiled to the row's length: every frame of a log-mel image is
    /// normalized band by band, wherever it sits in time. The first `leading`
    /// columns (a feature vector before the image) get statistics of their own.
    public init(fitting data: Matrix, channels: Int, leading: Int = 0) {
        if leading > 0 {
            let vector = Standardizer(fitting: data.columns(0..<leading))
            let image = Standardizer(fitting: data.columns(leading..<data.columns), channels: channels)
            self.init(mean: vector.mean + image.mean, deviation: vector.deviation + image.deviation)
            return
        }
        precondition(channels > 0 && data.columns % channels == 0, "rows do not hold whole frames of \(channels)")
        var sum = [Double](repeating: 0, count: channels), squares = sum
        for (i, v) in data.values.enumerated() { let c = i % channels; sum[c] += Double(v); squares[c] += Double(v) * Double(v) }
        let n = Double(max(1, data.values.count / channels))
        let mean = sum.map { Float($0 / n) }
        let deviation = zip(sum, squares).map { s, q -> Float in
            let variance = max(0, q / n - (s / n) * (s / n))
            return variance > 1e-12 ? Float(variance.squareRoot()) : 1
        }
        let frames = data.columns / channels
        self.init(mean: Array((0..<frames).map { _ in mean }.joined()), deviation: Array((0..<frames).map { _ in deviation }.joined()))
    }
}
