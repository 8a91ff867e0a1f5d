import Foundation
import SERSupport

/// How a batch command's table is laid out on disk.
public enum TableLayout: Sendable, Equatable {
    /// One JSON object per line, no header.
    case jsonLines
    /// A header line, then rows.
    case csv(header: String)
    /// A `.npy` matrix of float32 rows of this many columns, with a JSON sidecar
    /// (`FILE.json`) that names each row's file.
    case npy(columns: Int)

    var name: String {
        switch self {
        case .jsonLines: return "jsonl"
        case .csv: return "csv"
        case .npy: return "npy"
        }
    }

    /// What comes before the records, for a table of `rows` records.
    public func header(rows: Int) -> Data {
        switch self {
        case .jsonLines: return Data()
        case .csv(let header): return Data(header.utf8)
        case .npy(let columns): return NumPyArray.header(shape: [rows, columns])
        }
    }
}

/// What one manifest entry contributes to a table.
public struct EntryOutput: Sendable {
    /// The entry's records, encoded as the layout stores them (lines, rows, or
    /// little-endian float32 values).
    public var bytes: Data
    /// How many records (lines or rows) the bytes hold.
    public var records: Int
    /// For `.npy` tables: the file each record came from, for the sidecar.
    public var rowPaths: [String]
    /// Why the entry failed, if it did (its records, if any, say so too).
    public var failure: String?

    public init(bytes: Data, records: Int, rowPaths: [String] = [], failure: String? = nil) {
        self.bytes = bytes
        self.records = records
        self.rowPaths = rowPaths
        self.failure = failure
    }
}

/// What makes two runs' outputs the same: the command and the options that
/// shape its output, the manifest, and the shard.
public struct RunIdentity: Codable, Equatable, Sendable {
    /// The command and every option that changes its output (model digest, feature settings, layout).
    public var fingerprint: String
    /// `FileManifest.digest` of the whole input list.
    public var manifestDigest: String
    /// How many entries the whole input list holds.
    public var manifestEntries: Int
    public var shard: Int
    public var shards: Int

    public init(fingerprint: String, manifestDigest: String, manifestEntries: Int, shard: Shard?) {
        self.fingerprint = fingerprint
        self.manifestDigest = manifestDigest
        self.manifestEntries = manifestEntries
        self.shard = shard?.index ?? 0
        self.shards = shard?.count ?? 1
    }

    enum CodingKeys: String, CodingKey {
        case fingerprint, manifestDigest = "manifest_digest", manifestEntries = "manifest_entries", shard, shards
    }
}

/// The record beside a finished part (`PART.complete`): which entries it holds,
/// where each one's records are, and a checksum of the part.
public struct PartRecord: Codable, Equatable, Sendable {
    public var format = "ser-part-1"
    public var identity: RunIdentity
    public var layout: String
    /// Bytes before the first record (CSV header, `.npy` header).
    public var headerBytes: Int
    /// `.npy` tables: values per row.
    public var columns: Int?
    /// The manifest indices of the part's entries, ascending.
    public var indices: [Int]
    /// Per entry: how many records it wrote.
    public var recordCounts: [Int]
    /// Per entry: how many bytes its records take.
    public var byteCounts: [Int]
    /// How many entries failed.
    public var failures: Int
    /// The part file's size and SHA-256.
    public var bytes: Int
    public var sha256: String
    /// `.npy` tables: the sidecar's SHA-256.
    public var sidecarSHA256: String?

    /// The entry count (`indices.count`).
    public var entries: Int { indices.count }

    enum CodingKeys: String, CodingKey {
        case format, identity, layout, headerBytes = "header_bytes", columns, indices, recordCounts = "record_counts",
             byteCounts = "byte_counts", failures, bytes, sha256, sidecarSHA256 = "sidecar_sha256"
    }

    /// Where the record of `part` lives.
    public static func path(for part: String) -> String { part + ".complete" }
}

/// The `.json` sidecar of an `.npy` table: the same bytes whoever writes it.
public enum TableSidecar {
    /// `table.npy` → `table.json`.
    public static func path(for table: String) -> String { (table as NSString).deletingPathExtension + ".json" }

    /// The sidecar's bytes: `object` as pretty-printed JSON with sorted keys.
    public static func data(_ object: [String: Any]) throws -> Data {
        try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
    }
}

/// Writes one table (a whole run's output, or one shard's part) entry by entry
/// in manifest order, so that a killed run resumes where it stopped.
///
/// Records go to an append-only journal beside the destination
/// (`DEST.journal`, `DEST.journal-index`), a chunk at a time; after each chunk
/// both are flushed to disk and a checkpoint (`DEST.checkpoint`) is replaced
/// atomically with their lengths. A restart with the same `RunIdentity` cuts
/// the journal back to the checkpoint and goes on from the next entry. When
/// every entry is done the table is assembled atomically (header, then the
/// journal), with its sidecar, then its completion record for a part, and the
/// journal is removed. A part whose record matches is left alone: rerunning a
/// finished shard does nothing.
public struct TableWriter: Sendable {
    public var destination: String
    public var layout: TableLayout
    public var identity: RunIdentity
    /// Whether to write `PartRecord` beside the table (parts of a sharded run).
    public var writesCompletionRecord: Bool
    /// Entries computed at once between checkpoints.
    public var chunkSize: Int

