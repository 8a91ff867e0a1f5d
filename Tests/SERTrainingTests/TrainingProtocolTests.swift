import Foundation
import SERAudio
import SERCorpora
import SERFeatures
import SERModels
import SERNumerics
import SERRecognition
import SERSupport
import Testing
@testable import SERTraining

/// The leakage-proof protocol tested directly, on vectors made here: speaker
/// folds, validation speakers, label masks, calibration and scoring.
@Suite struct TrainingProtocolTests {
    static let labels = ["angry", "happy", "sad"]

    /// `speakers` speakers of `perLabel` recordings per label, in `corpus`: each
    /// label's vectors sit around their own centre, each speaker is shifted a little.
    /// The vectors have `rich`'s length, as a dataset of that preset must.
    static func dataset(speakers: Int, perLabel: Int = 4, corpus: CorpusName = .ravdess, seed: UInt64 = 1,
                        labels: [String] = labels) -> FeatureDataset {
        var generator = SplitMix64(seed: seed)
        func noise() -> Float { Float(generator.next() >> 11) / Float(1 << 53) - 0.5 }
        var items: [CorpusItem] = [], vectors: [[Float]] = []
        for speaker in 0..<speakers {
            let shift = noise()
            for (index, label) in labels.enumerated() {
                for take in 0..<perLabel {
                    items.append(CorpusItem(path: "/\(corpus.rawValue)/s\(speaker)/\(label)-\(take).wav", corpus: corpus, label: label,
                                            speaker: "\(corpus.rawValue):\(speaker)", gender: speaker % 2 == 0 ? .female : .male))
                    vectors.append((0..<FeaturePreset.rich.dimension).map { d in (d % 8 == index ? 2 : 0) + shift + 0.6 * noise() })
                }
            }
        }
        let pipeline = InputPipeline(preset: .rich, sampleRate: 16000, trimsToSpeech: true, detector: VoiceActivityDetector(),
                                     resolvedEmbedder: nil)
        return FeatureDataset(items: items, vectors: vectors, pipeline: pipeline)
    }

    @Test func validationSpeakersAreWholeSpeakersAndNeverFitted() {
        let data = Self.dataset(speakers: 10)
        #expect(data.items.count == 120 && data.failures.isEmpty)
        let split = Trainer.validationSplit(data, indices: Array(data.items.indices), fraction: 0.15, seed: 3, allowsLeakage: false)
        let fitSpeakers = Set(split.fit.map { data.items[$0].speaker ?? "" })
        let validationSpeakers = Set(split.validation.map { data.items[$0].speaker ?? "" })
        #expect(!validationSpeakers.isEmpty && fitSpeakers.isDisjoint(with: validationSpeakers))
        #expect(split.fit.count + split.validation.count == data.items.count)
        #expect(validationSpeakers.count == 2, "about 15 % of 10 speakers")
        #expect(Set(split.speakers) == validationSpeakers)
    }

    @Test func crossValidationTestsEachSpeakerOnceOnAModelThatNeverHeardThem() throws {
        let data = Self.dataset(speakers: 10)
        let split = try SpeakerSplitter.kFold(data.items, folds: 5, seed: 2)
        var options = TrainingOptions()
        options.architecture = .logreg
        let summary = Trainer.crossValidate(data, split: split, labels: Self.labels, options: options)
        let tested = summary.folds.flatMap(\.testSpeakers)
        #expect(tested.count == 10 && Set(tested).count == 10, "every speaker tested exactly once")
        #expect(summary.pooled.n == data.items.count)
        #expect(summary.pooled.accuracy > 0.9, "the labels are separable: \(summary.pooled.accuracy)")
    }

