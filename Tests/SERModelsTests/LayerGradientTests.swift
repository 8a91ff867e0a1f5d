import Foundation
import SERNumerics
import SERSupport
import Testing
@testable import SERModels

/// Central finite differences of the loss of `layers` (then softmax
/// cross-entropy) against the analytic gradients `backward` accumulates, for
/// every trainable parameter value and every input value.
struct FiniteDifferenceCheck {
    var layers: [Layer]
    var input: Matrix
    var targets: [Int]
    /// Batch statistics (batch normalization) need training mode.
    var training = false
    /// Runs before every forward pass (e.g. to replay the same dropout mask).
    var beforeForward: () -> Void = {}
    var step: Float = 1e-2

    private func loss(_ x: Matrix) -> Float {
        beforeForward()
        var y = x
        for layer in layers { y = layer.forward(y, training: training) }
        return SoftmaxCrossEntropy().lossAndGradient(logits: y, targets: targets).loss
    }

    /// The worst relative error over parameters and over the input.
    func worstErrors() -> (parameters: Float, input: Float) {
        beforeForward()
        var y = input
        for layer in layers { y = layer.forward(y, training: training) }
        var g = SoftmaxCrossEntropy().lossAndGradient(logits: y, targets: targets).gradient
        for layer in layers.reversed() { g = layer.backward(g) }
        let trainable = layers.flatMap(\.parameters).filter(\.isTrainable)
        let analytic = trainable.map(\.gradient)
        for parameter in trainable { parameter.zeroGradient() }
        var worstParameter: Float = 0
        for (p, parameter) in trainable.enumerated() {
            for i in parameter.value.indices {
                let original = parameter.value[i]
                parameter.value[i] = original + step
                let plus = loss(input)
                parameter.value[i] = original - step
                let minus = loss(input)
                parameter.value[i] = original
                worstParameter = max(worstParameter, relativeError((plus - minus) / (2 * step), analytic[p][i]))
            }
        }
        var worstInput: Float = 0, shifted = input
        for i in input.values.indices {
            shifted.values[i] = input.values[i] + step
            let plus = loss(shifted)
            shifted.values[i] = input.values[i] - step
            let minus = loss(shifted)
            shifted.values[i] = input.values[i]
            worstInput = max(worstInput, relativeError((plus - minus) / (2 * step), g.values[i]))
        }
        return (worstParameter, worstInput)
    }
}

@Suite struct LayerGradientTests {
    /// Distinct values 0.1 apart in random order, so max pooling has no near-ties a finite step could flip.
    static func separatedInput(rows: Int, columns: Int, seed: UInt64) -> Matrix {
        var generator = SplitMix64(seed: seed)
        let values = (0..<(rows * columns)).map { Float($0) * 0.1 - Float(rows * columns) * 0.05 }.shuffled(using: &generator)
        return Matrix(rows: rows, columns: columns, values: values.map { $0 / 2 })
    }

    static func randomInput(rows: Int, columns: Int, seed: UInt64) -> Matrix {
        var generator = SplitMix64(seed: seed)
        return Matrix(rows: rows, columns: columns, values: (0..<(rows * columns)).map { _ in generator.nextStandardNormal() })
    }

    func expectSmall(_ errors: (parameters: Float, input: Float), _ limit: Float = 2e-2) {
        #expect(errors.parameters < limit, "worst parameter gradient error \(errors.parameters)")
        #expect(errors.input < limit, "worst input gradient error \(errors.input)")
    }

    @Test func convolution2D() {
        var generator = SplitMix64(seed: 21)
        let map = FeatureMapShape(height: 6, width: 4, channels: 2)
        let convolution = Convolution(input: map, outputChannels: 3, kernelHeight: 3, kernelWidth: 3, generator: &generator)
        let pooling = MapPooling(input: convolution.output, kind: .average, poolHeight: 2, poolWidth: 2)
        let head = Dense(inputs: pooling.output.count, outputs: 3, generator: &generator)
        let check = FiniteDifferenceCheck(layers: [convolution, pooling, head],
                                          input: Self.randomInput(rows: 2, columns: map.count, seed: 5), targets: [0, 2])
        expectSmall(check.worstErrors())
    }

