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
            values += [centre[0] + standardNormal(&generator), centre[1] + standardNormal(&generator)]
            values += (0..<8).map { _ in 100 + 50 * standardNormal(&generator) }   // uninformative, badly scaled
            targets.append(c)
        }
        return (Matrix(rows: count, columns: 10, values: values), targets)
    }

    @Test func learnsWithStandardizationAndEarlyStopping() {
        let (train, trainTargets) = blobs(300, seed: 1)
        let (test, testTargets) = blobs(150, seed: 2)
        var configuration = MLPConfiguration()
        configuration.hiddenLayers = [32]
        configuration.maximumEpochs = 60
        configuration.patience = 10
        let model = MLPClassifier(labels: ["a", "b", "c"], configuration: configuration)
        model.fit(train, targets: trainTargets, validation: (test, testTargets))
        let metrics = ClassificationMetrics(labels: model.labels, truth: testTargets, predicted: model.predict(test))
        #expect(metrics.accuracy > 0.9, "accuracy \(metrics.accuracy)")
        #expect(model.history.count <= 60 && model.history.allSatisfy { $0.validationUAR != nil })
        let p = model.probabilities(test)
        #expect((0..<p.rows).allSatisfy { r in abs((0..<3).reduce(0) { $0 + p[r, $1] } - 1) < 1e-5 })
    }

    @Test func sameSeedSameModel() {
        let (train, targets) = blobs(90, seed: 3)
        var configuration = MLPConfiguration()
        configuration.hiddenLayers = [16]
        configuration.maximumEpochs = 5
        let a = MLPClassifier(labels: ["a", "b", "c"], configuration: configuration)
        let b = MLPClassifier(labels: ["a", "b", "c"], configuration: configuration)
        a.fit(train, targets: targets)
        b.fit(train, targets: targets)
        #expect(a.probabilities(train) == b.probabilities(train))
    }
}
