import Foundation

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

    /// Statistics as stored: throws `Inconsistent` unless the count is not
    /// negative, both sums have one finite value per feature and the squares are not negative.
    public init(count: Int, sum: [Double], sumOfSquares: [Double]) throws {
        guard count >= 0, sum.count == sumOfSquares.count, (sum + sumOfSquares).allSatisfy(\.isFinite),
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
        guard vector.count == sum.count, vector.allSatisfy(\.isFinite) else { return false }
        for i in vector.indices {
            let x = Double(vector[i])
            sum[i] += x
            sumOfSquares[i] += x * x
        }
        count += 1
        return true
    }

    /// Adds another speaker statistics of the same dimension (false when they differ).
    @discardableResult
    public mutating func merge(_ other: SpeakerStatistics) -> Bool {
        guard other.dimension == dimension else { return false }
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

/// How a model that knows a speaker answers: feature vectors standardized by
/// the speaker's statistics, each shrunk toward the training population's by a
/// number of pseudo-recordings (so that two or three recordings give a usable
/// estimate instead of a degenerate one), and the adapted classifier's
/// probabilities blended with the lone-file classifier's, the adapted share
/// growing with the recordings heard: `k / (k + blendPriorWeight)`.
///
/// With `k` recordings summing to `Σx` and squares `Σx²`:
/// `mean = (Σx + τ·μ₀) / (k + τ)` and
/// `variance = (Σ(x − mean)² + τᵥ·σ²_w) / (k + τᵥ)`, where `μ₀` is the mean of the
/// training speakers' means and `σ²_w` their mean within-speaker variance.
public struct SpeakerAdaptation: Codable, Sendable, Equatable {
    /// The training speakers' mean feature vector (mean of per-speaker means).
    public var populationMean: [Float]
    /// The training speakers' mean within-speaker variance, feature by feature.
    public var withinSpeakerVariance: [Float]
    /// τ: pseudo-recordings of the population mean added to a speaker's.
    public var meanPriorWeight: Double
    /// τᵥ: pseudo-recordings of the population's within-speaker variance.
    public var variancePriorWeight: Double
    /// κ: the adapted classifier's share is k / (k + κ) after k recordings.
    public var blendPriorWeight: Double
    /// Fewest recordings before the adapted classifier is used at all.
    public var minimumRecordings: Int

    enum CodingKeys: String, CodingKey {
        case populationMean = "population_mean", withinSpeakerVariance = "within_speaker_variance"
        case meanPriorWeight = "mean_prior_weight", variancePriorWeight = "variance_prior_weight"
        case blendPriorWeight = "blend_prior_weight", minimumRecordings = "minimum_recordings"
    }

    public init(populationMean: [Float], withinSpeakerVariance: [Float], meanPriorWeight: Double,
                variancePriorWeight: Double, blendPriorWeight: Double, minimumRecordings: Int) {
        self.populationMean = populationMean
        self.withinSpeakerVariance = withinSpeakerVariance
        self.meanPriorWeight = meanPriorWeight
        self.variancePriorWeight = variancePriorWeight
        self.blendPriorWeight = blendPriorWeight
        self.minimumRecordings = minimumRecordings
    }

    /// The population statistics of training data: the mean of each speaker's
    /// mean and the mean of each speaker's variance (speakers with one recording
    /// count toward the mean only). The weights are the estimator's settings.
    public init(fitting vectors: [[Float]], groups: [String], meanPriorWeight: Double, variancePriorWeight: Double,
                blendPriorWeight: Double, minimumRecordings: Int) {
        precondition(vectors.count == groups.count, "one group per row")
        let dimension = vectors.first?.count ?? 0
        var bySpeaker: [String: SpeakerStatistics] = [:]
        for (vector, group) in zip(vectors, groups) {
            bySpeaker[group, default: SpeakerStatistics(dimension: dimension)].add(vector)
        }
        var meanSum = [Double](repeating: 0, count: dimension), varianceSum = meanSum
        var varianceSpeakers = 0
        for statistics in bySpeaker.values {
            let n = Double(statistics.count)
            for i in 0..<dimension { meanSum[i] += statistics.sum[i] / n }
            guard statistics.count > 1 else { continue }
            varianceSpeakers += 1
            for i in 0..<dimension {
                let m = statistics.sum[i] / n
                varianceSum[i] += max(0, statistics.sumOfSquares[i] / n - m * m)
            }
        }
        let speakers = Double(max(1, bySpeaker.count)), withVariance = Double(max(1, varianceSpeakers))
        self.init(populationMean: meanSum.map { Float($0 / speakers) },
                  withinSpeakerVariance: varianceSum.map { Float(max($0 / withVariance, 1e-12)) },
                  meanPriorWeight: meanPriorWeight, variancePriorWeight: variancePriorWeight,
                  blendPriorWeight: blendPriorWeight, minimumRecordings: minimumRecordings)
    }

    public var dimension: Int { populationMean.count }

    /// The standardizer for a speaker with `statistics` (the shrunk estimates).
    public func standardizer(for statistics: SpeakerStatistics) -> Standardizer {
        let k = Double(statistics.count)
        var mean = [Float](repeating: 0, count: dimension), deviation = mean
        for i in 0..<dimension {
            let m = (statistics.sum[i] + meanPriorWeight * Double(populationMean[i])) / max(k + meanPriorWeight, 1e-12)
            // Σ(x − m)² from the running sums.
            let squares = max(0, statistics.sumOfSquares[i] - 2 * m * statistics.sum[i] + k * m * m)
            let variance = (squares + variancePriorWeight * Double(withinSpeakerVariance[i])) / max(k + variancePriorWeight, 1e-12)
            mean[i] = Float(m)
            deviation[i] = variance > 1e-12 ? Float(variance.squareRoot()) : 1
        }
        return Standardizer(mean: mean, deviation: deviation)
    }

    /// The adapted classifier's share of the answer after `recordings` of the speaker.
    public func adaptedWeight(recordings: Int) -> Double {
        guard recordings >= max(1, minimumRecordings) else { return 0 }
        let k = Double(recordings)
        return k / (k + max(0, blendPriorWeight))
    }
}
