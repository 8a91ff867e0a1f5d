import Dispatch
import Foundation
import SERAudio
import SERNumerics

/// How frame-level features become one utterance-level vector.
public enum Pooling: String, CaseIterable, Sendable, Codable {
    /// Mean of each row over frames (the seed projects' choice).
    case mean
    /// Standard deviation of each row (population, like numpy's default).
    case std
    /// Mean then standard deviation.
    case meanStd = "mean+std"
    /// Eleven statistics of each row, the kind openSMILE's functionals compute:
    /// see `FunctionalStatistic` for the list and their order.
    case functionals

    /// Pools each row of `matrix`. NaN values (pYIN's unvoiced frames) are
    /// left out; a row with no finite value pools to 0, so tables stay finite.
    /// Values are statistic-major: every row's first statistic, then every row's second, and so on.
    public func pool(_ matrix: Matrix) -> [Float] {
        switch self {
        case .mean: return Self.moments(matrix, withDeviations: false).means
        case .std: return Self.moments(matrix, withDeviations: true).deviations
        case .meanStd:
            let (means, deviations) = Self.moments(matrix, withDeviations: true)
            return means + deviations
        case .functionals: return FunctionalStatistic.pool(matrix)
        }
    }

    /// Each row's mean and (when asked) population standard deviation, NaN skipped.
    private static func moments(_ matrix: Matrix, withDeviations: Bool) -> (means: [Float], deviations: [Float]) {
        var means = [Float](repeating: 0, count: matrix.rows)
        var deviations = [Float](repeating: 0, count: matrix.rows)
        matrix.values.withUnsafeBufferPointer { all in
            for r in 0..<matrix.rows {
                let row = UnsafeBufferPointer(rebasing: all[(r * matrix.columns)..<((r + 1) * matrix.columns)])
                let (sum, count) = sumIgnoringNaN(row)
                guard count > 0 else { continue }
                let n = Double(count)
                let mean = sum / n
                means[r] = Float(mean)
                if withDeviations {
                    var squares = 0.0
                    for value in row where !value.isNaN { squares += (Double(value) - mean) * (Double(value) - mean) }
                    deviations[r] = Float((squares / n).squareRoot())
                }
            }
        }
        return (means, deviations)
    }

    /// The sum (in double precision) and count of the values that are not NaN,
    /// eight at a time in independent accumulators.
    private static func sumIgnoringNaN(_ row: UnsafeBufferPointer<Float>) -> (sum: Double, count: Int) {
        guard let base = row.baseAddress else { return (0, 0) }
        let raw = UnsafeRawPointer(base)
        var low = SIMD4<Double>(), high = SIMD4<Double>(), missing = SIMD8<Int32>()
        var i = 0
        while i + 8 <= row.count {
            let values = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            let isNaN = values .!= values
            missing &+= SIMD8<Int32>(repeating: 0).replacing(with: 1, where: isNaN)
            let clean = values.replacing(with: 0, where: isNaN)
            low += SIMD4<Double>(clean.lowHalf)
            high += SIMD4<Double>(clean.highHalf)
            i += 8
        }
        var sum = (low + high).sum()
        var count = i - Int(missing.wrappedSum())
        while i < row.count {
            if !row[i].isNaN { sum += Double(row[i]); count += 1 }
            i += 1
        }
        return (sum, count)
    }

    /// Names of the pooled values for rows named `names`.
    public func names(_ names: [String]) -> [String] {
        switch self {
        case .mean: return names.map { "\($0)_mean" }
        case .std: return names.map { "\($0)_std" }
        case .meanStd: return names.map { "\($0)_mean" } + names.map { "\($0)_std" }
        case .functionals: return FunctionalStatistic.allCases.flatMap { statistic in names.map { "\($0)_\(statistic.rawValue)" } }
        }
    }
}
