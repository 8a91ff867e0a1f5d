import Foundation
import Testing
@testable import SERAudio
import SERTestSupport

/// Containers libsndfile cannot read go through ffmpeg.
@Suite(.enabled(if: FFmpegSource.isAvailable, "ffmpeg is not installed (apt-get install ffmpeg)"))
struct FFmpegTests {
    let directory = TemporaryDirectory()

    /// Encodes a WAV with the ffmpeg CLI into another container.
    private func encode(_ wav: String, to output: String, codec: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: FFmpegSource.executablePath("ffmpeg")!)
        process.arguments = ["-nostdin", "-v", "error", "-y", "-i", wav] + codec + [output]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
    }

    @Test(arguments: [("m4a", ["-c:a", "aac", "-b:a", "128k"]), ("webm", ["-c:a", "libopus"]),
                      ("mp4", ["-c:a", "aac"]), ("mov", ["-c:a", "pcm_s16le"])])
    func containerDecodesThroughFFmpeg(ext: String, codec: [String]) throws {
        let wav = directory.file("tone.wav")
        let tone = TestSignals.tone(440, sampleRate: 48000, seconds: 1, amplitude: 0.5)
        try SndFileFixture.write(Signals.interleave([tone, tone]), to: wav, sampleRate: 48000, channels: 2,
                                 format: SndFileFixture.wav | SndFileFixture.s16)
        let path = directory.file("clip.\(ext)")
        try encode(wav, to: path, codec: codec)

        let source = try AudioDecoder.open(path: path)
        #expect(source.streamDescription.decoder == .ffmpeg)
        #expect(source.streamDescription.channels == 2)
        #expect(source.streamDescription.sampleRate == 48000)
        source.close()
        let signal = try AudioSignal(contentsOf: path, sampleRate: 16000)
        #expect(abs(signal.duration - 1) < 0.1, "\(ext): \(signal.duration) s")
        let middle = signal.samples[4000..<12000]
        let rms = (middle.reduce(0) { $0 + Double($1 * $1) } / Double(middle.count)).squareRoot()
        #expect(abs(rms - 0.5 / 2.squareRoot()) < 0.03, "\(ext): rms \(rms)")
    }

    @Test func losslessContainerMatchesTheOriginalExactly() throws {
        let wav = directory.file("n.wav")
        let samples = Signals.quantized(TestSignals.noise(count: 24000), bits: 16)
        try SndFileFixture.write(samples, to: wav, sampleRate: 24000, format: SndFileFixture.wav | SndFileFixture.s16)
        let mkv = directory.file("n.mkv")
        try encode(wav, to: mkv, codec: ["-c:a", "pcm_s16le"])
        #expect(sameSamples(try AudioSignal(contentsOf: mkv).samples, samples))
    }

    @Test func pathsThatLookLikeOptionsOrProtocolsAreReadAsFiles() throws {
        let wav = directory.file("t.wav")
        try SndFileFixture.write(TestSignals.tone(300, sampleRate: 16000, seconds: 0.5), to: wav, sampleRate: 16000,
                                 format: SndFileFixture.wav | SndFileFixture.s16)
        for name in ["-i.m4a", "pipe:0.m4a", "http:x.m4a"] {
            let path = directory.file(name)
            try encode(wav, to: "file:" + path, codec: ["-c:a", "aac"])
            let signal = try AudioSignal(contentsOf: path)
            #expect(abs(signal.duration - 0.5) < 0.1, "\(name)")
        }
    }

    @Test func garbageWithAVideoExtensionFailsCleanly() throws {
        let path = directory.file("broken.mp4")
        var bytes = Data([0, 0, 0, 0x18]) + Data("ftypmp42".utf8)
        bytes.append(Data(TestSignals.noise(count: 5000).map { UInt8(truncatingIfNeeded: Int(($0 + 1) * 777)) }))
        try bytes.write(to: URL(fileURLWithPath: path))
        #expect { try AudioSignal(contentsOf: path) } throws: { error in
            guard let audio = error as? AudioError, audio.path == path else { return false }
            switch audio {
            case .unsupportedFormat, .ffmpegFailed, .invalidStreamLayout: return true
            default: return false
            }
        }
    }

    @Test func videoWithoutAudioSaysSo() throws {
        let path = directory.file("silent-video.mp4")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: FFmpegSource.executablePath("ffmpeg")!)
        process.arguments = ["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "color=c=black:s=32x32:d=0.5",
                             "-c:v", "mpeg4", path]
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0)
        #expect { try AudioSignal(contentsOf: path) } throws: { error in
            guard case AudioError.unsupportedFormat(let p, let reason) = error else { return false }
            return p == path && reason.contains("no audio stream")
        }
    }
}
