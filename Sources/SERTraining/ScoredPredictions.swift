import SERModels
import SERNumerics

/// Decisions on labelled recordings, each with its corpus, gathered for scoring:
/// the one way cross-validation (`Trainer.crossValidate`) and `ser evaluate`
/// turn probabilities into metrics.
///
/// Each row's decision is its most probable label among those its corpus
/// carries, with that probability renormalized over them (`permittedDecision`),
/// so a corpus without calm is never marked wrong for a calm it cannot carry.
public struct ScoredPredictions: Sendable, Equatable {
    /// The true label index of each row.
    public private(set) var truth: [Int] = []
    /// The decided label index of each row (among the labels its corpus carries).
    public private(set) var predicted: [Int] = []
    /// The probability of each decision, renormalized over the labels its corpus carries.
    public private(set) var confidence: [Double] = []
    /// The corpus of each row.
    public private(set) var corpora: [String] = []

    /// No rows yet; `append` adds them.
    public init() {}

    /// Scores the rows of `probabilities` (one column per label). `truth[r]` is the
    /// row's label index, or nil for a label outside the model's, and such rows are
    /// left out. `permitted[r]` marks the labels row `r`'s corpus carries (all when nil).
    public init(_ probabilities: Matrix, truth: [Int?], permitted: [[Bool]]?, corpora: [String]) {
        for r in 0..<probabilities.rows {
            let row = probabilities.values[(r * probabilities.columns)..<((r + 1) * probabilities.columns)]
            let decision = permittedDecision(row, permitted: permitted?[r])
            guard let target = truth[r], decision.index >= 0 else { continue }
            self.truth.append(target)
            predicted.append(decision.index)
            confidence.append(decision.confidence)
            self.corpora.append(corpora[r])
        }
    }

    /// Adds `other`'s rows after these (one fold after another).
    public mutating func append(_ other: ScoredPredictions) {
        truth += other.truth
        predicted += other.predicted
        confidence += other.confidence
        corpora += other.corpora
    }

    /// Metrics over every row, or over `rows`.
    public func metrics(labels: [String], rows: [Int]? = nil) -> ClassificationMetrics {
        let rows = rows ?? Array(truth.indices)
        return ClassificationMetrics(labels: labels, truth: rows.map { truth[$0] }, predicted: rows.map { predicted[$0] },
                                     confidence: rows.map { confidence[$0] })
    }

    /// Metrics of each corpus's rows.
    public func perCorpus(labels: [String]) -> [String: ClassificationMetrics] {
        var rowsByCorpus: [String: [Int]] = [:]
        for (row, corpus) in corpora.enumerated() { rowsByCorpus[corpus, default: []].append(row) }
        return rowsByCorpus.mapValues { metrics(labels: labels, rows: $0) }
    }
}
