import Foundation
import SERCorpora
import SERFeatures
import SERModels
import SERNumerics
import SERRecognition
import SERSpeakers
import SERSupport
import SERTraining
import Testing

/// Speaker-adaptive models on synthetic feature vectors: every speaker's voice
/// moves all features by a habitual offset (as gain and pitch do), each emotion
/// by a pattern of its own, and test speakers can sit far outside the training voices.
@Suite("speaker-adaptive training")
struct SpeakerAdaptiveTrainingTests {
    static let preset = FeaturePreset.classic180
    static let labels = ["neutral", "happy", "sad", "angry"]
    static let pipeline = InputPipeline(preset: preset, sampleRate: 16000, trimsToSpeech: true, detector: VoiceActivityDetector(),
                                        resolvedEmbedder: nil)

    /// Emotion patterns shared by every speaker.
    static let patterns: [[Float]] = {
        var generator = SplitMix64(seed: 41)
        return labels.map { _ in (0..<preset.dimension).map { _ in Float(generator.nextStandardNormal()) } }
    }()

    /// `takes` recordings per emotion of speaker `name`, whose habitual offset is `scale` times a random voice.
    static func speaker(_ name: String, seed: UInt64, scale: Float, takes: Int = 8) -> (items: [CorpusItem], vectors: [[Float]]) {
        var generator = SplitMix64(seed: seed)
        let offset = (0..<preset.dimension).map { _ in scale * Float(generator.nextStandardNormal()) }
        var items: [CorpusItem] = [], vectors: [[Float]] = []
        for (label, pattern) in zip(labels, patterns) {
            for take in 0..<takes {
                items.append(CorpusItem(path: "/synthetic/\(name)-\(label)-\(take).wav", corpus: .folders, label: label, speaker: name,
                                        gender: .unknown, attributes: [:]))
                vectors.append((0..<preset.dimension).map { offset[$0] + pattern[$0] + 0.8 * Float(generator.nextStandardNormal()) })
            }
        }
        return (items, vectors)
    }

    static func dataset(_ speakers: [(items: [CorpusItem], vectors: [[Float]])]) -> FeatureDataset {
        FeatureDataset(items: speakers.flatMap(\.items), vectors: speakers.flatMap(\.vectors), pipeline: pipeline)
    }

    static func options(_ recipe: AdaptationRecipe = AdaptationRecipe()) -> TrainingOptions {
        var options = TrainingOptions()
        options.architecture = .logreg
        options.adaptation = recipe
        return options
    }

    static let training = dataset((0..<10).map { speaker("train\($0)", seed: UInt64(100 + $0), scale: 2) })

    static func accuracy(_ answers: [Classification?], _ items: [CorpusItem]) -> Double {
        Double(zip(answers, items).filter { $0.0?.best.label == $0.1.label }.count) / Double(items.count)
    }

    @Test("a speaker shift that fools the lone-file classifier is undone by adapting to the speaker")
    func adaptationUndoesASpeakerShift() throws {
        let outcome = Trainer.train(Self.training, labels: Self.labels, options: Self.options())
        let model = outcome.model
        #expect(model.adapted != nil)
        let shifted = Self.speaker("far", seed: 900, scale: 9)
        let statistics = SpeakerStatistics(dimension: Self.preset.dimension, vectors: shifted.vectors)
        let lone = Self.accuracy(shifted.vectors.map { model.classifyVariants([$0], speaker: nil) }, shifted.items)
        let adapted = Self.accuracy(shifted.vectors.map { model.classifyVariants([$0], speaker: statistics) }, shifted.items)
        #expect(lone < 0.6, "the shift should fool the lone-file classifier (lone \(lone))")
        #expect(adapted > 0.9, "adapted \(adapted), lone \(lone)")
        // Gender comes from the lone-file classifier either way.
        let x = shifted.vectors[0]
        #expect(model.classifyVariants([x], speaker: statistics)?.genderProbabilities == model.classifyVariants([x])?.genderProbabilities)
    }

