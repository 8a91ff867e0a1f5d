import Foundation
import SERBatch
import SERSupport
import Synchronization
import Testing

/// Writing tables through `TableWriter`, in one run or in shards, and merging the parts.
@Suite struct PartMergeTests {
    /// A synthetic manifest of `count` entries; every seventh one "fails".
    static func keys(_ count: Int) -> [String] { (0..<count).map { "speaker\($0 % 5)/take-\($0).wav" } }

    /// Entry `index`'s output in each layout: a JSON line, a CSV row (with a quoted
    /// comma now and then), or three float32 values; failures write an error line,
    /// or no row for tables.
    @Sendable static func output(_ index: Int, layout: TableLayout, keys: [String]) -> EntryOutput {
        let fails = index % 7 == 3
        switch layout {
        case .jsonLines:
            let line = fails ? "{\"error\":\"cannot decode\",\"path\":\"\(keys[index])\"}\n" : "{\"path\":\"\(keys[index])\",\"value\":\(index * index)}\n"
            return EntryOutput(bytes: Data(line.utf8), records: 1, failure: fails ? "cannot decode" : nil)
        case .csv:
            if fails { return EntryOutput(bytes: Data(), records: 0, failure: "cannot decode") }
            let name = index % 4 == 0 ? CSVText.field(keys[index] + ", copy") : keys[index]
            return EntryOutput(bytes: Data("\(name),\(Float(index) / 3)\n".utf8), records: 1)
        case .npy:
            if fails { return EntryOutput(bytes: Data(), records: 0, failure: "cannot decode") }
            let values: [Float] = [Float(index), Float(index) * 0.5, -Float(index)]
            return EntryOutput(bytes: NumPyArray.littleEndianBytes(values), records: 1, rowPaths: [keys[index]])
        }
    }

    static let layouts: [(TableLayout, String)] = [(.jsonLines, "jsonl"), (.csv(header: "path,value\n"), "csv"), (.npy(columns: 3), "npy")]

    static func sidecar(_ paths: [String]) throws -> Data {
        try TableSidecar.data(["paths": paths, "columns": ["a", "b", "c"], "sample_rate": 16000, "preset": NSNull()])
    }

    static func identity(_ keys: [String], shard: Shard?) -> RunIdentity {
        RunIdentity(fingerprint: "test", manifestDigest: FileManifest(entries: keys.map { ManifestEntry(path: $0) }, baseDirectory: "/").digest,
                    manifestEntries: keys.count, shard: shard)
    }

    /// Writes every shard's part of `output`.
    static func writeShards(_ count: Int, keys: [String], layout: TableLayout, output destination: String) throws {
        for index in 0..<count {
            let shard = try Shard(index: index, count: count)
            let writer = TableWriter(destination: shard.partPath(for: destination), layout: layout,
                                     identity: identity(keys, shard: shard), writesCompletionRecord: true, chunkSize: 5)
            _ = try writer.run(entries: shard.ownedIndices(of: keys), sidecar: sidecar) { output($0, layout: layout, keys: keys) }
        }
    }

