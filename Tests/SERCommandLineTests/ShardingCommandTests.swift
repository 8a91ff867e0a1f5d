import Foundation
import SERAudio
import SERSupport
import SERTestSupport
import Testing

/// `ser manifest`, `--shard`, resumption and `ser merge` end to end: shards run
/// as separate processes and their merge equals one process's output, byte for byte.
@Suite(.serialized) struct ShardingCommandTests {
    /// 48 synthetic recordings in RAVDESS-style speaker folders (low voices "sad",
    /// high ones "happy"), one broken file, their manifest, and a labelled
    /// manifest for training.
    static let corpus: (workspace: Workspace, manifest: String, labelled: String) = {
        let workspace = Workspace()
        var lines = ["path,label,speaker"]
        for speaker in 0..<4 {
            try? FileManager.default.createDirectory(atPath: workspace.file("audio/spk\(speaker)"), withIntermediateDirectories: true)
            for take in 0..<6 {
                for (label, pitch) in [("sad", 100.0), ("happy", 225.0)] {
                    let path = workspace.file("audio/spk\(speaker)/\(label)-\(take).wav")
                    let samples = SyntheticSpeech.recording(seconds: 1.0, rate: 16000, voiceSpans: [(0.15, 0.85)],
                                                            seed: UInt64(speaker * 10 + take), pitch: pitch + Double(take * 5 + speaker * 3))
                    try? AudioFileWriter.write(AudioSignal(samples: samples, sampleRate: 16000), to: path, format: .wav)
                    lines.append("\(path),\(label),spk\(speaker)")
                }
            }
        }
        try? Data("RIFF, but nothing else".utf8).write(to: URL(fileURLWithPath: workspace.file("audio/spk0/broken.wav")))
        let labelled = workspace.file("labelled.csv")
        try? Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: labelled))
        let manifest = workspace.file("files.jsonl")
        _ = try? SERRun(["manifest", workspace.file("audio"), "--hash", "--sizes", "--out", manifest])
        return (workspace, manifest, labelled)
    }()

    static let model: String = {
        let model = corpus.workspace.file("model.safetensors")
        _ = try? SERRun(["train", "--manifest", corpus.labelled, "--architecture", "logreg", "--features", "classic180", "--out", model])
        return model
    }()

    static func bytes(_ path: String) -> Data? { try? Data(contentsOf: URL(fileURLWithPath: path)) }

    /// Runs `arguments` once per shard, all at once as separate processes, and waits.
    static func runShards(_ count: Int, _ arguments: [String]) throws -> [Int32] {
        let processes = try (0..<count).map { try SERRun.start(arguments + ["--shard", "\($0)/\(count)"]) }
        for process in processes { process.waitUntilExit() }
        return processes.map(\.terminationStatus)
    }

    @Test func manifestListsTheTreeRelativeToItself() throws {
        let text = try String(contentsOfFile: Self.corpus.manifest, encoding: .utf8)
        let lines = text.split(separator: "\n")
        #expect(lines.count == 49)
        let first = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        #expect(first["path"] as? String == "audio/spk0/broken.wav")
        #expect((first["sha256"] as? String)?.count == 64 && first["size"] as? Int == 22)
        #expect(try SERRun(["manifest", Self.corpus.workspace.file("audio"), "--out", Self.corpus.workspace.file("x.txt")]).status == 2)
    }

    @Test func shardedFeaturesMergeToTheOneProcessTable() throws {
        let w = Self.corpus.workspace
        for ext in ["npy", "csv"] {
            let common = ["features", "--manifest", Self.corpus.manifest, "--feature", "mfcc", "--pool", "mean+std", "--no-cache"]
            let single = try SERRun(common + ["--out", w.file("single.\(ext)")])
            #expect(single.status == 1 && single.stderr.contains("broken.wav"), "the broken file fails, the rest are written: \(single.stderr)")
            let statuses = try Self.runShards(3, common + ["--out", w.file("sharded.\(ext)")])
            #expect(statuses.sorted() == [0, 0, 1], "only the broken file's shard reports a failure: \(statuses)")
            let merged = try SERRun(["merge", "--out", w.file("sharded.\(ext)")])
            #expect(merged.status == 0, "\(merged.stderr)")
            #expect(merged.stderr.contains("merged 3 parts, 49 entries"), "\(merged.stderr)")
            let expected = try #require(Self.bytes(w.file("single.\(ext)")))
            #expect(Self.bytes(w.file("sharded.\(ext)")) == expected, "\(ext)")
            if ext == "npy" {
                #expect(Self.bytes(w.file("sharded.json")) == Self.bytes(w.file("single.json")))
                let table = try NumPyArray(contentsOf: w.file("single.npy"))
                #expect(table.shape == [48, 40])
            }
        }
    }

    @Test func shardedPredictionsMergeToTheOneProcessAnswers() throws {
        let w = Self.corpus.workspace
        #expect(FileManager.default.fileExists(atPath: Self.model))
        let common = ["predict", "--manifest", Self.corpus.manifest, "--model", Self.model]
        let single = try SERRun(common + ["--out", w.file("answers.jsonl")])
        #expect(single.status == 1, "\(single.stderr)")
        let statuses = try Self.runShards(3, common + ["--out", w.file("parts.jsonl")])
        #expect(statuses.filter { $0 == 1 }.count == 1 && statuses.filter { $0 == 0 }.count == 2, "the broken file's shard says so: \(statuses)")
        #expect(try SERRun(["merge", "--out", w.file("parts.jsonl")]).status == 0)
        let expected = try #require(Self.bytes(w.file("answers.jsonl")))
        #expect(Self.bytes(w.file("parts.jsonl")) == expected)
        let lines = String(decoding: expected, as: UTF8.self).split(separator: "\n")
        #expect(lines.count == 49)
        let answers = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(answers.first?["error"] != nil, "the broken file's line says why")
        let right = answers.filter { ($0["path"] as? String)?.contains("/\($0["emotion"] as? String ?? "?")-") == true }
        #expect(right.count >= 40, "the model hears pitch: \(right.count) of 48")

        // CSV too, and grouped by speaker: each speaker's files go to one shard, so answers adapt as in one run.
        let csv = try SERRun(common + ["--out", w.file("answers.csv"), "--speakers", "by-folder"])
        #expect(csv.status == 1)
        _ = try Self.runShards(2, common + ["--out", w.file("parts.csv"), "--speakers", "by-folder"])
        #expect(try SERRun(["merge", "--out", w.file("parts.csv")]).status == 0)
        #expect(Self.bytes(w.file("parts.csv")) == Self.bytes(w.file("answers.csv")))
    }

    /// A shard killed with SIGKILL after some checkpoints resumes from the last
    /// one, and the merge is still identical.
    @Test func aKilledShardResumesAndTheMergeIsUnchanged() throws {
        let w = Self.corpus.workspace
        let common = ["predict", "--manifest", Self.corpus.manifest, "--model", Self.model, "--checkpoint-every", "2"]
        let reference = try SERRun(common + ["--out", w.file("reference.jsonl")])
        #expect(reference.status == 1 && FileManager.default.fileExists(atPath: w.file("reference.jsonl")),
                "the one-process run answers every file but the broken one: \(reference.status) \(reference.stderr)")
        let part = w.file("killed.part-00000-of-00002.jsonl")
        let process = try SERRun.start(common + ["--out", w.file("killed.jsonl"), "--shard", "0/2"])
        let deadline = Date().addingTimeInterval(120)
        while process.isRunning && !FileManager.default.fileExists(atPath: part + ".checkpoint") && Date() < deadline { usleep(2000) }
        usleep(150_000)
        let killedMidway = process.isRunning
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(killedMidway, "the shard was still working when killed")
        #expect(!FileManager.default.fileExists(atPath: PartRecord(part)), "a killed shard leaves no completion record")

        let resumed = try SERRun(common + ["--out", w.file("killed.jsonl"), "--shard", "0/2"])
        #expect(resumed.stderr.contains("resumed"), "\(resumed.stderr)")
        _ = try SERRun(common + ["--out", w.file("killed.jsonl"), "--shard", "1/2"])
        let again = try SERRun(common + ["--out", w.file("killed.jsonl"), "--shard", "1/2"])
        #expect(again.stderr.contains("already complete"), "\(again.stderr)")
        #expect(try SERRun(["merge", "--out", w.file("killed.jsonl")]).status == 0)
        #expect(Self.bytes(w.file("killed.jsonl")) == Self.bytes(w.file("reference.jsonl")))
    }

    @Test func theEnginesVariablesPickTheShardAndMergeNamesWhatIsMissing() throws {
        let w = Self.corpus.workspace
        let common = ["features", "--manifest", Self.corpus.manifest, "--feature", "zero_crossing_rate", "--no-cache"]
        var environment = ProcessInfo.processInfo.environment
        for name in ["JOB_COMPLETION_INDEX", "SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_MAX", "SLURM_ARRAY_TASK_COUNT"] {
            environment[name] = nil
        }
        var kubernetes = environment
        kubernetes["JOB_COMPLETION_INDEX"] = "1"
        _ = try SERRun(common + ["--shards", "3", "--out", w.file("k8s.csv")], environment: kubernetes)
        _ = try SERRun(common + ["--shard", "1/3", "--out", w.file("explicit.csv")])
        let fromEnvironment = try #require(Self.bytes(w.file("k8s.part-00001-of-00003.csv")))
        #expect(fromEnvironment == Self.bytes(w.file("explicit.part-00001-of-00003.csv")))
        #expect(try SERRun(common + ["--out", w.file("k8s.csv")], environment: kubernetes).status == 2, "an index without --shards is refused")

        var slurm = environment
        slurm["SLURM_ARRAY_TASK_ID"] = "12"
        slurm["SLURM_ARRAY_TASK_MIN"] = "10"
        slurm["SLURM_ARRAY_TASK_COUNT"] = "3"
        _ = try SERRun(common + ["--out", w.file("slurm.csv")], environment: slurm)
        _ = try SERRun(common + ["--shard", "2/3", "--out", w.file("explicit.csv")])
        #expect(Self.bytes(w.file("slurm.part-00002-of-00003.csv")) == Self.bytes(w.file("explicit.part-00002-of-00003.csv")))

        // Shards 1 and 2 of "explicit" exist, 0 does not.
        let merge = try SERRun(["merge", "--out", w.file("explicit.csv")])
        #expect(merge.status == 1)
        #expect(merge.stderr.contains("explicit.part-00000-of-00003.csv"), "\(merge.stderr)")
        // A truncated part is named too.
        _ = try SERRun(common + ["--shard", "0/3", "--out", w.file("explicit.csv")])
        let part = w.file("explicit.part-00002-of-00003.csv")
        let data = try #require(Self.bytes(part))
        try data.prefix(data.count - 3).write(to: URL(fileURLWithPath: part))
        let damaged = try SERRun(["merge", "--out", w.file("explicit.csv")])
        #expect(damaged.status == 1 && damaged.stderr.contains("explicit.part-00002-of-00003.csv") && damaged.stderr.contains("damaged"), "\(damaged.stderr)")
        #expect(!FileManager.default.fileExists(atPath: w.file("explicit.csv")))
    }

    /// A plain file list labels its files by their names, as folders given directly do.
    @Test func labelledCommandsReadPlainManifests() throws {
        let w = Self.corpus.workspace
        let actor = w.file("ravdess/Actor_01")
        try FileManager.default.createDirectory(atPath: actor, withIntermediateDirectories: true)
        // Emotions 03 (happy) and 04 (sad), two statements each: distinct recordings.
        for (index, (emotion, source)) in [("03", "happy-0"), ("03", "happy-1"), ("04", "sad-0"), ("04", "sad-1")].enumerated() {
            try FileManager.default.copyItem(atPath: w.file("audio/spk\(index)/\(source).wav"),
                                             toPath: actor + "/03-01-\(emotion)-01-0\(index % 2 + 1)-01-01.wav")
        }
        let manifest = w.file("ravdess.jsonl")
        #expect(try SERRun(["manifest", w.file("ravdess"), "--out", manifest]).status == 0)
        let scan = try SERRun(["corpus", "scan", "--manifest", manifest, "--format", "json"])
        #expect(scan.status == 0, "\(scan.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(scan.stdout.utf8)) as? [String: Any])
        #expect(object["usable"] as? Int == 4, "\(object)")
        let corpora = object["corpora"] as? [[String: Any]]
        #expect(corpora?.first?["corpus"] as? String == "RAVDESS", "\(corpora ?? [])")
    }
}

/// Where a part's completion record is (as `SERBatch.PartRecord.path(for:)` names it).
private func PartRecord(_ part: String) -> String { part + ".complete" }