    @Test("--adapted-l2 sets the adapted classifier's penalty and leaves the lone-file one as it was")
    func adaptedPenaltyIsTheAdaptedClassifiersAlone() throws {
        var options = Self.options(AdaptationRecipe(adaptedL2Penalty: 0.4))
        options.l2Penalty = 0.1
        let model = Trainer.train(Self.training, labels: Self.labels, options: options).model
        let lone = try #require(model.classifier as? NeuralNetworkClassifier)
        let adapted = try #require(model.adapted?.classifier as? NeuralNetworkClassifier)
        #expect(lone.configuration.l2Penalty == 0.1 && adapted.configuration.l2Penalty == 0.4)
        options.adaptation = AdaptationRecipe()
        let plain = Trainer.train(Self.training, labels: Self.labels, options: options).model
        #expect((plain.adapted?.classifier as? NeuralNetworkClassifier)?.configuration.l2Penalty == 0.1)
        // The lone-file answers are the same model's; the adapted ones differ.
        let x = Self.speaker("check", seed: 904, scale: 3)
        let statistics = SpeakerStatistics(dimension: Self.preset.dimension, vectors: x.vectors)
        let a = try #require(model.classifyVariants([x.vectors[0]])), b = try #require(plain.classifyVariants([x.vectors[0]]))
        #expect(zip(a.probabilities, b.probabilities).allSatisfy { abs($0 - $1) < 1e-6 })
        // An ambiguous input, halfway between two emotions, so neither answer saturates.
        let ambiguous = zip(x.vectors[0], x.vectors[x.vectors.count - 1]).map { ($0 + $1) / 2 }
        let c = try #require(model.classifyVariants([ambiguous], speaker: statistics))
        let d = try #require(plain.classifyVariants([ambiguous], speaker: statistics))
        #expect(zip(c.probabilities, d.probabilities).contains { abs($0 - $1) > 1e-4 }, "\(c.probabilities) \(d.probabilities)")

        var recipe = TrainingRecipe(architecture: .logreg, features: .functionals)
        recipe.adaptive = true
        recipe.adaptedL2Penalty = 0.4
        let decoded = try JSONDecoder().decode(TrainingRecipe.self, from: try JSONEncoder().encode(recipe))
        #expect(decoded.adaptedL2Penalty == 0.4 && decoded.options.adaptation?.adaptedL2Penalty == 0.4)
    }

    @Test("without shrinkage or blending, the adapted answer is --speaker-normalization's with the same statistics")
    func adaptedAnswerEqualsSpeakerNormalization() throws {
        var recipe = AdaptationRecipe()
        (recipe.meanPriorWeight, recipe.variancePriorWeight, recipe.blendPriorWeight) = (0, 0, 0)
        let model = Trainer.train(Self.training, labels: Self.labels, options: Self.options(recipe)).model
        let adapted = try #require(model.adapted)
        let other = Self.speaker("other", seed: 901, scale: 3)
        let statistics = SpeakerStatistics(dimension: Self.preset.dimension, vectors: other.vectors)
        // A model that reads z-scores only, with the adapted classifier, as --speaker-normalization trains it.
        var description = model.description
        description.featureNormalization = "speaker"
        let normalizing = EmotionModel(classifier: adapted.classifier, preset: Self.preset, description: description)
        let zScores = SpeakerNormalization.zScores(other.vectors, groups: other.items.map { _ in "other" })
        for (vector, z) in zip(other.vectors, zScores).prefix(8) {
            let answer = try #require(model.classifyVariants([vector], speaker: statistics))
            let reference = try #require(normalizing.classifyVariants([vector], speaker: statistics))
            let direct = adapted.classifier.probabilities(Matrix(rows: 1, columns: z.count, values: z))
            for c in answer.probabilities.indices {
                #expect(abs(answer.probabilities[c] - reference.probabilities[c]) < 1e-4)
                #expect(abs(answer.probabilities[c] - Double(direct[0, c])) < 1e-4)
            }
        }
    }

