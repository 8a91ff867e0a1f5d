import Foundation
import Testing
@testable import SERAudio
import SERTestSupport

/// Damaged, hostile or impossible inputs give a typed error naming the file.
@Suite struct BadInputTests {
    let directory = TemporaryDirectory()

    private func goodWav(_ name: String = "good.wav", seconds: Double = 1) throws -> String {
        let path = directory.file(name)
        try SndFileFixture.write(TestSignals.tone(440, sampleRate: 16000, seconds: seconds), to: path, sampleRate: 16000,
                                 format: SndFileFixture.wav | SndFileFixture.s16)
        return path
    }

    private func bytes(of path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

    private func write(_ data: Data, _ name: String) throws -> String {
        let path = directory.file(name)
        try data.write(to: URL(fileURLWithPath: path))
        return path
    }

    private func load(_ path: String) throws { _ = try AudioSignal(contentsOf: path, sampleRate: 22050) }

    @Test func nonexistentPath() {
        let path = directory.file("missing.wav")
        #expect(throws: AudioError.fileNotFound(path: path)) { try load(path) }
    }

    @Test func directoryPath() {
        #expect(throws: AudioError.isDirectory(path: directory.path)) { try load(directory.path) }
    }

    @Test func emptyFile() throws {
        let path = try write(Data(), "empty.wav")
        #expect(throws: AudioError.emptyFile(path: path)) { try load(path) }
    }

    @Test func truncatedHeader() throws {
        let path = try write(try bytes(of: goodWav()).prefix(30), "header.wav")
        #expect { try load(path) } throws: { error in
            guard case AudioError.malformed(let p, _) = error else { return false }
            return p == path
        }
    }

    @Test func truncatedData() throws {
        let path = try write(try bytes(of: goodWav()).prefix(16000), "data.wav")
        #expect(throws: AudioError.truncated(path: path, expectedFrames: 16000, decodedFrames: 7978)) { try load(path) }
    }

