import Foundation
import SERAudio
import SEREncoder
import SERFeatures
import SERModels
import SERNumerics
import SERSupport
import SERTestSupport
import Testing
@testable import SERRecognition

@Suite struct VoiceActivityTests {
    let detector = VoiceActivityDetector()

    @Test func findsTheVoiceAndItsBoundaries() {
        let samples = SyntheticSpeech.recording(seconds: 5, rate: 16000, voiceSpans: [(1.0, 2.2), (3.0, 4.1)])
        let regions = detector.regions(in: samples, sampleRate: 16000)
        #expect(regions.count == 2, "\(regions)")
        guard regions.count == 2 else { return }
        for (region, (start, end)) in zip(regions, [(1.0, 2.2), (3.0, 4.1)]) {
            #expect(abs(region.start - start) < 0.25 && abs(region.end - end) < 0.25, "\(region) vs \(start)–\(end)")
        }
        let span = detector.speechSpan(of: samples, sampleRate: 16000)
        #expect(span.map { abs(Double($0.lowerBound) / 16000 - 1.0) < 0.25 && abs(Double($0.upperBound) / 16000 - 4.1) < 0.25 } == true)
    }

    @Test(arguments: ["silence", "white noise", "brown noise", "noise in the voicing band", "rumble below 300 Hz", "steady tone",
                      "faint voice under -60 dBFS"])
    func findsNoSpeechIn(_ kind: String) {
        let samples: [Float]
        func filtered(_ sections: [ButterworthSection]) -> [Float] {
            var noise = SyntheticSpeech.whiteNoise(seconds: 3, rate: 16000)
            for section in sections + sections { section.filter(&noise) }
            return noise
        }
        switch kind {
        case "silence": samples = [Float](repeating: 0, count: 48000)
        case "white noise": samples = SyntheticSpeech.whiteNoise(seconds: 3, rate: 16000)
        case "brown noise": samples = SyntheticSpeech.brownNoise(seconds: 3, rate: 16000)
        case "noise in the voicing band": samples = filtered([.highPass(cutoff: 150, sampleRate: 16000), .lowPass(cutoff: 1000, sampleRate: 16000)])
        case "rumble below 300 Hz": samples = filtered([.lowPass(cutoff: 300, sampleRate: 16000)])
        case "steady tone": samples = TestSignals.tone(220, sampleRate: 16000, seconds: 3, amplitude: 0.3)
        default: samples = SyntheticSpeech.recording(seconds: 3, rate: 16000, voiceSpans: [(0.5, 2.5)], noiseLevel: 0).map { $0 * 0.005 }
        }
        #expect(detector.regions(in: samples, sampleRate: 16000).isEmpty)
        #expect(detector.speechSpan(of: samples, sampleRate: 16000) == nil)
    }

    /// Broadband noise at 10 dB SNR hides much of a voice's periodicity on the
    /// full band; in the band the detector judges voicing in, the voice is still
    /// found and the span covers the whole utterance (noise beside it may be
    /// taken in). Low voices (110 Hz, whose fundamental lies below the band)
    /// included, and white noise at 0 dB. (This synthetic voice is perfectly
    /// periodic, so the full band finds it too; on real voices the band is what
    /// finds all of them at 10 dB: `ser-bench speech-detection`, docs/RESULTS.md.)
    @Test(arguments: ["white:10", "pink:10", "brown:10", "white:0"], [110.0, 220.0])
    func findsTheUtteranceUnderNoise(condition: String, pitch: Double) throws {
        let voice = SyntheticSpeech.recording(seconds: 3.5, rate: 16000, voiceSpans: [(0.6, 1.4), (1.9, 2.9)], seed: 3, pitch: pitch)
        let noise = try #require(RecordingCondition(argument: condition))
        for seed in UInt64(1)...4 {
            let noisy = try noise.applied(to: voice, sampleRate: 16000, seed: seed)
            let span = try #require(detector.speechSpan(of: noisy, sampleRate: 16000), "no speech found under \(condition), seed \(seed)")
            let (start, end) = (Double(span.lowerBound) / 16000, Double(span.upperBound) / 16000)
            #expect(start < 0.6 + 0.2 && end > 2.9 - 0.2, "span \(start)–\(end) s under \(condition), seed \(seed)")
        }
    }

