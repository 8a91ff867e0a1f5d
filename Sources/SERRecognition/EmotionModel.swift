import Foundation
import SERAudio
import SEREncoder
import SERFeatures
import SERModels
import SERNumerics
import SERSupport

/// What a model file says about itself, beyond its weights: the features it
/// expects, how it was trained and on what, and how well it did on speakers it
/// never saw. Stored as JSON under the `ser` key of the safetensors metadata.
public struct ModelDescription: Codable, Sendable, Equatable {
    /// The utterance-level feature vector the model reads, and at which rate.
    public struct Features: Codable, Sendable, Equatable {
        public var preset: String
        public var sampleRate: Int
        public var dimension: Int
        enum CodingKeys: String, CodingKey { case preset, dimension, sampleRate = "sample_rate" }
        public init(preset: String, sampleRate: Int, dimension: Int) {
            self.preset = preset
            self.sampleRate = sampleRate
            self.dimension = dimension
        }
    }

    /// The data the final model was fitted on.
    public struct TrainingData: Codable, Sendable, Equatable {
        /// Files per corpus and label.
        public var counts: [String: [String: Int]]
        public var files: Int
        public var speakers: Int
        /// Speakers held out for early stopping and calibration.
        public var validationSpeakers: [String]
        public var allowsLeakage: Bool
        /// When the final weights were refitted on all the training speakers
        /// (validation ones included) after validation chose the epochs and the
        /// calibration: the refit's epochs (0 for tree models). Nil: no refit.
        public var refitEpochs: Int?
        enum CodingKeys: String, CodingKey {
            case counts, files, speakers
            case validationSpeakers = "validation_speakers", allowsLeakage = "allows_leakage", refitEpochs = "refit_epochs"
        }
        public init(counts: [String: [String: Int]], files: Int, speakers: Int, validationSpeakers: [String], allowsLeakage: Bool) {
            self.counts = counts
            self.files = files
            self.speakers = speakers
            self.validationSpeakers = validationSpeakers
            self.allowsLeakage = allowsLeakage
        }
    }

    public var architecture: String
    /// How many models of `architecture`, trained with different seeds, average
    /// their probabilities (`EnsembleClassifier`); nil for a single model.
    public var ensembleSize: Int?
    public var labels: [String]
    public var genderLabels: [String]?
    public var features: Features
    /// "speaker" when the model reads per-speaker z-scores of its features
    /// (`SpeakerNormalization`); nil when it reads each recording on its own.
    public var featureNormalization: String?
    /// Models with a speaker-adapted part (`EmotionModel.adapted`): how it was
    /// trained and, from cross-validation, its accuracy after k recordings of a speaker.
    public var speakerAdaptation: SpeakerAdaptationSummary?
    /// Test-time augmentation: perturbations (`Perturbation.argument` form, e.g.
    /// "speed:0.9") whose copies of every input are classified too, the answer
    /// being the mean of the original's and the copies' probabilities. Nil: none.
    public var testTimeAugmentation: [String]?
    /// Whether each input is trimmed to its speech span before its features are
    /// computed (nil, the default: yes); false when the model was trained on
    /// whole recordings, silences included (`ser train --no-trim`).
    public var trimsToSpeech: Bool?
    /// Seconds of the recording kept on each side of the speech span when
    /// trimming (`InputPipeline.speechMarginSeconds`); nil: none, the span alone.
    public var speechMarginSeconds: Double?
    /// The active level every input is brought to before its features are
    /// computed (`InputPipeline.levelNormalization`); nil: raw levels, as models
    /// trained before level normalization read them.
    public var levelNormalization: LevelNormalization?
    public var training: TrainingData?
    /// The final model on its validation speakers (after calibration).
    public var validation: ClassificationMetrics?
    /// Per-fold results of speaker-independent cross-validation, when it was run.
    public var crossValidation: CrossValidationSummary?
    public var command: String?
    public var seed: UInt64?
    public var created: String?
    public var serVersion: String?
    /// How the model was trained, as the training library's recipe
    /// (`SERTraining.TrainingRecipe`); nil for models written before recipes were stored.
    public var recipe: JSONValue?

