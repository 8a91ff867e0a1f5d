import Foundation
import Testing
@testable import SERAudio
import SERTestSupport

/// Each PCM and float flavour written by libsndfile must come back bit-exact.
@Suite struct LosslessRoundTripTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var format: Int32
        var bits: Int?  // nil: float, no quantisation needed
        var channels: Int
        var sampleRate: Int
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "WAV PCM U8", format: SndFileFixture.wav | SndFileFixture.u8, bits: 8, channels: 1, sampleRate: 8000),
        Case(name: "WAV PCM S16", format: SndFileFixture.wav | SndFileFixture.s16, bits: 16, channels: 1, sampleRate: 16000),
        Case(name: "WAV PCM S24 stereo", format: SndFileFixture.wav | SndFileFixture.s24, bits: 24, channels: 2, sampleRate: 44100),
        Case(name: "WAV PCM S32", format: SndFileFixture.wav | SndFileFixture.s32, bits: 24, channels: 1, sampleRate: 48000),
        Case(name: "WAV float32", format: SndFileFixture.wav | SndFileFixture.f32, bits: nil, channels: 1, sampleRate: 22050),
        Case(name: "WAV float64 stereo", format: SndFileFixture.wav | SndFileFixture.f64, bits: nil, channels: 2, sampleRate: 96000),
        Case(name: "WAVE_FORMAT_EXTENSIBLE S16 4ch", format: SndFileFixture.wavex | SndFileFixture.s16, bits: 16, channels: 4, sampleRate: 16000),
        Case(name: "WAVE_FORMAT_EXTENSIBLE S24", format: SndFileFixture.wavex | SndFileFixture.s24, bits: 24, channels: 1, sampleRate: 48000),
        Case(name: "WAVE_FORMAT_EXTENSIBLE float32", format: SndFileFixture.wavex | SndFileFixture.f32, bits: nil, channels: 2, sampleRate: 32000),
        Case(name: "AIFF S8", format: SndFileFixture.aiff | SndFileFixture.s8, bits: 8, channels: 1, sampleRate: 11025),
        Case(name: "AIFF S16", format: SndFileFixture.aiff | SndFileFixture.s16, bits: 16, channels: 2, sampleRate: 44100),
        Case(name: "AIFF S24", format: SndFileFixture.aiff | SndFileFixture.s24, bits: 24, channels: 1, sampleRate: 48000),
        Case(name: "FLAC S16", format: SndFileFixture.flac | SndFileFixture.s16, bits: 16, channels: 1, sampleRate: 16000),
        Case(name: "FLAC S24 stereo", format: SndFileFixture.flac | SndFileFixture.s24, bits: 24, channels: 2, sampleRate: 96000),
        Case(name: "W64 float32", format: SndFileFixture.w64 | SndFileFixture.f32, bits: nil, channels: 1, sampleRate: 16000),
        Case(name: "CAF S16", format: SndFileFixture.caf | SndFileFixture.s16, bits: 16, channels: 1, sampleRate: 16000),
    ]

    @Test(arguments: cases)
    func roundTripIsBitExact(_ testCase: Case) throws {
        let directory = TemporaryDirectory()
        let frames = testCase.sampleRate / 4
        let channels = (0..<testCase.channels).map { c in
            TestSignals.chirp(from: 50, to: Double(testCase.sampleRate) * 0.45, sampleRate: testCase.sampleRate,
                          seconds: 0.25, amplitude: 0.9 - 0.2 * Double(c))
        }
        var samples = Signals.interleave(channels.map { Array($0.prefix(frames)) })
        if let bits = testCase.bits { samples = Signals.quantized(samples, bits: bits) }
        let path = directory.file("signal.bin")
        try SndFileFixture.write(samples, to: path, sampleRate: testCase.sampleRate, channels: testCase.channels,
                                 format: testCase.format)

        let decoded = try AudioSignal(contentsOf: path, mono: false)
        #expect(decoded.sampleRate == testCase.sampleRate)
        #expect(decoded.channels == testCase.channels)
        #expect(decoded.samples.count == samples.count)
        #expect(sameSamples(decoded.samples, samples), "largest difference \(maxAbsDifference(decoded.samples, samples))")
    }

    @Test func headerDescribesTheStream() throws {
        let directory = TemporaryDirectory()
        let path = directory.file("x.flac")
        try SndFileFixture.write(TestSignals.tone(440, sampleRate: 22050, seconds: 0.1), to: path, sampleRate: 22050,
                                 format: SndFileFixture.flac | SndFileFixture.s24)
        let source = try AudioDecoder.open(path: path)
        defer { source.close() }
        let description = source.streamDescription
        #expect(description.container == "FLAC")
        #expect(description.codec == "PCM 24-bit")
        #expect(description.sampleRate == 22050)
        #expect(description.channels == 1)
        #expect(description.declaredFrames == 2205)
        #expect(description.decoder == .libsndfile)
    }
}

