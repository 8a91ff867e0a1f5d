import SERFeatures
import SERModels

/// CART trees (Gini, class-balanced): one decision tree, the seeds' model, or
/// a random forest of 300 trees on bootstrap samples with √features per split.
/// Fitted in one pass, without standardization.
public struct TreeFamily: TrainingFamily {
    /// Which tree model.
    public enum Kind: String, Sendable {
        /// One decision tree (`tree`).
        case decisionTree = "tree"
        /// A random forest (`forest`).
        case randomForest = "forest"
    }

    /// The tree model this family fits.
    public let kind: Kind

    /// The family of `kind`.
    public init(kind: Kind) { self.kind = kind }

    /// `tree` or `forest`.
    public var name: String { kind.rawValue }
    /// What it is, in one line.
    public var summary: String {
        kind == .decisionTree ? "one CART decision tree (Gini, class-balanced)"
            : "a random forest: 300 CART trees on bootstrap samples, √features per split"
    }
    /// Trees read vectors.
    public var readsImages: Bool { false }
    /// `rich`.
    public var defaultFeatures: FeaturePreset { .rich }
    /// One pass, no epochs.
    public var trainsInEpochs: Bool { false }
    /// A refit costs one more pass.
    public var refitsByDefault: Bool { true }
    /// None of the network settings.
    public var settings: Set<TrainingSetting> { [] }

    /// The trees' settings with `seed`.
    public func configuration(seed: UInt64) -> TreeConfiguration {
        kind == .decisionTree ? .decisionTree(seed: seed) : .randomForest(seed: seed)
    }

    /// One pass.
    public func maximumEpochs(options: TrainingOptions, preset: FeaturePreset) -> Int { 1 }

    /// The trees grown on the request's rows.
    public func fit(_ request: FitRequest) -> FittedClassifier {
        let forest = ForestClassifier(labels: request.labels, configuration: configuration(seed: request.options.seed))
        forest.fit(request.dataset.trainingMatrix(request.rows, labels: request.labels))
        return FittedClassifier(classifier: forest)
    }

    /// No epochs.
    public func refitEpochs(after first: FittedClassifier, options: TrainingOptions) -> Int? { nil }
}
