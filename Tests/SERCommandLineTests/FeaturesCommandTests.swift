import Foundation
import SERAudio
import SERFeatures
import SERNumerics
import SERSupport
import Testing

@Suite struct FeaturesCommandTests {
    @Test func framesOfOneFileMatchTheLibrary() throws {
        let workspace = Workspace()
        let input = try workspace.stereoTone("tone.wav", seconds: 1)
        let output = workspace.file("mfcc.npy")
        let run = try SERRun(["features", input, "--feature", "mfcc", "--n-mfcc", "13", "--frames", "--out", output])
        #expect(run.status == 0, "\(run.stderr)")
        let written = try NumPyArray(contentsOf: output)
        let extractor = FeatureExtractor(configuration: FeatureConfiguration(mfcc: MFCCConfiguration(coefficientCount: 13)))
        let expected = try extractor.frames(.mfcc, samples: extractor.loadSamples(input))
        #expect(written.shape == [13, expected.columns])
        #expect(written.values == expected.values)
    }

    @Test func presetTableHasOneNamedRowPerFileAndSkipsBadOnes() throws {
        let workspace = Workspace()
        let a = try workspace.stereoTone("a.wav", seconds: 0.5)
        let b = try workspace.stereoTone("b.wav", seconds: 0.7)
        let bad = workspace.file("bad.wav")
        try Data("junk".utf8).write(to: URL(fileURLWithPath: bad))
        let csvPath = workspace.file("table.csv")
        let run = try SERRun(["features", a, bad, b, "--preset", "classic180", "--out", csvPath])
        #expect(run.status == 1)
        #expect(run.stderr.contains("bad.wav"))
        let lines = try String(contentsOfFile: csvPath, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 3)
        let header = lines[0].split(separator: ",")
        #expect(header.count == 181 && header[0] == "path" && header[1] == "mfcc_0_mean")
        #expect(lines[1].hasPrefix(a + ",") && lines[2].hasPrefix(b + ","))
        let vector = try FeaturePreset.classic180.vector(samples: AudioSignal(contentsOf: a, sampleRate: 22050).samples)
        let written = lines[1].split(separator: ",").dropFirst().compactMap { Float(String($0)) }
        #expect(written.count == 180)
        #expect(zip(written, vector).allSatisfy { abs($0 - $1) <= 1e-5 * max(1, abs($1)) })
    }

    @Test func npyTableGetsASidecarWithPathsAndColumns() throws {
        let workspace = Workspace()
        try FileManager.default.createDirectory(atPath: workspace.file("corpus"), withIntermediateDirectories: true)
        try workspace.stereoTone("corpus/x.wav", seconds: 0.5)
        try workspace.stereoTone("corpus/y.wav", seconds: 0.5)
        let run = try SERRun(["features", workspace.file("corpus"), "--feature", "rms", "--pool", "mean+std",
                              "--out", workspace.file("rms.npy")])
        #expect(run.status == 0, "\(run.stderr)")
        let table = try NumPyArray(contentsOf: workspace.file("rms.npy"))
        #expect(table.shape == [2, 2])
        let sidecar = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: workspace.file("rms.json")))) as? [String: Any]
        #expect((sidecar?["columns"] as? [String]) == ["rms_mean", "rms_std"])
        #expect((sidecar?["paths"] as? [String])?.count == 2)
    }

    /// --pool functionals: eleven named statistics per row, the median and the
    /// extremes being those of the frames `--frames` writes for the same file.
    @Test func functionalsPoolNamesElevenStatisticsOfTheFrames() throws {
        let workspace = Workspace()
        let input = try workspace.stereoTone("tone.wav", seconds: 0.8)
        let run = try SERRun(["features", input, "--feature", "rms", "--pool", "functionals", "--out", "-"])
        #expect(run.status == 0, "\(run.stderr)")
        let lines = run.stdout.split(separator: "\n")
        let header = lines[0].split(separator: ",").map(String.init)
        #expect(header == ["path", "rms_mean", "rms_std", "rms_p10", "rms_p50", "rms_p90", "rms_p10_p90_range",
                           "rms_skewness", "rms_kurtosis", "rms_slope", "rms_min", "rms_max"])
        let row = lines[1].split(separator: ",").dropFirst().compactMap { Double(String($0)) }
        let framesPath = workspace.file("rms.npy")
        #expect(try SERRun(["features", input, "--feature", "rms", "--frames", "--out", framesPath]).status == 0)
        let frames = try NumPyArray(contentsOf: framesPath).values.map(Double.init).sorted()
        #expect(row.count == 11 && frames.count > 10)
        let middle = Double(frames.count - 1) / 2
        let median = (frames[Int(middle.rounded(.down))] + frames[Int(middle.rounded(.up))]) / 2
        #expect(abs(row[3] - median) <= 1e-6 * max(1, median), "median \(row[3]) vs \(median)")
        let extremes = lines[1].split(separator: ",").suffix(2).compactMap { Float(String($0)) }
        #expect(extremes.map(Double.init) == [frames.first, frames.last].compactMap { $0 }, "min and max are frame values")
    }

    @Test func pitchOfAToneIsTrackedAndPooledOverVoicedFrames() throws {
        let workspace = Workspace()
        let path = workspace.file("a3.wav")
        let tone = (0..<22050).map { Float(0.4 * sin(2 * Double.pi * 220 * Double($0) / 22050)) }
        try AudioFileWriter.write(AudioSignal(samples: tone, sampleRate: 22050), to: path, format: .wav)
        let run = try SERRun(["features", path, "--feature", "pyin", "--out", "-"])
        #expect(run.status == 0, "\(run.stderr)")
        let row = run.stdout.split(separator: "\n")[1].split(separator: ",").dropFirst().compactMap { Float(String($0)) }
        #expect(row.count == 3)
        #expect(abs(1200 * log2(row[0] / 220)) < 10, "f0 mean \(row[0]) Hz")
        #expect(row[1] > 0.9, "voiced fraction \(row[1])")
    }

    @Test func usageErrors() throws {
        #expect(try SERRun(["features", "x.wav", "--out", "-"]).status == 2)
        #expect(try SERRun(["features", "x.wav", "--feature", "mfcc", "--preset", "classic180", "--out", "-"]).status == 2)
        #expect(try SERRun(["features", "x.wav", "--feature", "mfcc", "--out", "x.txt"]).status == 2)
        #expect(try SERRun(["features", "x.wav", "--feature", "mfcc", "--n-mfcc", "200", "--out", "-"]).status == 2)
    }
}

