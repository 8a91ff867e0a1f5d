import Foundation
import SERNumerics
import SERSupport
import Testing
@testable import SERModels

@Suite struct MLPTests {
    /// Three Gaussian classes in 10 dimensions, only the first two of which are informative.
    func blobs(_ count: Int, seed: UInt64) -> (Matrix, [Int]) {
        var generator = SplitMix64(seed: seed)
        var values: [Float] = [], targets: [Int] = []
        for i in 0..<count {
            let c = i % 3
            let centre: [Float] = [[3, 0], [-3, 0], [0, 3]][c]
            values += [centre[0] + generator.nextStandardNormal(), centre[1] + generator.nextStandardNormal()]
            values += (0..<8).map { _ in 100 + 50 * generator.nextStandardNormal() }   // uninformative, badly scaled
            targets.append(c)
        }
        return (Matrix(rows: count, columns: 10, values: values), targets)
    }

    @Test func learnsWithStandardizationAndEarlyStopping() {
        let (train, trainTargets) = blobs(300, seed: 1)
        let (test, testTargets) = blobs(150, seed: 2)
        var configuration = NeuralNetworkConfiguration()
        configuration.hiddenLayers = [32]
        configuration.maximumEpochs = 60
        configuration.patience = 10
        let model = NeuralNetworkClassifier(labels: ["a", "b", "c"], configuration: configuration)
        model.fit(LabelledMatrix(features: train, targets: trainTargets), validation: LabelledMatrix(features: test, targets: testTargets))
        let metrics = ClassificationMetrics(labels: model.labels, truth: testTargets, predicted: model.predict(test))
        #expect(metrics.accuracy > 0.9, "accuracy \(metrics.accuracy)")
        #expect(model.history.count <= 60 && model.history.allSatisfy { $0.validationUAR != nil })
        let p = model.probabilities(test)
        #expect((0..<p.rows).allSatisfy { r in abs((0..<3).reduce(0) { $0 + p[r, $1] } - 1) < 1e-5 })
    }

    /// A trained model answers from many threads at once (the server and batch
    /// prediction share one): every answer equals the single-threaded one.
    @Test func concurrentPredictionsMatchSequentialOnes() {
        let (train, targets) = blobs(120, seed: 5)
        var configuration = NeuralNetworkConfiguration()
        configuration.hiddenLayers = [32, 16]
        configuration.maximumEpochs = 5
        let model = NeuralNetworkClassifier(labels: ["a", "b", "c"], configuration: configuration)
        model.fit(LabelledMatrix(features: train, targets: targets, genders: targets.map { $0 % 2 }))
        let batches = (0..<64).map { blobs(1 + $0 % 7, seed: UInt64(100 + $0)).0 }
        let expected = batches.map { model.probabilities($0) }
        let answers = Answers(count: batches.count)
        nonisolated(unsafe) let shared = model   // trained: only read from here on
        DispatchQueue.concurrentPerform(iterations: 40_000) { i in
            let b = i % batches.count
            answers.record(b, shared.probabilities(batches[b]), shared.genderProbabilities(batches[b]))
        }
        #expect(answers.matches(expected))
    }

    final class Answers: @unchecked Sendable {
        private let lock = NSLock()
        private var seen: [[Matrix]]
        init(count: Int) { seen = Array(repeating: [], count: count) }
        func record(_ batch: Int, _ emotion: Matrix, _ gender: Matrix?) { lock.withLock { seen[batch].append(emotion) } }
        func matches(_ expected: [Matrix]) -> Bool { lock.withLock { zip(seen, expected).allSatisfy { all, e in all.allSatisfy { $0 == e } } } }
    }

    /// With `stopsEarly` off, validation is measured every epoch but neither stops
    /// training nor picks the weights: the model equals one trained without validation.
    @Test func trainingOnPastValidationKeepsTheLastEpoch() {
        let (train, targets) = blobs(150, seed: 7)
        let (held, heldTargets) = blobs(60, seed: 8)
        var configuration = NeuralNetworkConfiguration()
        configuration.hiddenLayers = []
        configuration.maximumEpochs = 25
        configuration.patience = 1
        configuration.stopsEarly = false
        let measured = NeuralNetworkClassifier(labels: ["a", "b", "c"], configuration: configuration)
        measured.fit(LabelledMatrix(features: train, targets: targets), validation: LabelledMatrix(features: held, targets: heldTargets))
        let blind = NeuralNetworkClassifier(labels: ["a", "b", "c"], configuration: configuration)
        blind.fit(LabelledMatrix(features: train, targets: targets))
        #expect(measured.history.count == 25 && measured.history.allSatisfy { $0.validationUAR != nil })
        #expect(measured.probabilities(held) == blind.probabilities(held))
        // The default stops: patience 1 ends training at the first epoch without a better UAR,
        // and keeps the best epoch's weights rather than the last.
        configuration.stopsEarly = nil
        let stopped = NeuralNetworkClassifier(labels: ["a", "b", "c"], configuration: configuration)
        stopped.fit(LabelledMatrix(features: train, targets: targets), validation: LabelledMatrix(features: held, targets: heldTargets))
        let uars = stopped.history.compactMap(\.validationUAR)
        #expect(uars.count == stopped.history.count && uars.count >= 2)
        #expect(uars.count == 25 || uars[uars.count - 1] <= uars.dropLast().max() ?? 0, "stopped right after a non-improving epoch")
    }