    @Test func maxPooling() {
        // Directly on well-separated inputs: after a convolution, a finite step could flip a near-tie.
        var generator = SplitMix64(seed: 20)
        let map = FeatureMapShape(height: 6, width: 5, channels: 2)
        let pooling = MapPooling(input: map, kind: .max, poolHeight: 2, poolWidth: 2)
        #expect(pooling.output == FeatureMapShape(height: 3, width: 2, channels: 2), "the odd last column is dropped")
        let head = Dense(inputs: pooling.output.count, outputs: 3, generator: &generator)
        let check = FiniteDifferenceCheck(layers: [pooling, head], input: Self.separatedInput(rows: 2, columns: map.count, seed: 5),
                                          targets: [0, 2])
        expectSmall(check.worstErrors())
    }

    @Test func convolutionOverTimeAndAveragePooling() {
        var generator = SplitMix64(seed: 22)
        let convolution = Convolution.overTime(length: 7, inputChannels: 3, outputChannels: 4, kernel: 5, generator: &generator)
        let pooling = MapPooling(input: convolution.output, kind: .average, poolHeight: 2, poolWidth: 1)
        let head = Dense(inputs: pooling.output.count, outputs: 3, generator: &generator)
        let check = FiniteDifferenceCheck(layers: [convolution, GELU(), pooling, head],
                                          input: Self.randomInput(rows: 3, columns: 21, seed: 6), targets: [1, 0, 2])
        expectSmall(check.worstErrors())
    }

    @Test func convolutionMatchesADirectSum() {
        // One output value computed by hand from the definition (zero padding, kernel centred).
        var generator = SplitMix64(seed: 23)
        let map = FeatureMapShape(height: 4, width: 3, channels: 2)
        let convolution = Convolution(input: map, outputChannels: 2, kernelHeight: 3, kernelWidth: 3, generator: &generator)
        convolution.bias.value = [0.5, -0.25]
        let x = Self.randomInput(rows: 1, columns: map.count, seed: 7)
        let y = convolution.infer(x)
        for (oy, ox, oc) in [(0, 0, 0), (2, 1, 1), (3, 2, 0)] {
            var expected = convolution.bias.value[oc]
            for ky in 0..<3 {
                for kx in 0..<3 {
                    let sy = oy + ky - 1, sx = ox + kx - 1
                    guard (0..<4).contains(sy), (0..<3).contains(sx) else { continue }
                    for ic in 0..<2 {
                        expected += x.values[(sy * 3 + sx) * 2 + ic] * convolution.weight.value[((ky * 3 + kx) * 2 + ic) * 2 + oc]
                    }
                }
            }
            #expect(abs(y.values[(oy * 3 + ox) * 2 + oc] - expected) < 1e-5)
        }
    }

    @Test func batchNormalizationInTraining() {
        var generator = SplitMix64(seed: 24)
        let normalization = BatchNormalization(channels: 3)
        normalization.scale.value = [1.5, 0.5, -1]
        normalization.shift.value = [0.1, -0.2, 0.3]
        let head = Dense(inputs: 12, outputs: 3, generator: &generator)
        let check = FiniteDifferenceCheck(layers: [normalization, head], input: Self.randomInput(rows: 5, columns: 12, seed: 8),
                                          targets: [0, 1, 2, 1, 0], training: true)
        expectSmall(check.worstErrors())
    }

    @Test func batchNormalizationNormalizesAndKeepsRunningStatistics() {
        let normalization = BatchNormalization(channels: 2, momentum: 1)
        // Channel 0 has mean 10 and deviation 2, channel 1 mean −3 and deviation 0.5.
        let x = Matrix(rows: 4, columns: 2, values: [8, -3.5, 12, -2.5, 8, -3.5, 12, -2.5])
        let y = normalization.forward(x, training: true)
        for c in 0..<2 {
            let column = (0..<4).map { y[$0, c] }
            #expect(abs(column.reduce(0, +)) < 1e-5)
            #expect(abs(column.map { $0 * $0 }.reduce(0, +) / 4 - 1) < 1e-3)
        }
        #expect(abs(normalization.runningMean.value[0] - 10) < 1e-5 && abs(normalization.runningMean.value[1] + 3) < 1e-5)
        // Unbiased running variance: 4 · 4/3 and 0.25 · 4/3.
        #expect(abs(normalization.runningVariance.value[0] - 16 / 3) < 1e-4)
        #expect(!normalization.runningMean.isTrainable)
        let inferred = normalization.infer(Matrix(rows: 1, columns: 2, values: [10, -3]))
        #expect(abs(inferred.values[0]) < 1e-5 && abs(inferred.values[1]) < 1e-5)
    }

