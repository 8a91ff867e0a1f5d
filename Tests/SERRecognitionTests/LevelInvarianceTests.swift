import Foundation
import SERAudio
import SERFeatures
import SERModels
import SERTestSupport
import Testing
@testable import SERRecognition

/// Level normalization: a recording multiplied by any gain gives the same
/// vectors and the same answer, and quiet speech is still speech.
@Suite struct LevelInvarianceTests {
    /// A voice over a faint noise floor that reaches every band, as a microphone's
    /// does. (In a band with no sound at all, spectral contrast reads the
    /// arithmetic's round-off, which no normalization can make repeatable.)
    let recording = zip(SyntheticSpeech.recording(seconds: 3, rate: 16000, voiceSpans: [(0.5, 2.5)]),
                        TestSignals.noise(count: 48000, amplitude: 0.0005, seed: 11)).map { $0 + $1 }

    func pipeline(_ normalization: LevelNormalization?, preset: FeaturePreset = .rich) -> InputPipeline {
        InputPipeline(preset: preset, sampleRate: 16000, trimsToSpeech: true, levelNormalization: normalization,
                      detector: VoiceActivityDetector(), resolvedEmbedder: nil)
    }

    /// The recording at −30, −10 and 0 dB of gain and peak-normalized to −1 dBFS.
    var versions: [(String, [Float])] {
        let peak = recording.map(abs).max() ?? 1
        return [("-30 dB", recording.map { $0 * 0.031_622_78 }), ("-10 dB", recording.map { $0 * 0.316_227_8 }),
                ("0 dB", recording), ("peak -1 dBFS", recording.map { $0 * 0.891_250_9 / peak })]
    }

    /// The largest difference between two vectors, relative to each value's size (at least 1).
    func relativeGap(_ a: [Float], _ b: [Float]) -> Float {
        zip(a, b).map { abs($0 - $1) / max(1, abs($0), abs($1)) }.max() ?? .infinity
    }

    @Test(arguments: [FeaturePreset.rich, .functionals])
    func vectorsDoNotDependOnTheGain(_ preset: FeaturePreset) throws {
        let levelled = pipeline(.standard, preset: preset)
        let vectors = try versions.map { name, samples in (name, try levelled.vector(ofRecording: samples, path: name)) }
        // The normalized inputs agree to float rounding (about 1e-8); `functionals`' hard
        // decisions (percentiles, voicing) carry that into a few values at up to 2.5e-4.
        let tolerance: Float = preset == .functionals ? 1e-3 : 1e-4
        for (name, vector) in vectors.dropFirst() {
            #expect(relativeGap(vector, vectors[0].1) < tolerance, "\(preset.rawValue), \(name): \(relativeGap(vector, vectors[0].1))")
        }
        // Without normalization the same inputs give other vectors: the test can tell.
        let raw = pipeline(nil, preset: preset)
        let quiet = try raw.vector(ofRecording: versions[0].1, path: "quiet"), loud = try raw.vector(ofRecording: versions[2].1, path: "loud")
        #expect(relativeGap(quiet, loud) > 1e-2)
    }

    @Test func theAnswerDoesNotDependOnTheGain() throws {
        var description = sharedTestModel.description
        description.levelNormalization = .standard
        let model = EmotionModel(classifier: sharedTestModel.classifier, preset: .rich, description: description)
        let path = temporaryPath("levelled.safetensors")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try model.write(to: path)
        let loaded = try EmotionModel(contentsOf: path)
        #expect(loaded.pipeline.levelNormalization == .standard, "the model file carries its normalization")
        #expect(sharedTestModel.pipeline.levelNormalization == nil, "a model without the field reads raw levels")
        let recognizer = EmotionRecognizer(model: loaded)
        let answers = versions.map { recognizer.recognize(samples: $0.1).estimate }
        for answer in answers.dropFirst() {
            #expect(answer.emotion == answers[0].emotion)
            let gap = loaded.labels.map { abs((answer.probabilities?[$0] ?? -1) - (answers[0].probabilities?[$0] ?? 1)) }.max() ?? 1
            #expect(gap < 1e-4, "probabilities differ by \(gap)")
        }
    }

    @Test func quietAndNoisySpeechIsStillSpeech() throws {
        let levelled = pipeline(.standard)
        let peak = recording.map(abs).max() ?? 1
        let quiet = recording.map { $0 * 0.01 / peak }  // −40 dBFS peak
        let span = try #require(levelled.speechSpan(of: quiet), "speech at -40 dBFS peak")
        #expect(abs(Double(span.lowerBound) / 16000 - 0.5) < 0.25 && abs(Double(span.upperBound) / 16000 - 2.5) < 0.25)
        let noisy = try RecordingCondition.noise(.white, snr: 10...10).applied(to: recording, sampleRate: 16000, seed: 1)
        #expect(levelled.speechSpan(of: noisy) != nil, "speech at 10 dB SNR")
        #expect(levelled.speechSpan(of: SyntheticSpeech.whiteNoise(seconds: 3, rate: 16000, level: 0.001)) == nil,
                "quiet noise raised to the reference level is still not speech")
        #expect(levelled.speechSpan(of: [Float](repeating: 0, count: 48000)) == nil)
    }

    /// Whole and segmented answers report the speech's level, which follows the gain
    /// to the tenth of a dB while the answer stays the same.
    @Test func answersReportTheSpeechLevelOfEachSegment() throws {
        var description = sharedTestModel.description
        description.levelNormalization = .standard
        let model = EmotionModel(classifier: sharedTestModel.classifier, preset: .rich, description: description)
        var options = RecognitionOptions()
        options.segmentation = .speech
        let segmenting = EmotionRecognizer(model: model, options: options)
        var levels: [(whole: Double, segments: [Double])] = []
        for gain in [Float(1), 0.1] {
            let path = temporaryPath("level-\(gain).wav")
            defer { try? FileManager.default.removeItem(atPath: path) }
            try AudioFileWriter.write(AudioSignal(samples: recording.map { $0 * gain }, sampleRate: 16000), to: path, format: .wav)
            let whole = try #require(EmotionRecognizer(model: model).recognize(path: path).speechLevelDBFS)
            let segmented = try segmenting.recognize(path: path)
            let segments = try #require(segmented.segments)
            #expect(!segments.isEmpty && segments.allSatisfy { $0.speechLevelDBFS != nil })
            levels.append((whole, segments.compactMap(\.speechLevelDBFS)))
            let json = try JSONEncoder().encode(SegmentAnswer(segments[0]))
            #expect(String(decoding: json, as: UTF8.self).contains("\"speech_level_dbfs\""))
        }
        #expect(abs(levels[0].whole - levels[1].whole - 20) < 0.1, "\(levels)")
        #expect(levels[0].segments.count == levels[1].segments.count)
        for (loud, quiet) in zip(levels[0].segments, levels[1].segments) { #expect(abs(loud - quiet - 20) < 0.1, "\(levels)") }
    }

    @Test func theSpeechLevelIsReportedNotLearned() throws {
        let levelled = pipeline(.standard)
        let loud = try #require(levelled.speechLevelDBFS(of: recording))
        let quiet = try #require(levelled.speechLevelDBFS(of: versions[0].1))
        #expect(abs(loud - quiet - 30) < 0.01)
        #expect(levelled.featureIdentity != pipeline(nil).featureIdentity && levelled.trimmingCacheTag.contains("level="))
        #expect(!pipeline(nil).trimmingCacheTag.contains("level"), "models without normalization keep their cached vectors")
    }
}
