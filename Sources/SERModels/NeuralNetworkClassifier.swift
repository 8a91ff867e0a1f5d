import Foundation
import SERNumerics
import SERSupport

/// Per-feature mean and standard deviation, learned on training data only.
public struct Standardizer: Codable, Sendable, Equatable {
    public var mean: [Float]
    public var deviation: [Float]

    public init(mean: [Float], deviation: [Float]) {
        self.mean = mean
        self.deviation = deviation
    }

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

    /// Fits rows given one example each (all of the same length).
    public init(fittingRows rows: [[Float]]) {
        self.init(fitting: Matrix(rows: rows.count, columns: rows.first?.count ?? 0, values: rows.flatMap { $0 }))
    }

    /// One example standardized.
    public func apply(_ vector: [Float]) -> [Float] {
        zip(vector, zip(mean, deviation)).map { value, statistics in (value - statistics.0) / statistics.1 }
    }

    public func apply(_ data: Matrix) -> Matrix {
        var out = data
        for r in 0..<data.rows { for c in 0..<data.columns { out[r, c] = (data[r, c] - mean[c]) / deviation[c] } }
        return out
    }
}

/// Which optimizer trains a network.
public enum OptimizerChoice: String, Codable, Sendable, CaseIterable {
    /// Adam with decoupled weight decay.
    case adamw
    /// Stochastic gradient descent with Nesterov momentum 0.9.
    case sgd
}

/// Training settings for a neural network: the MLP over feature vectors, or a
/// `NetworkDesign` (CNN, LSTM) over log-mel images.
public struct NeuralNetworkConfiguration: Codable, Sendable, Equatable {
    /// Hidden layer widths of the MLP; empty gives multinomial logistic regression.
    /// Ignored when `design` is set.
    public var hiddenLayers: [Int] = [256, 128]
    /// A network over log-mel images instead of the MLP.
    public var design: NetworkDesign?
    /// AdamW when nil (model files written before the choice existed).
    public var optimizer: OptimizerChoice?
    /// The learning rate's course over the epochs; constant when nil.
    public var schedule: LearningRateSchedule?
    /// For networks over images: SpecAugment-style masking during training (per
    /// example, one band range of up to 8 bands and two frame ranges of up to 20
    /// frames set to the band mean, and a circular shift in time by up to 20 frames).
    public var specAugment: Bool?
    public var dropout: Float = 0.3
    public var learningRate: Float = 1e-3
    public var weightDecay: Float = 1e-4
    public var batchSize: Int = 64
    public var maximumEpochs: Int = 200
    /// Stop after this many epochs without a better validation UAR.
    public var patience: Int = 20
    /// Whether validation stops training and picks the epoch whose weights are
    /// kept (nil: yes, as in model files written before the choice existed).
    /// When false, validation is only measured and training runs every epoch:
    /// for convex models (logistic regression) that should be fitted to
    /// convergence rather than stopped where a few speakers' UAR peaks.
    public var stopsEarly: Bool?
    /// Logistic regression only (no hidden layers, no design): fit the convex
    /// objective, mean weighted cross-entropy plus `l2Penalty`/2 times the squared
    /// weights (biases free), to convergence by full-batch L-BFGS from zero
    /// weights, with at most `maximumEpochs` iterations (each recorded as an
    /// epoch). Nil: the stochastic optimizer with its weight decay.
    public var l2Penalty: Float?
    public var labelSmoothing: Float = 0.05
    /// Weight classes inversely to their frequency.
    public var balanceClasses: Bool = true
    /// Weight of the gender head's loss against the emotion loss (multi-task training).
    public var genderLossWeight: Float = 0.3
    public var seed: UInt64 = 1

    public init() {}
}

/// What one epoch looked like, for curves and logs.
public struct EpochRecord: Codable, Sendable, Equatable {
    public var epoch: Int
    public var trainLoss: Double
    public var trainAccuracy: Double
    public var validationLoss: Double?
    public var validationAccuracy: Double?
    public var validationUAR: Double?

    enum CodingKeys: String, CodingKey {
        case epoch
        case trainLoss = "train_loss", trainAccuracy = "train_accuracy"
        case validationLoss = "validation_loss", validationAccuracy = "validation_accuracy", validationUAR = "validation_uar"
    }
}

