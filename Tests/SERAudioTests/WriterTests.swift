import Foundation
import Testing
@testable import SERAudio
import SERTestSupport

@Suite struct WriterTests {
    let directory = TemporaryDirectory()

    @Test(arguments: [(AudioFileFormat.wav, SampleEncoding.pcm16), (.wav, .pcm24), (.wav, .pcm32), (.wav, .float32),
                      (.flac, .pcm16), (.flac, .pcm24)])
    func writtenFilesReadBackExactly(format: AudioFileFormat, encoding: SampleEncoding) throws {
        let bits = ["16": 16, "24": 24, "32": 24, "32f": 0][encoding.rawValue]!
        var samples = Signals.interleave([TestSignals.chirp(from: 20, to: 7000, sampleRate: 16000, seconds: 0.3),
                                          TestSignals.noise(count: 4800)])
        if bits > 0 { samples = Signals.quantized(samples, bits: bits) }
        let path = directory.file("out.\(format.fileExtension)")
        try AudioFileWriter.write(AudioSignal(samples: samples, sampleRate: 16000, channels: 2), to: path,
                                  format: format, encoding: encoding)
        let read = try AudioSignal(contentsOf: path, mono: false)
        #expect(read.sampleRate == 16000 && read.channels == 2)
        #expect(sameSamples(read.samples, samples), "largest difference \(maxAbsDifference(read.samples, samples))")
        #expect(AudioContainer.sniff(path: path) == (format == .wav ? .wav : .flac))
    }

    @Test func overRangeSamplesClipInsteadOfWrapping() throws {
        let path = directory.file("loud.wav")
        try AudioFileWriter.write(AudioSignal(samples: [1.5, -1.5, 0.25], sampleRate: 8000), to: path, format: .wav)
        let read = try AudioSignal(contentsOf: path).samples
        #expect(read[0] > 0.999 && read[1] <= -0.999 && read[2] == 0.25)
    }

    @Test func failedWriteLeavesNoFileBehind() throws {
        let path = directory.file("never.wav")
        struct Interrupted: Error {}
        #expect(throws: Interrupted.self) {
            try AudioFileWriter.write(to: path, format: .wav, sampleRate: 16000, channels: 1) { writer in
                try [Float](repeating: 0.1, count: 1000).withUnsafeBufferPointer { try writer.append($0) }
                throw Interrupted()
            }
        }
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty)
    }

    @Test func failedWriteKeepsThePreviousFile() throws {
        let path = directory.file("keep.wav")
        let original = AudioSignal(samples: Signals.quantized(TestSignals.noise(count: 100), bits: 16), sampleRate: 8000)
        try AudioFileWriter.write(original, to: path, format: .wav)
        struct Interrupted: Error {}
        #expect(throws: Interrupted.self) {
            try AudioFileWriter.write(to: path, format: .wav, sampleRate: 8000, channels: 1) { _ in throw Interrupted() }
        }
        #expect(sameSamples(try AudioSignal(contentsOf: path), original))
    }

    @Test func flacRejectsFloatSamples() {
        #expect(throws: AudioError.self) {
            try AudioFileWriter.write(AudioSignal(samples: [0], sampleRate: 8000), to: directory.file("x.flac"),
                                      format: .flac, encoding: .float32)
        }
    }

    @Test func convertingAFileOntoItselfIsSafe() throws {
        let path = directory.file("self.wav")
        let samples = Signals.quantized(TestSignals.tone(300, sampleRate: 48000, seconds: 0.5), bits: 16)
        try AudioFileWriter.write(AudioSignal(samples: samples, sampleRate: 48000), to: path, format: .wav)
        let stream = try AudioStream(path: path, sampleRate: 16000)
        try AudioFileWriter.write(to: path, format: .wav, sampleRate: 16000, channels: 1) { writer in
            try stream.forEachBlock { try writer.append($0) }
        }
        let result = try AudioSignal(contentsOf: path)
        #expect(result.sampleRate == 16000 && result.frameCount == 8000)
    }

    @Test func formatFromExtension() {
        #expect(AudioFileFormat(pathExtension: "WAV") == .wav)
        #expect(AudioFileFormat(pathExtension: "flac") == .flac)
        #expect(AudioFileFormat(pathExtension: "mp3") == nil)
    }
}
