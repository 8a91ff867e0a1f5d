import Foundation
import SERFeatures
import SERModels
import SERSupport
import Testing

/// `kill -9` at random moments of the commands that write files: `ser train`
/// (features into the cache, cross-validation, the checkpoint, the refit, the
/// model write), `ser features` into the cache, and `ser convert`. Each command
/// is first run to the end, untouched, for its result and its duration; then,
/// for each kill point, a fresh run is killed at a random moment of that
/// duration. After each kill every output is either absent or whole (a
/// checkpoint or cache entry that reads back, a final file equal to the clean
/// run's), and a rerun to the end gives the clean run's result, byte for byte.
///
/// 5 kill points per command by default; `SER_KILL_POINTS` sets another number
/// (`benchmarks/kill_anywhere.sh` runs 20) and `SER_KILL_SEED` replays the moments of a run.
@Suite(.serialized) struct KillAnywhereTests {
    static let killPoints = ProcessInfo.processInfo.environment["SER_KILL_POINTS"].flatMap(Int.init) ?? 5
    static let seed = ProcessInfo.processInfo.environment["SER_KILL_SEED"].flatMap(UInt64.init)
        ?? UInt64(Date().timeIntervalSince1970)

    /// Runs `ser` to the end in `environment`; returns its duration, after checking it succeeded.
    @discardableResult
    static func runToEnd(_ arguments: [String], environment: [String: String],
                         sourceLocation: SourceLocation = #_sourceLocation) throws -> Double {
        let started = Date()
        let run = try SERRun(arguments, environment: ProcessInfo.processInfo.environment.merging(environment) { $1 })
        #expect(run.status == 0, "ser \(arguments.joined(separator: " ")): \(run.stderr)", sourceLocation: sourceLocation)
        return Date().timeIntervalSince(started)
    }

