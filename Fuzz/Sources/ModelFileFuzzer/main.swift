import Foundation
import FuzzSupport
import SERFeatures
import SERModels
import SERNumerics
import SERRecognition
import SERSpeakers
import SERSupport

/// Model files from strangers: every input must load as a classifier (and then
/// answer for any row of its width) or fail with a typed error naming the file.
/// Covers the safetensors container, every classifier family, ensembles, corpus
/// heads, and ser's model description with its speaker-adapted part.
func fuzzModelFile(_ data: Data) {
    guard let file = expectTyped([SafeTensorsFile.Failure.self], { try SafeTensorsFile(data: data, source: "fuzz-model") }) else { return }
    let loaded = expectTyped([SafeTensorsFile.Failure.self, CorpusHeadsClassifier.Mismatch.self]) {
        try ClassifierFile.load(file, source: "fuzz-model")
    }
    if let classifier = loaded, (1...4096).contains(classifier.inputDimension) {
        let rows = Matrix(rows: 2, columns: classifier.inputDimension,
                          values: (0..<(2 * classifier.inputDimension)).map { Float($0 % 7) - 3 })
        let probabilities = classifier.probabilities(rows)
        precondition(probabilities.rows == 2 && probabilities.columns == classifier.labels.count, "answer of the wrong shape")
        _ = classifier.genderProbabilities(rows)
        _ = classifier.probabilities(rows, corpora: ["ravdess", "crema-d"])
        _ = classifier.structureSummary
    }
    let model = expectTyped([SafeTensorsFile.Failure.self, CorpusHeadsClassifier.Mismatch.self, FeatureError.self]) {
        try EmotionModel(file: file, source: "fuzz-model")
    }
    if let model, model.preset.dimension <= 4096 {
        let vector = (0..<model.preset.dimension).map { Float($0 % 5) }
        _ = model.classify([vector])
        var speaker = SpeakerStatistics(dimension: model.preset.dimension)
        speaker.add(vector)
        speaker.add(vector.map { $0 + 1 })
        _ = model.classifyVariants([vector], speaker: speaker)
    }
}

/// One small trained classifier of every family, and a whole ser model file with
/// its speaker-adapted part.
func modelSeeds() throws -> [String: Data] {
    let labels = ["angry", "happy", "neutral"], width = 6
    var values: [Float] = [], targets: [Int] = []
    for row in 0..<30 {
        targets.append(row % 3)
        values += (0..<width).map { Float(($0 + 1) * (row % 3)) + Float(row % 5) * 0.1 }
    }
    let training = LabelledMatrix(features: Matrix(rows: 30, columns: width, values: values), targets: targets,
                                  genders: targets.map { $0 % 2 })
    func network(_ hidden: [Int], design: NetworkDesign? = nil, labels: [String] = labels) -> NeuralNetworkClassifier {
        var configuration = NeuralNetworkConfiguration()
        configuration.hiddenLayers = hidden
        configuration.design = design
        configuration.maximumEpochs = 2
        let classifier = NeuralNetworkClassifier(labels: labels, configuration: configuration)
        if let design {
            // An image network reads frames × bands values per row.
            let count = design.inputCount
            classifier.fit(LabelledMatrix(features: Matrix(rows: 30, columns: count, values: (0..<(30 * count)).map { Float(($0 * 31) % 17) }),
                                          targets: targets))
        } else {
            classifier.fit(training)
        }
        return classifier
    }
    var forestSettings = TreeConfiguration()
    forestSettings.trees = 2
    forestSettings.maximumDepth = 3
    let forest = ForestClassifier(labels: labels, configuration: forestSettings)
    forest.fit(training)
    var boostingSettings = BoostingConfiguration()
    boostingSettings.rounds = 2
    boostingSettings.maximumDepth = 2
    let boosted = BoostedTreesClassifier(labels: labels, configuration: boostingSettings)
    boosted.fit(training)
    let mlp = network([4]), logistic = network([])
    let heads = [CorpusHeadsClassifier.Head(corpus: "ravdess", labels: ["angry", "happy"], recordings: 20),
                 CorpusHeadsClassifier.Head(corpus: "crema-d", labels: ["angry", "neutral"], recordings: 10)]
    let shared = network([4], labels: CorpusHeadsClassifier.qualifiedLabels(heads))
    let corpusHeads = try CorpusHeadsClassifier(shared: shared, labels: labels, heads: heads)
    var seeds: [String: Data] = [
        "mlp.safetensors": mlp.modelFile(metadata: [:]).encoded(),
        "logreg.safetensors": logistic.modelFile(metadata: [:]).encoded(),
        "cnn.safetensors": network([], design: NetworkDesign(kind: .cnn1d, frames: 8, bands: 2)).modelFile(metadata: [:]).encoded(),
        "lstm.safetensors": network([], design: NetworkDesign(kind: .lstm, frames: 4, bands: 3)).modelFile(metadata: [:]).encoded(),
        "forest.safetensors": forest.modelFile(metadata: [:]).encoded(),
        "boosted.safetensors": boosted.modelFile(metadata: [:]).encoded(),
        "ensemble.safetensors": EnsembleClassifier(members: [mlp, forest]).modelFile(metadata: [:]).encoded(),
        "corpus-heads.safetensors": corpusHeads.modelFile(metadata: [:]).encoded(),
    ]
    // A whole model file: the smallest preset, a lone-file and an adapted classifier.
    let preset = FeaturePreset.classic180
    let wide = LabelledMatrix(features: Matrix(rows: 30, columns: preset.dimension,
                                               values: (0..<(30 * preset.dimension)).map { Float(($0 * 7919) % 13) }),
                              targets: targets)
    func wideLogistic() -> NeuralNetworkClassifier {
        var configuration = NeuralNetworkConfiguration()
        configuration.hiddenLayers = []
        configuration.maximumEpochs = 2
        let classifier = NeuralNetworkClassifier(labels: labels, configuration: configuration)
        classifier.fit(wide)
        return classifier
    }
    let description = ModelDescription(architecture: "logreg", labels: labels, genderLabels: nil,
                                       features: .init(preset: preset.rawValue, sampleRate: 16000, dimension: preset.dimension))
    let adaptation = SpeakerAdaptation(populationMean: [Float](repeating: 1, count: preset.dimension),
                                       withinSpeakerVariance: [Float](repeating: 2, count: preset.dimension),
                                       meanPriorWeight: 3, variancePriorWeight: 10, blendPriorWeight: 2, minimumRecordings: 1)
    let model = EmotionModel(classifier: wideLogistic(), preset: preset, description: description,
                             adapted: .init(classifier: wideLogistic(), adaptation: adaptation))
    let path = NSTemporaryDirectory() + "ser-fuzz-seed-\(getpid()).safetensors"
    try model.write(to: path)
    seeds["model.safetensors"] = try Data(contentsOf: URL(fileURLWithPath: path))
    try? FileManager.default.removeItem(atPath: path)
    return seeds
}

runFuzzTarget(seeds: modelSeeds, body: fuzzModelFile)
