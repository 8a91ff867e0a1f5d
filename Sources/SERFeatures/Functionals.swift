import SERNumerics
/// The statistics `Pooling.functionals` takes of each frame-level row, in
/// vector order. Moments are population moments (numpy's and scipy's defaults);
/// percentiles interpolate linearly between order statistics (numpy's default).
public enum FunctionalStatistic: String, CaseIterable, Sendable {
    case mean
    /// Standard deviation.
    case std
    /// 10th, 50th and 90th percentiles.
    case p10, p50, p90
    /// The 10–90 percentile range: spread that ignores the extremes.
    case range1090 = "p10_p90_range"
    /// Third standardized moment (0 for a row with no spread).
    case skewness
    /// Fourth standardized moment minus 3 (excess kurtosis; 0 for a row with no spread).
    case kurtosis
    /// Least-squares slope against the frame index: change per frame.
    case slope
    case minimum = "min", maximum = "max"

    /// The statistics of each row of `matrix`, statistic-major. NaN values are
    /// skipped (the slope keeps the remaining frames' positions); a row with no
    /// value gives zeros.
    static func pool(_ matrix: Matrix) -> [Float] {
        let statistics = allCases.count, rows = matrix.rows, columns = matrix.columns
        var out = [Float](repeating: 0, count: statistics * rows)
        var present = [Float](), positions = [Double]()
        present.reserveCapacity(columns)
        positions.reserveCapacity(columns)
        matrix.values.withUnsafeBufferPointer { all in
            for r in 0..<rows {
                present.removeAll(keepingCapacity: true)
                positions.removeAll(keepingCapacity: true)
                for c in 0..<columns {
                    let value = all[r * columns + c]
                    if !value.isNaN { present.append(value); positions.append(Double(c)) }
                }
                guard !present.isEmpty else { continue }
                let values = describe(&present, positions: positions)
                for (s, value) in values.enumerated() { out[s * rows + r] = Float(value) }
            }
        }
        return out
    }

    /// The statistics of `values` (reordered: sorted on return) observed at `positions`.
    private static func describe(_ values: inout [Float], positions: [Double]) -> [Double] {
        let n = Double(values.count)
        var sum = 0.0
        for v in values { sum += Double(v) }
        let mean = sum / n
        var m2 = 0.0, m3 = 0.0, m4 = 0.0
        let meanPosition = positions.reduce(0, +) / n
        var covariance = 0.0, positionSpread = 0.0
        for (v, t) in zip(values, positions) {
            let d = Double(v) - mean, d2 = d * d
            m2 += d2; m3 += d2 * d; m4 += d2 * d2
            covariance += (t - meanPosition) * d
            positionSpread += (t - meanPosition) * (t - meanPosition)
        }
        m2 /= n; m3 /= n; m4 /= n
        // A row that is constant up to float round-off has no shape to describe.
        let flat = m2 <= 1e-12 * max(1, mean * mean)
        let skewness = flat ? 0 : m3 / (m2 * m2.squareRoot())
        let kurtosis = flat ? 0 : m4 / (m2 * m2) - 3
        let slope = positionSpread > 0 ? covariance / positionSpread : 0
        values.sort()
        func percentile(_ q: Double) -> Double {
            let position = q * (n - 1)
            let below = Int(position.rounded(.down)), above = below + 1 < values.count ? below + 1 : below
            let fraction = position - Double(below)
            return Double(values[below]) + fraction * (Double(values[above]) - Double(values[below]))
        }
        let p10 = percentile(0.1), p50 = percentile(0.5), p90 = percentile(0.9)
        return [mean, m2.squareRoot(), p10, p50, p90, p90 - p10, skewness, kurtosis, slope,
                Double(values[0]), Double(values[values.count - 1])]
    }
}
