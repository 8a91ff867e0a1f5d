import Foundation
import SERAudio
import Testing

/// Runs the built `ser` binary and captures what it prints.
struct SERRun {
    var status: Int32
    var stdout: String
    var stderr: String

    static let testCacheHome = FileManager.default.temporaryDirectory.appendingPathComponent("ser-test-cache-\(UUID().uuidString)").path

    /// Starts `ser` in the background with its output discarded (for tests that interrupt or race it).
    static func start(_ arguments: [String]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    static var binary: String { path(of: "ser") }

    /// A program the package builds (`ser`, the examples), beside the test bundle.
    static func path(of program: String) -> String {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(program).path
        if FileManager.default.isExecutableFile(atPath: beside) { return beside }
        return Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent(program).path
    }

    init(_ arguments: [String], program: String = "ser", environment: [String: String]? = nil, input: Data? = nil) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.path(of: program))
        process.arguments = arguments
        // Keep the feature cache out of the real home directory.
        var defaults = ProcessInfo.processInfo.environment
        defaults["XDG_CACHE_HOME"] = Self.testCacheHome
        process.environment = environment ?? defaults
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("ser-out-\(UUID().uuidString)")
        let err = FileManager.default.temporaryDirectory.appendingPathComponent("ser-err-\(UUID().uuidString)")
        try Data().write(to: out)
        try Data().write(to: err)
        defer { try? FileManager.default.removeItem(at: out); try? FileManager.default.removeItem(at: err) }
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        if let input {
            let inputFile = FileManager.default.temporaryDirectory.appendingPathComponent("ser-in-\(UUID().uuidString)")
            try input.write(to: inputFile)
            defer { try? FileManager.default.removeItem(at: inputFile) }
            process.standardInput = try FileHandle(forReadingFrom: inputFile)
        } else {
            process.standardInput = FileHandle.nullDevice
        }
        try process.run()
        process.waitUntilExit()
        status = process.terminationStatus
        stdout = (try? String(contentsOf: out, encoding: .utf8)) ?? ""
        stderr = (try? String(contentsOf: err, encoding: .utf8)) ?? ""
    }
}

enum Signals {
    /// One minute of a stereo 48 kHz sweep, interleaved.
    static func chirpBlock() -> [Float] {
        let frames = 48000 * 60
        var samples = [Float](repeating: 0, count: frames * 2)
        for i in 0..<frames {
            let t = Double(i) / 48000
            let value = Float(0.3 * sin(2 * .pi * (100 * t + 50 * t * t)))
            samples[2 * i] = value
            samples[2 * i + 1] = -value
        }
        return samples
    }
}

