import Foundation
import SERModels

/// One point of an adaptation curve: recordings of a speaker scored with the
/// statistics of `k` other recordings of that speaker (nil k: all of them, itself included).
public struct AdaptationPoint: Codable, Sendable, Equatable {
    /// Recordings of the speaker known before each scored one; nil for "all".
    public var k: Int?
    /// Share of the scored recordings answered correctly.
    public var accuracy: Double
    /// Unweighted average recall over the labels.
    public var uar: Double
    /// Recordings scored.
    public var n: Int
    /// Per corpus, for pooled data.
    public var perCorpus: [String: AdaptationPoint]?
    /// Repeated cross-validation: the accuracy within each partition of the
    /// speakers (`accuracy` pools them). Nil for one partition.
    public var partitionAccuracies: [Double]?

    enum CodingKeys: String, CodingKey { case k, accuracy, uar, n, perCorpus = "per_corpus", partitionAccuracies = "partition_accuracies" }

    /// `k` is a number, or the string "all".
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        if let k { try c.encode(k, forKey: .k) } else { try c.encode("all", forKey: .k) }
        try c.encode(accuracy, forKey: .accuracy)
        try c.encode(uar, forKey: .uar)
        try c.encode(n, forKey: .n)
        try c.encodeIfPresent(perCorpus, forKey: .perCorpus)
        try c.encodeIfPresent(partitionAccuracies, forKey: .partitionAccuracies)
    }

    /// Reads a point whose `k` is a number or the string "all".
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        k = try? c.decode(Int.self, forKey: .k)
        accuracy = try c.decode(Double.self, forKey: .accuracy)
        uar = try c.decode(Double.self, forKey: .uar)
        n = try c.decode(Int.self, forKey: .n)
        perCorpus = try c.decodeIfPresent([String: AdaptationPoint].self, forKey: .perCorpus)
        partitionAccuracies = try c.decodeIfPresent([Double].self, forKey: .partitionAccuracies)
    }

    /// A point for `k` known recordings (nil: all), with per-corpus points for pooled data.
    public init(k: Int?, accuracy: Double, uar: Double, n: Int, perCorpus: [String: AdaptationPoint]? = nil) {
        self.k = k
        self.accuracy = accuracy
        self.uar = uar
        self.n = n
        self.perCorpus = perCorpus
    }

    /// "all" or the count.
    public var label: String { k.map(String.init) ?? "all" }
}

/// Mean ± standard deviation over speaker folds, and each fold's figures.
public struct CrossValidationSummary: Codable, Sendable, Equatable {
    /// One fold: its test speakers and how the model trained without them did on them.
    public struct Fold: Codable, Sendable, Equatable {
        /// The speakers the fold's model never saw in training.
        public var testSpeakers: [String]
        /// Their recordings scored.
        public var n: Int
        /// Share of them answered correctly.
        public var accuracy: Double
        /// Unweighted average recall over the labels.
        public var uar: Double
        /// Macro-averaged F1 over the labels.
        public var macroF1: Double
        /// Expected calibration error of the fold's answers; nil in summaries written before it was kept.
        public var ece: Double?
        /// Epochs the fold's network trained for (0 for models that do not train by epochs).
        public var epochs: Int
        /// Seconds the fold took to train and score.
        public var seconds: Double
        enum CodingKeys: String, CodingKey {
            case n, accuracy, uar, ece, epochs, seconds
            case testSpeakers = "test_speakers", macroF1 = "macro_f1"
        }
        /// A fold's figures from its test `metrics`.
        public init(testSpeakers: [String], metrics: ClassificationMetrics, epochs: Int, seconds: Double) {
            self.testSpeakers = testSpeakers
            n = metrics.n
            accuracy = metrics.accuracy
            uar = metrics.uar
            macroF1 = metrics.macroF1
            ece = metrics.ece
            self.epochs = epochs
            self.seconds = seconds
        }
    }

    /// How the folds were made (`SpeakerSplit.Method`: `k-fold`, `leave-one-speaker-out`, `held-out` or `random`).
    public var method: String
    /// Every fold's figures, partition after partition for repeated cross-validation.
    public var folds: [Fold]
    /// All folds' test predictions pooled.
    public var pooled: ClassificationMetrics
    /// The pooled test predictions of each corpus.
    public var perCorpus: [String: ClassificationMetrics]?
    /// Whether speakers could sit on both sides of a fold (random file folds, for comparison only).
    public var allowsLeakage: Bool
    /// Models with corpus heads (`CorpusHeadsClassifier`): the same test
    /// predictions made with the heads combined, as for audio of unknown
    /// origin, over all folds and per corpus. Nil for other models.
    public var combinedHeads: ClassificationMetrics?
    /// The same, per corpus.
    public var combinedHeadsPerCorpus: [String: ClassificationMetrics]?
    /// Speaker-adaptive models: the test speakers scored after k recordings of
    /// each (`ser train --adaptive --adaptation …`); k = 0 is `pooled`.
    public var adaptation: [AdaptationPoint]?
    /// Repeated cross-validation (`ser train --cv-repeats`): the pooled accuracy
    /// within each partition of the speakers, whose folds `folds` lists one
    /// partition after another. Nil for one partition.
    public var partitionAccuracies: [Double]?
    /// Cross-validation with recording conditions (`ser train --cv … --conditions`):
    /// each fold's model scored on evaluation copies of its test recordings made
    /// through each chain, pooled over folds, clean first. Nil without conditions.
    public var conditions: [ConditionScore]?

    enum CodingKeys: String, CodingKey {
        case method, folds, pooled, perCorpus = "per_corpus", allowsLeakage = "allows_leakage"
        case combinedHeads = "combined_heads", combinedHeadsPerCorpus = "combined_heads_per_corpus"
        case adaptation, partitionAccuracies = "partition_accuracies", conditions
    }

    /// Partitions of the speakers the folds come from (1 unless repeated).
    public var partitionCount: Int { max(1, partitionAccuracies?.count ?? 1) }

    /// "5 folds", or "5 folds × 3 partitions" for repeated cross-validation.
    public var foldsDescription: String {
        let partitions = partitionCount
        let perPartition = folds.count / partitions
        return partitions > 1 ? "\(perPartition) folds × \(partitions) partitions" : "\(folds.count) folds"
    }

    /// A summary of `folds` with their pooled test predictions (and per corpus, for pooled data).
    public init(method: String, folds: [Fold], pooled: ClassificationMetrics, perCorpus: [String: ClassificationMetrics]? = nil,
                allowsLeakage: Bool) {
        self.method = method
        self.folds = folds
        self.pooled = pooled
        self.perCorpus = perCorpus
        self.allowsLeakage = allowsLeakage
    }

    /// Mean and standard deviation of the folds' accuracies.
    public var accuracy: (mean: Double, std: Double) { Self.meanAndStd(folds.map(\.accuracy)) }
    /// Mean and standard deviation of the folds' unweighted average recalls.
    public var uar: (mean: Double, std: Double) { Self.meanAndStd(folds.map(\.uar)) }
    /// Mean and standard deviation of the folds' macro F1.
    public var macroF1: (mean: Double, std: Double) { Self.meanAndStd(folds.map(\.macroF1)) }

    /// Mean and population standard deviation.
    public static func meanAndStd(_ values: [Double]) -> (mean: Double, std: Double) {
        guard !values.isEmpty else { return (0, 0) }
        let mean = values.reduce(0, +) / Double(values.count)
        let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count)
        return (mean, variance.squareRoot())
    }
}