    @Test func truncatedFLAC() throws {
        let flac = directory.file("whole.flac")
        try SndFileFixture.write(TestSignals.noise(count: 32000), to: flac, sampleRate: 16000,
                                 format: SndFileFixture.flac | SndFileFixture.s16)
        let data = try bytes(of: flac)
        let path = try write(data.prefix(data.count / 2), "cut.flac")
        #expect { try load(path) } throws: { error in
            switch error as? AudioError {
            case .truncated(let p, _, _), .decodeFailed(let p, _): return p == path
            default: return false
            }
        }
    }

    @Test func randomBytes() throws {
        let noise = TestSignals.noise(count: 20000).map { UInt8(truncatingIfNeeded: Int(($0 + 1) * 1000)) }
        let path = try write(Data(noise), "random.wav")
        #expect { try load(path) } throws: { error in
            guard let audio = error as? AudioError, audio.path == path else { return false }
            switch audio {
            case .unsupportedFormat, .malformed: return true
            default: return false
            }
        }
    }

    @Test func zeroChannels() throws {
        var data = try bytes(of: goodWav())
        let fmt = data.range(of: Data("fmt ".utf8))!.lowerBound
        data[fmt + 10] = 0; data[fmt + 11] = 0
        let path = try write(data, "zero.wav")
        #expect { try load(path) } throws: { ($0 as? AudioError)?.path == path }
    }

    @Test func absurdSampleRate() throws {
        var data = try bytes(of: goodWav())
        let fmt = data.range(of: Data("fmt ".utf8))!.lowerBound
        // 3 MHz: a header libsndfile accepts but no recording has.
        let rate = UInt32(3_000_000).littleEndian
        withUnsafeBytes(of: rate) { data.replaceSubrange((fmt + 12)..<(fmt + 16), with: $0) }
        let path = try write(data, "rate.wav")
        #expect { try load(path) } throws: { error in
            guard case AudioError.invalidStreamLayout(let p, _) = error else { return false }
            return p == path
        }
    }

    /// A rate below 1 kHz is refused: resampling 1 Hz to a model's rate multiplies the
    /// audio 16,000 times. The AIFF is the fuzzer's finding (it took 28 s to decode).
    @Test func absurdlyLowSampleRate() throws {
        let finding = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/fuzz-findings/aiff-sample-rate-1hz.aiff").path
        for rate in [1, 999] {
            var data = try bytes(of: goodWav())
            let fmt = data.range(of: Data("fmt ".utf8))!.lowerBound
            withUnsafeBytes(of: UInt32(rate).littleEndian) { data.replaceSubrange((fmt + 12)..<(fmt + 16), with: $0) }
            let path = try write(data, "rate\(rate).wav")
            #expect(throws: AudioError.self, "\(rate) Hz") { try load(path) }
        }
        #expect { try AudioSignal(contentsOf: finding, sampleRate: 16000) } throws: { error in
            guard case AudioError.invalidStreamLayout(let p, let reason) = error else { return false }
            return p == finding && reason.contains("1 Hz")
        }
    }

    /// A WAV whose LIST chunk claims 4 GB in a 313-byte file sent libsndfile 1.2 into a loop
    /// of minutes (the fuzzer's finding); a chunk that overruns the file before the audio is
    /// refused first, from a file and from memory.
    @Test func aChunkPastTheEndBeforeTheAudioIsMalformed() throws {
        let finding = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/fuzz-findings/wav-list-chunk-past-end.wav").path
        #expect { _ = try AudioDecoder.open(path: finding) } throws: { error in
            guard case AudioError.malformed(let p, let reason) = error else { return false }
            return p == finding && reason.contains("past the end")
        }
        #expect(throws: AudioError.self) { _ = try AudioDecoder.open(data: try Data(contentsOf: URL(fileURLWithPath: finding)), name: "upload") }
        // A good file still opens.
        #expect(throws: Never.self) { _ = try AudioDecoder.open(path: try goodWav()) }
    }

    /// A WAV whose LIST/INFO entry claims 0xFFFFFFF4 bytes (−12 read as signed) inside a
    /// 26-byte list hung libsndfile 1.2 (the fuzzer's second WAV finding); an entry that
    /// overruns its list is refused, while a well-formed LIST chunk still opens.
    @Test func aListEntryPastTheEndOfItsListIsMalformed() throws {
        let finding = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/fuzz-findings/wav-list-entry-past-end.wav").path
        #expect { _ = try AudioDecoder.open(path: finding) } throws: { error in
            guard case AudioError.malformed(let p, let reason) = error else { return false }
            return p == finding && reason.contains("entry") && reason.contains("LIST")
        }
        #expect(throws: AudioError.self) { _ = try AudioDecoder.open(data: try Data(contentsOf: URL(fileURLWithPath: finding)), name: "upload") }

        // The same list, well formed: INFO with one INAM entry of 6 bytes.
        func withList(entrySize: UInt32) throws -> String {
            var data = try bytes(of: goodWav())
            let dataChunk = data.range(of: Data("data".utf8))!.lowerBound
            var list = Data("LIST".utf8) + littleEndian(UInt32(4 + 8 + 6)) + Data("INFO".utf8)
            list += Data("INAM".utf8) + littleEndian(entrySize) + Data("voice\0".utf8)
            data.insert(contentsOf: list, at: dataChunk)
            let riffSize = UInt32(data.count - 8)
            data.replaceSubrange(4..<8, with: littleEndian(riffSize))
            return try write(data, "list-\(entrySize).wav")
        }
        let wellFormed = try withList(entrySize: 6)
        #expect(try AudioSignal(contentsOf: wellFormed, sampleRate: 16000).samples.count > 0)
        let overrun = try withList(entrySize: 7)
        #expect { _ = try AudioDecoder.open(path: overrun) } throws: { error in
            guard case AudioError.malformed(_, let reason) = error else { return false }
            return reason.contains("INAM")
        }
    }

    private func littleEndian(_ value: UInt32) -> Data { withUnsafeBytes(of: value.littleEndian) { Data($0) } }

    @Test func absurdChannelCount() throws {
        var data = try bytes(of: goodWav())
        let fmt = data.range(of: Data("fmt ".utf8))!.lowerBound
        data[fmt + 10] = 0xFF; data[fmt + 11] = 0xFF
        let path = try write(data, "channels.wav")
        #expect { try load(path) } throws: { ($0 as? AudioError)?.path == path }
    }

    @Test func absurdDataSizeDoesNotAllocateOrCrash() throws {
        var data = try bytes(of: goodWav())
        let chunk = data.range(of: Data("data".utf8))!.lowerBound
        // Claims ~2 GB of audio in a 32 kB file: reported as truncated.
        withUnsafeBytes(of: UInt32(0x7000_0000).littleEndian) { data.replaceSubrange((chunk + 4)..<(chunk + 8), with: $0) }
        let path = try write(data, "huge.wav")
        #expect { try load(path) } throws: { error in
            guard case AudioError.truncated(let p, let expected, let decoded) = error else { return false }
            return p == path && expected == 0x7000_0000 / 2 && decoded == 16000
        }
    }

    @Test(arguments: [Float.nan, .infinity, -.infinity])
    func nonFiniteFloatSamples(_ bad: Float) throws {
        var samples = TestSignals.tone(440, sampleRate: 16000, seconds: 0.5)
        samples[1234] = bad
        let path = directory.file("nonfinite.wav")
        try SndFileFixture.write(samples, to: path, sampleRate: 16000, format: SndFileFixture.wav | SndFileFixture.f32)
        #expect(throws: AudioError.nonFiniteSamples(path: path, frame: 1234)) { try load(path) }
    }

    @Test func unsupportedCodecInsideRIFF() throws {
        // A WAVE_FORMAT tag nobody implements (0x7777).
        var data = try bytes(of: goodWav())
        let fmt = data.range(of: Data("fmt ".utf8))!.lowerBound
        data[fmt + 8] = 0x77; data[fmt + 9] = 0x77
        let path = try write(data, "codec.wav")
        #expect { try load(path) } throws: { error in
            guard let audio = error as? AudioError, audio.path == path else { return false }
            switch audio {
            case .unsupportedFormat, .malformed, .ffmpegFailed: return true
            default: return false
            }
        }
    }

    @Test func namedPipeIsRefusedWithoutBlocking() throws {
        let path = directory.file("fifo.wav")
        #expect(mkfifo(path, 0o600) == 0)
        #expect(throws: AudioError.notARegularFile(path: path)) { try load(path) }
    }

    @Test func fileTruncatedWhileBeingRead() throws {
        let path = try goodWav("vanishing.wav", seconds: 10)
        let stream = try AudioStream(path: path, sampleRate: nil, mono: true, blockFrames: 1000)
        var blocks = 0
        #expect { try stream.forEachBlock { _ in
            blocks += 1
            if blocks == 2 { truncate(path, 4000) }  // another process cuts the file short
        } } throws: { error in
            guard case AudioError.truncated(let p, let expected, _) = error else { return false }
            return p == path && expected == 160_000
        }
    }

    @Test func fileDeletedWhileBeingReadStillDecodes() throws {
        // Unlinking an open file keeps its data readable (POSIX); the decode completes.
        let path = try goodWav("deleted.wav", seconds: 2)
        let stream = try AudioStream(path: path, blockFrames: 1000)
        var count = 0
        try stream.forEachBlock { block in
            if count == 0 { unlink(path) }
            count += block.count
        }
        #expect(count == 32000)
    }

    @Test func badMemoryInput() {
        #expect(throws: AudioError.emptyFile(path: "upload")) { try AudioSignal(data: Data(), name: "upload") }
        #expect { try AudioSignal(data: Data("not audio at all".utf8), name: "upload") } throws: { error in
            guard case AudioError.unsupportedFormat(let p, _) = error else { return false }
            return p == "upload"
        }
    }

    @Test func errorsNameTheFileAndSayWhatToDo() {
        let errors: [AudioError] = [
            .fileNotFound(path: "/x/a.wav"), .emptyFile(path: "/x/a.wav"),
            .truncated(path: "/x/a.wav", expectedFrames: 10, decodedFrames: 5),
            .ffmpegUnavailable(path: "/x/a.wav"), .nonFiniteSamples(path: "/x/a.wav", frame: 3),
        ]
        for error in errors {
            #expect(error.description.hasPrefix("/x/a.wav: "))
            #expect(error.reason.count > 20)
        }
        #expect(AudioError.ffmpegUnavailable(path: "a").reason.contains("apt-get install ffmpeg"))
    }
}