    @Test func sameSeedSameModel() {
        let (train, targets) = blobs(90, seed: 3)
        var configuration = NeuralNetworkConfiguration()
        configuration.hiddenLayers = [16]
        configuration.maximumEpochs = 5
        let a = NeuralNetworkClassifier(labels: ["a", "b", "c"], configuration: configuration)
        let b = NeuralNetworkClassifier(labels: ["a", "b", "c"], configuration: configuration)
        a.fit(LabelledMatrix(features: train, targets: targets))
        b.fit(LabelledMatrix(features: train, targets: targets))
        #expect(a.probabilities(train) == b.probabilities(train))
    }

    /// Gender is a separate signal (the 3rd column's sign); the joint head must learn it
    /// from the examples that carry it, while unknown-gender rows still train emotion.
    @Test func genderHeadLearnsFromTheRowsThatHaveIt() {
        var generator = SplitMix64(seed: 11)
        func data(_ n: Int) -> LabelledMatrix {
            let (x, y) = blobs(n, seed: generator.next())
            var features = x
            var genders: [Int?] = []
            for r in 0..<n {
                let g = Int(generator.next() % 2)
                features[r, 2] = (g == 1 ? 2 : -2) + generator.nextStandardNormal() * 0.5
                genders.append(r % 3 == 0 ? nil : g)
            }
            return LabelledMatrix(features: features, targets: y, genders: genders)
        }
        let train = data(300), test = data(150)
        var configuration = NeuralNetworkConfiguration()
        configuration.hiddenLayers = [32]
        configuration.maximumEpochs = 100
        let model = NeuralNetworkClassifier(labels: ["a", "b", "c"], configuration: configuration)
        model.fit(train)
        let g = model.genderProbabilities(test.features)!
        let known = test.genders.indices.filter { test.genders[$0] != nil }
        let correct = known.filter { r in (g[r, 1] > g[r, 0] ? 1 : 0) == test.genders[r]! }.count
        #expect(Double(correct) / Double(known.count) > 0.9, "gender accuracy \(correct)/\(known.count)")
        #expect(NeuralNetworkClassifier(labels: ["a"], configuration: configuration).genderProbabilities(test.features) == nil)
    }

    /// Overconfident logits (scaled ×5) on noisy labels: the fitted temperature must
    /// come out near 5 and lower the negative log-likelihood.
    @Test func temperatureScalingUndoesOverconfidence() {
        var generator = SplitMix64(seed: 5)
        var logits: [Float] = [], targets: [Int] = []
        for _ in 0..<2000 {
            let row = (0..<4).map { _ in generator.nextStandardNormal() }
            // Sample the target from softmax(row): calibrated at T = 1.
            let e = row.map { expf($0) }, total = e.reduce(0, +)
            var u = Float(generator.next() >> 40) / Float(1 << 24) * total, target = 3
            for k in 0..<4 { u -= e[k]; if u <= 0 { target = k; break } }
            logits += row.map { $0 * 5 }
            targets.append(target)
        }
        let t = TemperatureScaling.fittedTemperature(logits: Matrix(rows: 2000, columns: 4, values: logits), targets: targets)
        #expect(abs(t - 5) < 0.6, "temperature \(t)")
    }

    /// A run killed after some epochs and started again from its checkpoint ends
    /// with exactly the weights of an uninterrupted run.
    @Test func resumedTrainingMatchesAnUninterruptedRun() throws {
        let (train, targets) = blobs(120, seed: 7)
        let (validation, validationTargets) = blobs(60, seed: 8)
        var configuration = NeuralNetworkConfiguration()
        configuration.hiddenLayers = [16]
        configuration.maximumEpochs = 12
        configuration.patience = 100
        let data = LabelledMatrix(features: train, targets: targets)
        let held = LabelledMatrix(features: validation, targets: validationTargets)
        let whole = NeuralNetworkClassifier(labels: ["a", "b", "c"], configuration: configuration)
        whole.fit(data, validation: held)

        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ckpt-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        var short = configuration
        short.maximumEpochs = 5     // "killed" after epoch 5
        NeuralNetworkClassifier(labels: ["a", "b", "c"], configuration: short)
            .fit(data, validation: held, checkpoint: .init(path: path, fingerprint: "run"))
        let resumed = NeuralNetworkClassifier(labels: ["a", "b", "c"], configuration: configuration)
        resumed.fit(data, validation: held, checkpoint: .init(path: path, fingerprint: "run"))
        #expect(resumed.resumedAfterEpoch == 5)
        #expect(resumed.history == whole.history)
        #expect(resumed.probabilities(validation) == whole.probabilities(validation))

        let other = NeuralNetworkClassifier(labels: ["a", "b", "c"], configuration: configuration)
        other.fit(data, validation: held, checkpoint: .init(path: path, fingerprint: "another run"))
        #expect(other.resumedAfterEpoch == nil)
    }
}