/// Examples for training or validation: feature rows, emotion class indices and,
/// where known, gender indices into `NeuralNetworkClassifier.genderLabels`.
public struct LabelledMatrix: Sendable {
    public var features: Matrix
    public var targets: [Int]
    public var genders: [Int?]
    /// How much each row counts in the training loss (nil: equally); e.g. to make
    /// pooled corpora weigh the same whatever their sizes (`--balance-corpora`).
    public var rowWeights: [Float]?
    /// Which labels each row can carry (nil: all). Pooled corpora differ: CREMA-D
    /// has no calm, so a CREMA-D recording says nothing about calm. Networks
    /// train each row's softmax over its permitted labels only, and decisions on
    /// a row choose among them (`permittedDecision`).
    public var labelMasks: [[Bool]]?

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

/// A neural network classifier: a multilayer perceptron over utterance-level
/// feature vectors, or a `NetworkDesign` (CNN, LSTM) over log-mel images. Both
/// end in an emotion head and, when the training data says the speakers'
/// gender, a gender head on the same hidden layer, trained jointly.
/// Probabilities are temperature-scaled.
public final class NeuralNetworkClassifier {
    /// The gender head's classes.
    public static let genderLabels = ["female", "male"]

    public let labels: [String]
    public let configuration: NeuralNetworkConfiguration
    public private(set) var standardizer: Standardizer?
    public private(set) var history: [EpochRecord] = []
    /// Softmax temperatures fitted on validation speakers (1 until `calibrate`).
    public private(set) var temperature: Float = 1
    public private(set) var genderTemperature: Float = 1
    private var trunk: [Layer] = []
    private var emotionHead: Dense?
    private var genderHead: Dense?

    public init(labels: [String], configuration: NeuralNetworkConfiguration = .init()) {
        self.labels = labels
        self.configuration = configuration
    }

    /// Whether the model predicts gender.
    public var hasGenderHead: Bool { genderHead != nil }

    /// Trainable parameter count.
    public var parameterCount: Int { allParameters.filter(\.isTrainable).reduce(0) { $0 + $1.value.count } }

    private var allParameters: [Parameter] {
        trunk.flatMap(\.parameters) + (emotionHead?.parameters ?? []) + (genderHead?.parameters ?? [])
    }

    /// Where `fit` saves its state after every epoch and resumes from.
    public struct Checkpointing {
        public var path: String
        /// Identifies the run (data, labels, settings): a checkpoint from another run is ignored.
        public var fingerprint: String
        public var onEpoch: ((EpochRecord) -> Void)?
        public init(path: String, fingerprint: String, onEpoch: ((EpochRecord) -> Void)? = nil) {
            self.path = path
            self.fingerprint = fingerprint
            self.onEpoch = onEpoch
        }
    }

    /// The epoch training resumed after, when it resumed from a checkpoint.
    public private(set) var resumedAfterEpoch: Int?

    /// The hidden layers `configuration` asks for on `inputCount` values, their
    /// dropout layers and the width they end in.
    static func trunk(configuration c: NeuralNetworkConfiguration, inputCount: Int,
                      generator: inout SplitMix64) -> (layers: [Layer], dropouts: [Dropout], width: Int) {
        if let design = c.design { return design.trunk(dropout: c.dropout, generator: &generator) }
        let sizes = [inputCount] + c.hiddenLayers
        var layers: [Layer] = [], dropouts: [Dropout] = []
        for i in 0..<(sizes.count - 1) {
            layers.append(Dense(inputs: sizes[i], outputs: sizes[i + 1], generator: &generator))
            layers.append(ReLU())
            if c.dropout > 0 {
                let dropout = Dropout(rate: c.dropout, seed: generator.next())
                dropouts.append(dropout)
                layers.append(dropout)
            }
        }
        return (layers, dropouts, sizes[sizes.count - 1])
    }