    /// Starts `ser`, kills it with SIGKILL after `delay` seconds (unless it ended
    /// first), and says whether the kill landed.
    static func killRun(after delay: Double, _ arguments: [String], environment: [String: String]) throws -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: SERRun.binary)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(delay)
        while process.isRunning && Date() < deadline { usleep(2_000) }
        let killed = process.isRunning
        if killed { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        return killed && process.terminationReason == .uncaughtSignal
    }

    /// The kill moments of one command: uniform over the clean run's duration
    /// (from process start, so some land in start-up and some in the last write).
    static func moments(for command: String, duration: Double) -> [Double] {
        var generator = SplitMix64(seed: seed ^ UInt64(truncatingIfNeeded: command.hashValue & 0xFFFF))
        print("kill moments of \(command) (SER_KILL_SEED=\(seed)), clean run \(String(format: "%.2f", duration)) s")
        return (0..<killPoints).map { _ in Double(generator.next() >> 11) / Double(1 << 53) * duration * 1.05 }
    }

    /// Files in `directory` (recursively) whose names end with `suffix`.
    static func files(in directory: String, endingWith suffix: String) -> [String] {
        (FileManager.default.enumerator(atPath: directory)?.compactMap { $0 as? String } ?? [])
            .filter { $0.hasSuffix(suffix) }.map { directory + "/" + $0 }
    }

    /// Every cache entry reads back as one vector of `count` values.
    static func expectWholeCacheEntries(in cache: String, count: Int, sourceLocation: SourceLocation = #_sourceLocation) {
        for entry in files(in: cache, endingWith: ".npy") {
            let array = try? NumPyArray(contentsOf: entry)
            #expect(array?.shape == [count], "a torn cache entry: \(entry)", sourceLocation: sourceLocation)
        }
    }

    /// `path` is absent or holds exactly `expected`.
    static func expectAbsentOrWhole(_ path: String, equalTo expected: Data, after moment: Double,
                                    sourceLocation: SourceLocation = #_sourceLocation) {
        guard let data = FileManager.default.contents(atPath: path) else { return }
        #expect(data == expected, "\(path) is neither absent nor the finished file after a kill at \(moment) s",
                sourceLocation: sourceLocation)
    }

    /// A model file as two runs of one recipe must agree on it: its tensors and
    /// metadata, without the times it records (when it was made, how long folds took).
    static func comparableModel(at path: String) -> [String: String]? {
        guard let file = try? SafeTensorsFile(contentsOf: path) else { return nil }
        func timeless(_ value: Any) -> Any {
            if let object = value as? [String: Any] {
                return object.filter { !["created", "seconds"].contains($0.key) }.mapValues(timeless)
            }
            if let array = value as? [Any] { return array.map(timeless) }
            return value
        }
        var comparable = file.metadata.mapValues { text -> String in
            guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)),
                  let data = try? JSONSerialization.data(withJSONObject: timeless(object), options: [.sortedKeys]) else { return text }
            return String(decoding: data, as: UTF8.self)
        }
        for (name, tensor) in file.tensors { comparable["tensor " + name] = "\(tensor.shape) \(tensor.values.map(\.bitPattern))" }
        return comparable
    }

    /// The rerun's model equals an uninterrupted run's in every tensor and every
    /// metadata value but the times it records.
    @Test func trainingKilledAnywhereLeavesNoTornFileAndResumesToTheSameModel() throws {
        let workspace = Workspace()
        let manifest = ModelCommandTests.corpus.manifest    // two emotions told apart by pitch, four speakers
        func arguments(_ out: String) -> [String] {
            ["train", "--manifest", manifest, "--features", "classic180", "--architecture", "mlp", "--cv", "speakers:2",
             "--epochs", "12", "--out", out]
        }
        func environment(_ point: Int) -> [String: String] { ["XDG_CACHE_HOME": workspace.file("cache-\(point)")] }
        // Every run writes the same path: the model file records the command that made it.
        let out = workspace.file("model.safetensors")
        let duration = try Self.runToEnd(arguments(out), environment: environment(-1))
        let expected = try #require(Self.comparableModel(at: out))
        for (point, moment) in Self.moments(for: "train", duration: duration).enumerated() {
            try FileManager.default.removeItem(atPath: out)
            _ = try Self.killRun(after: moment, arguments(out), environment: environment(point))
            if FileManager.default.fileExists(atPath: out) {
                #expect(Self.comparableModel(at: out) == expected, "a model file that is not the finished one after a kill at \(moment) s")
            }
            for checkpoint in Self.files(in: workspace.path, endingWith: ".checkpoint") {
                #expect((try? SafeTensorsFile(contentsOf: checkpoint)) != nil, "a torn checkpoint after a kill at \(moment) s")
            }
            Self.expectWholeCacheEntries(in: workspace.file("cache-\(point)"), count: FeaturePreset.classic180.dimension)
            try Self.runToEnd(arguments(out), environment: environment(point))
            #expect(Self.comparableModel(at: out) == expected,
                    "the model after a kill at \(moment) s and a rerun differs from an uninterrupted run's")
        }
    }

    @Test func featureExtractionKilledAnywhereLeavesAUsableCacheAndTheSameTable() throws {
        let workspace = Workspace()
        let manifest = ModelCommandTests.corpus.manifest
        func arguments(_ point: Int) -> [String] {
            ["features", "--manifest", manifest, "--preset", "rich", "--cache", workspace.file("cache-\(point)"),
             "--out", workspace.file("table-\(point).csv")]
        }
        let duration = try Self.runToEnd(arguments(-1), environment: [:])
        let expected = try #require(FileManager.default.contents(atPath: workspace.file("table--1.csv")))
        for (point, moment) in Self.moments(for: "features", duration: duration).enumerated() {
            _ = try Self.killRun(after: moment, arguments(point), environment: [:])
            Self.expectAbsentOrWhole(workspace.file("table-\(point).csv"), equalTo: expected, after: moment)
            Self.expectWholeCacheEntries(in: workspace.file("cache-\(point)"), count: FeaturePreset.rich.dimension)
            try Self.runToEnd(arguments(point), environment: [:])
            #expect(FileManager.default.contents(atPath: workspace.file("table-\(point).csv")) == expected,
                    "the table after a kill at \(moment) s and a rerun differs from an uninterrupted run's")
        }
    }

    @Test func conversionKilledAnywhereLeavesNoTornFile() throws {
        let workspace = Workspace()
        // Five minutes of 48 kHz stereo, resampled to 16 kHz FLAC: long enough that most kills land mid-write.
        let input = try workspace.stereoChirp("long.wav", minutes: 5)
        func arguments(_ out: String) -> [String] { ["convert", input, "--out", out, "--sample-rate", "16000", "--mono", "--format", "flac"] }
        let reference = workspace.file("reference.flac")
        let duration = try Self.runToEnd(arguments(reference), environment: [:])
        let expected = try #require(FileManager.default.contents(atPath: reference))
        for (point, moment) in Self.moments(for: "convert", duration: duration).enumerated() {
            let out = workspace.file("out-\(point).flac")
            _ = try Self.killRun(after: moment, arguments(out), environment: [:])
            Self.expectAbsentOrWhole(out, equalTo: expected, after: moment)
            try Self.runToEnd(arguments(out), environment: [:])
            #expect(FileManager.default.contents(atPath: out) == expected,
                    "the conversion after a kill at \(moment) s and a rerun differs from an uninterrupted run's")
        }
    }
}
