import Foundation
import SERNumerics
import SERSupport

/// What recognition needs of a trained classifier, whatever its family: the
/// MLP (and logistic regression) or the tree models.
public protocol EmotionClassifier: AnyObject {
    /// Emotion labels, in the order of the probability columns.
    var labels: [String] { get }
    /// Features per row the classifier reads.
    var inputDimension: Int { get }
    /// Trainable numbers (weights, or tree nodes).
    var parameterCount: Int { get }
    /// One line per part, for `ser model info` (layers, or trees).
    var structureSummary: [String] { get }
    /// The softmax temperature calibration chose (1 when uncalibrated).
    var temperature: Float { get }
    /// The gender head's temperature (1 when uncalibrated or without one).
    var genderTemperature: Float { get }
    var hasGenderHead: Bool { get }
    /// Calibrated class probabilities for each row of `features`.
    func probabilities(_ features: Matrix) -> Matrix
    /// Like `probabilities(_:)`, knowing the corpus each row comes from
    /// (`CorpusName` raw values): a model with a head per corpus answers with
    /// that corpus's head (`CorpusHeadsClassifier`); the others ignore it.
    func probabilities(_ features: Matrix, corpora: [String]) -> Matrix
    /// The corpora the model has a head of its own for (empty for most models).
    var corpusHeads: [String] { get }
    /// Calibrated female/male probabilities for each row, or nil without a gender head.
    func genderProbabilities(_ features: Matrix) -> Matrix?
    /// Fits the temperatures on held-out data (temperature scaling).
    func calibrate(on validation: LabelledMatrix)
    /// Takes `other`'s fitted temperatures: a refit on all speakers keeps the
    /// calibration that speakers it had not seen gave its predecessor.
    func adoptCalibration(of other: any EmotionClassifier)
    /// The classifier as a safetensors file, with `metadata` added.
    func modelFile(metadata: [String: String]) -> SafeTensorsFile
}

/// Reads whichever classifier a model file holds.
public enum ClassifierFile {
    /// The classifier in `file`, by its `architecture` metadata; `source` names it in errors.
    public static func load(_ file: SafeTensorsFile, source: String) throws -> any EmotionClassifier {
        switch file.metadata["architecture"] ?? "" {
        case let name where NeuralNetworkClassifier.architectureNames.contains(name):
            return try NeuralNetworkClassifier(modelFile: file, source: source)
        case "tree", "forest": return try ForestClassifier(modelFile: file, source: source)
        case "boosted": return try BoostedTreesClassifier(modelFile: file, source: source)
        case "ensemble": return try EnsembleClassifier(modelFile: file, source: source)
        case "corpus-heads": return try CorpusHeadsClassifier(modelFile: file, source: source)
        case let other:
            throw SafeTensorsFile.Failure.unsupported(path: source, reason: "unknown architecture \"\(other)\" (this ser reads \(NeuralNetworkClassifier.architectureNames.sorted().joined(separator: ", ")), tree, forest, boosted, ensemble and corpus-heads)")
        }
    }
}

extension EmotionClassifier {
    public func probabilities(_ features: Matrix, corpora: [String]) -> Matrix { probabilities(features) }
    public var corpusHeads: [String] { [] }
}

extension NeuralNetworkClassifier: EmotionClassifier {
    public var inputDimension: Int { standardizer?.mean.count ?? 0 }

    public var structureSummary: [String] {
        if let design = configuration.design {
            return design.summary + ["emotion head \(design.hiddenWidth)→\(labels.count)"]
                + (hasGenderHead ? ["gender head \(design.hiddenWidth)→2"] : [])
        }
        var widths = [inputDimension] + configuration.hiddenLayers + [labels.count]
        if widths.count < 2 { widths = [inputDimension, labels.count] }
        var lines = (1..<widths.count).map { "dense \(widths[$0 - 1])→\(widths[$0])" + ($0 < widths.count - 1 ? " + ReLU" : "") }
        if hasGenderHead { lines.append("gender head \(configuration.hiddenLayers.last ?? inputDimension)→2") }
        if let penalty = configuration.l2Penalty, configuration.hiddenLayers.isEmpty {
            lines.append("fitted by L-BFGS, L2 penalty \(penalty)")
        }
        return lines
    }
}

/// The metadata every classifier's model file starts with: format and version,
/// architecture, labels, training settings and calibration temperatures.
struct ModelFileHeader<Settings: Codable> {
    var labels: [String]
    var configuration: Settings
    var temperature: Float
    var genderTemperature: Float

    /// A file holding just this header (tensors are added by the classifier).
    static func file(architecture: String, formatVersion: String, labels: [String], configuration: Settings,
                     temperature: Float, genderTemperature: Float?, metadata extra: [String: String]) -> SafeTensorsFile {
        var file = SafeTensorsFile.modelHeader(architecture: architecture, formatVersion: formatVersion, labels: labels, metadata: extra)
        file.metadata["training_configuration"] = sortedJSONText(configuration)
        file.metadata["temperature"] = String(temperature)
        if let genderTemperature {
            file.metadata["gender_labels"] = sortedJSONText(NeuralNetworkClassifier.genderLabels)
            file.metadata["gender_temperature"] = String(genderTemperature)
        }
        return file
    }

    /// Reads and checks the header of a `kind` model (one of `architectures`); `source` names the file in errors.
    init(_ file: SafeTensorsFile, source: String, architectures: Set<String>, kind: String, formatVersion: String) throws {
        typealias Failure = SafeTensorsFile.Failure
        guard file.metadata["format"] == "ser-model", architectures.contains(file.metadata["architecture"] ?? "") else {
            throw Failure.unsupported(path: source, reason: "not \(kind) model written by ser")
        }
        guard file.metadata["format_version"] == formatVersion else {
            throw Failure.unsupported(path: source, reason: "format version \(file.metadata["format_version"] ?? "none"), this ser reads \(formatVersion)")
        }
        guard let labelsText = file.metadata["labels"], let labels = try? JSONDecoder().decode([String].self, from: Data(labelsText.utf8)),
              !labels.isEmpty,
              let settingsText = file.metadata["training_configuration"],
              let configuration = try? JSONDecoder().decode(Settings.self, from: Data(settingsText.utf8))
        else { throw Failure.corrupt(path: source, reason: "the labels or training settings are missing") }
        self.labels = labels
        self.configuration = configuration
        func positive(_ key: String) -> Float {
            file.metadata[key].flatMap(Float.init).flatMap { $0 > 0 && $0.isFinite ? $0 : nil } ?? 1
        }
        temperature = positive("temperature")
        genderTemperature = positive("gender_temperature")
    }
}