    /// Trains on `training`, keeping the weights of the epoch with the best
    /// validation UAR when a validation set is given and `stopsEarly` allows
    /// (otherwise the last epoch's).
    /// Each epoch's shuffling and dropout depend only on the seed and the epoch,
    /// so a run resumed from a checkpoint continues exactly as it would have.
    public func fit(_ training: LabelledMatrix, validation: LabelledMatrix? = nil, checkpoint: Checkpointing? = nil) {
        let c = configuration
        var generator = SplitMix64(seed: c.seed)
        let standardizer = c.design.map { Standardizer(fitting: training.features, channels: $0.bands, leading: $0.vectorCount ?? 0) }
            ?? Standardizer(fitting: training.features)
        self.standardizer = standardizer
        let x = standardizer.apply(training.features)
        let validationX = validation.map { standardizer.apply($0.features) }
        let (layers, dropouts, width) = Self.trunk(configuration: c, inputCount: training.features.columns, generator: &generator)
        trunk = layers
        emotionHead = Dense(inputs: width, outputs: labels.count, generator: &generator)
        let knownGender = training.genders.contains { $0 != nil }
        genderHead = knownGender ? Dense(inputs: width, outputs: Self.genderLabels.count, generator: &generator) : nil
        // Networks over images train on two replicas at once (both cores; the same
        // numbers on any machine, since the split does not depend on the core count).
        var replicaList = [Replica(trunk: trunk, dropouts: dropouts, emotionHead: emotionHead!, genderHead: genderHead)]
        if c.design != nil {
            var spare = SplitMix64(seed: c.seed &+ 0xC0FFEE)
            let copy = Self.trunk(configuration: c, inputCount: training.features.columns, generator: &spare)
            replicaList.append(Replica(trunk: copy.layers, dropouts: copy.dropouts,
                                    emotionHead: Dense(inputs: width, outputs: labels.count, generator: &spare),
                                    genderHead: knownGender ? Dense(inputs: width, outputs: Self.genderLabels.count, generator: &spare) : nil))
        }
        let replicas = replicaList

        // Class weights balance the classes after row weights (corpus balance) are applied.
        var counts = [Float](repeating: 0, count: labels.count)
        for (row, t) in training.targets.enumerated() { counts[t] += training.rowWeights?[row] ?? 1 }
        let present = counts.filter { $0 > 0 }.count, total = counts.reduce(0, +)
        let weights: [Float]? = c.balanceClasses
            ? counts.map { $0 == 0 ? 0 : total / (Float(present) * $0) } : nil
        let loss = SoftmaxCrossEntropy(classWeights: weights, labelSmoothing: c.labelSmoothing)
        let genderLoss = SoftmaxCrossEntropy()
        if let penalty = c.l2Penalty, c.design == nil, trunk.isEmpty, let emotionHead {
            fitConvex(training, x: x, validation: validation, validationX: validationX, penalty: penalty,
                      emotionHead: emotionHead, loss: loss, onIteration: checkpoint?.onEpoch)
            return
        }
        let optimizer: any Optimizer = c.optimizer == .sgd
            ? MomentumSGD(learningRate: c.learningRate, momentum: 0.9, weightDecay: c.weightDecay, nesterov: true)
            : Adam(learningRate: c.learningRate, weightDecay: c.weightDecay)
        var bestUAR = -1.0, bestWeights: [[Float]] = [], sinceBest = 0
        history = []
        var firstEpoch = 1
        if let checkpoint, let saved = try? TrainingCheckpoint(contentsOf: checkpoint.path),
           saved.fingerprint == checkpoint.fingerprint, saved.matches(allParameters) {
            saved.restore(into: allParameters, optimizer: optimizer)
            history = saved.history
            bestUAR = saved.bestUAR
            bestWeights = saved.bestWeights
            sinceBest = saved.epochsSinceBest
            firstEpoch = saved.history.count + 1
            resumedAfterEpoch = saved.history.count
        }
        let stopsEarly = c.stopsEarly ?? true
        let finished = stopsEarly && validation != nil && sinceBest >= c.patience
        if firstEpoch <= c.maximumEpochs && !finished {
            for epoch in firstEpoch...c.maximumEpochs {
                optimizer.learningRate = c.learningRate * (c.schedule ?? .constant).factor(epoch: epoch, of: c.maximumEpochs)
                var epochGenerator = SplitMix64(seed: c.seed &+ UInt64(epoch) &* 0x9E37_79B9)
                for (index, dropout) in dropouts.enumerated() { dropout.reseed(epochGenerator.next() &+ UInt64(index)) }
                for (index, dropout) in replicas.dropFirst().flatMap(\.dropouts).enumerated() {
                    dropout.reseed(epochGenerator.next() &+ UInt64(index) &+ 0x51CA)
                }
                let order = Array(0..<x.rows).shuffled(using: &epochGenerator)
                let maskingSeed = epochGenerator.next()
                @Sendable func masking(_ start: Int, _ replica: Int) -> (design: NetworkDesign, seed: UInt64)? {
                    guard c.specAugment == true, let design = c.design else { return nil }
                    return (design, maskingSeed &+ UInt64(start) &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(replica))
                }
                var lossSum = 0.0, correct = 0
                for start in stride(from: 0, to: order.count, by: c.batchSize) {
                    let batch = Array(order[start..<min(start + c.batchSize, order.count)])
                    // Data parallel: each replica takes a share of the batch; gradients are
                    // averaged into the first (weighted by rows) before one optimizer step.
                    let shares = batch.count >= 4 * replicas.count
                        ? (0..<replicas.count).map { r in Array(batch[(r * batch.count / replicas.count)..<((r + 1) * batch.count / replicas.count)]) }
                        : [batch]
                    for replica in replicas.dropFirst().prefix(shares.count - 1) { replica.copyValues(from: replicas[0]) }
                    let results = shares.count == 1
                        ? [replicas[0].step(rows: shares[0], x: x, training: training, loss: loss, genderLoss: genderLoss,
                                            genderLossWeight: c.genderLossWeight, masking: masking(start, 0))]
                        : parallelMap(count: shares.count, workers: shares.count) { r in
                            replicas[r].step(rows: shares[r], x: x, training: training, loss: loss, genderLoss: genderLoss,
                                             genderLossWeight: c.genderLossWeight, masking: masking(start, r))
                        }
                    if shares.count > 1 {
                        replicas[0].mergeGradients(from: Array(replicas.dropFirst().prefix(shares.count - 1)),
                                                   weights: shares.map { Float($0.count) / Float(batch.count) })
                    }
                    for (share, result) in zip(shares, results) {
                        lossSum += result.loss * Double(share.count)
                        correct += result.correct
                    }
                    optimizer.update(allParameters)
                }
                var record = EpochRecord(epoch: epoch, trainLoss: lossSum / Double(max(1, x.rows)),
                                         trainAccuracy: Double(correct) / Double(max(1, x.rows)))
                if let validation, let validationX {
                    let uar = measure(validation, standardized: validationX, into: &record)
                    if uar > bestUAR {
                        bestUAR = uar
                        bestWeights = allParameters.map(\.value)
                        sinceBest = 0
                    } else {
                        sinceBest += 1
                    }
                }
                history.append(record)
                if let checkpoint {
                    let state = optimizer.state(for: allParameters)
                    try? TrainingCheckpoint(fingerprint: checkpoint.fingerprint, parameters: allParameters.map(\.value),
                                            first: state.first, second: state.second, step: state.step, history: history,
                                            bestUAR: bestUAR, bestWeights: bestWeights, epochsSinceBest: sinceBest)
                        .write(to: checkpoint.path)
                    checkpoint.onEpoch?(record)
                }
                if stopsEarly && validation != nil && sinceBest >= c.patience { break }
            }
        }
        if stopsEarly && !bestWeights.isEmpty {
            for (parameter, value) in zip(allParameters, bestWeights) { parameter.value = value }
        }
    }

