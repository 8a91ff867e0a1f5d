import Foundation
import SERAudio
import SERTestSupport
import Testing

/// The programs in examples/swift, built as the package's executables and run
/// as a user would run them: they must keep compiling against the public API
/// and give the answers `ser` gives.
@Suite struct ExamplesTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let handcraftedModel = root.appendingPathComponent("models/default-handcrafted.safetensors").path
    static let example = root.appendingPathComponent("examples/hello.flac").path

    @Test func predictFileAnswersAsSerPredictDoesAndReportsBadFiles() throws {
        let run = try SERRun([Self.handcraftedModel, Self.example, "/nonexistent/take.wav"], program: "example-predict-file")
        #expect(run.status == 1, "one file failed: \(run.stderr)")
        #expect(run.stderr.contains("/nonexistent/take.wav"))
        let cli = try SERRun(["predict", Self.example, "--model", Self.handcraftedModel, "--format", "json"])
        #expect(cli.status == 0, "\(cli.stderr)")
        // `--format json` gives an array of one object per input.
        let answer = (try JSONSerialization.jsonObject(with: Data(cli.stdout.utf8)) as? [[String: Any]])?.first
        let emotion = try #require(answer?["emotion"] as? String)
        let confidence = try #require(answer?["confidence"] as? Double)
        #expect(run.stdout.contains("\(Self.example): \(emotion) \(Int((confidence * 100).rounded()))%"), "\(run.stdout)")
    }

    @Test func streamStandardInputReportsEveryHalfSecond() throws {
        let samples = SyntheticSpeech.recording(seconds: 4, rate: 16000, voiceSpans: [(0.2, 3.8)])
        var bytes = Data(capacity: samples.count * 2)
        for sample in samples {
            let value = Int16(max(-1, min(1, sample)) * 32767)
            bytes.append(UInt8(truncatingIfNeeded: value))
            bytes.append(UInt8(truncatingIfNeeded: value >> 8))
        }
        let run = try SERRun([Self.handcraftedModel], program: "example-stream-stdin", input: bytes)
        #expect(run.status == 0, "\(run.stderr)")
        let times = run.stdout.split(separator: "\n").compactMap { Double($0.split(separator: " ").first ?? "") }
        #expect(times.count >= 5, "\(run.stdout)")
        #expect(zip(times, times.dropFirst()).allSatisfy { abs($1 - $0 - 0.5) < 1e-6 }, "\(times)")
        #expect(run.stdout.contains("%"), "some window holds speech: \(run.stdout)")
        #expect(try SERRun(["/nonexistent/model.safetensors"], program: "example-stream-stdin", input: Data()).status == 1)
    }

    /// Two "emotions" told apart by pitch, four speakers of three takes each:
    /// the example trains, holds out a speaker, and writes a model ser reads.
    @Test func trainFromManifestWritesAModelThatSerUses() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ser-example-train-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        var manifest = "path,label,speaker\n"
        for speaker in 0..<4 {
            for (label, pitch) in [("happy", 230.0), ("sad", 110.0)] {
                for take in 0..<3 {
                    let name = "s\(speaker)-\(label)-\(take).wav"
                    let samples = SyntheticSpeech.recording(seconds: 1.5, rate: 16000, voiceSpans: [(0.2, 1.3)],
                                                            seed: UInt64(speaker * 10 + take + 1), pitch: pitch + Double(speaker * 7))
                    try AudioFileWriter.write(AudioSignal(samples: samples, sampleRate: 16000), to: folder.appendingPathComponent(name).path, format: .wav)
                    manifest += "\(name),\(label),speaker\(speaker)\n"
                }
            }
        }
        let manifestPath = folder.appendingPathComponent("train.csv").path
        try manifest.write(toFile: manifestPath, atomically: true, encoding: .utf8)
        let model = folder.appendingPathComponent("pitch.safetensors").path
        let run = try SERRun([manifestPath, model], program: "example-train-from-manifest")
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("validation speakers speaker"), "\(run.stdout)")
        #expect(run.stdout.contains("2 labels, 24 recordings"), "\(run.stdout)")
        let low = folder.appendingPathComponent("s1-sad-0.wav").path, high = folder.appendingPathComponent("s1-happy-0.wav").path
        let predicted = try SERRun(["predict", low, high, "--model", model, "--format", "csv"])
        #expect(predicted.status == 0, "\(predicted.stderr)")
        #expect(predicted.stdout.contains("sad") && predicted.stdout.contains("happy"), "\(predicted.stdout)")
        #expect(try SERRun([manifestPath], program: "example-train-from-manifest").status == 2)
    }
}
