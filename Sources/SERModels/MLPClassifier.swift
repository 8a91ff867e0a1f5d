import Foundation
import SERSupport

/// Per-feature mean and standard deviation, learned on training data only.
public struct Standardizer: Codable, Sendable, Equatable {
    public var mean: [Float]
    public var deviation: [Float]

    public init(fitting data: Matrix) {
        var mean = [Double](repeating: 0, count: data.columns), square = mean
        for r in 0..<data.rows {
            for c in 0..<data.columns { let x = Double(data[r, c]); mean[c] += x; square[c] += x * x }
        }
        let n = Double(max(1, data.rows))
        self.mean = mean.map { Float($0 / n) }
        deviation = zip(mean, square).map { m, s in
            let variance = max(0, s / n - (m / n) * (m / n))
            return variance > 1e-12 ? Float(variance.squareRoot()) : 1
        }
    }

    public func apply(_ data: Matrix) -> Matrix {
        var out = data
        for r in 0..<data.rows { for c in 0..<data.columns { out[r, c] = (data[r, c] - mean[c]) / deviation[c] } }
        return out
    }
}

/// Training settings for the MLP.
public struct MLPConfiguration: Codable, Sendable, Equatable {
    public var hiddenLayers: [Int] = [256, 128]
    public var dropout: Float = 0.3
    public var learningRate: Float = 1e-3
    public var weightDecay: Float = 1e-4
    public var batchSize: Int = 64
    public var maximumEpochs: Int = 200
    /// Stop after this many epochs without a better validation UAR.
    public var patience: Int = 20
    public var labelSmoothing: Float = 0.05
    /// Weight classes inversely to their frequency.
    public var balanceClasses: Bool = true
    public var seed: UInt64 = 1

    public init() {}
}

/// What one epoch looked like, for curves and logs.
public struct EpochRecord: Codable, Sendable, Equatable {
    public var epoch: Int
    public var trainLoss: Double
    public var trainAccuracy: Double
    public var validationAccuracy: Double?
    public var validationUAR: Double?
}

/// A multilayer perceptron over utterance-level feature vectors.
public final class MLPClassifier {
    public let labels: [String]
    public let configuration: MLPConfiguration
    public private(set) var standardizer: Standardizer?
    public private(set) var history: [EpochRecord] = []
    private var layers: [Layer] = []

    public init(labels: [String], configuration: MLPConfiguration = .init()) {
        self.labels = labels
        self.configuration = configuration
    }

    /// Trains on `features` (one row per example) with class indices `targets`,
    /// keeping the weights of the epoch with the best validation UAR when a
    /// validation set is given (otherwise the last epoch's).
    public func fit(_ features: Matrix, targets: [Int], validation: (features: Matrix, targets: [Int])? = nil) {
        let c = configuration
        var generator = SplitMix64(seed: c.seed)
        let standardizer = Standardizer(fitting: features)
        self.standardizer = standardizer
        let x = standardizer.apply(features)
        let validationX = validation.map { standardizer.apply($0.features) }
        var sizes = [features.columns] + c.hiddenLayers
        layers = []
        for i in 0..<(sizes.count - 1) {
            layers.append(Dense(inputs: sizes[i], outputs: sizes[i + 1], generator: &generator))
            layers.append(ReLU())
            if c.dropout > 0 { layers.append(Dropout(rate: c.dropout, seed: generator.next())) }
        }
        sizes.append(labels.count)
        layers.append(Dense(inputs: sizes[sizes.count - 2], outputs: labels.count, generator: &generator))

        var counts = [Int](repeating: 0, count: labels.count)
        for t in targets { counts[t] += 1 }
        let present = counts.filter { $0 > 0 }.count
        let weights: [Float]? = c.balanceClasses
            ? counts.map { $0 == 0 ? 0 : Float(targets.count) / Float(present * $0) } : nil
        let loss = SoftmaxCrossEntropy(classWeights: weights, labelSmoothing: c.labelSmoothing)
        let optimizer = Adam(learningRate: c.learningRate, weightDecay: c.weightDecay)
        var bestUAR = -1.0, bestWeights: [[Float]] = [], sinceBest = 0
        history = []
        var order = Array(0..<x.rows)
        for epoch in 1...c.maximumEpochs {
            order.shuffle(using: &generator)
            var lossSum = 0.0, correct = 0
            for start in stride(from: 0, to: order.count, by: c.batchSize) {
                let batch = Array(order[start..<min(start + c.batchSize, order.count)])
                var activations = x.rows(batch)
                for layer in layers { activations = layer.forward(activations, training: true) }
                let batchTargets = batch.map { targets[$0] }
                let (value, gradient) = loss.lossAndGradient(logits: activations, targets: batchTargets)
                lossSum += Double(value) * Double(batch.count)
                for r in 0..<batch.count where argmax(activations, row: r) == batchTargets[r] { correct += 1 }
                var g = gradient
                for layer in layers.reversed() { g = layer.backward(g) }
                optimizer.update(layers.flatMap(\.parameters))
            }
            var record = EpochRecord(epoch: epoch, trainLoss: lossSum / Double(x.rows),
                                     trainAccuracy: Double(correct) / Double(x.rows))
            if let validation, let validationX {
                let predicted = predictIndices(standardized: validationX)
                let metrics = ClassificationMetrics(labels: labels, truth: validation.targets, predicted: predicted)
                record.validationAccuracy = metrics.accuracy
                record.validationUAR = metrics.uar
                if metrics.uar > bestUAR {
                    bestUAR = metrics.uar
                    bestWeights = layers.flatMap(\.parameters).map(\.value)
                    sinceBest = 0
                } else {
                    sinceBest += 1
                }
            }
            history.append(record)
            if validation != nil && sinceBest >= c.patience { break }
        }
        if !bestWeights.isEmpty {
            for (parameter, value) in zip(layers.flatMap(\.parameters), bestWeights) { parameter.value = value }
        }
    }