@Suite struct FeatureCacheCommandTests {
    func corpus(_ workspace: Workspace, count: Int) throws -> String {
        let folder = workspace.file("clips")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for i in 0..<count {
            let tone = (0..<11025).map { Float(0.3 * sin(2 * Double.pi * (150 + 20 * Double(i)) * Double($0) / 22050)) }
            try AudioFileWriter.write(AudioSignal(samples: tone, sampleRate: 22050), to: "\(folder)/c\(i).wav", format: .wav)
        }
        return folder
    }

    @Test func cachedTablesEqualFreshOnesAndTwoProcessesCanShareTheCache() throws {
        let workspace = Workspace()
        let clips = try corpus(workspace, count: 6)
        let cache = workspace.file("cache")
        let fresh = try SERRun(["features", clips, "--preset", "classic180", "--no-cache", "--out", "-"])
        #expect(fresh.status == 0)
        // Two processes fill the same cache at once.
        let processes = try (0..<2).map { i in
            try SERRun.start(["features", clips, "--preset", "classic180", "--cache", cache, "--out", workspace.file("t\(i).csv")])
        }
        for p in processes { p.waitUntilExit(); #expect(p.terminationStatus == 0) }
        for i in 0..<2 { #expect(try String(contentsOfFile: workspace.file("t\(i).csv"), encoding: .utf8) == fresh.stdout) }
        // A third run reads only the cache and gives the same table.
        let cached = try SERRun(["features", clips, "--preset", "classic180", "--cache", cache, "--out", "-"])
        #expect(cached.stdout == fresh.stdout)
    }

    @Test func aKilledExtractionLeavesAUsableCache() throws {
        let workspace = Workspace()
        let clips = try corpus(workspace, count: 24)
        let cache = workspace.file("cache")
        let process = try SERRun.start(["features", clips, "--preset", "rich", "--cache", cache, "--out", workspace.file("partial.csv")])
        // Wait for the first entries, then kill -9.
        let deadline = Date().addingTimeInterval(30)
        func entries() -> Int { (FileManager.default.enumerator(atPath: cache)?.compactMap { $0 as? String } ?? []).filter { $0.hasSuffix(".npy") }.count }
        while entries() < 2 && Date() < deadline && process.isRunning { usleep(10_000) }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(!FileManager.default.fileExists(atPath: workspace.file("partial.csv")) || entries() == 24)
        // Resuming completes and matches a fresh computation.
        let resumed = try SERRun(["features", clips, "--preset", "rich", "--cache", cache, "--out", "-"])
        let fresh = try SERRun(["features", clips, "--preset", "rich", "--no-cache", "--out", "-"])
        #expect(resumed.status == 0 && resumed.stdout == fresh.stdout)
    }
}