    @Test(arguments: [0, 1, 2])
    func mergedShardsEqualOneRunByteForByte(layoutNumber: Int) throws {
        let (layout, ext) = Self.layouts[layoutNumber]
        let folder = try TemporaryFolder()
        let keys = Self.keys(200)
        let single = folder.path + "/single." + ext
        let summary = try TableWriter(destination: single, layout: layout, identity: Self.identity(keys, shard: nil),
                                      writesCompletionRecord: false, chunkSize: 16)
            .run(entries: Array(keys.indices), sidecar: Self.sidecar) { Self.output($0, layout: layout, keys: keys) }
        #expect(summary.entries == 200 && summary.failedEntries == 29)
        #expect(!FileManager.default.fileExists(atPath: single + ".journal"), "the journal is removed")
        #expect(!FileManager.default.fileExists(atPath: PartRecord.path(for: single)), "a one-process table has no part record")

        let merged = folder.path + "/merged." + ext
        try Self.writeShards(3, keys: keys, layout: layout, output: merged)
        let result = try PartMerger.merge(parts: PartMerger.discoverParts(of: merged), into: merged)
        #expect(result.parts == 3 && result.entries == 200 && result.failedEntries == 29)
        #expect(try Data(contentsOf: URL(fileURLWithPath: merged)) == Data(contentsOf: URL(fileURLWithPath: single)))
        if ext == "npy" {
            #expect(try Data(contentsOf: URL(fileURLWithPath: folder.path + "/merged.json")) == Data(contentsOf: URL(fileURLWithPath: folder.path + "/single.json")))
            let table = try NumPyArray(contentsOf: merged)
            #expect(table.shape == [171, 3])
            #expect(Array(table.values.prefix(6)) == [0, 0, 0, 1, 0.5, -1])
        }
        if ext == "csv" {
            let text = try String(contentsOfFile: merged, encoding: .utf8)
            #expect(text.hasPrefix("path,value\n\"speaker0/take-0.wav, copy\",0.0\n"))
            #expect(text.components(separatedBy: "path,value").count == 2, "one header")
        }
    }

    /// A run killed between checkpoints (here: its journal as it stood mid-run,
    /// with a torn record after the checkpoint) resumes after the last
    /// checkpointed entry, computes only the rest, and ends equal to an
    /// uninterrupted run.
    @Test func anInterruptedRunResumesAfterItsCheckpoint() throws {
        let folder = try TemporaryFolder()
        let keys = Self.keys(60)
        let layout = TableLayout.npy(columns: 3)
        let reference = folder.path + "/reference.npy"
        _ = try TableWriter(destination: reference, layout: layout, identity: Self.identity(keys, shard: nil), writesCompletionRecord: false)
            .run(entries: Array(keys.indices), sidecar: Self.sidecar) { Self.output($0, layout: layout, keys: keys) }

        let table = folder.path + "/table.npy"
        let writer = TableWriter(destination: table, layout: layout, identity: Self.identity(keys, shard: nil),
                                 writesCompletionRecord: false, chunkSize: 10)
        let snapshot = folder.path + "/snapshot"
        try FileManager.default.createDirectory(atPath: snapshot, withIntermediateDirectories: true)
        let taken = Mutex(false)
        _ = try writer.run(entries: Array(keys.indices), sidecar: Self.sidecar) { index in
            // Entry 35 is in the fourth chunk: three chunks (30 entries) are checkpointed.
            if index == 35 {
                taken.withLock { done in
                    guard !done else { return }
                    done = true
                    for suffix in [".journal", ".journal-index", ".checkpoint"] {
                        try? FileManager.default.copyItem(atPath: table + suffix, toPath: snapshot + "/t" + suffix)
                    }
                }
            }
            return Self.output(index, layout: layout, keys: keys)
        }
        try FileManager.default.removeItem(atPath: table)
        for suffix in [".journal", ".journal-index", ".checkpoint"] {
            try FileManager.default.copyItem(atPath: snapshot + "/t" + suffix, toPath: table + suffix)
        }
        // What a process killed mid-write leaves after the checkpoint.
        for suffix in [".journal", ".journal-index"] {
            let handle = try #require(FileHandle(forWritingAtPath: table + suffix))
            try handle.seekToEnd()
            try handle.write(contentsOf: Data("{\"i\":30,\"n\":1,\"b\"".utf8))
            try handle.close()
        }
        let computed = Mutex<[Int]>([])
        let summary = try writer.run(entries: Array(keys.indices), sidecar: Self.sidecar) { index in
            computed.withLock { $0.append(index) }
            return Self.output(index, layout: layout, keys: keys)
        }
        #expect(summary.resumed == 30)
        #expect(computed.withLock { $0.sorted() } == Array(30..<60))
        #expect(try Data(contentsOf: URL(fileURLWithPath: table)) == Data(contentsOf: URL(fileURLWithPath: reference)))
        #expect(try Data(contentsOf: URL(fileURLWithPath: folder.path + "/table.json")) == Data(contentsOf: URL(fileURLWithPath: folder.path + "/reference.json")))
    }

