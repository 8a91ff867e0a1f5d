import Foundation
import SERNumerics

/// What is known of one speaker's voice: the count, sum and sum of squares of
/// the feature vectors of their recordings heard so far. Never audio, and no
/// labels: enough to standardize a new recording against the speaker's habits.
/// Adding recordings one by one and merging two statistics give the same result
/// as computing them from all the vectors at once.
public struct SpeakerStatistics: Codable, Sendable, Equatable {
    /// Recordings summed.
    public private(set) var count: Int
    public private(set) var sum: [Double]
    public private(set) var sumOfSquares: [Double]

    /// No recordings yet, for vectors of `dimension` values.
    public init(dimension: Int) {
        count = 0
        sum = [Double](repeating: 0, count: dimension)
        sumOfSquares = sum
    }

    /// The statistics of `vectors` (all `dimension` long).
    public init(dimension: Int, vectors: [[Float]]) {
        self.init(dimension: dimension)
        for vector in vectors { add(vector) }
    }

    enum CodingKeys: String, CodingKey { case count, sum, sumOfSquares = "sum_of_squares" }

    /// Why stored statistics cannot be used.
    public struct Inconsistent: Error, Equatable, Sendable {}

    /// The most recordings one statistics may count (far beyond any voice's
    /// lifetime of recordings; it keeps merged counts from overflowing).
    public static let maximumCount = 1 << 40

    /// Statistics as stored: throws `Inconsistent` unless the count is between 0
    /// and `maximumCount`, both sums have one finite value per feature and the squares are not negative.
    public init(count: Int, sum: [Double], sumOfSquares: [Double]) throws {
        guard (0...Self.maximumCount).contains(count), sum.count == sumOfSquares.count, (sum + sumOfSquares).allSatisfy(\.isFinite),
              sumOfSquares.allSatisfy({ $0 >= 0 }) else { throw Inconsistent() }
        self.count = count
        self.sum = sum
        self.sumOfSquares = sumOfSquares
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        do {
            try self.init(count: c.decode(Int.self, forKey: .count), sum: c.decode([Double].self, forKey: .sum),
                          sumOfSquares: c.decode([Double].self, forKey: .sumOfSquares))
        } catch is Inconsistent {
            throw DecodingError.dataCorruptedError(forKey: .sum, in: c, debugDescription: "inconsistent speaker statistics")
        }
    }

    public var dimension: Int { sum.count }

    /// Adds one recording's feature vector; one of the wrong length or with a
    /// non-finite value is ignored (returns false).
    @discardableResult
    public mutating func add(_ vector: [Float]) -> Bool {
        guard vector.count == sum.count, vector.allSatisfy(\.isFinite), count < Self.maximumCount else { return false }
        for i in vector.indices {
            let x = Double(vector[i])
            sum[i] += x
            sumOfSquares[i] += x * x
        }
        count += 1
        return true
    }

    /// Adds another speaker statistics of the same dimension (false when they
    /// differ, or when the count would pass `maximumCount`).
    @discardableResult
    public mutating func merge(_ other: SpeakerStatistics) -> Bool {
        guard other.dimension == dimension, count + other.count <= Self.maximumCount else { return false }
        for i in sum.indices {
            sum[i] += other.sum[i]
            sumOfSquares[i] += other.sumOfSquares[i]
        }
        count += other.count
        return true
    }

    /// The plain mean and deviation of the recordings, as `Standardizer(fittingRows:)`
    /// computes them (a feature that does not vary is only centred).
    public var standardizer: Standardizer {
        let n = Double(max(1, count))
        let mean = sum.map { $0 / n }
        let deviation = zip(mean, sumOfSquares).map { m, s -> Float in
            let variance = max(0, s / n - m * m)
            return variance > 1e-12 ? Float(variance.squareRoot()) : 1
        }
        return Standardizer(mean: mean.map { Float($0) }, deviation: deviation)
    }
}
