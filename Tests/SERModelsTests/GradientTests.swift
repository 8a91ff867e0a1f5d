import Foundation
import SERNumerics
import SERSupport
import Testing
@testable import SERModels

/// Loss of a small network on a fixed batch; used to compare analytic gradients with finite differences.
struct GradientHarness {
    var layers: [Layer]
    var loss: SoftmaxCrossEntropy
    var input: Matrix
    var targets: [Int]

    func value() -> Float {
        var x = input
        for layer in layers { x = layer.forward(x, training: false) }
        return loss.lossAndGradient(logits: x, targets: targets).loss
    }

    /// Analytic gradients of every parameter and of the input.
    func analytic() -> (parameters: [[Float]], input: [Float]) {
        var x = input
        for layer in layers { x = layer.forward(x, training: false) }
        var g = loss.lossAndGradient(logits: x, targets: targets).gradient
        for layer in layers.reversed() { g = layer.backward(g) }
        let parameters = layers.flatMap(\.parameters).map(\.gradient)
        for parameter in layers.flatMap(\.parameters) { parameter.zeroGradient() }
        return (parameters, g.values)
    }
}

func relativeError(_ a: Float, _ b: Float) -> Float { abs(a - b) / max(1e-3, abs(a) + abs(b)) }

@Suite struct GradientTests {
    func harness(smoothing: Float = 0, weights: [Float]? = nil) -> GradientHarness {
        var generator = SplitMix64(seed: 3)
        let layers: [Layer] = [Dense(inputs: 5, outputs: 7, generator: &generator), ReLU(), Dense(inputs: 7, outputs: 3, generator: &generator)]
        let input = Matrix(rows: 4, columns: 5, values: (0..<20).map { _ in generator.nextStandardNormal() })
        return GradientHarness(layers: layers, loss: SoftmaxCrossEntropy(classWeights: weights, labelSmoothing: smoothing),
                               input: input, targets: [0, 2, 1, 2])
    }

    @Test(arguments: [(Float(0), false), (Float(0.1), false), (Float(0), true), (Float(0.2), true)])
    func parameterGradientsMatchFiniteDifferences(smoothing: Float, weighted: Bool) {
        let h = harness(smoothing: smoothing, weights: weighted ? [0.5, 2, 1] : nil)
        let analytic = h.analytic().parameters
        let step: Float = 1e-2
        var worst: Float = 0
        for (p, parameter) in h.layers.flatMap(\.parameters).enumerated() {
            for i in parameter.value.indices {
                let original = parameter.value[i]
                parameter.value[i] = original + step
                let plus = h.value()
                parameter.value[i] = original - step
                let minus = h.value()
                parameter.value[i] = original
                worst = max(worst, relativeError((plus - minus) / (2 * step), analytic[p][i]))
            }
        }
        #expect(worst < 2e-2, "worst relative error \(worst)")
    }

    @Test func inputGradientMatchesFiniteDifferences() {
        var h = harness()
        let analytic = h.analytic().input
        let step: Float = 1e-2
        var worst: Float = 0
        for i in h.input.values.indices {
            let original = h.input.values[i]
            h.input.values[i] = original + step
            let plus = h.value()
            h.input.values[i] = original - step
            let minus = h.value()
            h.input.values[i] = original
            worst = max(worst, relativeError((plus - minus) / (2 * step), analytic[i]))
        }
        #expect(worst < 2e-2, "worst relative error \(worst)")
    }