    enum CodingKeys: String, CodingKey {
        case architecture, labels, features, training, validation, command, seed, created, recipe
        case ensembleSize = "ensemble_size"
        case genderLabels = "gender_labels", crossValidation = "cross_validation", serVersion = "ser_version"
        case featureNormalization = "feature_normalization", testTimeAugmentation = "test_time_augmentation"
        case trimsToSpeech = "trims_to_speech", speakerAdaptation = "speaker_adaptation"
        case speechMarginSeconds = "speech_margin_seconds", levelNormalization = "level_normalization"
    }

    public init(architecture: String, labels: [String], genderLabels: [String]?, features: Features) {
        self.architecture = architecture
        self.labels = labels
        self.genderLabels = genderLabels
        self.features = features
    }
}

/// What a model file says about its speaker-adapted part.
public struct SpeakerAdaptationSummary: Codable, Sendable, Equatable {
    /// The estimator's settings (`SpeakerAdaptation`).
    public var meanPriorWeight: Double
    public var variancePriorWeight: Double
    public var blendPriorWeight: Double
    public var minimumRecordings: Int
    /// Cross-validated accuracy after k recordings of each test speaker, when it was measured.
    public var curve: [AdaptationPoint]?

    enum CodingKeys: String, CodingKey {
        case curve
        case meanPriorWeight = "mean_prior_weight", variancePriorWeight = "variance_prior_weight"
        case blendPriorWeight = "blend_prior_weight", minimumRecordings = "minimum_recordings"
    }

    public init(_ adaptation: SpeakerAdaptation, curve: [AdaptationPoint]? = nil) {
        meanPriorWeight = adaptation.meanPriorWeight
        variancePriorWeight = adaptation.variancePriorWeight
        blendPriorWeight = adaptation.blendPriorWeight
        minimumRecordings = adaptation.minimumRecordings
        self.curve = curve
    }
}

/// One point of an adaptation curve: recordings of a speaker scored with the
/// statistics of `k` other recordings of that speaker (nil k: all of them, itself included).
public struct AdaptationPoint: Codable, Sendable, Equatable {
    /// Recordings of the speaker known before each scored one; nil for "all".
    public var k: Int?
    public var accuracy: Double
    public var uar: Double
    public var n: Int
    /// Per corpus, for pooled data.
    public var perCorpus: [String: AdaptationPoint]?
    /// Repeated cross-validation: the accuracy within each partition of the
    /// speakers (`accuracy` pools them). Nil for one partition.
    public var partitionAccuracies: [Double]?

    enum CodingKeys: String, CodingKey { case k, accuracy, uar, n, perCorpus = "per_corpus", partitionAccuracies = "partition_accuracies" }

    /// `k` is a number, or the string "all".
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        if let k { try c.encode(k, forKey: .k) } else { try c.encode("all", forKey: .k) }
        try c.encode(accuracy, forKey: .accuracy)
        try c.encode(uar, forKey: .uar)
        try c.encode(n, forKey: .n)
        try c.encodeIfPresent(perCorpus, forKey: .perCorpus)
        try c.encodeIfPresent(partitionAccuracies, forKey: .partitionAccuracies)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        k = try? c.decode(Int.self, forKey: .k)
        accuracy = try c.decode(Double.self, forKey: .accuracy)
        uar = try c.decode(Double.self, forKey: .uar)
        n = try c.decode(Int.self, forKey: .n)
        perCorpus = try c.decodeIfPresent([String: AdaptationPoint].self, forKey: .perCorpus)
        partitionAccuracies = try c.decodeIfPresent([Double].self, forKey: .partitionAccuracies)
    }

    public init(k: Int?, accuracy: Double, uar: Double, n: Int, perCorpus: [String: AdaptationPoint]? = nil) {
        self.k = k
        self.accuracy = accuracy
        self.uar = uar
        self.n = n
        self.perCorpus = perCorpus
    }

    /// "all" or the count.
    public var label: String { k.map(String.init) ?? "all" }
}