    /// Cross-validation under conditions scores each fold's model on the copies of
    /// its test rows: copies equal to the clean vectors change nothing, copies
    /// that carry another label's pattern lose, and a copy without a vector
    /// (no speech found) counts wrong.
    @Test func crossValidationScoresEachConditionAgainstTheSameRecordingsClean() throws {
        let data = Self.dataset(speakers: 10)
        let split = try SpeakerSplitter.kFold(data.items, folds: 5, seed: 2)
        var options = TrainingOptions()
        options.architecture = .logreg
        let sampled = Set(data.items.indices.filter { $0 % 2 == 0 })
        let unchanged = ConditionTestSet(chain: .init([.gain(-20 ... -20)]), rows: sampled,
                                         vectors: Dictionary(uniqueKeysWithValues: sampled.map { ($0, data.vectors[$0]) }))
        // Each copy carries the next label's pattern: a model that reads the pattern is wrong on all.
        let shifted = ConditionTestSet(chain: .init([.telephone]), rows: sampled, vectors: Dictionary(uniqueKeysWithValues: sampled.map { row in
            let next = (Self.labels.firstIndex(of: data.items[row].label)! + 1) % Self.labels.count
            return (row, data.vectors[row].enumerated().map { d, v in d % 8 == next ? v + 2 : (d % 8 < 3 ? v - 2 : v) })
        }))
        var silent = unchanged
        silent.chain = .init([.noise(.white, snr: 0...0)])
        for row in sampled.sorted().prefix(sampled.count / 4) { silent.vectors[row] = nil }
        let summary = Trainer.crossValidate(data, split: split, labels: Self.labels, options: options,
                                            conditions: [unchanged, shifted, silent])
        let scores = try #require(summary.conditions)
        #expect(scores.map(\.condition) == ["clean", "gain:-20", "phone", "white:0"])
        let clean = scores[0]
        #expect(clean.n == sampled.count && clean.accuracy > 0.9 && clean.change == 0)
        #expect(scores[1].n == sampled.count && scores[1].accuracy == clean.accuracy && scores[1].change == 0)
        #expect(scores[2].accuracy < 0.2 && scores[2].change < -0.7, "\(scores[2])")
        #expect(scores[3].noSpeech == sampled.count / 4 && scores[3].n == sampled.count)
        #expect(abs(scores[3].accuracy - clean.accuracy * 0.75) < 0.1, "a quarter without an answer counts wrong: \(scores[3])")
        #expect(summary.pooled.n == data.items.count, "the clean figures still cover every recording")
    }

