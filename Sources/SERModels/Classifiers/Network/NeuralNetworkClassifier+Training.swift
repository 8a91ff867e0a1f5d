import Foundation
import SERNumerics
import SERSupport

// Training: the hidden layers a configuration asks for, the epoch loop on replicas (one per
// core), the convex fit of logistic regression, and checkpoints.
extension NeuralNetworkClassifier {
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
    public func fit(_ training: LabelledMatrix, validation: LabelledMatrix? = nil, checkpoint: TrainingCheckpointing? = nil) {
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
        genderHead = knownGender ? Dense(inputs: width, outputs: SpeakerGender.labels.count, generator: &generator) : nil
        // Networks over images train on two replicas at once (both cores; the same
        // numbers on any machine, since the split does not depend on the core count).
        var replicaList = [Replica(trunk: trunk, dropouts: dropouts, emotionHead: emotionHead!, genderHead: genderHead)]
        if c.design != nil {
            var spare = SplitMix64(seed: c.seed &+ 0xC0FFEE)
            let copy = Self.trunk(configuration: c, inputCount: training.features.columns, generator: &spare)
            replicaList.append(Replica(trunk: copy.layers, dropouts: copy.dropouts,
                                    emotionHead: Dense(inputs: width, outputs: labels.count, generator: &spare),
                                    genderHead: knownGender ? Dense(inputs: width, outputs: SpeakerGender.labels.count, generator: &spare) : nil))
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
    func fitConvex(_ training: LabelledMatrix, x: Matrix, validation: LabelledMatrix?, validationX: Matrix?,
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
        // Every core, as the network's replicas use: the logits and gradient over the
        // training rows are narrow products whose rows split over the work threads
        // (the same bits on any number of them).
        let solution = withWorkThreads(defaultWorkerCount) {
            solver.minimize(from: start, objective: objective) { iteration, point, value in
                load(point)
                let logits = emotionHead.infer(x)
                let correct = (0..<x.rows).filter { argmax(logits, row: $0, permitted: training.labelMasks?[$0]) == training.targets[$0] }.count
                var record = EpochRecord(epoch: iteration, trainLoss: value, trainAccuracy: Double(correct) / Double(max(1, x.rows)))
                if let validation, let validationX { _ = measure(validation, standardized: validationX, into: &record) }
                history.append(record)
                onIteration?(record)
            }
        }
        load(solution)
    }

    /// The current weights' loss, accuracy and UAR on `validation` (features
    /// `standardized`), written into `record`; returns the UAR.
    func measure(_ validation: LabelledMatrix, standardized validationX: Matrix, into record: inout EpochRecord) -> Double {
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
    final class Replica: @unchecked Sendable {
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
                var genderGradient = Matrix(rows: rows.count, columns: SpeakerGender.labels.count)
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
}
