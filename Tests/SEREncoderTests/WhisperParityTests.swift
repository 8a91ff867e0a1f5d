import Foundation
import SEREncoder
import SERFeatures
import SERSupport
import Testing

/// The installed Whisper-base encoder against ctranslate2 and a numpy reference
/// (fixtures from scripts/make_encoder_fixtures.py). Skips, saying why, when
/// `ser encoder install` has not been run.
@Suite("Whisper-base parity with ctranslate2")
struct WhisperParityTests {
    static let fixtures = Bundle.module.resourcePath! + "/Fixtures/whisper"
    static let signals = ["voice", "chirp", "noise"]

    static func load(_ name: String) throws -> NumPyArray { try NumPyArray(contentsOf: fixtures + "/" + name + ".npy") }

    static func installedEmbedder() -> WhisperEmbedder? {
        do {
            return try SpeechEncoders.embedder()
        } catch {
            print("skipping Whisper parity: \(error)")
            return nil
        }
    }

    @Test("the log-mel front end matches Whisper's within 1e-4", arguments: signals)
    func logMelMatches(signal: String) throws {
        let input = try Self.load(signal + ".input"), expected = try Self.load(signal + ".logmel")
        let frontEnd = try WhisperLogMel()
        let (values, frames) = frontEnd.features(input.values)
        #expect([80, frames] == expected.shape)
        let worst = zip(values, expected.values).map { abs($0 - $1) }.max() ?? .infinity
        #expect(worst <= 1e-4, "worst log-mel difference \(worst)")
    }

    @Test("the final hidden states match ctranslate2's float32 encoder within 1e-3 relative", arguments: signals)
    func finalStatesMatch(signal: String) throws {
        guard let embedder = Self.installedEmbedder() else { return }
        let mel = try Self.load(signal + ".logmel"), expected = try Self.load(signal + ".final")
        let states = embedder.encoder.hiddenStates(logMel: mel.values, frames: mel.shape[1])
        let final = states[states.count - 1]
        #expect(final.count == expected.values.count)
        let scale = expected.values.map(abs).max() ?? 1
        let worst = zip(final, expected.values).map { abs($0 - $1) }.max() ?? .infinity
        #expect(worst <= 1e-3 * scale, "worst difference \(worst) against a largest value of \(scale)")
    }

    @Test("a middle layer matches the numpy forward pass within 1e-3 relative")
    func middleLayerMatches() throws {
        guard let embedder = Self.installedEmbedder() else { return }
        let mel = try Self.load("voice.logmel"), expected = try Self.load("voice.layer3")
        let states = embedder.encoder.hiddenStates(logMel: mel.values, frames: mel.shape[1])
        let scale = expected.values.map(abs).max() ?? 1
        let worst = zip(states[3], expected.values).map { abs($0 - $1) }.max() ?? .infinity
        #expect(states[3].count == expected.values.count)
        #expect(worst <= 1e-3 * scale, "worst difference \(worst) against a largest value of \(scale)")
    }

    @Test("from samples: the embedding is each pooled layer's mean and deviation of the states")
    func embeddingFromSamples() throws {
        guard let embedder = Self.installedEmbedder() else { return }
        let input = try Self.load("voice.input")
        let vector = try embedder.embedding(of: input.values, sampleRate: 16000)
        #expect(vector.count == 2 * 512 * SERFeatures.SpeechEmbedding.whisperLayers.count)
        #expect(vector.allSatisfy { $0.isFinite })
        #expect(throws: (any Error).self) { try embedder.embedding(of: input.values, sampleRate: 22050) }
        #expect(throws: (any Error).self) { try embedder.embedding(of: [0, 0, 0], sampleRate: 16000) }
    }
}
