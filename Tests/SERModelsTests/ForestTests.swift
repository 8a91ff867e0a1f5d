import Foundation
import SERNumerics
import SERSupport
import Testing
@testable import SERModels

@Suite struct ForestTests {
    /// Classes decided by thresholds on two of ten features (axis-aligned, as trees split),
    /// with gender decided by a third; the rest is noise on a wild scale.
    func thresholdData(_ count: Int, seed: UInt64, flips: Double = 0) -> LabelledMatrix {
        var generator = SplitMix64(seed: seed)
        func uniform() -> Float { Float(generator.next() >> 11) / Float(1 << 53) }
        var values: [Float] = [], targets: [Int] = [], genders: [Int?] = []
        for i in 0..<count {
            let a = uniform(), b = uniform(), g = uniform()
            var label = a < 0.5 ? (b < 0.3 ? 0 : 1) : 2
            if Double(uniform()) < flips { label = Int(generator.next() % 3) }
            values += [a, b, g] + (0..<7).map { _ in 1000 * uniform() - 500 }
            targets.append(label)
            genders.append(i % 5 == 0 ? nil : (g < 0.5 ? 0 : 1))
        }
        return LabelledMatrix(features: Matrix(rows: count, columns: 10, values: values), targets: targets, genders: genders)
    }

    func accuracy(_ model: ForestClassifier, _ data: LabelledMatrix) -> Double {
        let p = model.probabilities(data.features)
        let predicted = (0..<p.rows).map { r in (0..<p.columns).max { p[r, $0] < p[r, $1] }! }
        return ClassificationMetrics(labels: model.labels, truth: data.targets, predicted: predicted).accuracy
    }

    /// A single unrestricted tree fits its training data exactly and generalises on clean thresholds.
    @Test func decisionTreeLearnsThresholds() {
        var configuration = TreeConfiguration.decisionTree(seed: 1)
        configuration.minimumLeafSize = 1
        let tree = ForestClassifier(labels: ["a", "b", "c"], configuration: configuration)
        let train = thresholdData(400, seed: 1)
        tree.fit(train)
        #expect(accuracy(tree, train) == 1)
        #expect(accuracy(tree, thresholdData(300, seed: 2)) > 0.95)
        #expect(tree.trees.count == 1 && tree.architecture == "tree")
        // The root splits on one of the two informative features.
        #expect([0, 1].contains(Int(tree.trees[0].feature[0])))
    }

    /// A forest on noisy labels beats chance by far, and its votes are probabilities.
    @Test func forestLearnsWithNoisyLabelsAndGender() {
        var configuration = TreeConfiguration.randomForest(seed: 4)
        configuration.trees = 40
        let forest = ForestClassifier(labels: ["a", "b", "c"], configuration: configuration)
        forest.fit(thresholdData(600, seed: 3, flips: 0.2))
        let test = thresholdData(300, seed: 5)
        #expect(accuracy(forest, test) > 0.85, "accuracy \(accuracy(forest, test))")
        let p = forest.probabilities(test.features)
        #expect((0..<p.rows).allSatisfy { r in abs((0..<3).reduce(0) { $0 + p[r, $1] } - 1) < 1e-4 })
        let gender = try? #require(forest.genderProbabilities(test.features))
        let known = test.genders.indices.filter { test.genders[$0] != nil }
        let right = known.filter { r in (gender?[r, 1] ?? 0 > 0.5 ? 1 : 0) == test.genders[r]! }.count
        #expect(Double(right) / Double(known.count) > 0.9)
    }

    @Test func sameSeedSameForestAndCalibrationKeepsDecisions() {
        var configuration = TreeConfiguration.randomForest(seed: 9)
        configuration.trees = 15
        let data = thresholdData(300, seed: 6, flips: 0.1)
        let first = ForestClassifier(labels: ["a", "b", "c"], configuration: configuration)
        let second = ForestClassifier(labels: ["a", "b", "c"], configuration: configuration)
        first.fit(data)
        second.fit(data)
        #expect(first.trees == second.trees)
        let test = thresholdData(200, seed: 7)
        let before = first.probabilities(test.features)
        first.calibrate(on: thresholdData(200, seed: 8, flips: 0.1))
        #expect(first.temperature != 1)
        let after = first.probabilities(test.features)
        for r in 0..<before.rows {
            let a = (0..<3).max { before[r, $0] < before[r, $1] }!, b = (0..<3).max { after[r, $0] < after[r, $1] }!
            #expect(before[r, a] == before[r, b] || a == b)
        }
    }