/// Lossy codecs libsndfile decodes in process: the signal must survive.
@Suite struct LossyCodecTests {
    static let codecs: [(String, Int32)] = [
        ("OGG Vorbis", SndFileFixture.ogg | SndFileFixture.vorbis),
        ("OGG Opus", SndFileFixture.ogg | SndFileFixture.opus),
        ("MP3", SndFileFixture.mpeg | SndFileFixture.mp3),
    ]

    @Test(arguments: 0..<codecs.count)
    func lossyRoundTripKeepsTheTone(_ index: Int) throws {
        let (name, format) = Self.codecs[index]
        let directory = TemporaryDirectory()
        let path = directory.file("tone.\(name.lowercased().replacingOccurrences(of: " ", with: "-"))")
        let rate = 48000
        let tone = TestSignals.tone(1000, sampleRate: rate, seconds: 1.0, amplitude: 0.5)
        try SndFileFixture.write(tone, to: path, sampleRate: rate, format: format)

        let decoded = try AudioSignal(contentsOf: path)
        #expect(decoded.sampleRate == rate)
        #expect(abs(decoded.frameCount - tone.count) < rate / 10, "\(name): \(decoded.frameCount) frames")
        // The 1 kHz tone dominates: its energy at 1 kHz (Goertzel) over total energy.
        let middle = Array(decoded.samples[(rate / 4)..<(rate * 3 / 4)])
        let toneShare = goertzelPower(middle, frequency: 1000, sampleRate: rate) / energy(middle)
        #expect(toneShare > 0.95, "\(name): 1 kHz share \(toneShare)")
        let rms = (energy(middle) / Double(middle.count)).squareRoot()
        #expect(abs(rms - 0.5 / 2.squareRoot()) < 0.03, "\(name): rms \(rms)")
    }

    private func energy(_ x: [Float]) -> Double { x.reduce(0) { $0 + Double($1 * $1) } }

    /// Energy of `x` at one frequency, scaled like `energy` for a pure tone.
    private func goertzelPower(_ x: [Float], frequency: Double, sampleRate: Int) -> Double {
        let w = 2 * Double.pi * frequency / Double(sampleRate)
        var re = 0.0, im = 0.0
        for (n, v) in x.enumerated() {
            re += Double(v) * cos(w * Double(n))
            im -= Double(v) * sin(w * Double(n))
        }
        return 2 * (re * re + im * im) / Double(x.count)
    }
}

@Suite struct ContentDetectionTests {
    @Test func aiffNamedWavIsReadAsAIFF() throws {
        let directory = TemporaryDirectory()
        let path = directory.file("really-aiff.wav")
        let samples = Signals.quantized(TestSignals.tone(300, sampleRate: 16000, seconds: 0.2), bits: 16)
        try SndFileFixture.write(samples, to: path, sampleRate: 16000, format: SndFileFixture.aiff | SndFileFixture.s16)
        #expect(AudioContainer.sniff(path: path) == .aiff)
        let source = try AudioDecoder.open(path: path)
        #expect(source.streamDescription.container == "AIFF")
        source.close()
        #expect(sameSamples(try AudioSignal(contentsOf: path).samples, samples))
    }