    /// Logistic regression fitted to the optimum of its L2-regularized objective
    /// by L-BFGS (`NeuralNetworkConfiguration.l2Penalty`). Convex, so the answer
    /// does not depend on the seed; fast enough (full batch, one GEMM each way per
    /// evaluation) to need no checkpoint.
    private func fitConvex(_ training: LabelledMatrix, x: Matrix, validation: LabelledMatrix?, validationX: Matrix?,
                           penalty: Float, emotionHead: Dense, loss: SoftmaxCrossEntropy,
                           onIteration: ((EpochRecord) -> Void)?) {
        let heads = [emotionHead] + (genderHead.map { [$0] } ?? [])
        let parameters = heads.flatMap { [$0.weight, $0.bias] }
        let knownGender = training.genders.indices.filter { training.genders[$0] != nil }
        let genderX = x.rows(knownGender)
        let genderTargets = knownGender.compactMap { training.genders[$0] }
        let genderShare = configuration.genderLossWeight * Float(knownGender.count) / Float(max(1, x.rows))
        func load(_ point: [Double]) {
            var offset = 0
            for parameter in parameters {
                parameter.value = point[offset..<(offset + parameter.value.count)].map { Float($0) }
                offset += parameter.value.count
            }
        }
        // One head's share of the objective and gradient: `share` × its mean loss.
        func add(_ head: Dense, on input: Matrix, targets: [Int], loss headLoss: SoftmaxCrossEntropy, share: Float,
                 rowWeights: [Float]?, masks: [[Bool]]?, value: inout Double, gradient: inout [Double]) {
            let (headValue, logitGradient) = headLoss.lossAndGradient(logits: head.infer(input), targets: targets,
                                                                      rowWeights: rowWeights, labelMasks: masks)
            value += Double(share * headValue)
            var weightGradient = Matrix(rows: head.inputs, columns: head.outputs)
            gemm(input, transposeA: true, logitGradient, alpha: share, into: &weightGradient)
            var biasGradient = [Double](repeating: 0, count: head.outputs)
            for r in 0..<logitGradient.rows {
                for k in 0..<head.outputs { biasGradient[k] += Double(share * logitGradient[r, k]) }
            }
            gradient += weightGradient.values.map(Double.init) + biasGradient
        }
        let lambda = Double(penalty)
        func objective(_ point: [Double]) -> (value: Double, gradient: [Double]) {
            load(point)
            var value = 0.0, gradient: [Double] = []
            gradient.reserveCapacity(point.count)
            add(emotionHead, on: x, targets: training.targets, loss: loss, share: 1, rowWeights: training.rowWeights,
                masks: training.labelMasks, value: &value, gradient: &gradient)
            if let genderHead {
                add(genderHead, on: genderX, targets: genderTargets, loss: SoftmaxCrossEntropy(), share: genderShare,
                    rowWeights: nil, masks: nil, value: &value, gradient: &gradient)
            }
            // The penalty on the weights (not the biases).
            var offset = 0
            for parameter in parameters {
                if parameter.decays {
                    for i in parameter.value.indices {
                        let w = point[offset + i]
                        value += 0.5 * lambda * w * w
                        gradient[offset + i] += lambda * w
                    }
                }
                offset += parameter.value.count
            }
            return (value, gradient)
        }
        history = []
        let start = [Double](repeating: 0, count: parameters.reduce(0) { $0 + $1.value.count })
        let solver = LimitedMemoryBFGS(maximumIterations: configuration.maximumEpochs)
        let solution = solver.minimize(from: start, objective: objective) { iteration, point, value in
            load(point)
            let logits = emotionHead.infer(x)
            let correct = (0..<x.rows).filter { argmax(logits, row: $0, permitted: training.labelMasks?[$0]) == training.targets[$0] }.count
            var record = EpochRecord(epoch: iteration, trainLoss: value, trainAccuracy: Double(correct) / Double(max(1, x.rows)))
            if let validation, let validationX { _ = measure(validation, standardized: validationX, into: &record) }
            history.append(record)
            onIteration?(record)
        }
        load(solution)
    }