    /// The model file round-trips exactly, and broken files are refused with a reason.
    @Test func modelFileRoundTripsAndRejectsCorruption() throws {
        var configuration = TreeConfiguration.randomForest(seed: 2)
        configuration.trees = 8
        let forest = ForestClassifier(labels: ["a", "b", "c"], configuration: configuration)
        forest.fit(thresholdData(200, seed: 1))
        let file = forest.modelFile(metadata: ["note": "x"])
        let decoded = try SafeTensorsFile(data: file.encoded(), source: "forest.safetensors")
        let loaded = try #require(try ClassifierFile.load(decoded, source: "forest.safetensors") as? ForestClassifier)
        let test = thresholdData(50, seed: 3)
        #expect(loaded.probabilities(test.features) == forest.probabilities(test.features))
        #expect(loaded.genderProbabilities(test.features) == forest.genderProbabilities(test.features))
        #expect(loaded.parameterCount == forest.parameterCount && loaded.inputDimension == 10)

        var cyclic = decoded
        if var left = cyclic.tensors["trees.left"] { left.values[0] = 0; cyclic.tensors["trees.left"] = left }
        #expect(throws: SafeTensorsFile.Failure.self) { try ForestClassifier(modelFile: cyclic, source: "cyclic") }
        var badFeature = decoded
        if var feature = badFeature.tensors["trees.feature"] { feature.values[0] = 99; badFeature.tensors["trees.feature"] = feature }
        #expect(throws: SafeTensorsFile.Failure.self) { try ForestClassifier(modelFile: badFeature, source: "bad") }
        var missing = decoded
        missing.tensors["trees.distribution"] = nil
        #expect(throws: SafeTensorsFile.Failure.self) { try ForestClassifier(modelFile: missing, source: "missing") }
        var unknown = decoded
        unknown.metadata["architecture"] = "svm"
        #expect(throws: SafeTensorsFile.Failure.self) { try ClassifierFile.load(unknown, source: "unknown") }
    }
}

@Suite struct BoostedTreesTests {
    let data = ForestTests()

    func accuracy(_ model: BoostedTreesClassifier, _ test: LabelledMatrix) -> Double {
        let p = model.probabilities(test.features)
        let predicted = (0..<p.rows).map { r in (0..<p.columns).max { p[r, $0] < p[r, $1] }! }
        return ClassificationMetrics(labels: model.labels, truth: test.targets, predicted: predicted).accuracy
    }

    @Test func boostingLearnsNoisyThresholdsAndGender() {
        var configuration = BoostingConfiguration()
        configuration.rounds = 40
        let model = BoostedTreesClassifier(labels: ["a", "b", "c"], configuration: configuration)
        model.fit(data.thresholdData(600, seed: 3, flips: 0.2))
        let test = data.thresholdData(300, seed: 5)
        #expect(accuracy(model, test) > 0.85, "accuracy \(accuracy(model, test))")
        #expect(model.emotion.trees.count == 40 * 3)
        let p = model.probabilities(test.features)
        #expect((0..<p.rows).allSatisfy { r in abs((0..<3).reduce(0) { $0 + p[r, $1] } - 1) < 1e-4 })
        let gender = model.genderProbabilities(test.features)
        let known = test.genders.indices.filter { test.genders[$0] != nil }
        let right = known.filter { r in ((gender?[r, 1] ?? 0) > 0.5 ? 1 : 0) == test.genders[r]! }.count
        #expect(Double(right) / Double(known.count) > 0.9)
    }

    /// More rounds fit the training data better: the loss goes down as trees are added.
    @Test func moreRoundsFitBetter() {
        let train = data.thresholdData(400, seed: 11, flips: 0.1)
        var few = BoostingConfiguration(), many = BoostingConfiguration()
        few.rounds = 3
        many.rounds = 60
        let small = BoostedTreesClassifier(labels: ["a", "b", "c"], configuration: few)
        let large = BoostedTreesClassifier(labels: ["a", "b", "c"], configuration: many)
        small.fit(train)
        large.fit(train)
        func loss(_ model: BoostedTreesClassifier) -> Double {
            let p = model.probabilities(train.features)
            return (0..<p.rows).reduce(0.0) { $0 - log(Double(max(p[$1, train.targets[$1]], 1e-9))) } / Double(p.rows)
        }
        #expect(loss(large) < loss(small))
    }

    @Test func modelFileRoundTrips() throws {
        var configuration = BoostingConfiguration()
        configuration.rounds = 10
        let model = BoostedTreesClassifier(labels: ["a", "b", "c"], configuration: configuration)
        model.fit(data.thresholdData(200, seed: 1))
        model.calibrate(on: data.thresholdData(100, seed: 2, flips: 0.1))
        let decoded = try SafeTensorsFile(data: model.modelFile(metadata: [:]).encoded(), source: "boosted.safetensors")
        let loaded = try #require(try ClassifierFile.load(decoded, source: "boosted.safetensors") as? BoostedTreesClassifier)
        let test = data.thresholdData(50, seed: 3)
        #expect(loaded.probabilities(test.features) == model.probabilities(test.features))
        #expect(loaded.genderProbabilities(test.features) == model.genderProbabilities(test.features))
        #expect(loaded.temperature == model.temperature)
        var broken = decoded
        broken.tensors["boost.initial"] = .init(shape: [2], values: [0, 0])
        #expect(throws: SafeTensorsFile.Failure.self) { try BoostedTreesClassifier(modelFile: broken, source: "broken") }
    }
}