/// Mean ± standard deviation over speaker folds, and each fold's figures.
public struct CrossValidationSummary: Codable, Sendable, Equatable {
    public struct Fold: Codable, Sendable, Equatable {
        public var testSpeakers: [String]
        public var n: Int
        public var accuracy: Double
        public var uar: Double
        public var macroF1: Double
        public var ece: Double?
        public var epochs: Int
        public var seconds: Double
        enum CodingKeys: String, CodingKey {
            case n, accuracy, uar, ece, epochs, seconds
            case testSpeakers = "test_speakers", macroF1 = "macro_f1"
        }
        public init(testSpeakers: [String], metrics: ClassificationMetrics, epochs: Int, seconds: Double) {
            self.testSpeakers = testSpeakers
            n = metrics.n
            accuracy = metrics.accuracy
            uar = metrics.uar
            macroF1 = metrics.macroF1
            ece = metrics.ece
            self.epochs = epochs
            self.seconds = seconds
        }
    }

    public var method: String
    public var folds: [Fold]
    /// All folds' test predictions pooled.
    public var pooled: ClassificationMetrics
    /// The pooled test predictions of each corpus.
    public var perCorpus: [String: ClassificationMetrics]?
    public var allowsLeakage: Bool
    /// Models with corpus heads (`CorpusHeadsClassifier`): the same test
    /// predictions made with the heads combined, as for audio of unknown
    /// origin, over all folds and per corpus. Nil for other models.
    public var combinedHeads: ClassificationMetrics?
    public var combinedHeadsPerCorpus: [String: ClassificationMetrics]?
    /// Speaker-adaptive models: the test speakers scored after k recordings of
    /// each (`ser train --adaptive --adaptation …`); k = 0 is `pooled`.
    public var adaptation: [AdaptationPoint]?
    /// Repeated cross-validation (`ser train --cv-repeats`): the pooled accuracy
    /// within each partition of the speakers, whose folds `folds` lists one
    /// partition after another. Nil for one partition.
    public var partitionAccuracies: [Double]?
    /// Cross-validation with recording conditions (`ser train --cv … --conditions`):
    /// each fold's model scored on evaluation copies of its test recordings made
    /// through each chain, pooled over folds, clean first. Nil without conditions.
    public var conditions: [ConditionScore]?

    enum CodingKeys: String, CodingKey {
        case method, folds, pooled, perCorpus = "per_corpus", allowsLeakage = "allows_leakage"
        case combinedHeads = "combined_heads", combinedHeadsPerCorpus = "combined_heads_per_corpus"
        case adaptation, partitionAccuracies = "partition_accuracies", conditions
    }

    /// Partitions of the speakers the folds come from (1 unless repeated).
    public var partitionCount: Int { max(1, partitionAccuracies?.count ?? 1) }

    /// "5 folds", or "5 folds × 3 partitions" for repeated cross-validation.
    public var foldsDescription: String {
        let partitions = partitionCount
        let perPartition = folds.count / partitions
        return partitions > 1 ? "\(perPartition) folds × \(partitions) partitions" : "\(folds.count) folds"
    }

    public init(method: String, folds: [Fold], pooled: ClassificationMetrics, perCorpus: [String: ClassificationMetrics]? = nil,
                allowsLeakage: Bool) {
        self.method = method
        self.folds = folds
        self.pooled = pooled
        self.perCorpus = perCorpus
        self.allowsLeakage = allowsLeakage
    }

    public var accuracy: (mean: Double, std: Double) { Self.meanAndStd(folds.map(\.accuracy)) }
    public var uar: (mean: Double, std: Double) { Self.meanAndStd(folds.map(\.uar)) }
    public var macroF1: (mean: Double, std: Double) { Self.meanAndStd(folds.map(\.macroF1)) }

    /// Mean and population standard deviation.
    public static func meanAndStd(_ values: [Double]) -> (mean: Double, std: Double) {
        guard !values.isEmpty else { return (0, 0) }
        let mean = values.reduce(0, +) / Double(values.count)
        let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count)
        return (mean, variance.squareRoot())
    }
}

/// A trained emotion classifier together with the feature pipeline it expects:
/// what `ser predict`, `ser listen` and `ser serve` load.
public final class EmotionModel: @unchecked Sendable {
    /// The classifier of a recording on its own (for a model trained with
    /// --speaker-normalization, of z-scores against the speaker's statistics).
    public let classifier: any TrainedClassifier
    public let preset: FeaturePreset
    public var description: ModelDescription