    @Test func shortInputsGiveNoRegionsWithoutCrashing() {
        #expect(detector.regions(in: [], sampleRate: 16000).isEmpty)
        #expect(detector.regions(in: [0.1, -0.1, 0.2], sampleRate: 16000).isEmpty)
    }
}

/// A small model over the `rich` features, trained on synthetic voices whose
/// label is their pitch band: enough to test the pipeline around it, with
/// features on the scale real ones have.
let sharedTestModel: EmotionModel = {
    let preset = FeaturePreset.rich
    let labels = ["neutral", "happy", "sad", "angry"]
    var vectors: [[Float]] = [], targets: [Int] = []
    for index in 0..<12 {
        let samples = SyntheticSpeech.recording(seconds: 1.5, rate: 16000, voiceSpans: [(0.1, 1.4)], seed: UInt64(index),
                                                pitch: 90 + 25 * Double(index))
        guard let vector = try? preset.vector(samples: samples, sampleRate: 16000) else { continue }
        vectors.append(vector)
        targets.append(index / 3)
    }
    var configuration = NeuralNetworkConfiguration()
    configuration.hiddenLayers = [16]
    configuration.maximumEpochs = 30
    let classifier = NeuralNetworkClassifier(labels: labels, configuration: configuration)
    let x = Matrix(rows: vectors.count, columns: preset.dimension, values: vectors.flatMap { $0 })
    classifier.fit(LabelledMatrix(features: x, targets: targets, genders: targets.map { $0 < 2 ? 1 : 0 }))
    let description = ModelDescription(architecture: "mlp", labels: labels, genderLabels: SpeakerGender.labels,
                                       features: .init(preset: preset.rawValue, sampleRate: 16000, dimension: preset.dimension))
    return EmotionModel(classifier: classifier, preset: preset, description: description)
}()

func temporaryPath(_ name: String) -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("ser-recognition-\(UUID().uuidString)-\(name)").path
}

@Suite struct RecognizerTests {
    let model = sharedTestModel

    func write(_ samples: [Float], rate: Int, name: String = "clip.wav") throws -> String {
        let path = temporaryPath(name)
        try AudioFileWriter.write(AudioSignal(samples: samples, sampleRate: rate), to: path, format: .wav, encoding: .float32)
        return path
    }

    /// The same sound at 16, 22.05, 44.1 and 48 kHz gets the same answer: the
    /// pipeline resamples to the model's 16 kHz before anything else.
    @Test func answerDoesNotDependOnTheInputSampleRate() throws {
        let recognizer = EmotionRecognizer(model: model)
        var answers: [[String: Double]] = [], emotions: [String?] = []
        for rate in [16000, 22050, 44100, 48000] {
            let path = try write(SyntheticSpeech.recording(seconds: 3, rate: rate, voiceSpans: [(0.6, 2.4)]), rate: rate)
            defer { try? FileManager.default.removeItem(atPath: path) }
            let result = try recognizer.recognize(path: path)
            #expect(result.sampleRate == rate && result.estimate.speech)
            answers.append(result.estimate.probabilities ?? [:])
            emotions.append(result.estimate.emotion)
        }
        for answer in answers.dropFirst() {
            let gap = model.labels.map { abs((answer[$0] ?? -1) - (answers[0][$0] ?? 1)) }.max() ?? 1
            // Residual differences: soxr's passband ripple and the float32 rendering of the noise floor.
            #expect(gap < 0.1, "probabilities differ by \(gap) between rates")
        }
        #expect(Set(emotions).count == 1, "\(emotions)")
    }

