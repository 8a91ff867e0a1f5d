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