    public init(destination: String, layout: TableLayout, identity: RunIdentity, writesCompletionRecord: Bool,
                chunkSize: Int = max(8, 8 * defaultWorkerCount)) {
        self.destination = destination
        self.layout = layout
        self.identity = identity
        self.writesCompletionRecord = writesCompletionRecord
        self.chunkSize = max(1, chunkSize)
    }

    /// What a run did.
    public struct Summary: Sendable {
        /// Entries in the table.
        public var entries: Int
        /// Records (lines or rows) in the table.
        public var records: Int
        /// The failed entries' manifest indices and messages, this run's and
        /// an interrupted earlier one's (empty when the part was already complete).
        public var failures: [(index: Int, message: String)]
        /// How many entries failed, however long ago.
        public var failedEntries: Int
        /// Entries found done from an earlier, interrupted run.
        public var resumed: Int
        /// The part was already complete: nothing was computed or written.
        public var alreadyComplete: Bool
    }

    var journalPath: String { destination + ".journal" }
    var indexPath: String { destination + ".journal-index" }
    var checkpointPath: String { destination + ".checkpoint" }

    /// Produces and writes the table.
    ///
    /// - Parameters:
    ///   - entries: the manifest indices to write, ascending.
    ///   - sidecar: for `.npy` tables, the sidecar's bytes given every row's path.
    ///   - onProgress: entries done so far (resumed ones included) and the total.
    ///   - produce: one entry's output; called concurrently on all cores.
    public func run(entries: [Int], sidecar: (([String]) throws -> Data)? = nil,
                    onProgress: (@Sendable (_ done: Int) -> Void)? = nil,
                    produce: @Sendable (Int) -> EntryOutput) throws -> Summary {
        if writesCompletionRecord, let record = try? existingRecord(), record.identity == identity, record.indices == entries,
           (try? PartVerifier.verify(part: destination, record: record)) != nil {
            return Summary(entries: record.entries, records: record.recordCounts.reduce(0, +), failures: [],
                           failedEntries: record.failures, resumed: record.entries, alreadyComplete: true)
        }
        // A record from another run must not outlive the part it describes.
        try? FileManager.default.removeItem(atPath: PartRecord.path(for: destination))

        var journal = try Journal(writer: self, identity: identity)
        let resumed = journal.done.count
        guard journal.done.map(\.index) == Array(entries.prefix(resumed)) else {
            throw BatchError.output(path: destination, reason: "its journal lists other entries than this run's; delete \(journalPath), \(indexPath) and \(checkpointPath)")
        }
        onProgress?(resumed)
        var position = resumed
        while position < entries.count {
            let chunk = Array(entries[position..<min(position + chunkSize, entries.count)])
            let outputs = parallelMap(count: chunk.count) { produce(chunk[$0]) }
            try journal.append(zip(chunk, outputs).map { ($0, $1) })
            position += chunk.count
            onProgress?(position)
        }
        let summary = try journal.finish(into: self, sidecar: sidecar)
        return Summary(entries: entries.count, records: summary.records, failures: summary.failures,
                       failedEntries: summary.failures.count, resumed: resumed, alreadyComplete: false)
    }

    func existingRecord() throws -> PartRecord {
        let data = try Data(contentsOf: URL(fileURLWithPath: PartRecord.path(for: destination)))
        return try JSONDecoder().decode(PartRecord.self, from: data)
    }
}

/// What the journal keeps per entry.
struct JournalEntry: Codable {
    var index: Int
    var records: Int
    var bytes: Int
    var paths: [String]?
    var failure: String?

    enum CodingKeys: String, CodingKey { case index = "i", records = "n", bytes = "b", paths = "p", failure = "e" }
}

/// The checkpoint: how much of the journal is known to be on disk.
struct JournalCheckpoint: Codable {
    var identity: RunIdentity
    var entries: Int
    var journalBytes: UInt64
    var indexBytes: UInt64
}

/// The append-only journal of a `TableWriter` run.
struct Journal {
    let writer: TableWriter
    let identity: RunIdentity
    private(set) var done: [JournalEntry] = []
    private var journalBytes: UInt64 = 0
    private var indexBytes: UInt64 = 0
    private let data: FileHandle
    private let index: FileHandle