    @Test func flacNamedMp3AndWavWithoutExtension() throws {
        let directory = TemporaryDirectory()
        let samples = Signals.quantized(TestSignals.noise(count: 4000), bits: 16)
        for name in ["clip.mp3", "noextension"] {
            let path = directory.file(name)
            try SndFileFixture.write(samples, to: path, sampleRate: 16000, format: SndFileFixture.flac | SndFileFixture.s16)
            #expect(sameSamples(try AudioSignal(contentsOf: path).samples, samples))
        }
    }

    @Test func sniffRecognisesMagicNumbers() {
        #expect(AudioContainer.sniff(Array("RIFF\0\0\0\0WAVEfmt ".utf8)) == .wav)
        #expect(AudioContainer.sniff(Array("FORM\0\0\0\0AIFF".utf8)) == .aiff)
        #expect(AudioContainer.sniff(Array("fLaC\0\0\0\"".utf8)) == .flac)
        #expect(AudioContainer.sniff(Array("OggS\0\u{2}".utf8)) == .ogg)
        #expect(AudioContainer.sniff(Array("ID3\u{4}\0".utf8)) == .mp3)
        #expect(AudioContainer.sniff([0, 0, 0, 0x20] + Array("ftypM4A ".utf8)) == .mp4)
        #expect(AudioContainer.sniff([0x1A, 0x45, 0xDF, 0xA3, 0x9F]) == .matroska)
        #expect(AudioContainer.sniff([0xFF, 0xFB, 0x90, 0x64]) == .mp3)
        #expect(AudioContainer.sniff(Array("hello world!".utf8)) == .unknown)
        #expect(AudioContainer.sniff([UInt8]()) == .unknown)
    }

    @Test func wavWithExtraChunksDecodes() throws {
        // A WAV with `bext`, `FLLR` and `LIST` chunks before `data`, built by hand.
        let samples: [Int16] = (0..<800).map { Int16(truncatingIfNeeded: ($0 * 97) % 20000 - 10000) }
        var bytes = Data()
        func le32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
        func le16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
        func chunk(_ id: String, _ payload: Data) {
            bytes.append(contentsOf: Array(id.utf8)); le32(UInt32(payload.count)); bytes.append(payload)
            if payload.count % 2 == 1 { bytes.append(0) }
        }
        bytes.append(contentsOf: Array("RIFF".utf8)); le32(0); bytes.append(contentsOf: Array("WAVE".utf8))
        var fmt = Data()
        for v: UInt16 in [1, 1] { withUnsafeBytes(of: v.littleEndian) { fmt.append(contentsOf: $0) } }
        for v: UInt32 in [8000, 16000] { withUnsafeBytes(of: v.littleEndian) { fmt.append(contentsOf: $0) } }
        for v: UInt16 in [2, 16] { withUnsafeBytes(of: v.littleEndian) { fmt.append(contentsOf: $0) } }
        chunk("bext", Data(repeating: 0x20, count: 602))
        chunk("fmt ", fmt)
        chunk("FLLR", Data(repeating: 0, count: 4039))
        chunk("LIST", Data("INFOISFT\u{6}\0\0\0tests\0".utf8))
        var pcm = Data()
        for s in samples { withUnsafeBytes(of: s.littleEndian) { pcm.append(contentsOf: $0) } }
        chunk("data", pcm)
        chunk("_PMX", Data("<xmp/>".utf8))
        let riffSize = UInt32(bytes.count - 8)
        bytes.replaceSubrange(4..<8, with: withUnsafeBytes(of: riffSize.littleEndian) { Data($0) })
        _ = le16  // (helper kept for symmetry with le32)

        let directory = TemporaryDirectory()
        let path = directory.file("chunks.wav")
        try bytes.write(to: URL(fileURLWithPath: path))
        let decoded = try AudioSignal(contentsOf: path)
        #expect(decoded.sampleRate == 8000)
        #expect(sameSamples(decoded.samples, samples.map { Float($0) / 32768 }))
    }

