import Foundation
import SERFeatures
import SERModels

/// How one family of classifiers is trained: what it reads, which of
/// `ser train`'s settings it honours, how it fits the rows it is given and how
/// long its refit on all speakers runs. `Trainer` only talks to this protocol;
/// each built-in family is one file beside this one, and `TrainingFamilies`
/// finds a family by its architecture name.
///
/// A family trained here must also be readable from its model file: register
/// its classifier with `ClassifierFile.register(_:)` too.
public protocol TrainingFamily: Sendable {
    /// The architecture name: the value of `ser train --architecture`, of a
    /// recipe's `architecture` and of the model file's `architecture` metadata.
    var name: String { get }
    /// One line for `--help` and the docs: what the family is.
    var summary: String { get }
    /// Whether the family reads log-mel images (`FeaturePreset.imageShape`) rather than feature vectors.
    var readsImages: Bool { get }
    /// The features it reads unless told otherwise.
    var defaultFeatures: FeaturePreset { get }
    /// Whether it fits in epochs (false: in one pass, as the tree models do).
    var trainsInEpochs: Bool { get }
    /// Whether training refits on all training speakers after validation by default.
    var refitsByDefault: Bool { get }
    /// The settings of `TrainingOptions` beyond the common ones that this family honours.
    var settings: Set<TrainingSetting> { get }
    /// The most epochs a fit with `options` on `preset` runs (1 for a one-pass family).
    func maximumEpochs(options: TrainingOptions, preset: FeaturePreset) -> Int
    /// A classifier fitted as `request` asks.
    func fit(_ request: FitRequest) -> FittedClassifier
    /// The epochs of the refit on all speakers after `first` was fitted with
    /// validation (nil: the family's own default, or no epochs at all).
    func refitEpochs(after first: FittedClassifier, options: TrainingOptions) -> Int?
}

extension TrainingFamily {
    /// Whether the family can read `preset`: images go to the image families, vectors to the rest.
    public func reads(_ preset: FeaturePreset) -> Bool { readsImages == (preset.imageShape != nil) }
}

/// Settings of `TrainingOptions` that only some families honour
/// (`TrainingFamily.settings`); `ser train` refuses one a family ignores.
public enum TrainingSetting: String, CaseIterable, Sendable {
    /// `TrainingOptions.optimizer`.
    case optimizer
    /// `TrainingOptions.schedule`.
    case schedule
    /// `TrainingOptions.learningRate`.
    case learningRate
    /// `TrainingOptions.weightDecay`.
    case weightDecay
    /// `TrainingOptions.l2Penalty`.
    case l2Penalty
    /// `TrainingOptions.balancesCorpora`.
    case corpusBalance
    /// `TrainingOptions.masksLabelsByCorpus` turned off.
    case labelMasks
    /// `TrainingOptions.trainsCorpusHeads`.
    case corpusHeads
}

/// What a family fits: rows of a dataset, perhaps validation rows to stop and
/// choose by, an epoch budget and a checkpoint.
public struct FitRequest {
    /// The dataset the rows index.
    public var dataset: FeatureDataset
    /// The rows to fit on.
    public var rows: [Int]
    /// Rows of held-out speakers for early stopping (nil: none).
    public var validation: LabelledMatrix?
    /// The labels, in the order of the probability columns.
    public var labels: [String]
    /// The training options (seed and the family's settings).
    public var options: TrainingOptions
    /// The most epochs to run; nil: the family's default.
    public var epochs: Int?
    /// Where an epoch-wise family checkpoints, if anywhere.
    public var checkpoint: TrainingCheckpointing?

    /// A request to fit `rows` of `dataset`.
    public init(dataset: FeatureDataset, rows: [Int], validation: LabelledMatrix?, labels: [String], options: TrainingOptions,
                epochs: Int?, checkpoint: TrainingCheckpointing?) {
        self.dataset = dataset
        self.rows = rows
        self.validation = validation
        self.labels = labels
        self.options = options
        self.epochs = epochs
        self.checkpoint = checkpoint
    }
}

/// A fitted classifier and how its fit went.
public struct FittedClassifier {
    /// The classifier.
    public var classifier: any TrainedClassifier
    /// Per-epoch losses and validation scores (empty for a one-pass family).
    public var history: [EpochRecord]
    /// The epoch a checkpoint resumed the fit after, if one did.
    public var resumedAfterEpoch: Int?

    /// A fit's outcome.
    public init(classifier: any TrainedClassifier, history: [EpochRecord] = [], resumedAfterEpoch: Int? = nil) {
        self.classifier = classifier
        self.history = history
        self.resumedAfterEpoch = resumedAfterEpoch
    }
}

/// The families `Trainer` can train: the built-in ones, then any a program registers.
public enum TrainingFamilies {
    /// The families of this build of ser, in the order `--help` lists them.
    public static let builtIn: [any TrainingFamily] = [
        NeuralNetworkFamily(design: nil),
        LogisticRegressionFamily(),
        TreeFamily(kind: .decisionTree),
        TreeFamily(kind: .randomForest),
        BoostedTreesFamily(),
        NeuralNetworkFamily(design: .cnn),
        NeuralNetworkFamily(design: .cnn1d),
        NeuralNetworkFamily(design: .lstm),
        NeuralNetworkFamily(design: .bilstm),
    ]

    private static let lock = NSLock()
    nonisolated(unsafe) private static var registered: [any TrainingFamily] = []

    /// Every family, built-in first.
    public static var all: [any TrainingFamily] { lock.withLock { builtIn + registered } }

    /// The family called `name`, or nil.
    public static func family(named name: String) -> (any TrainingFamily)? {
        all.first { $0.name == name }
    }

    /// Adds a family defined outside ser. A name a family already has stays with that family.
    public static func register(_ family: any TrainingFamily) {
        lock.withLock { registered.append(family) }
    }
}