    /// With multi-condition copies, the temperature is fitted on the validation
    /// speakers' recordings and their copies: the model calibrated so is the
    /// likelier one on that mix, the one calibrated on clean recordings alone
    /// the likelier one on them (the weights are the same).
    @Test func calibrationWithConditionCopiesHearsTheCopiesToo() {
        var data = Self.dataset(speakers: 10)
        var generator = SplitMix64(seed: 9)
        data.addConditionCopies(vectors: data.vectors.map { vector in
            [vector.map { $0 + 8 * (Float(generator.next() >> 11) / Float(1 << 53) - 0.5) }]
        })
        var options = TrainingOptions()
        options.architecture = .logreg
        options.calibratesOnConditionCopies = false
        let cleanCalibrated = Trainer.train(data, labels: Self.labels, options: options).model.classifier
        options.calibratesOnConditionCopies = true
        let mixCalibrated = Trainer.train(data, labels: Self.labels, options: options).model.classifier
        #expect(abs(mixCalibrated.temperature / cleanCalibrated.temperature - 1) > 0.2,
                "\(mixCalibrated.temperature) vs \(cleanCalibrated.temperature)")
        let held = Trainer.validationSplit(data, indices: Array(data.items.indices), fraction: options.validationFraction,
                                           seed: options.seed, allowsLeakage: false).validation
        func loss(_ classifier: any TrainedClassifier, _ rows: LabelledMatrix) -> Double {
            let p = classifier.probabilities(rows.features)
            return rows.targets.enumerated().reduce(0) { $0 - log(Double(max(p[$1.offset, $1.element], 1e-12))) } / Double(rows.targets.count)
        }
        let mix = data.trainingMatrix(held, labels: Self.labels), clean = data.matrix(held, labels: Self.labels)
        #expect(mix.features.rows == 2 * clean.features.rows)
        #expect(loss(mixCalibrated, mix) < loss(cleanCalibrated, mix))
        #expect(loss(cleanCalibrated, clean) <= loss(mixCalibrated, clean))
    }

    /// Training-only copies never reach a test recording's answer: the adaptation
    /// curve's k = 0 is the lone-file accuracy, copies or not.
    @Test func theAdaptationCurveReadsNoTrainingCopies() throws {
        var data = Self.dataset(speakers: 6)
        var generator = SplitMix64(seed: 4)
        data.addConditionCopies(vectors: data.vectors.map { vector in
            [vector.map { $0 + 6 * (Float(generator.next() >> 11) / Float(1 << 53) - 0.5) }]
        })
        let split = try SpeakerSplitter.kFold(data.items, folds: 3, seed: 2)
        var options = TrainingOptions()
        options.architecture = .logreg
        options.adaptation = AdaptationRecipe()
        let summary = Trainer.crossValidate(data, split: split, labels: Self.labels, options: options, adaptationCurve: [0])
        let lone = try #require(summary.adaptation?.first)
        #expect(lone.k == 0 && lone.accuracy == summary.pooled.accuracy, "\(lone.accuracy) vs \(summary.pooled.accuracy)")
    }

    @Test func calibrationFitsATemperatureOnValidationSpeakers() {
        let data = Self.dataset(speakers: 8)
        var options = TrainingOptions()
        options.architecture = .logreg
        let outcome = Trainer.train(data, labels: Self.labels, options: options)
        #expect(outcome.validation != nil && !outcome.validationSpeakers.isEmpty)
        let temperature = outcome.model.classifier.temperature
        #expect(temperature > 0 && temperature != 1, "calibration chose a temperature: \(temperature)")
    }

    /// A corpus that carries two of the three labels is scored among those two only.
    @Test func scoringKeepsToEachCorpussLabels() {
        let probabilities = Matrix(rows: 3, columns: 3, values: [0.5, 0.3, 0.2,    // corpus A, truth angry
                                                                 0.6, 0.3, 0.1,    // corpus B (no angry), truth happy
                                                                 0.1, 0.1, 0.8])   // a label outside the model: left out
        let scores = ScoredPredictions(probabilities, truth: [0, 1, nil],
                                       permitted: [[true, true, true], [false, true, true], [true, true, true]], corpora: ["A", "B", "A"])
        #expect(scores.predicted == [0, 1])
        #expect(abs(scores.confidence[1] - 0.75) < 1e-6, "0.3 renormalized over happy and sad")
        #expect(scores.metrics(labels: Self.labels).accuracy == 1)
        #expect(Set(scores.perCorpus(labels: Self.labels).keys) == ["A", "B"])
        var pooled = scores
        pooled.append(ScoredPredictions(probabilities, truth: [2, 2, 2], permitted: nil, corpora: ["C", "C", "C"]))
        #expect(pooled.truth.count == 5 && pooled.metrics(labels: Self.labels).accuracy == 3.0 / 5)
    }

    /// Label masks: pooled corpora with different label sets never teach a
    /// corpus's rows about labels it cannot carry.
    @Test func labelMasksFollowEachCorpussLabels() {
        let ravdess = Self.dataset(speakers: 3)
        let crema = Self.dataset(speakers: 3, corpus: .cremaD, labels: ["angry", "happy"])
        let pooled = FeatureDataset(items: ravdess.items + crema.items, vectors: ravdess.vectors + crema.vectors, pipeline: ravdess.pipeline)
        let rows = Array(pooled.items.indices)
        let masks = pooled.labelMasks(rows, labels: Self.labels)
        #expect(masks != nil)
        for (row, item) in pooled.items.enumerated() {
            #expect(masks?[row] == (item.corpus == .cremaD ? [true, true, false] : [true, true, true]))
        }
    }
}