    @Test("the curve's k = 0 is lone-file evaluation, and it rises with the recordings known")
    func curveStartsAtLoneFileEvaluation() throws {
        let model = Trainer.train(Self.training, labels: Self.labels, options: Self.options()).model
        let test = Self.dataset([Self.speaker("t1", seed: 902, scale: 6), Self.speaker("t2", seed: 903, scale: 6)])
        let rows = Array(test.items.indices)
        let curve = Trainer.adaptationCurve(model, test, rows: rows, labels: Self.labels, ks: [0, 3, nil], seed: 1, averagingCopies: false)
            .map { $0.point(labels: Self.labels) }
        let lone = Trainer.probabilities(model.classifier, test, rows, averagingCopies: false)
        let loneCorrect = rows.filter { row in
            let p = (0..<Self.labels.count).map { lone[row, $0] }
            return Self.labels[p.indices.max { p[$0] < p[$1] }!] == test.items[row].label
        }.count
        #expect(curve.map(\.n) == [rows.count, rows.count, rows.count])
        #expect(abs(curve[0].accuracy - Double(loneCorrect) / Double(rows.count)) < 1e-9)
        #expect(curve[1].accuracy > curve[0].accuracy + 0.1, "\(curve.map(\.accuracy))")
        #expect(curve[2].accuracy >= curve[1].accuracy - 0.02, "\(curve.map(\.accuracy))")
        // Same seed, same curve.
        let again = Trainer.adaptationCurve(model, test, rows: rows, labels: Self.labels, ks: [3], seed: 1, averagingCopies: false)[0].point(labels: Self.labels)
        #expect(again.accuracy == curve[1].accuracy)
    }

    @Test("the adapted part speaks from the fewest recordings at which the measured curve never falls below the lone-file answer")
    func minimumRecordingsFromTheCurve() {
        func curve(_ points: [(Int?, Double)]) -> [AdaptationPoint] { points.map { AdaptationPoint(k: $0.0, accuracy: $0.1, uar: $0.1, n: 10) } }
        #expect(AdaptationRecipe.minimumRecordings(from: curve([(0, 0.5), (1, 0.52), (3, 0.6), (nil, 0.7)])) == 1)
        #expect(AdaptationRecipe.minimumRecordings(from: curve([(0, 0.5), (1, 0.48), (3, 0.49), (5, 0.53), (nil, 0.6)])) == 5)
        // A dip after a gain moves the minimum past it.
        #expect(AdaptationRecipe.minimumRecordings(from: curve([(0, 0.5), (1, 0.55), (3, 0.45), (5, 0.6), (nil, 0.7)])) == 5)
        #expect(AdaptationRecipe.minimumRecordings(from: curve([(0, 0.5), (1, 0.4), (nil, 0.45)])) == Int.max)
        #expect(AdaptationRecipe.minimumRecordings(from: curve([(1, 0.4), (nil, 0.45)])) == nil, "no lone-file point")
    }

    @Test("a model file keeps both parts and answers the same after a round trip")
    func modelFileRoundTrip() throws {
        let model = Trainer.train(Self.training, labels: Self.labels, options: Self.options()).model
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ser-adaptive-\(UUID().uuidString).safetensors").path
        defer { unlink(path) }
        try model.write(to: path)
        let loaded = try EmotionModel(contentsOf: path)
        let adapted = try #require(loaded.adapted)
        #expect(adapted.adaptation == model.adapted?.adaptation)
        let speaker = Self.speaker("probe", seed: 904, scale: 4)
        let statistics = SpeakerStatistics(dimension: Self.preset.dimension, vectors: Array(speaker.vectors.prefix(5)))
        for vector in speaker.vectors.prefix(4) {
            #expect(loaded.classifyVariants([vector], speaker: statistics) == model.classifyVariants([vector], speaker: statistics))
        }
        #expect(loaded.description.speakerAdaptation?.meanPriorWeight == 3)
    }
}