    /// The classifier of recordings standardized by their speaker's statistics,
    /// and how those statistics are estimated and blended in.
    public struct AdaptedPart: @unchecked Sendable {
        public let classifier: any TrainedClassifier
        public let adaptation: SpeakerAdaptation
        public init(classifier: any TrainedClassifier, adaptation: SpeakerAdaptation) {
            self.classifier = classifier
            self.adaptation = adaptation
        }
    }

    /// The speaker-adapted part, when the file holds one: answers for a speaker
    /// of whom some recordings are known blend it in (`classifyVariants(_:speaker:)`).
    public let adapted: AdaptedPart?

    /// Whether answers can use a speaker's statistics: the model has an adapted
    /// part, or reads per-speaker z-scores only (`normalizesPerSpeaker`).
    public var usesSpeakerStatistics: Bool { adapted != nil || normalizesPerSpeaker }

    /// Whether the model reads per-speaker z-scores (`SpeakerNormalization`):
    /// it classifies a group of one speaker's recordings, not one file alone.
    public var normalizesPerSpeaker: Bool { description.featureNormalization == "speaker" }

    /// Whether inputs are trimmed to their speech span before features are
    /// computed, as the model's training data was (`ModelDescription.trimsToSpeech`).
    public var trimsToSpeech: Bool { description.trimsToSpeech ?? true }

    /// Seconds kept around the speech span when trimming, as in training (`ModelDescription.speechMarginSeconds`).
    public var speechMarginSeconds: Double { description.speechMarginSeconds ?? 0 }

    /// The path from audio to this model's feature vectors, the one training took.
    public let pipeline: InputPipeline

    /// The rate every input is resampled to before features are computed.
    public var sampleRate: Int { description.features.sampleRate }

    /// The perturbations whose copies of an input are classified with it
    /// (`ModelDescription.testTimeAugmentation`); empty for most models.
    public let testTimePerturbations: [Perturbation]

    public var labels: [String] { classifier.labels }

    public init(classifier: any TrainedClassifier, preset: FeaturePreset, description: ModelDescription, adapted: AdaptedPart? = nil) {
        self.classifier = classifier
        self.preset = preset
        self.description = description
        self.adapted = adapted
        testTimePerturbations = (description.testTimeAugmentation ?? []).compactMap(Perturbation.init(argument:))
        // A model whose encoder is missing still loads through this initializer; its vectors then fail with
        // FeatureError.encoderRequired. The file-reading initializer refuses such a model up front.
        pipeline = InputPipeline(preset: preset, sampleRate: description.features.sampleRate,
                                 trimsToSpeech: description.trimsToSpeech ?? true,
                                 speechMarginSeconds: description.speechMarginSeconds ?? 0,
                                 levelNormalization: description.levelNormalization.flatMap { $0.referenceDBFS.isFinite ? $0 : nil },
                                 detector: VoiceActivityDetector(),
                                 resolvedEmbedder: preset.needsEncoder ? try? SpeechEncoders.embedder() : nil)
    }

    /// Loads and validates a model file.
    public convenience init(contentsOf path: String) throws {
        try self.init(file: SafeTensorsFile(contentsOf: path), source: path)
    }

    /// Validates an already-read model file; `source` names it in errors.
    public convenience init(file: SafeTensorsFile, source path: String) throws {
        guard let text = file.metadata["ser"],
              let description = try? JSONDecoder().decode(ModelDescription.self, from: Data(text.utf8))
        else { throw SafeTensorsFile.Failure.unsupported(path: path, reason: "no ser model description in its metadata") }
        if let unknown = description.testTimeAugmentation?.first(where: { Perturbation(argument: $0) == nil }) {
            throw SafeTensorsFile.Failure.unsupported(path: path, reason: "unknown test-time perturbation \(unknown)")
        }
        guard let preset = FeaturePreset(rawValue: description.features.preset) else {
            throw SafeTensorsFile.Failure.unsupported(path: path, reason: "unknown feature preset \(description.features.preset)")
        }
        guard (8000...192_000).contains(description.features.sampleRate) else {
            throw SafeTensorsFile.Failure.corrupt(path: path, reason: "sample rate \(description.features.sampleRate)")
        }
        if preset.needsEncoder { _ = try SpeechEncoders.embedder() }   // says 'run ser encoder install' when it is missing
        let classifier = try ClassifierFile.load(file, source: path)
        guard classifier.inputDimension == preset.dimension else {
            throw SafeTensorsFile.Failure.corrupt(path: path, reason: "the classifier reads \(classifier.inputDimension) features, \(preset.rawValue) has \(preset.dimension)")
        }
        let adapted = try Self.readAdaptedPart(file, source: path, lone: classifier)
        self.init(classifier: classifier, preset: preset, description: description, adapted: adapted)
    }