    /// The current weights' loss, accuracy and UAR on `validation` (features
    /// `standardized`), written into `record`; returns the UAR.
    private func measure(_ validation: LabelledMatrix, standardized validationX: Matrix, into record: inout EpochRecord) -> Double {
        let logits = emotionLogits(standardized: validationX)
        let predicted = (0..<logits.rows).map { argmax(logits, row: $0, permitted: validation.labelMasks?[$0]) }
        let metrics = ClassificationMetrics(labels: labels, truth: validation.targets, predicted: predicted)
        record.validationLoss = Double(SoftmaxCrossEntropy().lossAndGradient(logits: logits, targets: validation.targets,
                                                                             labelMasks: validation.labelMasks).loss)
        record.validationAccuracy = metrics.accuracy
        record.validationUAR = metrics.uar
        return metrics.uar
    }

    /// One copy of the network that a training thread runs forward and backward.
    private final class Replica: @unchecked Sendable {
        let trunk: [Layer]
        let dropouts: [Dropout]
        let emotionHead: Dense
        let genderHead: Dense?

        init(trunk: [Layer], dropouts: [Dropout], emotionHead: Dense, genderHead: Dense?) {
            self.trunk = trunk
            self.dropouts = dropouts
            self.emotionHead = emotionHead
            self.genderHead = genderHead
        }

        var parameters: [Parameter] { trunk.flatMap(\.parameters) + emotionHead.parameters + (genderHead?.parameters ?? []) }

        func copyValues(from other: Replica) {
            for (mine, theirs) in zip(parameters, other.parameters) { mine.value = theirs.value }
        }

        /// Gradients (and running statistics) become the row-weighted mean of this replica's and `others'`.
        func mergeGradients(from others: [Replica], weights: [Float]) {
            let lists = [parameters] + others.map(\.parameters)
            for index in lists[0].indices {
                let target = lists[0][index]
                if target.isTrainable {
                    for i in target.gradient.indices { target.gradient[i] *= weights[0] }
                    for (list, weight) in zip(lists.dropFirst(), weights.dropFirst()) {
                        let source = list[index]
                        for i in target.gradient.indices { target.gradient[i] += weight * source.gradient[i] }
                        source.zeroGradient()
                    }
                } else {
                    for i in target.value.indices { target.value[i] *= weights[0] }
                    for (list, weight) in zip(lists.dropFirst(), weights.dropFirst()) {
                        for i in target.value.indices { target.value[i] += weight * list[index].value[i] }
                    }
                }
            }
        }

