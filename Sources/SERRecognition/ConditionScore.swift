import SERModels

/// How a model scored on copies of labelled recordings made through one
/// recording chain (`RecordingChain`: noise, a room, a telephone line…), beside
/// how it scored on the same recordings as they are. What `ser evaluate
/// --conditions` prints and what cross-validation with conditions keeps in a
/// model's header.
public struct ConditionScore: Codable, Sendable, Equatable {
    /// The chain's argument form (`clean`, `white:10`, `room:0.5+phone`…).
    public var condition: String
    /// Recordings scored: those answered when clean.
    public var n: Int
    /// Recordings in which no speech was found under this condition. They count
    /// as wrong answers, so a condition cannot gain by dropping hard files.
    public var noSpeech: Int
    /// Share of the recordings answered correctly, those with no speech found counting as wrong.
    public var accuracy: Double
    /// Unweighted average recall over the answered recordings.
    public var uar: Double
    /// Expected calibration error over the answered recordings.
    public var ece: Double
    /// Accuracy minus the clean accuracy on the same recordings (0 for clean).
    public var change: Double

    enum CodingKeys: String, CodingKey { case condition, n, accuracy, uar, ece, change, noSpeech = "no_speech" }

    /// A score as measured: `change` is `accuracy` minus the clean accuracy on the same recordings.
    public init(condition: String, n: Int, noSpeech: Int, accuracy: Double, uar: Double, ece: Double, change: Double) {
        self.condition = condition
        self.n = n
        self.noSpeech = noSpeech
        self.accuracy = accuracy
        self.uar = uar
        self.ece = ece
        self.change = change
    }

    /// The score of `condition` from the metrics of its answered copies and the
    /// count of copies that gave no answer (counted wrong), against
    /// `cleanAccuracy` on the same recordings.
    public init(condition: String, answered metrics: ClassificationMetrics, unanswered: Int, cleanAccuracy: Double) {
        let n = metrics.n + unanswered
        let accuracy = n == 0 ? 0 : metrics.accuracy * Double(metrics.n) / Double(n)
        self.init(condition: condition, n: n, noSpeech: unanswered, accuracy: accuracy, uar: metrics.uar,
                  ece: metrics.ece ?? 0, change: accuracy - cleanAccuracy)
    }

    /// The clean reference: `metrics` of the recordings as they are.
    public init(clean metrics: ClassificationMetrics) {
        self.init(condition: "clean", n: metrics.n, noSpeech: 0, accuracy: metrics.accuracy, uar: metrics.uar,
                  ece: metrics.ece ?? 0, change: 0)
    }
}
