import Foundation
import SERNumerics
import SERSupport

/// A neural network classifier: a multilayer perceptron over utterance-level
/// feature vectors, or a `NetworkDesign` (CNN, LSTM) over log-mel images. Both
/// end in an emotion head and, when the training data says the speakers'
/// gender, a gender head on the same hidden layer, trained jointly.
/// Probabilities are temperature-scaled.
///
/// This file holds its state and inference; training, calibration and the
/// model file are the extensions in `NeuralNetworkClassifier+*.swift`.
/// Inference (`infer`) leaves the layers untouched, so one trained network
/// answers on several threads at once.
public final class NeuralNetworkClassifier {
    /// The emotions, in the order of the outputs.
    public let labels: [String]
    /// The settings it trains (and was trained) with.
    public let configuration: NeuralNetworkConfiguration
    /// The feature standardization fitted on the training rows (nil until trained).
    public internal(set) var standardizer: Standardizer?
    /// One record per training epoch.
    public internal(set) var history: [EpochRecord] = []
    /// Softmax temperatures fitted on validation speakers (1 until `calibrate`).
    public internal(set) var temperature: Float = 1
    /// The gender head's temperature (1 until `calibrate`, or without a head).
    public internal(set) var genderTemperature: Float = 1
    var trunk: [Layer] = []
    var emotionHead: Dense?
    var genderHead: Dense?

    /// An untrained network for `labels`; `fit` trains it.
    public init(labels: [String], configuration: NeuralNetworkConfiguration = .init()) {
        self.labels = labels
        self.configuration = configuration
    }

    /// Whether the model predicts gender.
    public var hasGenderHead: Bool { genderHead != nil }

    /// Trainable parameter count.
    public var parameterCount: Int { allParameters.filter(\.isTrainable).reduce(0) { $0 + $1.value.count } }

    var allParameters: [Parameter] {
        trunk.flatMap(\.parameters) + (emotionHead?.parameters ?? []) + (genderHead?.parameters ?? [])
    }

    /// The epoch training resumed after, when it resumed from a checkpoint.
    public internal(set) var resumedAfterEpoch: Int?

    /// Calibrated class probabilities for each row of `features`.
    public func probabilities(_ features: Matrix) -> Matrix {
        guard let standardizer else { return Matrix(rows: features.rows, columns: labels.count) }
        let raw = emotionLogits(standardized: standardizer.apply(features))
        return SoftmaxCrossEntropy.probabilities(raw.divided(by: temperature))
    }

    /// Calibrated female/male probabilities for each row, or nil without a gender head.
    public func genderProbabilities(_ features: Matrix) -> Matrix? {
        guard let standardizer, genderHead != nil else { return nil }
        guard let raw = logits(standardized: standardizer.apply(features)).gender else { return nil }
        return SoftmaxCrossEntropy.probabilities(raw.divided(by: genderTemperature))
    }

    /// The most probable class index for each row.
    public func predict(_ features: Matrix) -> [Int] {
        guard let standardizer else { return [] }
        let out = emotionLogits(standardized: standardizer.apply(features))
        return (0..<out.rows).map { argmax(out, row: $0) }
    }

    func emotionLogits(standardized x: Matrix) -> Matrix { logits(standardized: x).emotion }

    /// Rows per inference pass: bounds the memory a convolution's unrolled input takes.
    static let inferenceChunk = 64

    func logits(standardized x: Matrix) -> (emotion: Matrix, gender: Matrix?) {
        guard let emotionHead else { return (Matrix(rows: x.rows, columns: labels.count), nil) }
        guard x.rows > Self.inferenceChunk else { return chunkLogits(x, emotionHead: emotionHead) }
        var emotion: [Float] = [], gender: [Float]? = genderHead != nil ? [] : nil
        for start in stride(from: 0, to: x.rows, by: Self.inferenceChunk) {
            let part = chunkLogits(x.rows(Array(start..<min(start + Self.inferenceChunk, x.rows))), emotionHead: emotionHead)
            emotion += part.emotion.values
            if let g = part.gender { gender? += g.values }
        }
        return (Matrix(rows: x.rows, columns: labels.count, values: emotion),
                gender.map { Matrix(rows: x.rows, columns: SpeakerGender.labels.count, values: $0) })
    }

    func chunkLogits(_ x: Matrix, emotionHead: Dense) -> (emotion: Matrix, gender: Matrix?) {
        var hidden = x
        // `infer` leaves the layers untouched: recognition shares one model between threads.
        for layer in trunk { hidden = layer.infer(hidden) }
        return (emotionHead.infer(hidden), genderHead?.infer(hidden))
    }
}