    @Test func aFinishedPartIsNotRedoneButAnotherRunsIs() throws {
        let folder = try TemporaryFolder()
        let keys = Self.keys(40)
        let output = folder.path + "/out.jsonl"
        try Self.writeShards(2, keys: keys, layout: .jsonLines, output: output)
        let shard = try Shard(index: 1, count: 2)
        let calls = Mutex(0)
        let again = try TableWriter(destination: shard.partPath(for: output), layout: .jsonLines, identity: Self.identity(keys, shard: shard),
                                    writesCompletionRecord: true)
            .run(entries: shard.ownedIndices(of: keys)) { index in
                calls.withLock { $0 += 1 }
                return Self.output(index, layout: .jsonLines, keys: keys)
            }
        #expect(again.alreadyComplete && calls.withLock { $0 } == 0)

        var other = Self.identity(keys, shard: shard)
        other.fingerprint = "other options"
        let redone = try TableWriter(destination: shard.partPath(for: output), layout: .jsonLines, identity: other, writesCompletionRecord: true)
            .run(entries: shard.ownedIndices(of: keys)) { index in
                calls.withLock { $0 += 1 }
                return Self.output(index, layout: .jsonLines, keys: keys)
            }
        #expect(!redone.alreadyComplete && calls.withLock { $0 } == shard.ownedIndices(of: keys).count)
        // Now the parts come from two different runs.
        #expect(throws: BatchError.self) { try PartMerger.merge(parts: PartMerger.discoverParts(of: output), into: output) }
    }

    @Test func missingTruncatedAndUnfinishedPartsAreNamed() throws {
        let folder = try TemporaryFolder()
        let keys = Self.keys(90)
        let output = folder.path + "/emotions.jsonl"
        try Self.writeShards(3, keys: keys, layout: .jsonLines, output: output)
        let parts = PartMerger.discoverParts(of: output)
        #expect(parts.count == 3)

        #expect(throws: BatchError.missingPart(path: folder.path + "/emotions.part-00001-of-00003.jsonl", shard: 1, shards: 3)) {
            try PartMerger.merge(parts: [parts[0], parts[2]], into: output)
        }
        // Truncated by a byte.
        let data = try Data(contentsOf: URL(fileURLWithPath: parts[2]))
        try data.dropLast().write(to: URL(fileURLWithPath: parts[2]))
        do {
            _ = try PartMerger.merge(parts: parts, into: output)
            Issue.record("a truncated part merged")
        } catch let error as BatchError {
            guard case .damagedPart(let path, _) = error else { Issue.record("\(error)"); return }
            #expect(path == parts[2])
            #expect(error.description.contains("emotions.part-00002-of-00003.jsonl"))
        }
        // Same length, one byte changed.
        var flipped = data
        flipped[flipped.count / 2] ^= 0x20
        try flipped.write(to: URL(fileURLWithPath: parts[2]))
        #expect(throws: BatchError.self) { try PartMerger.merge(parts: parts, into: output) }
        // No completion record: the shard never finished.
        try data.write(to: URL(fileURLWithPath: parts[2]))
        try FileManager.default.removeItem(atPath: PartRecord.path(for: parts[0]))
        do {
            _ = try PartMerger.merge(parts: parts, into: output)
            Issue.record("an unfinished part merged")
        } catch let error as BatchError {
            guard case .incompletePart(let path, _) = error else { Issue.record("\(error)"); return }
            #expect(path == parts[0])
        }
        #expect(!FileManager.default.fileExists(atPath: output), "a failed merge writes nothing")
    }
}