    @Test(arguments: [TemporalPooling.Kind.mean, .meanAndDeviation])
    func temporalPooling(kind: TemporalPooling.Kind) {
        var generator = SplitMix64(seed: 25)
        let pooling = TemporalPooling(length: 5, channels: 3, kind: kind)
        let head = Dense(inputs: pooling.outputCount, outputs: 2, generator: &generator)
        let check = FiniteDifferenceCheck(layers: [pooling, head], input: Self.randomInput(rows: 3, columns: 15, seed: 9), targets: [0, 1, 1])
        expectSmall(check.worstErrors())
        let y = pooling.infer(Matrix(rows: 1, columns: 15, values: (0..<15).map { Float($0 % 3 == 0 ? $0 : 1) }))
        #expect(abs(y.values[0] - 6) < 1e-5, "mean of 0, 3, 6, 9, 12")
        if kind == .meanAndDeviation { #expect(abs(y.values[3] - Float(18).squareRoot()) < 1e-3) }
    }

    @Test(arguments: [false, true])
    func lstm(reversed: Bool) {
        var generator = SplitMix64(seed: 26)
        let lstm = LSTM(length: 4, inputs: 3, hidden: 5, reversed: reversed, generator: &generator)
        let pooling = TemporalPooling(length: 4, channels: 5, kind: .mean)
        let head = Dense(inputs: 5, outputs: 3, generator: &generator)
        let check = FiniteDifferenceCheck(layers: [lstm, pooling, head], input: Self.randomInput(rows: 3, columns: 12, seed: 10),
                                          targets: [2, 0, 1])
        expectSmall(check.worstErrors())
    }

    @Test func bidirectionalLSTM() {
        var generator = SplitMix64(seed: 27)
        let lstm = BidirectionalLSTM(length: 3, inputs: 2, hidden: 4, generator: &generator)
        let head = Dense(inputs: lstm.outputCount, outputs: 3, generator: &generator)
        let check = FiniteDifferenceCheck(layers: [lstm, head], input: Self.randomInput(rows: 2, columns: 6, seed: 11), targets: [1, 2])
        expectSmall(check.worstErrors())
    }

    @Test func lstmReadsDirectionally() {
        // A forwards LSTM's first frame cannot depend on later frames; a reversed one's last frame cannot depend on earlier ones.
        var generator = SplitMix64(seed: 28)
        let forwards = LSTM(length: 3, inputs: 2, hidden: 2, generator: &generator)
        let backwards = LSTM(length: 3, inputs: 2, hidden: 2, reversed: true, generator: &generator)
        let a = Matrix(rows: 1, columns: 6, values: [1, 2, 3, 4, 5, 6]), b = Matrix(rows: 1, columns: 6, values: [1, 2, -3, 9, 0, 1])
        #expect(Array(forwards.infer(a).values[0..<2]) == Array(forwards.infer(b).values[0..<2]))
        #expect(Array(forwards.infer(a).values[4..<6]) != Array(forwards.infer(b).values[4..<6]))
        let c = Matrix(rows: 1, columns: 6, values: [7, 7, 3, 4, 5, 6])
        #expect(Array(backwards.infer(a).values[4..<6]) == Array(backwards.infer(c).values[4..<6]))
        #expect(Array(backwards.infer(a).values[0..<2]) != Array(backwards.infer(c).values[0..<2]))
    }

    @Test func parallelBranches() {
        var generator = SplitMix64(seed: 30)
        let branches = ParallelBranches(leading: 3, first: [Dense(inputs: 3, outputs: 4, generator: &generator), GELU()],
                                        second: [Dense(inputs: 5, outputs: 2, generator: &generator)])
        let head = Dense(inputs: 6, outputs: 3, generator: &generator)
        let check = FiniteDifferenceCheck(layers: [branches, head], input: Self.randomInput(rows: 3, columns: 8, seed: 13), targets: [0, 2, 1])
        expectSmall(check.worstErrors())
        // The first branch sees only the leading values.
        let x = Self.randomInput(rows: 1, columns: 8, seed: 14)
        var y = x
        y.values[7] += 1
        #expect(Array(branches.infer(x).values[0..<4]) == Array(branches.infer(y).values[0..<4]))
        #expect(Array(branches.infer(x).values[4..<6]) != Array(branches.infer(y).values[4..<6]))
    }

    @Test func geluAndDropoutWithAFixedMask() {
        var generator = SplitMix64(seed: 29)
        let dropout = Dropout(rate: 0.3, seed: 4)
        let layers: [Layer] = [Dense(inputs: 4, outputs: 6, generator: &generator), GELU(), dropout, Dense(inputs: 6, outputs: 3, generator: &generator)]
        let check = FiniteDifferenceCheck(layers: layers, input: Self.randomInput(rows: 4, columns: 4, seed: 12), targets: [0, 1, 2, 0],
                                          training: true, beforeForward: { dropout.reseed(99) })
        expectSmall(check.worstErrors())
        let gelu = GELU().infer(Matrix(rows: 1, columns: 3, values: [-3, 0, 1]))
        #expect(abs(gelu.values[0] + 0.00405) < 1e-4 && gelu.values[1] == 0 && abs(gelu.values[2] - 0.84134) < 1e-4)
    }
}

@Suite struct OptimizerTests {
    /// Fits a fixed least-squares-like problem through the softmax loss and returns the first and last loss.
    func fit(_ optimizer: any Optimizer, epochs: Int = 150, schedule: LearningRateSchedule = .constant) -> (Float, Float) {
        var generator = SplitMix64(seed: 31)
        let centres: [[Float]] = [[2, 0], [-2, 0], [0, 2]]
        var values: [Float] = [], targets: [Int] = []
        for i in 0..<90 {
            values += [centres[i % 3][0] + 0.6 * generator.nextStandardNormal(), centres[i % 3][1] + 0.6 * generator.nextStandardNormal()]
            targets.append(i % 3)
        }
        let layers: [Layer] = [Dense(inputs: 2, outputs: 8, generator: &generator), GELU(), Dense(inputs: 8, outputs: 3, generator: &generator)]
        let base = optimizer.learningRate
        var first: Float = 0, last: Float = 0
        for epoch in 1...epochs {
            optimizer.learningRate = base * schedule.factor(epoch: epoch, of: epochs)
            var x = Matrix(rows: 90, columns: 2, values: values)
            for layer in layers { x = layer.forward(x, training: true) }
            let (value, gradient) = SoftmaxCrossEntropy().lossAndGradient(logits: x, targets: targets)
            if epoch == 1 { first = value }
            last = value
            var g = gradient
            for layer in layers.reversed() { g = layer.backward(g) }
            optimizer.update(layers.flatMap(\.parameters))
        }
        return (first, last)
    }