        /// Forward and backward over `rows` of `x`: the mean loss and the number classified correctly.
        func step(rows: [Int], x: Matrix, training: LabelledMatrix, loss: SoftmaxCrossEntropy, genderLoss: SoftmaxCrossEntropy,
                  genderLossWeight: Float, masking: (design: NetworkDesign, seed: UInt64)?) -> (loss: Double, correct: Int) {
            var hidden = x.rows(rows)
            if let masking { masking.design.specAugment(&hidden, seed: masking.seed) }
            for layer in trunk { hidden = layer.forward(hidden, training: true) }
            let logits = emotionHead.forward(hidden, training: true)
            let targets = rows.map { training.targets[$0] }
            let masks = training.labelMasks.map { m in rows.map { m[$0] } }
            let (value, gradient) = loss.lossAndGradient(logits: logits, targets: targets,
                                                         rowWeights: training.rowWeights.map { w in rows.map { w[$0] } },
                                                         labelMasks: masks)
            let correct = (0..<rows.count).filter { argmax(logits, row: $0, permitted: masks?[$0]) == targets[$0] }.count
            var g = emotionHead.backward(gradient)
            if let genderHead {
                let known = rows.indices.filter { training.genders[rows[$0]] != nil }
                let genderLogits = genderHead.forward(hidden, training: true)
                var genderGradient = Matrix(rows: rows.count, columns: NeuralNetworkClassifier.genderLabels.count)
                if !known.isEmpty {
                    let (_, partial) = genderLoss.lossAndGradient(logits: genderLogits.rows(known),
                                                                  targets: known.compactMap { training.genders[rows[$0]] })
                    let share = genderLossWeight * Float(known.count) / Float(rows.count)
                    for (row, r) in known.enumerated() {
                        for k in 0..<genderGradient.columns { genderGradient[r, k] = share * partial[row, k] }
                    }
                }
                let back = genderHead.backward(genderGradient)
                for i in g.values.indices { g.values[i] += back.values[i] }
            }
            for layer in trunk.reversed() { g = layer.backward(g) }
            return (Double(value), correct)
        }
    }

    /// Fits the softmax temperatures that minimise the negative log-likelihood on
    /// `validation` (temperature scaling; Guo et al. 2017). Accuracy is unchanged.
    public func calibrate(on validation: LabelledMatrix) {
        guard let standardizer, validation.features.rows > 0 else { return }
        let x = standardizer.apply(validation.features)
        let (emotion, gender) = logits(standardized: x)
        temperature = Self.fittedTemperature(logits: emotion, targets: validation.targets, labelMasks: validation.labelMasks)
        if let gender {
            let known = validation.genders.indices.filter { validation.genders[$0] != nil }
            if !known.isEmpty {
                genderTemperature = Self.fittedTemperature(logits: gender.rows(known), targets: known.map { validation.genders[$0]! })
            }
        }
    }

    public func adoptCalibration(of other: any EmotionClassifier) {
        (temperature, genderTemperature) = (other.temperature, other.genderTemperature)
    }

    /// Golden-section search over log T in [0.05, 20]; with `labelMasks`, each
    /// row's likelihood is over the labels it can carry.
    static func fittedTemperature(logits: Matrix, targets: [Int], labelMasks: [[Bool]]? = nil) -> Float {
        func nll(_ logT: Double) -> Double {
            let t = Float(exp(logT))
            let scaled = logits.divided(by: t)
            return Double(SoftmaxCrossEntropy().lossAndGradient(logits: scaled, targets: targets, labelMasks: labelMasks).loss)
        }
        var a = log(0.05), b = log(20.0)
        let ratio = (5.0.squareRoot() - 1) / 2
        var c = b - ratio * (b - a), d = a + ratio * (b - a)
        var fc = nll(c), fd = nll(d)
        for _ in 0..<60 where b - a > 1e-4 {
            if fc < fd { b = d; d = c; fd = fc; c = b - ratio * (b - a); fc = nll(c) } else { a = c; c = d; fc = fd; d = a + ratio * (b - a); fd = nll(d) }
        }
        return Float(exp((a + b) / 2))
    }

