import Foundation
import SERAudio
import SEREncoder
import SERFeatures
import SERModels
import SERNumerics
import SERSpeakers
import SERSupport

/// A trained emotion classifier together with the feature pipeline it expects:
/// what `ser predict`, `ser listen` and `ser serve` load.
public final class EmotionModel: @unchecked Sendable {
    /// The classifier of a recording on its own (for a model trained with
    /// --speaker-normalization, of z-scores against the speaker's statistics).
    public let classifier: any TrainedClassifier
    /// The features the classifier reads.
    public let preset: FeaturePreset
    /// What the model file says about the model: its features, training data and cross-validated figures.
    public var description: ModelDescription

    /// The classifier of recordings standardized by their speaker's statistics,
    /// and how those statistics are estimated and blended in.
    public struct AdaptedPart: @unchecked Sendable {
        /// The classifier of speaker-standardized vectors.
        public let classifier: any TrainedClassifier
        /// How a speaker's statistics are estimated from few recordings and blended in.
        public let adaptation: SpeakerAdaptation
        /// The adapted part of `classifier` under `adaptation`.
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

    /// The emotions the model tells apart, in the order of its outputs.
    public var labels: [String] { classifier.labels }

    /// A model of `classifier` on `preset` features, described by `description`, with its speaker-adapted part if any; its input pipeline follows the description.
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
                                 detector: VoiceActivityDetector(configuration: .init(voicingBandHz: description.voicingBand)),
                                 encoderPrecision: description.precision ?? .float32,
                                 resolvedEmbedder: preset.needsEncoder ? try? SpeechEncoders.embedder(precision: description.precision ?? .float32) : nil)
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
        guard description.encoderPrecision == nil || description.precision != nil else {
            throw SafeTensorsFile.Failure.unsupported(path: path, reason: "unknown encoder precision \(description.encoderPrecision ?? "")")
        }
        // Says 'run ser encoder install' when it is missing.
        if preset.needsEncoder { _ = try SpeechEncoders.embedder(precision: description.precision ?? .float32) }
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
    /// The emotions, in the order of `probabilities`.
    public var labels: [String]
    /// One calibrated probability per emotion; they sum to 1.
    public var probabilities: [Double]
    /// Female and male probabilities (`SpeakerGender.labels` order), when the model has a gender head.
    public var genderProbabilities: [Double]?

    /// The most probable emotion and its probability.
    public var best: (label: String, probability: Double) {
        let index = probabilities.indices.max { probabilities[$0] < probabilities[$1] } ?? 0
        return (labels[index], probabilities[index])
    }

    /// Labels by falling probability.
    public var ranked: [(label: String, probability: Double)] {
        zip(labels, probabilities).sorted { $0.1 > $1.1 }.map { ($0.0, $0.1) }
    }

    /// The more probable gender and its probability, when the model has a gender head.
    public var gender: (label: String, probability: Double)? {
        guard let p = genderProbabilities, p.count == SpeakerGender.labels.count else { return nil }
        let index = p[1] > p[0] ? 1 : 0
        return (SpeakerGender.labels[index], p[index])
    }
}
