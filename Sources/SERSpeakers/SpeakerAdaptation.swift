import Foundation
import SERNumerics

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