    /// Writes the model file atomically: the lone-file classifier's tensors, the
    /// adapted classifier's under `adapted.`, the population statistics under
    /// `adaptation.` and the estimator's settings in the `adaptation` metadata.
    public func write(to path: String) throws {
        var file = classifier.modelFile(metadata: ["ser": sortedJSONText(description)])
        if let adapted {
            file.embed(adapted.classifier.modelFile(metadata: [:]), as: "adapted")
            var settings = adapted.adaptation
            let dimension = settings.dimension
            file.tensors["adaptation.population_mean"] = .init(shape: [dimension], values: settings.populationMean)
            file.tensors["adaptation.within_speaker_variance"] = .init(shape: [dimension], values: settings.withinSpeakerVariance)
            (settings.populationMean, settings.withinSpeakerVariance) = ([], [])
            file.metadata["adaptation"] = sortedJSONText(settings)
        }
        try file.write(to: path)
    }

    /// The adapted part stored by `write(to:)`, or nil when the file has none.
    private static func readAdaptedPart(_ file: SafeTensorsFile, source path: String, lone: any TrainedClassifier) throws -> AdaptedPart? {
        guard file.metadata["adaptation"] != nil || file.metadata["adapted"] != nil else { return nil }
        func corrupt(_ reason: String) -> SafeTensorsFile.Failure { .corrupt(path: path, reason: "speaker-adapted part: \(reason)") }
        guard let text = file.metadata["adaptation"],
              var settings = try? JSONDecoder().decode(SpeakerAdaptation.self, from: Data(text.utf8)) else { throw corrupt("no settings") }
        let classifier = try ClassifierFile.load(file.embedded("adapted", source: path, role: "the speaker-adapted classifier"),
                                                 source: "\(path) (speaker-adapted classifier)")
        let dimension = lone.inputDimension
        guard classifier.inputDimension == dimension, classifier.labels == lone.labels else { throw corrupt("its classifier disagrees with the lone-file one") }
        guard let mean = file.tensors["adaptation.population_mean"], mean.values.count == dimension,
              let variance = file.tensors["adaptation.within_speaker_variance"], variance.values.count == dimension,
              (mean.values + variance.values).allSatisfy(\.isFinite), variance.values.allSatisfy({ $0 > 0 }) else {
            throw corrupt("population statistics missing or not \(dimension) finite values")
        }
        settings.populationMean = mean.values
        settings.withinSpeakerVariance = variance.values
        guard [settings.meanPriorWeight, settings.variancePriorWeight, settings.blendPriorWeight].allSatisfy({ $0.isFinite && $0 >= 0 }),
              settings.minimumRecordings >= 0 else { throw corrupt("negative or non-finite settings") }
        return AdaptedPart(classifier: classifier, adaptation: settings)
    }

    /// The feature vector of `samples` (already at `sampleRate`, mono).
    /// With `concurrently`, pitch is computed on a second thread (lower latency for one utterance).
    public func featureVector(_ samples: [Float], concurrently: Bool = false) throws -> [Float] {
        try pipeline.vector(ofFeatureInput: samples, concurrently: concurrently)
    }

    /// The feature vectors the model classifies for `samples`: the recording's
    /// own, then one per test-time perturbation (noise drawn from
    /// `Perturbation.testTimeSeed`, so a recording always gets the same answer).
    public func featureVariants(_ samples: [Float], concurrently: Bool = false) throws -> [[Float]] {
        var variants = [try featureVector(samples, concurrently: concurrently)]
        for perturbation in testTimePerturbations {
            let copy = try perturbation.applied(to: samples, sampleRate: sampleRate, seed: Perturbation.testTimeSeed)
            variants.append(try featureVector(copy, concurrently: concurrently))
        }
        return variants
    }

