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
        for layout in [SERFeatures.SpeechEmbedding.middleLayers, .everyBlock] {
            let vector = try embedder.embedding(of: input.values, sampleRate: 16000, layout: layout)
            #expect(vector.count == 2 * 512 * layout.layers.count && vector.count == layout.dimension)
            // The same vector worked out here: each layer's mean and deviation over the frames.
            let (mel, melFrames) = embedder.frontEnd.features(input.values)
            let states = embedder.encoder.hiddenStates(logMel: mel, frames: melFrames)
            let covered = (input.values.count / 160 + 1) / 2
            var expected: [Float] = []
            for layer in layout.layers {
                let frames = (0..<covered).map { Array(states[layer][($0 * 512)..<(($0 + 1) * 512)]) }
                let mean = (0..<512).map { c in frames.reduce(0.0) { $0 + Double($1[c]) } / Double(covered) }
                let deviation = (0..<512).map { c in (frames.reduce(0.0) { $0 + pow(Double($1[c]) - mean[c], 2) } / Double(covered)).squareRoot() }
                expected += (mean + deviation).map(Float.init)
            }
            let worst = zip(vector, expected).map { abs($0 - $1) }.max() ?? .infinity
            #expect(worst <= 1e-4, "\(layout.layers): worst difference \(worst)")
        }
        // Padding to Whisper's window (kept for measurement) changes what the encoder hears.
        let (plain, _) = embedder.hiddenStates(of: input.values)
        let (padded, paddedFrames) = embedder.hiddenStates(of: input.values, paddedToSeconds: 30)
        #expect(paddedFrames == (input.values.count / 160 + 1) / 2 && padded[6].count == plain[6].count)
        #expect(zip(plain[6], padded[6]).map { abs($0 - $1) }.max() ?? 0 > 1e-3)
        #expect(throws: (any Error).self) { try embedder.embedding(of: input.values, sampleRate: 22050, layout: .middleLayers) }
        #expect(throws: (any Error).self) { try embedder.embedding(of: [0, 0, 0], sampleRate: 16000, layout: .middleLayers) }
    }

    @Test("the presets' encoder parts: whisper's layers are whisper-blocks' layers 2, 4 and 6, and the fused presets end with functionals")
    func presetsShareTheirLayers() throws {
        guard let embedder = Self.installedEmbedder() else { return }
        let samples = try Self.load("voice.input").values
        let middle = try FeaturePreset.whisper.vector(samples: samples, sampleRate: 16000, embedder: embedder)
        let blocks = try FeaturePreset.whisperBlocks.vector(samples: samples, sampleRate: 16000, embedder: embedder)
        #expect(middle.count == 3 * 1024 && blocks.count == 6 * 1024)
        #expect(FeaturePreset.whisperBlocks.columnNames(sampleRate: 16000).count == blocks.count)
        #expect(FeaturePreset.whisperBlocks.columnNames(sampleRate: 16000).first == "whisper_l1_mean_0")
        // Layers 1…6 in order: layer 2 is block row 1, layer 4 row 3, layer 6 row 5.
        let picked = [1, 3, 5].flatMap { Array(blocks[($0 * 1024)..<(($0 + 1) * 1024)]) }
        #expect(picked == middle)
        let fused = try FeaturePreset.whisperBlocksFunctionals.vector(samples: samples, sampleRate: 16000, embedder: embedder)
        let functionals = try FeaturePreset.functionals.vector(samples: samples, sampleRate: 16000)
        #expect(fused.count == FeaturePreset.whisperBlocksFunctionals.dimension)
        #expect(Array(fused.prefix(blocks.count)) == blocks && Array(fused.suffix(functionals.count)) == functionals)
        #expect(throws: FeatureError.self) { try FeaturePreset.whisperBlocks.vector(samples: samples, sampleRate: 16000) }
    }
}