    /// The format version `modelFile()` writes and `init(modelFile:source:)` reads.
    public static let modelFormatVersion = "1"

    /// The trained model as a safetensors file: dense weights and biases, the
    /// standardization statistics, and labels, settings and temperatures in the
    /// metadata (plus `metadata`, e.g. the feature configuration and metrics).
    public func modelFile(metadata extra: [String: String] = [:]) -> SafeTensorsFile {
        var file = ModelFileHeader.file(architecture: architectureName, formatVersion: Self.modelFormatVersion,
                                        labels: labels, configuration: configuration, temperature: temperature,
                                        genderTemperature: genderHead != nil ? genderTemperature : nil, metadata: extra)
        if let standardizer {
            file.tensors["standardizer.mean"] = .init(shape: [standardizer.mean.count], values: standardizer.mean)
            file.tensors["standardizer.deviation"] = .init(shape: [standardizer.deviation.count], values: standardizer.deviation)
        }
        if configuration.design != nil {
            // The design rebuilds the layers; their parameters are stored in order, one tensor each.
            for (index, layer) in trunk.enumerated() {
                for (position, parameter) in layer.parameters.enumerated() {
                    file.tensors["trunk.\(index).\(position)"] = .init(shape: [parameter.value.count], values: parameter.value)
                }
            }
            if let emotionHead {
                file.tensors["emotion_head.weight"] = .init(shape: [emotionHead.inputs, emotionHead.outputs], values: emotionHead.weight.value)
                file.tensors["emotion_head.bias"] = .init(shape: [emotionHead.outputs], values: emotionHead.bias.value)
            }
        }
        let denses = configuration.design != nil ? [] : trunk.compactMap { $0 as? Dense } + (emotionHead.map { [$0] } ?? [])
        for (index, dense) in denses.enumerated() {
            file.tensors["dense.\(index).weight"] = .init(shape: [dense.inputs, dense.outputs], values: dense.weight.value)
            file.tensors["dense.\(index).bias"] = .init(shape: [dense.outputs], values: dense.bias.value)
        }
        if let genderHead {
            file.tensors["gender_head.weight"] = .init(shape: [genderHead.inputs, genderHead.outputs], values: genderHead.weight.value)
            file.tensors["gender_head.bias"] = .init(shape: [genderHead.outputs], values: genderHead.bias.value)
        }
        return file
    }

    /// The `architecture` a model file names: mlp, logreg, or the design's kind.
    public var architectureName: String {
        configuration.design?.kind.rawValue ?? (configuration.hiddenLayers.isEmpty ? "logreg" : "mlp")
    }

    /// Every architecture name a neural network's model file can carry.
    public static let architectureNames: Set<String> = Set(["mlp", "logreg"] + NetworkDesign.Kind.allCases.map(\.rawValue))

    /// Rebuilds a trained network from its model file; `source` names it in errors.
    public init(modelFile file: SafeTensorsFile, source: String) throws {
        typealias Failure = SafeTensorsFile.Failure
        let header = try ModelFileHeader<NeuralNetworkConfiguration>(file, source: source, architectures: Self.architectureNames,
                                                                     kind: "a neural network", formatVersion: Self.modelFormatVersion)
        guard let mean = file.tensors["standardizer.mean"], let deviation = file.tensors["standardizer.deviation"],
              mean.values.count == deviation.values.count, !mean.values.isEmpty
        else { throw Failure.corrupt(path: source, reason: "the standardization statistics are missing") }
        labels = header.labels
        configuration = header.configuration
        standardizer = Standardizer(mean: mean.values, deviation: deviation.values)
        temperature = header.temperature
        genderTemperature = header.genderTemperature
        if let design = configuration.design {
            try restoreDesign(design, from: file, inputCount: mean.values.count, source: source)
            return
        }
        var denses: [Dense] = []
        var width = mean.values.count
        while let weight = file.tensors["dense.\(denses.count).weight"], let bias = file.tensors["dense.\(denses.count).bias"] {
            guard weight.shape.count == 2, weight.shape[0] == width, bias.shape == [weight.shape[1]] else {
                throw Failure.corrupt(path: source, reason: "layer \(denses.count) does not fit the layer before it")
            }
            denses.append(Dense(weight: weight.values, bias: bias.values, inputs: weight.shape[0], outputs: weight.shape[1]))
            width = weight.shape[1]
        }
        guard let last = denses.last, width == labels.count else {
            throw Failure.corrupt(path: source, reason: "the layers end in \(width) outputs for \(labels.count) labels")
        }
        trunk = denses.dropLast().flatMap { [$0, ReLU()] as [Layer] }
        emotionHead = last
        if let weight = file.tensors["gender_head.weight"], let bias = file.tensors["gender_head.bias"] {
            guard weight.shape == [last.inputs, Self.genderLabels.count], bias.shape == [Self.genderLabels.count] else {
                throw Failure.corrupt(path: source, reason: "the gender head does not fit the hidden layers")
            }
            genderHead = Dense(weight: weight.values, bias: bias.values, inputs: last.inputs, outputs: Self.genderLabels.count)
        }
    }