final class Workspace: Sendable {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("ser-cli-\(UUID().uuidString)").path
    init() { try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func file(_ name: String) -> String { path + "/" + name }

    /// A stereo 48 kHz WAV of `minutes` repeats of `Signals.chirpBlock()`, written block by block.
    func stereoChirp(_ name: String, minutes: Int) throws -> String {
        let path = file(name)
        let minute = Signals.chirpBlock()
        try AudioFileWriter.write(to: path, format: .wav, sampleRate: 48000, channels: 2) { writer in
            for _ in 0..<minutes { try minute.withUnsafeBufferPointer { try writer.append($0) } }
        }
        return path
    }

    /// A stereo 48 kHz WAV: left a 440 Hz tone, right silence.
    @discardableResult
    func stereoTone(_ name: String, seconds: Double = 1) throws -> String {
        let frames = Int(48000 * seconds)
        var samples = [Float](repeating: 0, count: frames * 2)
        for i in 0..<frames { samples[2 * i] = Float(0.5 * sin(2 * .pi * 440 * Double(i) / 48000)) }
        let path = file(name)
        try AudioFileWriter.write(AudioSignal(samples: samples, sampleRate: 48000, channels: 2), to: path, format: .wav)
        return path
    }
}

@Suite struct CommandLineTests {
    @Test func versionAndHelp() throws {
        let version = try SERRun(["--version"])
        #expect(version.status == 0)
        #expect(version.stdout.trimmingCharacters(in: .whitespacesAndNewlines).range(of: #"^\d+\.\d+\.\d+$"#, options: .regularExpression) != nil)
        let help = try SERRun(["--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("info") && help.stdout.contains("convert") && help.stdout.contains("Exit status"))
        let convertHelp = try SERRun(["convert", "--help"])
        #expect(convertHelp.stdout.contains("--sample-rate") && convertHelp.stdout.contains("Examples"))
    }

    @Test func usageErrorsExitWithTwo() throws {
        #expect(try SERRun(["info"]).status == 2)
        #expect(try SERRun(["no-such-command"]).status == 2)
        #expect(try SERRun(["info", "--format", "yaml", "x.wav"]).status == 2)
        let workspace = Workspace()
        let input = try workspace.stereoTone("a.wav")
        let badRate = try SERRun(["convert", input, "--out", workspace.file("b.wav"), "--sample-rate", "0"])
        #expect(badRate.status == 2)
        #expect(badRate.stderr.contains("--sample-rate"))
        #expect(try SERRun(["convert", input, "--out", workspace.file("b.flac"), "--bit-depth", "32f"]).status == 2)
        #expect(try SERRun(["convert", input, "--out", workspace.file("b.mp3")]).status == 2)
    }

    @Test func infoReportsFormatAndLevelsAsJSON() throws {
        let workspace = Workspace()
        let input = try workspace.stereoTone("tone.wav", seconds: 2)
        let run = try SERRun(["info", "--format", "json", input])
        #expect(run.status == 0)
        let entries = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [[String: Any]]
        let entry = try #require(entries?.first)
        #expect(entry["sample_rate"] as? Int == 48000)
        #expect(entry["channels"] as? Int == 2)
        #expect(entry["frames"] as? Int == 96000)
        #expect(entry["container"] as? String == "WAV")
        #expect(entry["codec"] as? String == "PCM 16-bit")
        let peak = try #require(entry["peak_dbfs"] as? Double)
        #expect(abs(peak - 20 * log10(0.5)) < 0.01)
        // Left channel at -9.03 dBFS RMS, right silent: over both channels 3 dB lower.
        let rms = try #require(entry["rms_dbfs"] as? Double)
        #expect(abs(rms - (20 * log10(0.5) - 3.0103 - 3.0103)) < 0.02)
    }

    @Test func aBadFileDoesNotStopTheBatch() throws {
        let workspace = Workspace()
        let good = try workspace.stereoTone("good.wav")
        let bad = workspace.file("bad.wav")
        try Data("definitely not audio".utf8).write(to: URL(fileURLWithPath: bad))
        let missing = workspace.file("missing.flac")

        let table = try SERRun(["info", bad, good, missing])
        #expect(table.status == 1)
        #expect(table.stdout.contains("good.wav"))
        #expect(table.stderr.contains("bad.wav") && table.stderr.contains("missing.flac"))

        let json = try SERRun(["info", "--format", "json", bad, good, missing])
        #expect(json.status == 1)
        let entries = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        #expect(entries.count == 3)
        #expect(entries[0]["path"] as? String == bad && entries[0]["error"] is String)
        #expect(entries[1]["sample_rate"] as? Int == 48000)
        #expect((entries[2]["error"] as? String)?.contains("no such file") == true)
    }

    @Test func convertResamplesAndMixesDown() throws {
        let workspace = Workspace()
        let input = try workspace.stereoTone("in.wav", seconds: 1.5)
        let output = workspace.file("out.flac")
        let run = try SERRun(["convert", input, "--out", output, "--sample-rate", "16000", "--mono"])
        #expect(run.status == 0, "\(run.stderr)")
        let signal = try AudioSignal(contentsOf: output)
        #expect(signal.sampleRate == 16000 && signal.channels == 1 && signal.frameCount == 24000)
        let source = try AudioDecoder.open(path: output)
        #expect(source.streamDescription.container == "FLAC")
        source.close()
        // Mono of (tone, silence) is the tone at half amplitude.
        let peak = signal.samples[2000..<22000].map { abs($0) }.max() ?? 0
        #expect(abs(peak - 0.25) < 0.01)
    }

    @Test func convertWithoutOptionsKeepsSamplesExactly() throws {
        let workspace = Workspace()
        let input = try workspace.stereoTone("in.wav")
        let output = workspace.file("copy.wav")
        #expect(try SERRun(["convert", input, "--out", output]).status == 0)
        #expect(try SERRun(["info", "--format", "json", output]).stdout.contains("\"container\" : \"WAV\""))
        #expect(try AudioSignal(contentsOf: output, mono: false) == AudioSignal(contentsOf: input, mono: false))
    }

    @Test func convertManyIntoADirectoryAndReportFailures() throws {
        let workspace = Workspace()
        let a = try workspace.stereoTone("a.wav")
        let b = try workspace.stereoTone("b.wav")
        let broken = workspace.file("broken.wav")
        try Data(repeating: 7, count: 5000).write(to: URL(fileURLWithPath: broken))
        let outDir = workspace.file("converted")
        let run = try SERRun(["convert", a, broken, b, "--out", outDir, "--sample-rate", "22050", "--format", "flac"])
        #expect(run.status == 1)
        #expect(run.stderr.contains("broken.wav"))
        let made = try FileManager.default.contentsOfDirectory(atPath: outDir).sorted()
        #expect(made == ["a.flac", "b.flac"], "no partial output for the broken input, no temporaries")
        #expect(try AudioSignal(contentsOf: outDir + "/b.flac").sampleRate == 22050)
    }

    @Test func recursiveConvertMirrorsFoldersAndRefusesCollisions() throws {
        let workspace = Workspace()
        try FileManager.default.createDirectory(atPath: workspace.file("corpus/actor1"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: workspace.file("corpus/actor2"), withIntermediateDirectories: true)
        try workspace.stereoTone("corpus/actor1/take.wav")
        try workspace.stereoTone("corpus/actor2/take.wav")
        try Data("notes".utf8).write(to: URL(fileURLWithPath: workspace.file("corpus/README.txt")))
        let run = try SERRun(["convert", "-r", workspace.file("corpus"), "--out", workspace.file("out"), "--mono"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(FileManager.default.fileExists(atPath: workspace.file("out/actor1/take.wav")))
        #expect(FileManager.default.fileExists(atPath: workspace.file("out/actor2/take.wav")))

        let flat = try SERRun(["convert", workspace.file("corpus/actor1/take.wav"), workspace.file("corpus/actor2/take.wav"),
                               "--out", workspace.file("flat")])
        #expect(flat.status == 1)
        #expect(flat.stderr.contains("would both write it"))
    }

    @Test func interruptedConversionLeavesNothingBehind() throws {
        let workspace = Workspace()
        // Long enough (10 minutes of 48 kHz stereo) that the conversion is still running when interrupted.
        let input = try workspace.stereoChirp("long.wav", minutes: 10)
        let outDir = workspace.file("out")
        try FileManager.default.createDirectory(atPath: outDir, withIntermediateDirectories: true)
        let process = try SERRun.start(["convert", input, "--out", outDir + "/long.flac", "--sample-rate", "44100", "--format", "flac"])
        // Wait until the temporary output exists, then interrupt.
        let deadline = Date().addingTimeInterval(20)
        while (try FileManager.default.contentsOfDirectory(atPath: outDir)).isEmpty && Date() < deadline {
            usleep(5_000)
        }
        #expect(try !FileManager.default.contentsOfDirectory(atPath: outDir).isEmpty, "conversion never started writing")
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        let killedBySignal = process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGINT
        let exitedAsInterrupted = process.terminationReason == .exit && process.terminationStatus == 128 + SIGINT
        #expect(killedBySignal || exitedAsInterrupted, "status \(process.terminationStatus)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: outDir).isEmpty, "no partial or temporary file")
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/ffmpeg"), "needs ffmpeg to make an M4A"))
    func missingFFmpegIsExplained() throws {
        let workspace = Workspace()
        let wav = try workspace.stereoTone("t.wav", seconds: 0.5)
        let m4a = workspace.file("t.m4a")
        let encode = Process()
        encode.executableURL = URL(fileURLWithPath: "/usr/bin/ffmpeg")
        encode.arguments = ["-nostdin", "-v", "error", "-i", wav, "-c:a", "aac", m4a]
        try encode.run()
        encode.waitUntilExit()
        try #require(encode.terminationStatus == 0)

        #expect(try SERRun(["info", m4a]).status == 0)
        let withoutFFmpeg = try SERRun(["info", m4a, wav], environment: ["PATH": workspace.path])
        #expect(withoutFFmpeg.status == 1)
        #expect(withoutFFmpeg.stderr.contains("t.m4a") && withoutFFmpeg.stderr.contains("apt-get install ffmpeg"))
        #expect(withoutFFmpeg.stdout.contains("t.wav"), "the WAV is still reported")
    }

    @Test func progressStaysOffWhenPiped() throws {
        let workspace = Workspace()
        let inputs = try (0..<3).map { try workspace.stereoTone("f\($0).wav", seconds: 0.2) }
        let run = try SERRun(["convert"] + inputs + ["--out", workspace.file("o")])
        #expect(run.status == 0)
        #expect(run.stderr.isEmpty, "nothing on stderr when not a terminal: \(run.stderr)")
    }
}