    @Test func decodingFromMemoryMatchesDecodingTheFile() throws {
        let directory = TemporaryDirectory()
        let path = directory.file("m.flac")
        let samples = Signals.quantized(TestSignals.chirp(from: 100, to: 4000, sampleRate: 16000, seconds: 0.5), bits: 16)
        try SndFileFixture.write(samples, to: path, sampleRate: 16000, format: SndFileFixture.flac | SndFileFixture.s16)
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let fromMemory = try AudioSignal(data: data, name: "upload", sampleRate: 22050)
        let fromFile = try AudioSignal(contentsOf: path, sampleRate: 22050)
        #expect(sameSamples(fromMemory, fromFile))
    }
}

@Suite struct ChannelMixingTests {
    @Test func stereoBecomesTheChannelMean() throws {
        let left = Signals.quantized(TestSignals.tone(440, sampleRate: 16000, seconds: 0.2, amplitude: 0.6), bits: 16)
        let right = Signals.quantized(TestSignals.noise(count: left.count, amplitude: 0.2), bits: 16)
        let directory = TemporaryDirectory()
        let path = directory.file("stereo.wav")
        try SndFileFixture.write(Signals.interleave([left, right]), to: path, sampleRate: 16000, channels: 2,
                                 format: SndFileFixture.wav | SndFileFixture.s16)
        let mono = try AudioSignal(contentsOf: path)
        #expect(mono.channels == 1)
        #expect(sameSamples(mono.samples, zip(left, right).map { ($0 + $1) / 2 }))
    }

    @Test func threeChannelsAverageInOrder() throws {
        let a = TestSignals.noise(count: 1000, seed: 1), b = TestSignals.noise(count: 1000, seed: 2), c = TestSignals.noise(count: 1000, seed: 3)
        let signal = AudioSignal(samples: Signals.interleave([a, b, c]), sampleRate: 16000, channels: 3)
        let expected = (0..<1000).map { (a[$0] + b[$0] + c[$0]) / 3 }
        #expect(sameSamples(signal.mixedToMono().samples, expected))
    }

    @Test func oppositeChannelsCancel() throws {
        let tone = TestSignals.tone(1000, sampleRate: 8000, seconds: 0.1)
        let signal = AudioSignal(samples: Signals.interleave([tone, tone.map { -$0 }]), sampleRate: 8000, channels: 2)
        #expect(signal.mixedToMono().samples.allSatisfy { $0 == 0 })
    }
}

@Suite struct LevelTests {
    @Test func fullScaleSineReadsZeroPeakAndMinusThreeRMS() {
        let sine = TestSignals.tone(1000, sampleRate: 48000, seconds: 1, amplitude: 1)
        var levels = AudioLevels()
        sine.withUnsafeBufferPointer { levels.add($0) }
        #expect(abs(levels.peakDBFS! - 0) < 0.01)
        #expect(abs(levels.rmsDBFS! - (-3.0103)) < 0.01)
    }

    @Test func halfScaleIsMinusSixAndSilenceIsNil() {
        var levels = AudioLevels()
        [Float](repeating: 0.5, count: 100).withUnsafeBufferPointer { levels.add($0) }
        #expect(abs(levels.peakDBFS! - 20 * log10(0.5)) < 1e-6)
        var silent = AudioLevels()
        TestSignals.silence(count: 100).withUnsafeBufferPointer { silent.add($0) }
        #expect(silent.peakDBFS == nil && silent.rmsDBFS == nil)
    }

    @Test func summaryCountsRealFramesAndLevels() throws {
        let directory = TemporaryDirectory()
        let path = directory.file("s.wav")
        let samples = TestSignals.tone(500, sampleRate: 16000, seconds: 1.5, amplitude: 0.25)
        try SndFileFixture.write(samples, to: path, sampleRate: 16000, format: SndFileFixture.wav | SndFileFixture.f32)
        let summary = try AudioFileSummary(path: path)
        #expect(summary.frames == Int64(samples.count))
        #expect(abs(summary.duration - 1.5) < 1e-9)
        #expect(abs(summary.peakDBFS! - 20 * log10(0.25)) < 0.01)
        #expect(abs(summary.rmsDBFS! - (20 * log10(0.25) - 3.0103)) < 0.01)
    }
}
