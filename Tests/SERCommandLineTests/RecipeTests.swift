import Foundation
import SERAudio
import SERTestSupport
import Testing
import Yams

/// The runnable recipes in examples/: the Kubernetes Indexed Job is checked
/// offline (fields, and the Kubernetes schema when kubernetes-validate is
/// installed), the Slurm script's directives and syntax, and the xargs recipe
/// is run for real.
@Suite struct RecipeTests {
    static let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("examples").path

    /// What an Indexed Job of sharded ser work needs; the problems found, empty when none.
    static func problems(inJob text: String) throws -> [String] {
        guard let job = try Yams.load(yaml: text) as? [String: Any] else { return ["not a YAML mapping"] }
        var problems: [String] = []
        if job["apiVersion"] as? String != "batch/v1" { problems.append("apiVersion is not batch/v1") }
        if job["kind"] as? String != "Job" { problems.append("kind is not Job") }
        let spec = job["spec"] as? [String: Any] ?? [:]
        if spec["completionMode"] as? String != "Indexed" { problems.append("completionMode is not Indexed") }
        guard let completions = spec["completions"] as? Int, completions >= 1 else { return problems + ["no completions"] }
        let pod = (spec["template"] as? [String: Any])?["spec"] as? [String: Any] ?? [:]
        if !["Never", "OnFailure"].contains(pod["restartPolicy"] as? String ?? "") { problems.append("restartPolicy must be Never or OnFailure") }
        let containers = pod["containers"] as? [[String: Any]] ?? []
        guard let container = containers.first else { return problems + ["no container"] }
        let arguments = ((container["command"] as? [String]) ?? []) + ((container["args"] as? [String]) ?? [])
        func value(after flag: String) -> String? {
            arguments.firstIndex(of: flag).flatMap { $0 + 1 < arguments.count ? arguments[$0 + 1] : nil }
        }
        if arguments.first != "ser" { problems.append("the container does not run ser") }
        if value(after: "--shards") != String(completions) { problems.append("--shards differs from completions (\(completions))") }
        if arguments.contains("--shard") { problems.append("--shard fixes one shard for every pod") }
        guard let manifest = value(after: "--manifest"), let out = value(after: "--out") else { return problems + ["no --manifest or --out"] }
        let volumes = Set((pod["volumes"] as? [[String: Any]] ?? []).compactMap { volume -> String? in
            guard volume["persistentVolumeClaim"] != nil || volume["csi"] != nil || volume["nfs"] != nil else { return nil }
            return volume["name"] as? String
        })
        let mounts = (container["volumeMounts"] as? [[String: Any]] ?? []).filter { volumes.contains($0["name"] as? String ?? "") }
        let mounted = mounts.compactMap { $0["mountPath"] as? String }
        for path in [manifest, out] where !mounted.contains(where: { path.hasPrefix($0 + "/") }) {
            problems.append("\(path) is not on a shared volume (a PersistentVolumeClaim, CSI or NFS mount)")
        }
        return problems
    }

    @Test func theKubernetesJobHoldsWhatAnIndexedShardedRunNeeds() throws {
        let path = Self.examples + "/kubernetes/ser-features-job.yaml"
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(try Self.problems(inJob: text) == [])
        // The check can fail: each of these breaks the recipe.
        let broken = [
            text.replacingOccurrences(of: "completionMode: Indexed", with: "completionMode: NonIndexed"),
            text.replacingOccurrences(of: "completions: 16", with: "completions: 8"),
            text.replacingOccurrences(of: "mountPath: /data", with: "mountPath: /mnt"),
            text.replacingOccurrences(of: "restartPolicy: Never", with: "restartPolicy: Always"),
        ]
        for variant in broken { #expect(try !Self.problems(inJob: variant).isEmpty) }

        // The Kubernetes API schema, offline, when kubernetes-validate (PyPI) is installed (CI installs it).
        let validator = ProcessInfo.processInfo.environment["PATH", default: ""].split(separator: ":")
            .map { $0 + "/kubernetes-validate" }.first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let validator else {
            print("RecipeTests: kubernetes-validate is not installed (pip install kubernetes-validate); schema check skipped")
            return
        }
        let (status, output) = try Self.run(validator, ["--strict", path])
        #expect(status == 0, "\(output)")
        #expect(output.contains("passed"), "\(output)")
    }

    @Test func theSlurmScriptIsAnArrayRunningShardedSer() throws {
        let path = Self.examples + "/slurm/ser-predict.sbatch"
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let directives = text.split(separator: "\n").filter { $0.hasPrefix("#SBATCH ") }
        #expect(directives.contains { $0.hasPrefix("#SBATCH --array=0-") }, "a contiguous array from 0")
        #expect(text.contains("ser predict --manifest") && text.contains("--out"))
        #expect(!text.contains("--shard "), "the shard comes from the array's variables")
        #expect(try Self.run("/bin/bash", ["-n", path]).status == 0)
        #expect(try Self.run("/bin/bash", ["-n", Self.examples + "/local/xargs-shards.sh"]).status == 0)
    }

    /// The one-machine recipe, run: two shards at once through xargs, then merged.
    @Test func theXargsRecipeShardsAndMerges() throws {
        let workspace = Workspace()
        let tree = workspace.file("tree")
        try FileManager.default.createDirectory(atPath: tree, withIntermediateDirectories: true)
        for take in 0..<6 {
            let samples = SyntheticSpeech.recording(seconds: 0.8, rate: 16000, voiceSpans: [(0.1, 0.7)], seed: UInt64(take), pitch: 120 + Double(take * 20))
            try AudioFileWriter.write(AudioSignal(samples: samples, sampleRate: 16000), to: tree + "/take-\(take).wav", format: .wav)
        }
        var environment = ProcessInfo.processInfo.environment
        environment["PATH"] = URL(fileURLWithPath: SERRun.binary).deletingLastPathComponent().path + ":" + environment["PATH", default: "/usr/bin:/bin"]
        environment["XDG_CACHE_HOME"] = SERRun.testCacheHome
        let out = workspace.file("table.npy")
        let (status, output) = try Self.run(Self.examples + "/local/xargs-shards.sh", [tree, out, "2"], environment: environment)
        #expect(status == 0, "\(output)")
        #expect(output.contains("merged 2 parts, 6 entries"), "\(output)")
        let single = workspace.file("single.npy")
        _ = try SERRun(["features", "--manifest", workspace.file("table.files.jsonl"), "--preset", "functionals", "--out", single])
        #expect(try Data(contentsOf: URL(fileURLWithPath: out)) == Data(contentsOf: URL(fileURLWithPath: single)))
    }

    static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("ser-recipe-\(UUID().uuidString)")
        try Data().write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let handle = try FileHandle(forWritingTo: file)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        process.waitUntilExit()
        try handle.close()
        return (process.terminationStatus, (try? String(contentsOf: file, encoding: .utf8)) ?? "")
    }
}
