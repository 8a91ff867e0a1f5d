import Foundation
import SERNumerics
import SERSupport

/// Inference: what recognition needs of a trained classifier, whatever its
/// family (the MLP and logistic regression, the CNN and LSTM, the tree models,
/// ensembles).
public protocol EmotionClassifier: AnyObject {
    /// Emotion labels, in the order of the probability columns.
    var labels: [String] { get }
    /// Features per row the classifier reads.
    var inputDimension: Int { get }
    /// Trainable numbers (weights, or tree nodes).
    var parameterCount: Int { get }
    /// One line per part, for `ser model info` (layers, or trees).
    var structureSummary: [String] { get }
    /// Whether the classifier also says the speaker's gender.
    var hasGenderHead: Bool { get }
    /// Calibrated class probabilities for each row of `features`.
    func probabilities(_ features: Matrix) -> Matrix
    /// Calibrated female/male probabilities for each row, or nil without a gender head.
    func genderProbabilities(_ features: Matrix) -> Matrix?
}

/// Calibration: softmax temperatures fitted on speakers the classifier was not
/// trained on, so that its probabilities mean what they say.
public protocol CalibratedClassifier: EmotionClassifier {
    /// The softmax temperature calibration chose (1 when uncalibrated).
    var temperature: Float { get }
    /// The gender head's temperature (1 when uncalibrated or without one).
    var genderTemperature: Float { get }
    /// Fits the temperatures on held-out data (temperature scaling). Accuracy is unchanged.
    func calibrate(on validation: LabelledMatrix)
    /// Takes `other`'s fitted temperatures: a refit on all speakers keeps the
    /// calibration that speakers it had not seen gave its predecessor.
    func adoptCalibration(of other: any CalibratedClassifier)
}

/// Corpus heads: a classifier that may answer differently knowing which
/// corpus a row comes from. Most classifiers have no heads and ignore it.
public protocol CorpusAwareClassifier: EmotionClassifier {
    /// Like `probabilities(_:)`, knowing the corpus each row comes from
    /// (`CorpusName` raw values): a model with a head per corpus answers with
    /// that corpus's head (`CorpusHeadsClassifier`).
    func probabilities(_ features: Matrix, corpora: [String]) -> Matrix
    /// The corpora the classifier has a head of its own for (empty for most).
    var corpusHeads: [String] { get }
}

extension CorpusAwareClassifier {
    /// Without heads: the same as `probabilities(_:)`, whatever the corpus.
    public func probabilities(_ features: Matrix, corpora: [String]) -> Matrix { probabilities(features) }
    /// Without heads: none.
    public var corpusHeads: [String] { [] }
}

/// Persistence: a classifier that is written to and read from a model file.
/// Its family is found by the file's `architecture` (`ClassifierFamily`).
public protocol PersistentClassifier: EmotionClassifier {
    /// The `architecture` names this family's model files carry.
    static var architectureNames: Set<String> { get }
    /// Rebuilds a trained classifier from its model file; `source` names it in errors.
    init(modelFile file: SafeTensorsFile, source: String) throws
    /// The classifier as a safetensors file, with `metadata` added.
    func modelFile(metadata: [String: String]) -> SafeTensorsFile
}

/// A classifier as training makes it and `ser` keeps it: it answers, is
/// calibrated, may have corpus heads, and is saved. Every family is one.
public typealias TrainedClassifier = CalibratedClassifier & CorpusAwareClassifier & PersistentClassifier