    /// One answer for several feature vectors of the same recording (its
    /// test-time variants): the mean of their emotion and gender probabilities.
    public func classifyVariants(_ variants: [[Float]]) -> Classification? {
        let answers = classify(variants)
        guard let first = answers.first else { return nil }
        guard answers.count > 1 else { return first }
        func mean(_ rows: [[Double]]) -> [Double] {
            (0..<rows[0].count).map { c in rows.reduce(0) { $0 + $1[c] } / Double(rows.count) }
        }
        return Classification(labels: first.labels, probabilities: mean(answers.map(\.probabilities)),
                              genderProbabilities: first.genderProbabilities.map { _ in mean(answers.compactMap(\.genderProbabilities)) })
    }

    /// One answer for a recording's variants, for a speaker of whom `speaker`
    /// is known (nil or empty: nothing). With an adapted part, the lone-file
    /// answer is blended with the adapted classifier's on the variants
    /// standardized by the speaker's shrunk statistics, by
    /// `SpeakerAdaptation.adaptedWeight`; gender always comes from the lone-file
    /// classifier (speaker normalization removes what tells voices apart). A
    /// model that reads z-scores only standardizes by the statistics as they are.
    public func classifyVariants(_ variants: [[Float]], speaker: SpeakerStatistics?) -> Classification? {
        if normalizesPerSpeaker {
            guard let speaker, speaker.count > 0, speaker.dimension == classifier.inputDimension else { return nil }
            return classifyVariants(variants.map(speaker.standardizer.apply))
        }
        guard let lone = classifyVariants(variants) else { return nil }
        guard let adapted, let speaker, speaker.dimension == adapted.adaptation.dimension else { return lone }
        let weight = adapted.adaptation.adaptedWeight(recordings: speaker.count)
        guard weight > 0 else { return lone }
        let standardizer = adapted.adaptation.standardizer(for: speaker)
        let rows = variants.map(standardizer.apply)
        let p = adapted.classifier.probabilities(Matrix(rows: rows.count, columns: rows[0].count, values: rows.flatMap { $0 }))
        var blended = lone.probabilities.map { (1 - weight) * $0 }
        for r in 0..<rows.count {
            for c in blended.indices { blended[c] += weight * Double(p[r, c]) / Double(rows.count) }
        }
        return Classification(labels: lone.labels, probabilities: blended, genderProbabilities: lone.genderProbabilities)
    }

    /// Emotion and gender probabilities for feature vectors, one row each.
    public func classify(_ vectors: [[Float]]) -> [Classification] {
        guard let first = vectors.first else { return [] }
        let matrix = Matrix(rows: vectors.count, columns: first.count, values: vectors.flatMap { $0 })
        let emotion = classifier.probabilities(matrix)
        let gender = classifier.genderProbabilities(matrix)
        return (0..<vectors.count).map { r in
            Classification(labels: labels, probabilities: (0..<labels.count).map { Double(emotion[r, $0]) },
                           genderProbabilities: gender.map { g in (0..<g.columns).map { Double(g[r, $0]) } })
        }
    }
}

/// One utterance's answer: a probability per emotion and, when the model has a
/// gender head, per gender.
public struct Classification: Sendable, Equatable {
    public var labels: [String]
    public var probabilities: [Double]
    public var genderProbabilities: [Double]?

    public var best: (label: String, probability: Double) {
        let index = probabilities.indices.max { probabilities[$0] < probabilities[$1] } ?? 0
        return (labels[index], probabilities[index])
    }

    /// Labels by falling probability.
    public var ranked: [(label: String, probability: Double)] {
        zip(labels, probabilities).sorted { $0.1 > $1.1 }.map { ($0.0, $0.1) }
    }

    public var gender: (label: String, probability: Double)? {
        guard let p = genderProbabilities, p.count == NeuralNetworkClassifier.genderLabels.count else { return nil }
        let index = p[1] > p[0] ? 1 : 0
        return (NeuralNetworkClassifier.genderLabels[index], p[index])
    }
}