    init(writer: TableWriter, identity: RunIdentity) throws {
        self.writer = writer
        self.identity = identity
        let manager = FileManager.default
        var checkpoint: JournalCheckpoint?
        if let saved = try? Data(contentsOf: URL(fileURLWithPath: writer.checkpointPath)),
           let decoded = try? JSONDecoder().decode(JournalCheckpoint.self, from: saved), decoded.identity == identity,
           manager.fileExists(atPath: writer.journalPath), manager.fileExists(atPath: writer.indexPath) {
            checkpoint = decoded
        } else {
            for path in [writer.journalPath, writer.indexPath] where !manager.createFile(atPath: path, contents: nil) {
                throw BatchError.output(path: path, reason: "cannot create the journal; check that the folder exists and is writable")
            }
        }
        guard let data = FileHandle(forUpdatingAtPath: writer.journalPath), let index = FileHandle(forUpdatingAtPath: writer.indexPath) else {
            throw BatchError.output(path: writer.journalPath, reason: "cannot open the journal; check permissions")
        }
        self.data = data
        self.index = index
        if let checkpoint {
            // Cut off whatever was appended after the last checkpoint, then read what it vouches for.
            let decoder = JSONDecoder()
            let entries: [JournalEntry]? = try? {
                try data.truncate(atOffset: checkpoint.journalBytes)
                try index.truncate(atOffset: checkpoint.indexBytes)
                try index.seek(toOffset: 0)
                let lines = try index.readToEnd() ?? Data()
                return try lines.split(separator: 0x0A).map { try decoder.decode(JournalEntry.self, from: Data($0)) }
            }()
            if let entries, entries.count == checkpoint.entries,
               entries.reduce(0, { $0 + UInt64($1.bytes) }) == checkpoint.journalBytes {
                done = entries
                journalBytes = checkpoint.journalBytes
                indexBytes = checkpoint.indexBytes
                _ = try data.seekToEnd()
                _ = try index.seekToEnd()
                return
            }
        }
        // No usable journal: start from the first entry.
        try data.truncate(atOffset: 0)
        try index.truncate(atOffset: 0)
    }

    /// Appends a chunk of finished entries, flushes, and moves the checkpoint.
    mutating func append(_ outputs: [(Int, EntryOutput)]) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var bytes = Data(), lines = Data()
        var added: [JournalEntry] = []
        for (entry, output) in outputs {
            let record = JournalEntry(index: entry, records: output.records, bytes: output.bytes.count,
                                      paths: output.rowPaths.isEmpty ? nil : output.rowPaths, failure: output.failure)
            bytes.append(output.bytes)
            lines.append(try encoder.encode(record))
            lines.append(0x0A)
            added.append(record)
        }
        do {
            try data.write(contentsOf: bytes)
            try index.write(contentsOf: lines)
            try data.synchronize()
            try index.synchronize()
        } catch {
            throw BatchError.output(path: writer.journalPath, reason: "\(error.localizedDescription) (is the disk full?)")
        }
        journalBytes += UInt64(bytes.count)
        indexBytes += UInt64(lines.count)
        done += added
        let checkpoint = JournalCheckpoint(identity: identity, entries: done.count, journalBytes: journalBytes, indexBytes: indexBytes)
        try AtomicFile.write(try encoder.encode(checkpoint), to: writer.checkpointPath)
    }

    /// Assembles the table from the journal, writes its sidecar and record, and removes the journal.
    func finish(into writer: TableWriter, sidecar: (([String]) throws -> Data)?) throws -> (records: Int, failures: [(index: Int, message: String)]) {
        let records = done.reduce(0) { $0 + $1.records }
        let header = writer.layout.header(rows: records)
        var hasher = SHA256()
        hasher.update(header)
        try AtomicFile.write(to: writer.destination) { temporary in
            guard let output = FileHandle(forWritingAtPath: temporary) else {
                throw BatchError.output(path: writer.destination, reason: "cannot open a temporary file beside it")
            }
            defer { try? output.close() }
            try output.write(contentsOf: header)
            try data.seek(toOffset: 0)
            while true {
                guard let block = try data.read(upToCount: 4 << 20), !block.isEmpty else { break }
                hasher.update(block)
                try output.write(contentsOf: block)
            }
        }
        var sidecarDigest: String?
        if let sidecar, case .npy = writer.layout {
            let content = try sidecar(done.flatMap { $0.paths ?? [] })
            try AtomicFile.write(content, to: TableSidecar.path(for: writer.destination))
            sidecarDigest = SHA256.hexDigest(of: content)
        }
        let failures = done.compactMap { entry in entry.failure.map { (index: entry.index, message: $0) } }
        if writer.writesCompletionRecord {
            var columns: Int?
            if case .npy(let count) = writer.layout { columns = count }
            let record = PartRecord(identity: identity, layout: writer.layout.name, headerBytes: header.count, columns: columns,
                                    indices: done.map(\.index), recordCounts: done.map(\.records), byteCounts: done.map(\.bytes),
                                    failures: failures.count, bytes: header.count + Int(journalBytes), sha256: hasher.finalizeHex(),
                                    sidecarSHA256: sidecarDigest)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            try AtomicFile.write(try encoder.encode(record), to: PartRecord.path(for: writer.destination))
        }
        try? data.close()
        try? index.close()
        for path in [writer.checkpointPath, writer.journalPath, writer.indexPath] { try? FileManager.default.removeItem(atPath: path) }
        return (records, failures)
    }
}