    /// The format version `modelFile()` writes and `init(modelFile:source:)` reads.
    public static let modelFormatVersion = "1"

    /// The trained model as a safetensors file: dense weights and biases, the
    /// standardization statistics, and labels and settings in the metadata
    /// (plus `metadata`, e.g. the feature configuration and metrics).
    public func modelFile(metadata extra: [String: String] = [:]) -> SafeTensorsFile {
        var file = SafeTensorsFile(metadata: extra)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        file.metadata["format"] = "ser-model"
        file.metadata["format_version"] = Self.modelFormatVersion
        file.metadata["architecture"] = "mlp"
        file.metadata["labels"] = String(decoding: (try? encoder.encode(labels)) ?? Data(), as: UTF8.self)
        file.metadata["training_configuration"] = String(decoding: (try? encoder.encode(configuration)) ?? Data(), as: UTF8.self)
        if let standardizer {
            file.tensors["standardizer.mean"] = .init(shape: [standardizer.mean.count], values: standardizer.mean)
            file.tensors["standardizer.deviation"] = .init(shape: [standardizer.deviation.count], values: standardizer.deviation)
        }
        for (index, dense) in layers.compactMap({ $0 as? Dense }).enumerated() {
            file.tensors["dense.\(index).weight"] = .init(shape: [dense.inputs, dense.outputs], values: dense.weight.value)
            file.tensors["dense.\(index).bias"] = .init(shape: [dense.outputs], values: dense.bias.value)
        }
        return file
    }

    /// Rebuilds a trained MLP from its model file; `source` names it in errors.
    public init(modelFile file: SafeTensorsFile, source: String) throws {
        typealias Failure = SafeTensorsFile.Failure
        guard file.metadata["format"] == "ser-model", file.metadata["architecture"] == "mlp" else {
            throw Failure.unsupported(path: source, reason: "not an MLP model written by ser")
        }
        guard file.metadata["format_version"] == Self.modelFormatVersion else {
            throw Failure.unsupported(path: source, reason: "format version \(file.metadata["format_version"] ?? "none"), this ser reads \(Self.modelFormatVersion)")
        }
        guard let labelsText = file.metadata["labels"], let labels = try? JSONDecoder().decode([String].self, from: Data(labelsText.utf8)),
              let settingsText = file.metadata["training_configuration"],
              let configuration = try? JSONDecoder().decode(MLPConfiguration.self, from: Data(settingsText.utf8)),
              let mean = file.tensors["standardizer.mean"], let deviation = file.tensors["standardizer.deviation"],
              mean.values.count == deviation.values.count
        else { throw Failure.corrupt(path: source, reason: "labels, settings or standardization are missing") }
        self.labels = labels
        self.configuration = configuration
        var standardizer = Standardizer(fitting: Matrix(rows: 0, columns: mean.values.count))
        standardizer.mean = mean.values
        standardizer.deviation = deviation.values
        self.standardizer = standardizer
        var layers: [Layer] = []
        var index = 0, width = mean.values.count
        while let weight = file.tensors["dense.\(index).weight"], let bias = file.tensors["dense.\(index).bias"] {
            guard weight.shape.count == 2, weight.shape[0] == width, bias.shape == [weight.shape[1]] else {
                throw Failure.corrupt(path: source, reason: "layer \(index) does not fit the layer before it")
            }
            if index > 0 { layers.append(ReLU()) }
            layers.append(Dense(weight: weight.values, bias: bias.values, inputs: weight.shape[0], outputs: weight.shape[1]))
            width = weight.shape[1]
            index += 1
        }
        guard index > 0, width == labels.count else {
            throw Failure.corrupt(path: source, reason: "the layers end in \(width) outputs for \(labels.count) labels")
        }
        self.layers = layers
    }

    /// Class probabilities for each row of `features`.
    public func probabilities(_ features: Matrix) -> Matrix {
        guard let standardizer else { return Matrix(rows: features.rows, columns: labels.count) }
        return SoftmaxCrossEntropy.probabilities(logits(standardizer.apply(features)))
    }

    /// The most probable class index for each row.
    public func predict(_ features: Matrix) -> [Int] {
        guard let standardizer else { return [] }
        return predictIndices(standardized: standardizer.apply(features))
    }

    private func predictIndices(standardized x: Matrix) -> [Int] {
        let out = logits(x)
        return (0..<out.rows).map { argmax(out, row: $0) }
    }

    private func logits(_ x: Matrix) -> Matrix {
        var activations = x
        for layer in layers { activations = layer.forward(activations, training: false) }
        return activations
    }
}

func argmax(_ m: Matrix, row r: Int) -> Int {
    var best = 0
    for c in 1..<m.columns where m[r, c] > m[r, best] { best = c }
    return best
}
