import Foundation
import SERCorpora
import SERFeatures
import SERModels
import SERNumerics
import SERRecognition
import SERSupport
import Testing
@testable import SERTraining

/// A classifier family defined outside ser: each label's mean vector, and a
/// softmax over negative squared distances to them.
final class CentroidClassifier: TrainedClassifier {
    static let name = "test-centroid"
    let labels: [String]
    let centroids: Matrix
    private(set) var temperature: Float = 1
    var genderTemperature: Float { 1 }
    var inputDimension: Int { centroids.columns }
    var parameterCount: Int { centroids.values.count }
    var structureSummary: [String] { ["\(labels.count) centroids"] }
    var hasGenderHead: Bool { false }

    init(labels: [String], fitting data: LabelledMatrix) {
        self.labels = labels
        var sums = Matrix(rows: labels.count, columns: data.features.columns)
        var counts = [Float](repeating: 0, count: labels.count)
        for (row, target) in data.targets.enumerated() {
            counts[target] += 1
            for c in 0..<data.features.columns { sums[target, c] += data.features[row, c] }
        }
        for r in 0..<labels.count where counts[r] > 0 {
            for c in 0..<sums.columns { sums[r, c] /= counts[r] }
        }
        centroids = sums
    }

    func logits(_ features: Matrix) -> Matrix {
        var out = Matrix(rows: features.rows, columns: labels.count)
        for r in 0..<features.rows {
            for k in 0..<labels.count {
                var distance: Float = 0
                for c in 0..<features.columns { distance += (features[r, c] - centroids[k, c]) * (features[r, c] - centroids[k, c]) }
                out[r, k] = -distance
            }
        }
        return out
    }

    func probabilities(_ features: Matrix) -> Matrix {
        var p = logits(features)
        for r in 0..<p.rows {
            let top = (0..<p.columns).map { p[r, $0] }.max() ?? 0
            var sum: Float = 0
            for c in 0..<p.columns { p[r, c] = exp((p[r, c] - top) / temperature); sum += p[r, c] }
            for c in 0..<p.columns { p[r, c] /= sum }
        }
        return p
    }

    func genderProbabilities(_ features: Matrix) -> Matrix? { nil }
    func calibrate(on validation: LabelledMatrix) {
        temperature = TemperatureScaling.fittedTemperature(logits: logits(validation.features), targets: validation.targets,
                                                           labelMasks: validation.labelMasks)
    }
    func adoptCalibration(of other: any CalibratedClassifier) { temperature = other.temperature }

    static var architectureNames: Set<String> { [name] }
    init(modelFile file: SafeTensorsFile, source: String) throws {
        guard let tensor = file.tensors["centroids"], tensor.shape.count == 2,
              let labels = file.metadata["labels"]?.split(separator: ",").map(String.init), labels.count == tensor.shape[0] else {
            throw SafeTensorsFile.Failure.corrupt(path: source, reason: "no centroids")
        }
        self.labels = labels
        centroids = Matrix(rows: tensor.shape[0], columns: tensor.shape[1], values: tensor.values)
        temperature = Float(file.metadata["temperature"] ?? "") ?? 1
    }
    func modelFile(metadata: [String: String]) -> SafeTensorsFile {
        var file = SafeTensorsFile(metadata: metadata)
        file.metadata["architecture"] = Self.name
        file.metadata["labels"] = labels.joined(separator: ",")
        file.metadata["temperature"] = String(temperature)
        file.tensors["centroids"] = .init(shape: [centroids.rows, centroids.columns], values: centroids.values)
        return file
    }
}

/// How the centroid classifier trains: one pass, no settings.
struct CentroidFamily: TrainingFamily {
    var name: String { CentroidClassifier.name }
    var summary: String { "each label's mean vector" }
    var readsImages: Bool { false }
    var defaultFeatures: FeaturePreset { .rich }
    var trainsInEpochs: Bool { false }
    var refitsByDefault: Bool { true }
    var settings: Set<TrainingSetting> { [] }
    func maximumEpochs(options: TrainingOptions, preset: FeaturePreset) -> Int { 1 }
    func fit(_ request: FitRequest) -> FittedClassifier {
        FittedClassifier(classifier: CentroidClassifier(labels: request.labels,
                                                        fitting: request.dataset.trainingMatrix(request.rows, labels: request.labels)))
    }
    func refitEpochs(after first: FittedClassifier, options: TrainingOptions) -> Int? { nil }
}