    /// A model finds speech as its training data's spans were found: a model
    /// file without the voicing band (trained before it) keeps the full band, one
    /// with it uses it, and a damaged value falls back to the full band.
    @Test func theModelSaysWhereItsSpeechDetectorJudgesVoicing() throws {
        #expect(model.pipeline.detector.configuration.voicingBandHz == nil, "no field: the full band")
        var description = model.description
        description.voicingBandHz = [150, 1000]
        let banded = EmotionModel(classifier: model.classifier, preset: .rich, description: description)
        let path = temporaryPath("band.safetensors")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try banded.write(to: path)
        let loaded = try EmotionModel(contentsOf: path)
        #expect(loaded.pipeline.detector.configuration.voicingBandHz == 150...1000)
        for damaged in [[Double.nan, 1000], [1000, 150], [150], [-5, 100]] {
            description.voicingBandHz = damaged
            #expect(EmotionModel(classifier: model.classifier, preset: .rich, description: description)
                .pipeline.detector.configuration.voicingBandHz == nil, "\(damaged)")
        }
    }

    /// A model encodes as its features were computed: no field is float32, `int8`
    /// is read back, and a precision this ser does not know is refused by name.
    @Test func theModelSaysHowItsEncoderMultiplies() throws {
        #expect(model.pipeline.encoderPrecision == .float32 && model.description.encoderPrecision == nil)
        var description = model.description
        description.encoderPrecision = "int8"
        let path = temporaryPath("precision.safetensors")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try EmotionModel(classifier: model.classifier, preset: .rich, description: description).write(to: path)
        #expect(try EmotionModel(contentsOf: path).pipeline.encoderPrecision == .int8)
        description.encoderPrecision = "int4"
        try EmotionModel(classifier: model.classifier, preset: .rich, description: description).write(to: path)
        #expect {
            _ = try EmotionModel(contentsOf: path)
        } throws: { error in
            "\(error)".contains("int4")
        }
    }

    @Test func silenceHasNoEmotion() throws {
        let path = try write([Float](repeating: 0, count: 32000), rate: 16000)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = try EmotionRecognizer(model: model).recognize(path: path)
        #expect(!result.estimate.speech && result.estimate.emotion == nil && result.estimate.probabilities == nil)
        #expect(abs(result.duration - 2) < 1e-9)
    }

    @Test func trimmedSpanAndCalibratedProbabilities() throws {
        let samples = SyntheticSpeech.recording(seconds: 4, rate: 16000, voiceSpans: [(1.2, 3.0)])
        let result = EmotionRecognizer(model: model).recognize(samples: samples)
        let span = try #require(result.speechSpan)
        #expect(abs(span.start - 1.2) < 0.25 && abs(span.end - 3.0) < 0.25)
        let p = try #require(result.estimate.probabilities)
        #expect(abs(p.values.reduce(0, +) - 1) < 1e-4)
        #expect(result.estimate.confidence == p.values.max())
        #expect(result.estimate.gender != nil)
        // Untrimmed silence around the voice must not change the answer much: the same voice alone.
        let alone = EmotionRecognizer(model: model).recognize(samples: Array(samples[Int(1.2 * 16000)..<Int(3.0 * 16000)]))
        #expect(alone.estimate.speech)
    }

    @Test func lowConfidenceBecomesUncertain() throws {
        let samples = SyntheticSpeech.recording(seconds: 2, rate: 16000, voiceSpans: [(0.3, 1.7)])
        let plain = EmotionRecognizer(model: model).recognize(samples: samples).estimate
        let confidence = try #require(plain.confidence)
        try #require(confidence < 1)
        var options = RecognitionOptions()
        options.minimumConfidence = (confidence + 1) / 2
        let strict = EmotionRecognizer(model: model, options: options).recognize(samples: samples).estimate
        #expect(strict.emotion == EmotionEstimate.uncertain && strict.probabilities == plain.probabilities)
        options.minimumConfidence = confidence / 2
        #expect(EmotionRecognizer(model: model, options: options).recognize(samples: samples).estimate.emotion == plain.emotion)
    }

    /// A recording longer than the automatic limit is segmented by speech: one
    /// segment per voiced burst (long ones cut into pieces), silence in between
    /// left out, including bursts that straddle the analysis chunks. (Limits are
    /// scaled down from 30 s and 10 s to keep the test quick.)
    @Test func longRecordingsBecomeATimelineOfUtterances() throws {
        var options = RecognitionOptions()
        options.automaticSegmentationSeconds = 10
        options.maximumUtteranceSeconds = 5
        let spans: [(Double, Double)] = [(1, 3), (8.5, 11.5), (14, 26), (29, 30.5)]
        let path = try write(SyntheticSpeech.recording(seconds: 32, rate: 16000, voiceSpans: spans), rate: 16000, name: "long.wav")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = try EmotionRecognizer(model: model, options: options).recognize(path: path)
        let segments = try #require(result.segments)
        #expect(result.estimate.speech && abs(result.duration - 32) < 1e-6)
        for (start, end) in spans {
            let covering = segments.filter { $0.end > start && $0.start < end }
            let covered = covering.reduce(0.0) { $0 + min($1.end, end) - max($1.start, start) }
            #expect(covered > 0.85 * (end - start), "\(start)–\(end) covered \(covered) s by \(covering.map { ($0.start, $0.end) })")
            #expect(covering.allSatisfy { $0.end - $0.start <= 5.01 })
        }
        let speechTime = segments.reduce(0.0) { $0 + $1.end - $1.start }
        #expect(speechTime < 22, "segments cover \(speechTime) s, the voice \(spans.reduce(0.0) { $0 + $1.1 - $1.0 }) s")
        #expect(segments.allSatisfy { $0.estimate.speech })
        #expect(zip(segments, segments.dropFirst()).allSatisfy { $0.end <= $1.start + 1e-9 })
    }

    @Test func fixedWindowsCoverTheRecording() throws {
        var options = RecognitionOptions()
        options.segmentation = .window(seconds: 2, hop: 1)
        let path = try write(SyntheticSpeech.recording(seconds: 6.5, rate: 16000, voiceSpans: [(0.5, 3)]), rate: 16000)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let segments = try #require(try EmotionRecognizer(model: model, options: options).recognize(path: path).segments)
        #expect(segments.map(\.start) == [0, 1, 2, 3, 4, 5])
        #expect(segments.last?.end == 6.5)
        #expect(segments[0].estimate.speech && !segments[5].estimate.speech)
    }
}

