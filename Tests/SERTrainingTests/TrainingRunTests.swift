import Foundation
import SERAudio
import SERCorpora
import SEREncoder
import SERFeatures
import SERModels
import SERRecognition
import SERSupport
import SERTestSupport
import Testing
@testable import SERTraining

/// Training as a library: a recipe is plain Codable data whose JSON fingerprints
/// checkpoints and travels in the model header; a `TrainingRun` turns recipe and
/// recordings into measured folds and a written model.
@Suite struct TrainingRunTests {
    /// `speakers` speakers × two labels × `takes` one-second recordings written to
    /// a fresh folder: angry voices pitched at 240 Hz, sad ones at 110 Hz.
    static func recordings(speakers: Int = 4, takes: Int = 3) throws -> (folder: String, items: [CorpusItem]) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ser-run-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var items: [CorpusItem] = []
        for speaker in 0..<speakers {
            for (label, pitch) in [("angry", 240.0), ("sad", 110.0)] {
                for take in 0..<takes {
                    let samples = SyntheticSpeech.recording(seconds: 1, rate: 16000, voiceSpans: [(0.1, 0.9)],
                                                            seed: UInt64(speaker * 100 + take + 1),
                                                            pitch: pitch + Double(speaker * 6 + take * 3))
                    let path = "\(folder)/s\(speaker)-\(label)-\(take).wav"
                    try AudioFileWriter.write(AudioSignal(samples: samples, sampleRate: 16000), to: path, format: .wav)
                    items.append(CorpusItem(path: path, corpus: .ravdess, label: label, speaker: "RAVDESS:\(speaker)",
                                            gender: speaker % 2 == 0 ? .female : .male))
                }
            }
        }
        return (folder, items)
    }

    static var logisticRecipe: TrainingRecipe {
        var recipe = TrainingRecipe(architecture: .logreg, features: .classic180)
        recipe.seed = 5
        return recipe
    }

    @Test func aRunMeasuresFoldsAndWritesAModelThatCarriesItsRecipe() throws {
        let (folder, items) = try Self.recordings()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var recipe = Self.logisticRecipe
        recipe.speechMarginSeconds = 0.25
        var run = TrainingRun(recipe: recipe, items: items, provenance: .init(command: "test", version: "0"))
        run.evaluation = .speakerFolds(2)
        run.output = folder + "/model.safetensors"
        let report = try run.run()
        #expect(report.files == items.count && report.failures.isEmpty)
        #expect(Set(report.labels) == ["angry", "sad"] && report.speakers == 4)
        let folds = try #require(report.crossValidation).folds
        #expect(folds.count == 2 && Set(folds.flatMap(\.testSpeakers)).count == 4, "each speaker tested once")
        #expect(report.outcome != nil)

        let model = try EmotionModel(contentsOf: folder + "/model.safetensors")
        #expect(try TrainingRecipe(storedIn: model.description) == recipe)
        #expect(model.description.command == "test")
        #expect(model.speechMarginSeconds == 0.25 && model.pipeline.speechMarginSeconds == 0.25,
                "the model reads inputs with the margin its training data had")
        #expect(model.description.crossValidation?.folds.count == 2)
        #expect(model.description.voicingBandHz == [150, 1000] && model.pipeline.detector.configuration.voicingBandHz == 150...1000,
                "the model finds speech as its training data's spans were found")
        for path in run.checkpointPaths { #expect(!FileManager.default.fileExists(atPath: path), "\(path) left behind") }
    }

    /// Cross-validation under recording conditions through the run: a quieter
    /// copy of a level-normalized recording reads as the recording itself, and
    /// a share of the recordings chosen by path is the same every run.
    @Test func aRunScoresItsFoldsUnderRecordingConditions() throws {
        let (folder, items) = try Self.recordings(speakers: 4, takes: 3)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var run = TrainingRun(recipe: Self.logisticRecipe, items: items, provenance: .init(command: "test", version: "0"))
        run.evaluation = .speakerFolds(2)
        run.evaluationConditions = [.clean, try #require(RecordingChain(argument: "gain:-20")), try #require(RecordingChain(argument: "white:-10"))]
        let report = try run.run()
        let scores = try #require(report.crossValidation?.conditions)
        #expect(scores.map(\.condition) == ["clean", "gain:-20", "white:-10"])
        #expect(scores.allSatisfy { $0.n == items.count })
        #expect(abs(scores[1].change) <= 1.0 / Double(items.count), "level normalization hears a quieter take as the same: \(scores[1])")
        #expect(scores[2].accuracy < scores[0].accuracy, "noise louder than the voice costs: \(scores)")

        let half = TrainingRun.conditionRows(items, share: 0.5)
        #expect(half == TrainingRun.conditionRows(items, share: 0.5) && half.count > 3 && half.count < items.count - 3, "\(half.count)")
        #expect(TrainingRun.conditionRows(items, share: 1) == Array(items.indices))
        #expect(Set(TrainingRun.conditionRows(items, share: 0.25)).isSubset(of: Set(half)), "a smaller share is part of a larger one")
    }

    /// Without a named family, training starts from the best recipe there is:
    /// the shipped one when the encoder is installed (or its features are named),
    /// the handcrafted one otherwise; both level-normalized with condition copies.
    @Test func theStandardRecipeIsTheShippedOneWhenTheEncoderIsThere() {
        let installed = TrainingRecipe.standard(features: nil, encoderInstalled: true)
        #expect(installed == .shipped && installed.resolvedFeatures.needsEncoder && installed.architecture == .logreg)
        #expect(installed.adaptive && installed.conditionCopies == 1 && installed.levelNormalization == .standard)
        let missing = TrainingRecipe.standard(features: nil, encoderInstalled: false)
        #expect(missing == .handcrafted && missing.resolvedFeatures == .functionals && !missing.resolvedFeatures.needsEncoder)
        #expect(missing.adaptive && missing.conditionCopies == 1 && missing.levelNormalization == .standard)
        #expect(TrainingRecipe.standard(features: .whisper, encoderInstalled: false).l2Penalty == TrainingRecipe.shipped.l2Penalty,
                "naming the encoder's features asks for the shipped recipe")
        #expect(TrainingRecipe.standard(features: .classic180, encoderInstalled: true).l2Penalty == nil,
                "handcrafted features take the handcrafted recipe")
    }

    /// An encoder stand-in that counts its calls: each vector is the recording's
    /// mean square times the value's index, so a wrong slice shows.
    final class CountingEmbedder: SpeechEmbedder, @unchecked Sendable {
        let identity = "counting-test-encoder"
        private let lock = NSLock()
        private var count = 0
        var calls: Int { lock.withLock { count } }
        func embedding(of samples: [Float], sampleRate: Int, layout: SpeechEmbedding) throws -> [Float] {
            lock.withLock { count += 1 }
            let power = samples.reduce(0) { $0 + $1 * $1 } / Float(max(1, samples.count))
            return (0..<layout.dimension).map { Float($0 + 1) * power }
        }
    }

    /// The encoder's view alone is read from cached vectors of the preset that
    /// begins with it, without encoding again; a file only the smaller preset
    /// lacks is encoded.
    @Test func theEncodersViewIsSlicedFromTheCachedFusedVector() throws {
        let (folder, items) = try Self.recordings(speakers: 2, takes: 2)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let cache = try FeatureCache(directory: folder + "/cache")
        let encoder = CountingEmbedder()
        func pipeline(_ preset: FeaturePreset) -> InputPipeline {
            InputPipeline(preset: preset, sampleRate: 16000, trimsToSpeech: true, levelNormalization: .standard,
                          detector: VoiceActivityDetector(), resolvedEmbedder: encoder)
        }
        let fused = FeatureDataset(items: Array(items.dropLast()), pipeline: pipeline(.whisperBlocksFunctionals), cache: cache)
        #expect(fused.failures.isEmpty && encoder.calls == items.count - 1)
        let alone = FeatureDataset(items: items, pipeline: pipeline(.whisperBlocks), cache: cache)
        #expect(alone.failures.isEmpty && alone.items.count == items.count)
        #expect(encoder.calls == items.count, "only the file missing from the fused cache was encoded")
        for (row, vector) in fused.vectors.enumerated() {
            #expect(alone.vectors[row] == Array(vector.prefix(FeaturePreset.whisperBlocks.dimension)))
        }
        #expect(FeaturePreset.whisperBlocks.containingPreset == .whisperBlocksFunctionals && FeaturePreset.functionals.containingPreset == nil)
        #expect(FeaturePreset.whisperBlocksWeighted.containingPreset == .whisperBlocksWeightedFunctionals)
    }

    @Test func aRunWithoutAnOutputOnlyMeasures() throws {
        let (folder, items) = try Self.recordings(speakers: 4, takes: 2)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var run = TrainingRun(recipe: Self.logisticRecipe, items: items, provenance: .init(command: "test", version: "0"))
        run.evaluation = .speakerFolds(4)
        let report = try run.run()
        #expect(report.outcome == nil && report.crossValidation?.folds.count == 4)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder).allSatisfy { $0.hasSuffix(".wav") })
    }

    @Test func repeatedCrossValidationPoolsItsPartitionsAndKeepsEachOnesFigure() throws {
        let (folder, items) = try Self.recordings(speakers: 4, takes: 3)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var recipe = Self.logisticRecipe
        recipe.adaptive = true
        var run = TrainingRun(recipe: recipe, items: items, provenance: .init(command: "test", version: "0"))
        run.evaluation = .speakerFolds(2, repeats: 2)
        run.adaptationCurve = [0, 2, nil]
        let cv = try #require(try run.run().crossValidation)
        #expect(cv.folds.count == 4 && cv.foldsDescription == "2 folds × 2 partitions")
        #expect(cv.pooled.n == 2 * items.count, "each recording is tested once per partition")
        let partitions = try #require(cv.partitionAccuracies)
        #expect(partitions.count == 2)
        // Both partitions test every recording, so the pooled accuracy is their mean.
        #expect(abs(cv.pooled.accuracy - (partitions[0] + partitions[1]) / 2) < 1e-9)
        let curve = try #require(cv.adaptation)
        #expect(curve.count == 3)
        for point in curve {
            let each = try #require(point.partitionAccuracies)
            #expect(each.count == 2 && abs(point.accuracy - (each[0] + each[1]) / 2) < 1e-9, "k = \(point.label)")
        }
        #expect(curve[0].partitionAccuracies == partitions, "k = 0 is the lone-file answer of each partition")
        let decoded = try JSONDecoder().decode(CrossValidationSummary.self, from: try JSONEncoder().encode(cv))
        #expect(decoded == cv)
    }

    @Test func unreadableFilesAreLeftOutAndReported() throws {
        let (folder, items) = try Self.recordings(speakers: 4, takes: 2)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let broken = folder + "/broken.wav"
        try Data("not audio".utf8).write(to: URL(fileURLWithPath: broken))
        let all = items + [CorpusItem(path: broken, corpus: .ravdess, label: "sad", speaker: "RAVDESS:0", gender: .female)]
        final class Notices: TrainingObserver, @unchecked Sendable {
            let lock = NSLock()
            var messages: [String] = []
            func notice(_ message: String) { lock.withLock { messages.append(message) } }
        }
        let notices = Notices()
        let report = try TrainingRun(recipe: Self.logisticRecipe, items: all, provenance: .init(command: "test", version: "0"))
            .run(observer: notices)
        #expect(report.files == items.count && report.failures.map(\.path) == [broken])
        #expect(notices.messages.contains { $0.contains("left out \(broken)") })
    }

    @Test func oneLabelIsTooFewToTrain() throws {
        let (folder, items) = try Self.recordings(speakers: 2, takes: 1)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let run = TrainingRun(recipe: Self.logisticRecipe, items: items.filter { $0.label == "sad" },
                              provenance: .init(command: "test", version: "0"))
        #expect(throws: TrainingRunError.tooFewLabels(["sad"])) { try run.run() }
    }

    @Test func aRecipeIsPlainJSONWithDefaultsForWhatItLeavesOut() throws {
        var recipe = Self.logisticRecipe
        recipe.augmentation = ["noise:15", "speed:0.9"]
        recipe.l2Penalty = 0.3
        recipe.refitsOnAllSpeakers = false
        recipe.encoderPrecision = .float32
        let decoded = try JSONDecoder().decode(TrainingRecipe.self, from: JSONEncoder().encode(recipe))
        #expect(decoded == recipe && decoded.encoderPrecision == .float32)
        #expect(try recipe.inputPipeline().encoderPrecision == .float32, "the recipe's features are computed at its precision")
        #expect(TrainingRecipe().encoderPrecision == .int8 && TrainingRecipe.shipped.encoderPrecision == .int8,
                "new recipes encode in int8, chosen by cross-validation")
        var old = TrainingRecipe()
        old.levelNormalization = nil
        old.encoderPrecision = .float32
        #expect(try JSONDecoder().decode(TrainingRecipe.self, from: Data("{}".utf8)) == old,
                "a recipe stored before level normalization read raw levels; every other field takes its default")
        #expect(TrainingRecipe().levelNormalization == .standard, "new recipes bring every input to one level")
        recipe.levelNormalization = nil
        #expect(try JSONDecoder().decode(TrainingRecipe.self, from: JSONEncoder().encode(recipe)) == recipe)
        #expect(TrainingRecipe().speechMarginSeconds == 0, "a recipe stored before speech margins existed read the span alone")
        #expect(try JSONDecoder().decode(TrainingRecipe.self, from: Data("{}".utf8)).encoderPrecision == .float32,
                "a recipe stored before the int8 encoder encoded in float32")
        let written = try JSONDecoder().decode(TrainingRecipe.self, from: Data(#"{"architecture":"forest","ensemble_size":3}"#.utf8))
        #expect(written.architecture == .forest && written.ensembleSize == 3 && written.resolvedFeatures == .rich)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(TrainingRecipe.self, from: Data(#"{"architecture":"svm"}"#.utf8)) }
        #expect(try recipe.perturbations() == [.noise(snr: 15), .speed(factor: 0.9)])
        recipe.augmentation = ["echo:3"]
        #expect(throws: TrainingRecipeError.unknownPerturbation("echo:3")) { try recipe.perturbations() }
    }

    @Test func theFingerprintChangesWithEveryIngredient() {
        let base = Self.logisticRecipe
        let paths = ["/a.wav", "/b.wav"], labels = ["angry", "sad"]
        var variants: [TrainingRecipe] = []
        for change in [{ (r: inout TrainingRecipe) in r.seed = 6 }, { $0.features = .functionals }, { $0.trimsToSpeech = false },
                       { $0.augmentation = ["gain:3"] }, { $0.l2Penalty = 0.2 }, { $0.ensembleSize = 2 }, { $0.adaptive = true }] {
            var variant = base
            change(&variant)
            variants.append(variant)
        }
        let fingerprints = [base.fingerprint(paths: paths, labels: labels), base.fingerprint(paths: ["/a.wav"], labels: labels),
                            base.fingerprint(paths: paths, labels: ["angry", "happy"])]
            + variants.map { $0.fingerprint(paths: paths, labels: labels) }
        #expect(Set(fingerprints).count == fingerprints.count)
        #expect(base.fingerprint(paths: paths, labels: labels) == Self.logisticRecipe.fingerprint(paths: paths, labels: labels))
    }
}