/// Training goes through the family registry: a family ser never heard of
/// trains, cross-validates, refits and saves through the same `Trainer`.
@Suite struct TrainingFamilyTests {
    static let registered: Void = {
        TrainingFamilies.register(CentroidFamily())
        ClassifierFile.register(ClassifierFamily(CentroidClassifier.self))
    }()

    @Test func aRegisteredFamilyTrainsCrossValidatesAndLoadsLikeABuiltInOne() throws {
        #expect(Architecture(rawValue: "no-such-family") == nil)
        Self.registered
        let architecture = try #require(Architecture(rawValue: CentroidClassifier.name))
        #expect(Architecture.allNames.contains(CentroidClassifier.name))
        let data = TrainingProtocolTests.dataset(speakers: 10)
        var options = TrainingOptions()
        options.architecture = architecture
        let outcome = Trainer.train(data, labels: TrainingProtocolTests.labels, options: options)
        let centroid = try #require(outcome.model.classifier as? CentroidClassifier)
        #expect(outcome.model.description.architecture == CentroidClassifier.name)
        #expect(outcome.refitEpochs == 0, "refitted on all speakers in one pass")
        #expect(centroid.temperature != 1, "calibrated on the validation speakers before the refit took the temperature")
        #expect(Trainer.evaluate(centroid, on: data.matrix(Array(data.items.indices), labels: TrainingProtocolTests.labels)).accuracy > 0.9)

        let split = try SpeakerSplitter.kFold(data.items, folds: 5, seed: 2)
        let summary = Trainer.crossValidate(data, split: split, labels: TrainingProtocolTests.labels, options: options)
        #expect(summary.pooled.n == data.items.count && summary.pooled.accuracy > 0.9, "\(summary.pooled.accuracy)")

        var ensembleOptions = options
        ensembleOptions.ensembleSize = 2
        let ensemble = Trainer.train(data, labels: TrainingProtocolTests.labels, options: ensembleOptions)
        #expect(ensemble.model.classifier is EnsembleClassifier && ensemble.model.description.ensembleSize == 2)

        let loaded = try ClassifierFile.load(centroid.modelFile(metadata: [:]), source: "memory")
        #expect((loaded as? CentroidClassifier)?.centroids == centroid.centroids)
    }

    @Test func aRecipeNamesOnlyKnownFamilies() throws {
        let decoder = JSONDecoder()
        for family in TrainingFamilies.builtIn {
            let architecture = try #require(Architecture(rawValue: family.name))
            let json = try JSONEncoder().encode(architecture)
            #expect(String(decoding: json, as: UTF8.self) == "\"\(family.name)\"")
            #expect(try decoder.decode(Architecture.self, from: json).family.name == family.name)
        }
        #expect(throws: DecodingError.self) { try decoder.decode(Architecture.self, from: Data("\"svm\"".utf8)) }
        #expect(Set(TrainingFamilies.builtIn.map(\.name)).count == TrainingFamilies.builtIn.count, "names are unique")
    }

    @Test func eachFamilyChoosesItsOwnRefit() {
        func record(_ epoch: Int, _ uar: Double) -> EpochRecord {
            EpochRecord(epoch: epoch, trainLoss: 1, trainAccuracy: 0.5, validationLoss: 1, validationAccuracy: uar, validationUAR: uar)
        }
        let history = [record(1, 0.4), record(2, 0.7), record(3, 0.7), record(4, 0.5)]
        let fit = FittedClassifier(classifier: CentroidClassifier(labels: ["a"], fitting: LabelledMatrix(
            features: Matrix(rows: 1, columns: 1, values: [0]), targets: [0])), history: history)
        var options = TrainingOptions()
        #expect(NeuralNetworkFamily(design: nil).refitEpochs(after: fit, options: options) == 2, "the earliest best validation epoch")
        #expect(LogisticRegressionFamily().refitEpochs(after: fit, options: options) == nil, "to convergence, within the default budget")
        options.maximumEpochs = 80
        #expect(LogisticRegressionFamily().refitEpochs(after: fit, options: options) == 80)
        #expect(LogisticRegressionFamily().maximumEpochs(options: options, preset: .rich) == 80)
        #expect(TreeFamily(kind: .randomForest).refitEpochs(after: fit, options: options) == nil)
        #expect(NeuralNetworkFamily(design: .cnn).maximumEpochs(options: TrainingOptions(), preset: .logmel) == 40)
    }
}