@Suite struct EmotionModelFileTests {
    @Test func roundTripsWithItsDescription() throws {
        let model = sharedTestModel
        let path = temporaryPath("model.safetensors")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try model.write(to: path)
        let loaded = try EmotionModel(contentsOf: path)
        #expect(loaded.description == model.description && loaded.preset == .rich && loaded.sampleRate == 16000)
        let vector = [Float](repeating: 0.5, count: FeaturePreset.rich.dimension)
        #expect(loaded.classify([vector]) == model.classify([vector]))
    }

    @Test func aModelForOtherFeaturesIsRefused() throws {
        var description = sharedTestModel.description
        description.features.preset = FeaturePreset.classic180.rawValue
        let model = EmotionModel(classifier: sharedTestModel.classifier, preset: .rich, description: description)
        let path = temporaryPath("wrong.safetensors")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try model.write(to: path)
        #expect(throws: SafeTensorsFile.Failure.self) { try EmotionModel(contentsOf: path) }
    }
}

/// The margin of recording kept around the speech span: what the pipeline
/// reads, how it is clamped, how it keys caches and profiles, and that a model
/// carries it from training to every prediction path.
@Suite struct SpeechMarginTests {
    let samples = SyntheticSpeech.recording(seconds: 4, rate: 16000, voiceSpans: [(1.2, 3.0)])

    func pipeline(margin: Double) -> InputPipeline {
        InputPipeline(preset: .rich, sampleRate: 16000, trimsToSpeech: true, speechMarginSeconds: margin,
                      detector: VoiceActivityDetector(), resolvedEmbedder: nil)
    }

    @Test func theInputIsTheSpanWidenedByTheMarginOnEachSide() throws {
        let exact = try #require(pipeline(margin: 0).featureInput(samples))
        #expect(exact.samples == Array(samples[exact.span]))
        let widened = try #require(pipeline(margin: 0.5).featureInput(samples))
        #expect(widened.span == exact.span, "the reported speech span does not move")
        let expected = (exact.span.lowerBound - 8000)..<(exact.span.upperBound + 8000)
        #expect(widened.samples == Array(samples[expected]))
    }

    @Test func theMarginStopsAtTheEndsOfTheRecording() throws {
        let short = SyntheticSpeech.recording(seconds: 1.5, rate: 16000, voiceSpans: [(0.1, 1.4)])
        let input = try #require(pipeline(margin: 0.5).featureInput(short))
        #expect(input.samples == short, "the span plus 0.5 s reaches past both ends: the whole recording")
        #expect(pipeline(margin: 2).widened(100..<200, within: 1000) == 0..<1000)
        #expect(pipeline(margin: 0.001).widened(100..<200, within: 1000) == 84..<216)
    }