    @Test func softmaxRowsSumToOneAndSmoothingRaisesTheFloor() {
        let logits = Matrix(rows: 2, columns: 3, values: [1, 2, 3, -100, 0, 100])
        let p = SoftmaxCrossEntropy.probabilities(logits)
        for r in 0..<2 { #expect(abs((0..<3).reduce(0) { $0 + p[r, $1] } - 1) < 1e-6) }
        let confident = Matrix(rows: 1, columns: 3, values: [20, 0, 0])
        #expect(SoftmaxCrossEntropy().lossAndGradient(logits: confident, targets: [0]).loss < 1e-6)
        #expect(SoftmaxCrossEntropy(labelSmoothing: 0.1).lossAndGradient(logits: confident, targets: [0]).loss > 0.5)
    }

    @Test func rowWeightsCountLikeRepeatedRows() {
        // Weight 2 on a row is the same loss and gradient as that row twice.
        let logits = Matrix(rows: 2, columns: 3, values: [0.5, -1, 2, 1, 0, -0.5])
        let loss = SoftmaxCrossEntropy(classWeights: [1, 0.5, 2], labelSmoothing: 0.1)
        let weighted = loss.lossAndGradient(logits: logits, targets: [2, 0], rowWeights: [2, 1])
        let repeated = loss.lossAndGradient(logits: logits.rows([0, 0, 1]), targets: [2, 2, 0])
        #expect(abs(weighted.loss - repeated.loss) < 1e-6)
        for c in 0..<3 {
            #expect(abs(weighted.gradient[0, c] - (repeated.gradient[0, c] + repeated.gradient[1, c])) < 1e-6)
            #expect(abs(weighted.gradient[1, c] - repeated.gradient[2, c]) < 1e-6)
        }
    }

    /// A row's label mask limits its softmax to the permitted labels: the loss is
    /// the cross-entropy of the softmax over those columns alone, masked columns
    /// get probability 0 and no gradient, and the gradient matches finite differences.
    @Test func labelMasksLimitTheSoftmaxToPermittedLabels() {
        let logits = Matrix(rows: 3, columns: 4, values: [0.3, 2.0, -1.0, 0.5,
                                                          1.5, -0.2, 0.7, 3.0,
                                                          -0.4, 0.1, 0.9, 0.2])
        let masks = [[true, false, true, true], [true, true, true, true], [false, true, false, true]]
        let targets = [3, 0, 1]
        let smoothing: Float = 0.1
        let loss = SoftmaxCrossEntropy(labelSmoothing: smoothing)
        let (value, gradient) = loss.lossAndGradient(logits: logits, targets: targets, labelMasks: masks)
        // The expected loss from a log-sum-exp over each row's permitted columns.
        var expected: Double = 0
        for r in 0..<3 {
            let columns = (0..<4).filter { masks[r][$0] }
            let logSum = log(columns.map { exp(Double(logits[r, $0])) }.reduce(0, +))
            for c in columns {
                let target = (c == targets[r] ? 1 - Double(smoothing) : 0) + Double(smoothing) / Double(columns.count)
                expected -= target * (Double(logits[r, c]) - logSum)
            }
        }
        expected /= 3
        #expect(abs(Double(value) - expected) < 1e-5, "\(value) vs \(expected)")
        #expect(gradient[0, 1] == 0 && gradient[2, 0] == 0 && gradient[2, 2] == 0, "masked labels get no gradient")
        let p = SoftmaxCrossEntropy.probabilities(logits, masks: masks)
        for r in 0..<3 {
            #expect(abs((0..<4).reduce(Float(0)) { $0 + p[r, $1] } - 1) < 1e-6)
            for c in 0..<4 where !masks[r][c] { #expect(p[r, c] == 0) }
        }
        // An all-permitted mask changes nothing.
        let plain = loss.lossAndGradient(logits: logits.rows([1]), targets: [0])
        let masked = loss.lossAndGradient(logits: logits.rows([1]), targets: [0], labelMasks: [masks[1]])
        #expect(plain.loss == masked.loss && plain.gradient == masked.gradient)
        // Finite differences on the permitted logits.
        let step: Float = 1e-3
        for r in 0..<3 {
            for c in 0..<4 where masks[r][c] {
                var up = logits, down = logits
                up[r, c] += step
                down[r, c] -= step
                let numeric = (loss.lossAndGradient(logits: up, targets: targets, labelMasks: masks).loss
                    - loss.lossAndGradient(logits: down, targets: targets, labelMasks: masks).loss) / (2 * step)
                #expect(relativeError(numeric, gradient[r, c]) < 1e-2, "(\(r), \(c)): \(numeric) vs \(gradient[r, c])")
            }
        }
    }

    /// A decision among permitted labels picks the most probable of them and
    /// renormalizes its probability over them.
    @Test func permittedDecisionChoosesAmongThePermittedLabels() {
        let p: [Double] = [0.5, 0.3, 0.2]
        let restricted = permittedDecision(p, permitted: [false, true, true])
        #expect(restricted.index == 1 && abs(restricted.confidence - 0.6) < 1e-12)
        let free = permittedDecision(p, permitted: nil)
        #expect(free.index == 0 && abs(free.confidence - 0.5) < 1e-12)
        #expect(permittedDecision(p, permitted: [false, false, false]).index == -1)
        let floats: [Float] = [0.1, 0.7, 0.2]
        #expect(permittedDecision(floats[...], permitted: [true, false, true]).index == 2)
    }

    @Test func dropoutIsIdentityAtInferenceAndUnbiasedInTraining() {
        let dropout = Dropout(rate: 0.5, seed: 1)
        let input = Matrix(rows: 100, columns: 100, repeating: 1)
        #expect(dropout.forward(input, training: false) == input)
        let trained = dropout.forward(input, training: true)
        let mean = trained.values.reduce(0, +) / Float(trained.values.count)
        #expect(abs(mean - 1) < 0.05)
        #expect(trained.values.allSatisfy { $0 == 0 || $0 == 2 })
    }

    @Test func adamFitsSeparableClusters() {
        var generator = SplitMix64(seed: 11)
        let centres: [[Float]] = [[2, 0], [-2, 0], [0, 2]]
        var values: [Float] = [], targets: [Int] = []
        for i in 0..<150 {
            let c = i % 3
            values += [centres[c][0] + 0.5 * generator.nextStandardNormal(), centres[c][1] + 0.5 * generator.nextStandardNormal()]
            targets.append(c)
        }
        let input = Matrix(rows: 150, columns: 2, values: values)
        let layers: [Layer] = [Dense(inputs: 2, outputs: 16, generator: &generator), ReLU(), Dense(inputs: 16, outputs: 3, generator: &generator)]
        let optimizer = Adam(learningRate: 0.05)
        let loss = SoftmaxCrossEntropy()
        var first: Float = 0, last: Float = 0
        for epoch in 0..<200 {
            var x = input
            for layer in layers { x = layer.forward(x, training: true) }
            let (value, gradient) = loss.lossAndGradient(logits: x, targets: targets)
            if epoch == 0 { first = value }
            last = value
            var g = gradient
            for layer in layers.reversed() { g = layer.backward(g) }
            optimizer.update(layers.flatMap(\.parameters))
        }
        var x = input
        for layer in layers { x = layer.forward(x, training: false) }
        let p = SoftmaxCrossEntropy.probabilities(x)
        let correct = (0..<150).filter { r in (0..<3).max { p[r, $0] < p[r, $1] } == targets[r] }.count
        #expect(last < first / 5, "loss \(first) → \(last)")
        #expect(correct >= 140, "\(correct)/150 correct")
    }
}