    @Test func momentumSGDLearnsAndMomentumHelps() {
        let (first, withMomentum) = fit(MomentumSGD(learningRate: 0.02, momentum: 0.9))
        let (_, without) = fit(MomentumSGD(learningRate: 0.02, momentum: 0))
        let (_, nesterov) = fit(MomentumSGD(learningRate: 0.02, momentum: 0.9, nesterov: true))
        #expect(withMomentum < first / 4, "loss \(first) → \(withMomentum)")
        #expect(withMomentum < without, "momentum \(withMomentum), none \(without)")
        #expect(nesterov < first / 4)
    }

    @Test func schedulesShapeTheRate() {
        #expect(LearningRateSchedule.constant.factor(epoch: 37, of: 40) == 1)
        let cosine = (1...100).map { LearningRateSchedule.cosine.factor(epoch: $0, of: 100) }
        #expect(cosine[0] < cosine[4], "warms up")
        #expect(abs(cosine.max()! - 1) < 1e-6)
        #expect(abs(cosine[99] - 0.01) < 1e-4, "ends at 1% of the base rate")
        #expect(zip(cosine.dropFirst(5), cosine.dropFirst(6)).allSatisfy { $0 >= $1 }, "decays monotonically after warm-up")
        let step = (1...8).map { LearningRateSchedule.step.factor(epoch: $0, of: 8) }
        #expect(step == [1, 1, 0.5, 0.5, 0.25, 0.25, 0.125, 0.125])
        let (first, last) = fit(Adam(learningRate: 0.05), schedule: .cosine)
        #expect(last < first / 4)
    }

    @Test func optimizersSkipRunningStatistics() {
        let normalization = BatchNormalization(channels: 2)
        normalization.runningMean.value = [3, 4]
        for optimizer in [Adam(learningRate: 0.1), MomentumSGD(learningRate: 0.1)] as [any Optimizer] {
            optimizer.update(normalization.parameters)
        }
        #expect(normalization.runningMean.value == [3, 4])
    }
}
