import Foundation
import SERNumerics

/// Examples for training or validation: feature rows, emotion class indices and,
/// where known, gender indices into `SpeakerGender.labels`.
public struct LabelledMatrix: Sendable {
    /// One row per example.
    public var features: Matrix
    /// Each row's emotion, an index into the classifier's labels.
    public var targets: [Int]
    /// Each row's gender (index into `SpeakerGender.labels`), nil where unknown.
    public var genders: [Int?]
    /// How much each row counts in the training loss (nil: equally); e.g. to make
    /// pooled corpora weigh the same whatever their sizes (`--balance-corpora`).
    public var rowWeights: [Float]?
    /// Which labels each row can carry (nil: all). Pooled corpora differ: CREMA-D
    /// has no calm, so a CREMA-D recording says nothing about calm. Networks
    /// train each row's softmax over its permitted labels only, and decisions on
    /// a row choose among them (`permittedDecision`).
    public var labelMasks: [[Bool]]?

    /// Examples with one target per row; genders unknown, rows equally weighted and all labels permitted unless given.
    public init(features: Matrix, targets: [Int], genders: [Int?]? = nil, rowWeights: [Float]? = nil, labelMasks: [[Bool]]? = nil) {
        precondition(features.rows == targets.count, "one target per row")
        precondition(rowWeights.map { $0.count == targets.count } ?? true, "one weight per row")
        precondition(labelMasks.map { $0.count == targets.count } ?? true, "one label mask per row")
        self.features = features
        self.targets = targets
        self.genders = genders ?? [Int?](repeating: nil, count: targets.count)
        self.rowWeights = rowWeights
        self.labelMasks = labelMasks
    }
}
