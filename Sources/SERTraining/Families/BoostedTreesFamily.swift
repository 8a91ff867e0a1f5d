import SERFeatures
import SERModels

/// Gradient-boosted regression trees on the softmax loss (200 rounds, depth 4,
/// η 0.1), fitted in one pass.
public struct BoostedTreesFamily: TrainingFamily {
    /// Boosted trees.
    public init() {}

    /// `boosted`.
    public var name: String { "boosted" }
    /// What it is, in one line.
    public var summary: String { "gradient-boosted regression trees on the softmax loss (200 rounds, depth 4, η 0.1)" }
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

    /// One pass.
    public func maximumEpochs(options: TrainingOptions, preset: FeaturePreset) -> Int { 1 }

    /// The booster fitted on the request's rows.
    public func fit(_ request: FitRequest) -> FittedClassifier {
        var configuration = BoostingConfiguration()
        configuration.seed = request.options.seed
        let booster = BoostedTreesClassifier(labels: request.labels, configuration: configuration)
        booster.fit(request.dataset.trainingMatrix(request.rows, labels: request.labels))
        return FittedClassifier(classifier: booster)
    }

    /// No epochs.
    public func refitEpochs(after first: FittedClassifier, options: TrainingOptions) -> Int? { nil }
}