    @Test func marginsKeyCachesAndProfilesApart() {
        let none = pipeline(margin: 0), half = pipeline(margin: 0.5)
        #expect(!none.trimmingCacheTag.contains("margin"), "models without a margin keep their cached vectors")
        #expect(none.trimmingCacheTag != half.trimmingCacheTag && none.featureIdentity != half.featureIdentity)
        #expect(pipeline(margin: .nan).speechMarginSeconds == 0 && pipeline(margin: -1).speechMarginSeconds == 0)
        #expect(pipeline(margin: 1e9).speechMarginSeconds == 10)
    }

    @Test func aModelCarriesItsMarginIntoRecognition() throws {
        var description = sharedTestModel.description
        description.speechMarginSeconds = 0.5
        let model = EmotionModel(classifier: sharedTestModel.classifier, preset: .rich, description: description)
        let path = temporaryPath("margin.safetensors")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try model.write(to: path)
        let loaded = try EmotionModel(contentsOf: path)
        #expect(loaded.speechMarginSeconds == 0.5 && loaded.pipeline.speechMarginSeconds == 0.5)
        #expect(sharedTestModel.speechMarginSeconds == 0, "a model without the field reads the span alone")

        let answer = try #require(EmotionRecognizer(model: loaded).recognize(samples: samples).estimate.probabilities)
        func expected(_ margin: Double) throws -> [String: Double] {
            let input = try #require(pipeline(margin: margin).featureInput(samples))
            let classification = try #require(loaded.classifyVariants([try pipeline(margin: margin).vector(ofFeatureInput: input.samples)]))
            return Dictionary(uniqueKeysWithValues: zip(loaded.labels, classification.probabilities))
        }
        let withMargin = try expected(0.5), withoutMargin = try expected(0)
        #expect(loaded.labels.allSatisfy { abs((answer[$0] ?? -1) - (withMargin[$0] ?? 1)) < 1e-9 }, "\(answer) vs \(withMargin)")
        #expect(loaded.labels.contains { abs((answer[$0] ?? -1) - (withoutMargin[$0] ?? 1)) > 1e-6 },
                "the margin changes what the model reads")
    }
}

/// The format message of `/v1/stream`: every value is checked before a stream
/// is made, so a client cannot make the server allocate or compute without bound.
@Suite struct LiveStreamFormatTests {
    let recognizer = EmotionRecognizer(model: sharedTestModel)

    @Test func defaultsFillWhatTheMessageLeavesOut() throws {
        let format = try LiveStreamFormat(message: #"{"sample_rate": 44100}"#)
        #expect(format == LiveStreamFormat(encoding: .s16le, sampleRate: 44100, channels: 1, windowSeconds: 2, hopSeconds: 0.5))
        let stream = try format.makeStream(recognizer: recognizer)
        #expect(stream.inputRate == 44100 && stream.windowSeconds == 2 && stream.hopSeconds == 0.5)
    }

    @Test(arguments: [
        #"{"sample_rate": 16000, "window": 1e300}"#,          // Int(window × rate) would trap
        #"{"sample_rate": 16000, "window": 31}"#,
        #"{"sample_rate": 16000, "window": 2, "hop": 1e-300}"#,  // an answer per sample
        #"{"sample_rate": 16000, "hop": 0.01}"#,
        #"{"sample_rate": 16000, "window": 0.4}"#,
        #"{"sample_rate": 9000000}"#,
        #"{"sample_rate": 16000, "channels": 0}"#,
        #"{"sample_rate": 16000, "channels": 1000}"#,
        #"{"sample_rate": 16000, "encoding": "mp3"}"#,
        #"{"sample_rate": 16000, "new_speaker_after": -1}"#,
        #"{"sample_rate": "fast"}"#,
        "not json",
    ])
    func outOfBoundsFormatsAreRefusedWithAMessage(_ message: String) {
        let error = #expect(throws: LiveStreamFormat.Invalid.self) {
            try LiveStreamFormat(message: message).makeStream(recognizer: recognizer)
        }
        #expect(!(error?.message.isEmpty ?? true))
    }
}
