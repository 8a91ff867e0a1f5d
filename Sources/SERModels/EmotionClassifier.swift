import Foundation

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
    var hasGenderHead: Bool { get }
    /// Calibrated class probabilities for each row of `features`.
    func probabilities(_ features: Matrix) -> Matrix
    /// Calibrated female/male probabilities for each row, or nil without a gender head.
    func genderProbabilities(_ features: Matrix) -> Matrix?
    /// Fits the temperatures on held-out data (temperature scaling).
    func calibrate(on validation: LabelledMatrix)
    /// The classifier as a safetensors file, with `metadata` added.
    func modelFile(metadata: [String: String]) -> SafeTensorsFile
}

/// Reads whichever classifier a model file holds.
public enum ClassifierFile {
    /// The classifier in `file`, by its `architecture` metadata; `source` names it in errors.
    public static func load(_ file: SafeTensorsFile, source: String) throws -> any EmotionClassifier {
        switch file.metadata["architecture"] ?? "" {
        case "mlp", "logreg": return try MLPClassifier(modelFile: file, source: source)
        case "tree", "forest": return try ForestClassifier(modelFile: file, source: source)
        case "boosted": return try BoostedTreesClassifier(modelFile: file, source: source)
        case let other:
            throw SafeTensorsFile.Failure.unsupported(path: source, reason: "unknown architecture \"\(other)\" (this ser reads mlp, logreg, tree, forest and boosted)")
        }
    }
}

extension MLPClassifier: EmotionClassifier {
    public var inputDimension: Int { standardizer?.mean.count ?? 0 }

    public var structureSummary: [String] {
        var widths = [inputDimension] + configuration.hiddenLayers + [labels.count]
        if widths.count < 2 { widths = [inputDimension, labels.count] }
        var lines = (1..<widths.count).map { "dense \(widths[$0 - 1])→\(widths[$0])" + ($0 < widths.count - 1 ? " + ReLU" : "") }
        if hasGenderHead { lines.append("gender head \(configuration.hiddenLayers.last ?? inputDimension)→2") }
        return lines
    }
}
