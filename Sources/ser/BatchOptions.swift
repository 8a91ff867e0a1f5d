import ArgumentParser
import Foundation
import SERBatch
import SERSupport

/// Input from a manifest, and the shard of it this process takes: shared by the
/// batch commands (`features`, `predict`).
struct BatchOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Read the input files from this manifest (ser manifest; JSONL or CSV with a path column) instead of paths. Use it for large or shared trees: the list, and so the shards, are the same on every machine.", valueName: "files.jsonl"))
    var manifest: String?

    @Option(help: ArgumentHelp("Take only shard I of N of the inputs (I from 0), by a stable hash of each file's content hash or path, and write the part FILE.part-0000I-of-0000N.EXT beside --out. Run every shard (as separate processes or machines), then `ser merge`. An interrupted shard resumes where it stopped; a finished one is not redone.", valueName: "I/N"))
    var shard: String?

    @Option(help: ArgumentHelp("The shard count when the work engine gives the index: a Kubernetes Indexed Job's JOB_COMPLETION_INDEX (give the Job's completions here). Under a Slurm job array both come from SLURM_ARRAY_TASK_ID/MIN/COUNT and this can be left out.", valueName: "N"))
    var shards: Int?

    @Option(help: ArgumentHelp("Files computed between checkpoints of a table written to a file (default: 8 per core). Lower it when files are slow and interruptions likely; each checkpoint flushes the output to disk.", valueName: "n"))
    var checkpointEvery: Int?

    func validate() throws {
        if let checkpointEvery, checkpointEvery < 1 { throw ValidationError("--checkpoint-every must be at least 1.") }
    }

    /// Entries between checkpoints.
    var chunkSize: Int { checkpointEvery ?? 8 * defaultWorkerCount }

    /// The shard this process takes: `--shard`, else the work engine's environment; nil for all inputs.
    func resolvedShard(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Shard? {
        do {
            if let shard {
                let parsed = try Shard(parsing: shard)
                if let shards, shards != parsed.count {
                    throw ValidationError("--shards \(shards) disagrees with --shard \(shard).")
                }
                return parsed
            }
            return try Shard.fromEnvironment(environment, shards: shards)
        } catch let error as BatchError {
            throw ValidationError(error.description)
        }
    }

    /// The inputs: the manifest's entries, or `paths` walked for audio files (sorted), as a manifest.
    func inputs(paths: [String]) throws -> FileManifest {
        if let manifest {
            guard paths.isEmpty else { throw ValidationError("give input paths or --manifest, not both.") }
            do { return try FileManifest(contentsOf: manifest) } catch let error as BatchError {
                throw CommandFailure(error.description)
            }
        }
        let items = InputFiles.expand(paths, recursive: true)
        return FileManifest(entries: items.map { ManifestEntry(path: $0.path) }, baseDirectory: FileManager.default.currentDirectoryPath)
    }
}

/// `ser manifest`: the list of files batch commands read and shard.
struct ManifestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "manifest",
        abstract: "List audio files as a JSONL manifest for batch commands and sharded runs.",
        discussion: """
        Folders are walked for audio files (sorted); files given by name are listed as they are. \
        Paths below the manifest's folder are written relative to it, so the tree and its \
        manifest can be mounted anywhere (a volume in a Kubernetes pod, a cluster's shared disk). \
        With --hash each entry carries the SHA-256 of its bytes: shards are then chosen by \
        content, and a file that is renamed stays in its shard.

        Examples:
          ser manifest corpora/ --out files.jsonl
          ser manifest /archive/calls --hash --sizes --out /archive/files.jsonl
          ser features --manifest files.jsonl --preset whisper --shard 3/16 --out table.npy
        """
    )

    @Argument(help: ArgumentHelp("Audio files or folders.", valueName: "path"))
    var paths: [String]

    @Option(name: .shortAndLong, help: ArgumentHelp("The manifest to write (.jsonl).", valueName: "files.jsonl"))
    var out: String

    @Flag(help: "Record each file's size in bytes.")
    var sizes = false

    @Flag(help: "Record each file's SHA-256 (reads every byte; on all cores). Shards then follow content, not names.")
    var hash = false

    func validate() throws {
        guard (out as NSString).pathExtension.lowercased() == "jsonl" else { throw ValidationError("--out must end in .jsonl.") }
    }

    func run() throws {
        let files = InputFiles.expand(paths, recursive: true).map(\.path)
        var missing = false
        for file in files where !FileManager.default.fileExists(atPath: file) {
            Terminal.printError("ser: \(file): no such file or folder")
            missing = true
        }
        let present = files.filter { FileManager.default.fileExists(atPath: $0) }
        guard !present.isEmpty else { throw CommandFailure("no audio files found in \(paths.joined(separator: ", "))") }
        let progress = ProgressBar(total: present.count, label: "manifest", enabled: Terminal.showsProgress && hash)
        let (manifest, failures) = FileManifest.listing(present, manifestPath: out, sizes: sizes, hashes: hash,
                                                        onProgress: { progress.update(finished: $0) })
        progress.finish()
        for failure in failures { Terminal.printError("ser: \(failure.path): \(failure.reason)") }
        try AtomicFile.write(manifest.jsonLinesData(), to: out)
        Terminal.printError("ser: wrote \(manifest.entries.count) files to \(out)")
        if missing || !failures.isEmpty { throw ExitCode.someInputsFailed }
    }
}

/// `ser merge`: the parts of a sharded run, as one file.
struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Join the parts of a sharded run into the file one process would have written.",
        discussion: """
        Checks that all N parts are present and complete (each has its .complete record, size and \
        checksum match), that they come from one command over one manifest, and that every \
        manifest entry is in exactly one part; then writes the entries in manifest order, byte \
        for byte what the command writes without --shard, for JSONL, CSV and NPY tables (with \
        the .json sidecar). Without PARTS it takes the parts found beside --out. A missing, \
        unfinished or damaged part is an error that names it.

        Examples:
          ser merge --out table.npy
          ser merge emotions.part-*.jsonl --out emotions.jsonl
        """
    )

    @Argument(help: ArgumentHelp("The part files (default: every FILE.part-I-of-N.EXT beside --out).", valueName: "part"))
    var parts: [String] = []

    @Option(name: .shortAndLong, help: ArgumentHelp("The merged file to write (.jsonl, .csv or .npy).", valueName: "file"))
    var out: String

    func run() throws {
        let started = ContinuousClock.now
        let given = parts.isEmpty ? PartMerger.discoverParts(of: out) : parts
        do {
            let summary = try PartMerger.merge(parts: given, into: out)
            let elapsed = (ContinuousClock.now - started).components
            let seconds = Double(elapsed.seconds) + Double(elapsed.attoseconds) * 1e-18
            Terminal.printError(String(format: "ser: merged %d parts, %d entries (%d records) into %@ in %.2f s", summary.parts,
                                       summary.entries, summary.records, out, seconds)
                                + (summary.failedEntries > 0 ? "; \(summary.failedEntries) entries had failed in their shards" : ""))
        } catch let error as BatchError {
            throw CommandFailure(error.description)
        }
    }
}