    /// Rebuilds `design`'s layers and fills them from the file's tensors, checking every size.
    private func restoreDesign(_ design: NetworkDesign, from file: SafeTensorsFile, inputCount: Int, source: String) throws {
        typealias Failure = SafeTensorsFile.Failure
        guard design.inputCount == inputCount, design.frames > 0, design.bands > 0 else {
            throw Failure.corrupt(path: source, reason: "the network reads \(design.frames)×\(design.bands) values, the statistics cover \(inputCount)")
        }
        var generator = SplitMix64(seed: 0)
        let built = Self.trunk(configuration: configuration, inputCount: inputCount, generator: &generator)
        for (index, layer) in built.layers.enumerated() {
            for (position, parameter) in layer.parameters.enumerated() {
                guard let tensor = file.tensors["trunk.\(index).\(position)"], tensor.values.count == parameter.value.count else {
                    throw Failure.corrupt(path: source, reason: "layer \(index) of the \(design.kind.rawValue) is missing or has the wrong size")
                }
                parameter.value = tensor.values
            }
        }
        trunk = built.layers
        guard let weight = file.tensors["emotion_head.weight"], let bias = file.tensors["emotion_head.bias"],
              weight.shape == [built.width, labels.count], bias.shape == [labels.count]
        else { throw Failure.corrupt(path: source, reason: "the emotion head is missing or does not fit \(labels.count) labels") }
        emotionHead = Dense(weight: weight.values, bias: bias.values, inputs: built.width, outputs: labels.count)
        if let weight = file.tensors["gender_head.weight"], let bias = file.tensors["gender_head.bias"] {
            guard weight.shape == [built.width, Self.genderLabels.count], bias.shape == [Self.genderLabels.count] else {
                throw Failure.corrupt(path: source, reason: "the gender head does not fit the hidden layers")
            }
            genderHead = Dense(weight: weight.values, bias: bias.values, inputs: built.width, outputs: Self.genderLabels.count)
        }
    }

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

    private func emotionLogits(standardized x: Matrix) -> Matrix { logits(standardized: x).emotion }

    /// Rows per inference pass: bounds the memory a convolution's unrolled input takes.
    private static let inferenceChunk = 64

    private func logits(standardized x: Matrix) -> (emotion: Matrix, gender: Matrix?) {
        guard let emotionHead else { return (Matrix(rows: x.rows, columns: labels.count), nil) }
        guard x.rows > Self.inferenceChunk else { return chunkLogits(x, emotionHead: emotionHead) }
        var emotion: [Float] = [], gender: [Float]? = genderHead != nil ? [] : nil
        for start in stride(from: 0, to: x.rows, by: Self.inferenceChunk) {
            let part = chunkLogits(x.rows(Array(start..<min(start + Self.inferenceChunk, x.rows))), emotionHead: emotionHead)
            emotion += part.emotion.values
            if let g = part.gender { gender? += g.values }
        }
        return (Matrix(rows: x.rows, columns: labels.count, values: emotion),
                gender.map { Matrix(rows: x.rows, columns: Self.genderLabels.count, values: $0) })
    }

    private func chunkLogits(_ x: Matrix, emotionHead: Dense) -> (emotion: Matrix, gender: Matrix?) {
        var hidden = x
        // `infer` leaves the layers untouched: recognition shares one model between threads.
        for layer in trunk { hidden = layer.infer(hidden) }
        return (emotionHead.infer(hidden), genderHead?.infer(hidden))
    }
}

/// The column of row `r`'s largest value among those `permitted` allows (all when nil).
func argmax(_ m: Matrix, row r: Int, permitted: [Bool]? = nil) -> Int {
    var best = -1
    for c in 0..<m.columns where (permitted?[c] ?? true) && (best < 0 || m[r, c] > m[r, best]) { best = c }
    return max(best, 0)
}
