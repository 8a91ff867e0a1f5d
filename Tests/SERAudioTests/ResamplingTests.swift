import Foundation
import SERSupport
import Testing
@testable import SERAudio
import SERTestSupport

@Suite struct ResamplingTests {
    /// A sine resampled with soxr HQ must match the sine computed at the new rate.
    @Test(arguments: [(48000, 16000), (44100, 22050), (16000, 48000), (96000, 22050), (8000, 16000)])
    func resampledSineMatchesTheAnalyticSine(rates: (Int, Int)) throws {
        let (inputRate, outputRate) = rates
        let frequency = 997.0
        let input = TestSignals.tone(frequency, sampleRate: inputRate, seconds: 1, amplitude: 0.5)
        let directory = TemporaryDirectory()
        let path = directory.file("sine.wav")
        try SndFileFixture.write(input, to: path, sampleRate: inputRate, format: SndFileFixture.wav | SndFileFixture.f32)

        let output = try AudioSignal(contentsOf: path, sampleRate: outputRate)
        #expect(output.sampleRate == outputRate)
        #expect(output.frameCount == Int((Double(input.count) * Double(outputRate) / Double(inputRate)).rounded(.up)))
        // Away from the edges (where the sine starts and stops abruptly) the error is tiny.
        let margin = outputRate / 20
        var worst: Float = 0
        for n in margin..<(output.frameCount - margin) {
            let expected = Float(0.5 * sin(2 * .pi * frequency * Double(n) / Double(outputRate)))
            worst = max(worst, abs(output.samples[n] - expected))
        }
        #expect(worst < 2e-4, "\(inputRate) → \(outputRate): worst error \(worst)")
    }

    @Test func contentAboveTheNewNyquistIsRemoved() throws {
        let directory = TemporaryDirectory()
        let path = directory.file("high.wav")
        // 12 kHz cannot exist at 16 kHz; soxr's anti-alias filter must remove it, not fold it to 4 kHz.
        try SndFileFixture.write(TestSignals.tone(12000, sampleRate: 48000, seconds: 0.5), to: path,
                                 sampleRate: 48000, format: SndFileFixture.wav | SndFileFixture.f32)
        let output = try AudioSignal(contentsOf: path, sampleRate: 16000)
        let middle = output.samples[800..<7200]
        let peak = middle.map { abs($0) }.max() ?? 1
        #expect(peak < 1e-3, "aliased energy with peak \(peak)")
    }

    @Test func blockSizeDoesNotChangeTheResult() throws {
        let directory = TemporaryDirectory()
        let path = directory.file("chirp.wav")
        let samples = TestSignals.chirp(from: 50, to: 20000, sampleRate: 44100, seconds: 2)
        try SndFileFixture.write(Signals.interleave([samples, samples.reversed()]), to: path, sampleRate: 44100,
                                 channels: 2, format: SndFileFixture.wav | SndFileFixture.f32)
        let reference = try AudioSignal(stream: AudioStream(path: path, sampleRate: 16000, blockFrames: 1 << 20))
        for blockFrames in [1, 37, 1000, 4096, 48000] {
            let streamed = try AudioSignal(stream: AudioStream(path: path, sampleRate: 16000, blockFrames: blockFrames))
            #expect(streamed.samples.count == reference.samples.count)
            #expect(maxAbsDifference(streamed.samples, reference.samples) < 1e-6, "block \(blockFrames)")
        }
    }

    @Test func sameRateIsPassedThroughUntouched() throws {
        let directory = TemporaryDirectory()
        let path = directory.file("x.wav")
        let samples = TestSignals.noise(count: 5000)
        try SndFileFixture.write(samples, to: path, sampleRate: 16000, format: SndFileFixture.wav | SndFileFixture.f32)
        #expect(sameSamples(try AudioSignal(contentsOf: path, sampleRate: 16000).samples, samples))
    }

    @Test func multichannelResamplingKeepsChannelsApart() throws {
        let directory = TemporaryDirectory()
        let path = directory.file("st.wav")
        let left = TestSignals.tone(440, sampleRate: 48000, seconds: 0.5)
        let right = TestSignals.silence(count: left.count)
        try SndFileFixture.write(Signals.interleave([left, right]), to: path, sampleRate: 48000, channels: 2,
                                 format: SndFileFixture.wav | SndFileFixture.f32)
        let output = try AudioSignal(contentsOf: path, sampleRate: 16000, mono: false)
        #expect(output.channels == 2)
        let rightOut = stride(from: 1, to: output.samples.count, by: 2).map { output.samples[$0] }
        let leftOut = stride(from: 0, to: output.samples.count, by: 2).map { output.samples[$0] }
        #expect(rightOut.allSatisfy { abs($0) < 1e-6 })
        #expect((leftOut.map { abs($0) }.max() ?? 0) > 0.45)
    }

    @Test func invalidRatesAreRejected() {
        #expect(throws: AudioError.self) { try Resampler(from: 0, to: 16000, channels: 1) }
        #expect(throws: AudioError.self) { try Resampler(from: 16000, to: .infinity, channels: 1) }
        #expect(throws: AudioError.self) { try Resampler(from: 16000, to: 8000, channels: 0) }
    }
}

/// `AudioSignal(contentsOf:sampleRate:)` against `librosa.load(path, sr=…)` on
/// synthetic files; references written by scripts/make_audio_fixtures.py.
@Suite struct LibrosaLoadParityTests {
    static let fixtures = ["chirp_48k_stereo.wav", "vibrato_44k1.flac", "noise_96k_float.wav", "formants_16k.wav", "tone_8k_aiff.aiff"]

    @Test(arguments: fixtures, [16000, 22050])
    func matchesLibrosaLoad(file: String, rate: Int) throws {
        let stem = (file as NSString).deletingPathExtension
        let reference = try NumPyArray(contentsOf: Fixtures.audio("\(stem).sr\(rate).npy"))
        let ours = try AudioSignal(contentsOf: Fixtures.audio(file), sampleRate: rate)
        #expect(ours.samples.count == reference.values.count)
        let difference = maxAbsDifference(ours.samples, reference.values)
        #expect(difference <= 1e-4, "\(file) at \(rate) Hz: max |Δ| = \(difference)")
    }
}
