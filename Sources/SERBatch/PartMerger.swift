import Foundation
import SERSupport

/// Checks a finished part against its completion record.
public enum PartVerifier {
    /// Throws `BatchError.damagedPart` when the part (or its `.npy` sidecar) is
    /// not the size and checksum its record says.
    public static func verify(part: String, record: PartRecord) throws {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: part),
              let size = (attributes[.size] as? NSNumber)?.intValue else {
            throw BatchError.damagedPart(path: part, reason: "it cannot be read")
        }
        guard size == record.bytes else {
            throw BatchError.damagedPart(path: part, reason: "\(size) bytes where its record says \(record.bytes) (truncated or overwritten)")
        }
        guard record.indices.count == record.recordCounts.count, record.indices.count == record.byteCounts.count,
              record.headerBytes + record.byteCounts.reduce(0, +) == record.bytes else {
            throw BatchError.damagedPart(path: part, reason: "its completion record is inconsistent")
        }
        guard (try? SHA256.hexDigest(ofFile: part)) == record.sha256 else {
            throw BatchError.damagedPart(path: part, reason: "its checksum differs from its record's")
        }
        if let expected = record.sidecarSHA256 {
            let sidecar = TableSidecar.path(for: part)
            guard (try? SHA256.hexDigest(ofFile: sidecar)) == expected else {
                throw BatchError.damagedPart(path: sidecar, reason: "the sidecar of \(part) is missing or differs from its record's checksum")
            }
        }
    }
}

/// Joins the parts of a sharded run into the table one process would have written.
public enum PartMerger {
    /// What a merge wrote.
    public struct Summary: Sendable {
        public var parts: Int
        public var entries: Int
        public var records: Int
        public var failedEntries: Int
    }

    /// The parts of `output` found beside it (`STEM.part-*-of-*.EXT`, with or
    /// without their completion records), sorted.
    public static func discoverParts(of output: String) -> [String] {
        let url = URL(fileURLWithPath: output)
        let directory = url.deletingLastPathComponent().path
        let ext = url.pathExtension
        let stem = ext.isEmpty ? url.lastPathComponent : String(url.lastPathComponent.dropLast(ext.count + 1))
        let suffix = ext.isEmpty ? "" : "." + ext
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { name in
            guard name.hasPrefix(stem + ".part-"), name.hasSuffix(suffix) else { return false }
            let middle = name.dropFirst(stem.count + 6).dropLast(suffix.count)
            let pieces = middle.split(separator: "-")
            return pieces.count == 3 && pieces[1] == "of" && pieces[0].allSatisfy(\.isNumber) && pieces[2].allSatisfy(\.isNumber)
        }
        .sorted()
        .map { (directory as NSString).appendingPathComponent($0) }
    }

    /// Merges `parts` (all N parts of one sharded run) into `output`, in manifest
    /// order, byte for byte what a single process would have written; `.npy`
    /// tables get their sidecar too. Written atomically.
    ///
    /// - Throws: `BatchError` naming a missing, incomplete or damaged part, or
    ///   parts of different runs.
    public static func merge(parts: [String], into output: String) throws -> Summary {
        guard !parts.isEmpty else {
            throw BatchError.mismatchedParts("no parts given or found beside \(output) (they are named like \(try Shard(index: 0, count: 2).partPath(for: output)))")
        }
        // Read and check every record.
        var byShard: [Int: (path: String, record: PartRecord)] = [:]
        for part in parts {
            let recordPath = PartRecord.path(for: part)
            guard FileManager.default.fileExists(atPath: part) else {
                throw BatchError.damagedPart(path: part, reason: "the file does not exist")
            }
            guard let data = try? Data(contentsOf: URL(fileURLWithPath: recordPath)) else {
                let journal = FileManager.default.fileExists(atPath: part + ".checkpoint")
                throw BatchError.incompletePart(path: part, reason: journal ? "its shard was interrupted" : "it has no completion record (\(recordPath))")
            }
            let record: PartRecord
            do { record = try JSONDecoder().decode(PartRecord.self, from: data) } catch {
                throw BatchError.damagedPart(path: recordPath, reason: "the completion record cannot be read")
            }
            if let other = byShard[record.identity.shard], other.path != part {
                throw BatchError.mismatchedParts("\(other.path) and \(part) are both shard \(record.identity.shard)")
            }
            byShard[record.identity.shard] = (part, record)
        }
        let first = byShard.values.min { $0.record.identity.shard < $1.record.identity.shard }!
        let shards = first.record.identity.shards
        for (_, part) in byShard {
            let identity = part.record.identity
            guard identity.shards == shards else {
                throw BatchError.mismatchedParts("\(part.path) is one of \(identity.shards) shards, \(first.path) one of \(shards)")
            }
            guard identity.fingerprint == first.record.identity.fingerprint, part.record.layout == first.record.layout,
                  part.record.columns == first.record.columns else {
                throw BatchError.mismatchedParts("\(part.path) was made by a different command or options than \(first.path)")
            }
            guard identity.manifestDigest == first.record.identity.manifestDigest,
                  identity.manifestEntries == first.record.identity.manifestEntries else {
                throw BatchError.mismatchedParts("\(part.path) was made from a different manifest than \(first.path)")
            }
        }
        for shard in 0..<shards where byShard[shard] == nil {
            let expected = (try? Shard(index: shard, count: shards))?.partPath(for: output) ?? output
            throw BatchError.missingPart(path: expected, shard: shard, shards: shards)
        }
        let ordered = (0..<shards).map { byShard[$0]! }
        for part in ordered { try PartVerifier.verify(part: part.path, record: part.record) }

        // Every manifest entry in exactly one part.
        let total = first.record.identity.manifestEntries
        var owner = [Int32](repeating: -1, count: total)
        for (number, part) in ordered.enumerated() {
            for index in part.record.indices {
                guard (0..<total).contains(index) else {
                    throw BatchError.damagedPart(path: part.path, reason: "it lists entry \(index) of a \(total)-entry manifest")
                }
                guard owner[index] < 0 else {
                    throw BatchError.mismatchedParts("entry \(index) is in both \(ordered[Int(owner[index])].path) and \(part.path)")
                }
                owner[index] = Int32(number)
            }
        }
        if let missing = owner.firstIndex(of: -1) {
            throw BatchError.mismatchedParts("entry \(missing) of the manifest is in no part (\(owner.filter { $0 < 0 }.count) entries missing)")
        }

        let contents: [Data] = try ordered.map { part in
            do { return try Data(contentsOf: URL(fileURLWithPath: part.path), options: .alwaysMapped) } catch {
                throw BatchError.damagedPart(path: part.path, reason: "it cannot be read")
            }
        }
        let header = contents[0].prefix(first.record.headerBytes)
        let layout: TableLayout
        switch first.record.layout {
        case "jsonl": layout = .jsonLines
        case "csv": layout = .csv(header: String(decoding: header, as: UTF8.self))
        case "npy": layout = .npy(columns: first.record.columns ?? 0)
        default: throw BatchError.damagedPart(path: first.path, reason: "unknown layout \(first.record.layout)")
        }
        if case .csv = layout {
            for (part, content) in zip(ordered, contents) where content.prefix(part.record.headerBytes) != header {
                throw BatchError.mismatchedParts("\(part.path) has another CSV header than \(first.path)")
            }
        }
        let records = ordered.reduce(0) { $0 + $1.record.recordCounts.reduce(0, +) }

        // Row paths of .npy parts, from their sidecars.
        var sidecars: [[String: Any]] = []
        if case .npy = layout {
            for part in ordered {
                let path = TableSidecar.path(for: part.path)
                guard let data = try? Data(contentsOf: URL(fileURLWithPath: path)),
                      let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
                      let paths = object["paths"] as? [String], paths.count == part.record.recordCounts.reduce(0, +) else {
                    throw BatchError.damagedPart(path: path, reason: "the sidecar of \(part.path) does not list one path per row")
                }
                sidecars.append(object)
            }
            var reference = sidecars[0]; reference["paths"] = nil
            for (part, sidecar) in zip(ordered, sidecars) {
                var other = sidecar; other["paths"] = nil
                guard NSDictionary(dictionary: other).isEqual(to: reference) else {
                    throw BatchError.mismatchedParts("the sidecar of \(part.path) describes other columns or settings than \(first.path)'s")
                }
            }
        }

        var cursors = ordered.map { $0.record.headerBytes }
        var entryCursors = [Int](repeating: 0, count: ordered.count)
        var pathCursors = [Int](repeating: 0, count: ordered.count)
        var mergedPaths: [String] = []
        try AtomicFile.write(to: output) { temporary in
            guard let handle = FileHandle(forWritingAtPath: temporary) else {
                throw BatchError.output(path: output, reason: "cannot open a temporary file beside it")
            }
            defer { try? handle.close() }
            var buffer = layout.header(rows: records)
            for index in 0..<total {
                let number = Int(owner[index])
                let record = ordered[number].record
                let position = entryCursors[number]
                // Each part's entries are ascending, so its next entry is this one.
                guard record.indices[position] == index else {
                    throw BatchError.damagedPart(path: ordered[number].path, reason: "its entries are out of manifest order")
                }
                let length = record.byteCounts[position]
                buffer.append(contents[number][cursors[number]..<(cursors[number] + length)])
                cursors[number] += length
                if !sidecars.isEmpty, let paths = sidecars[number]["paths"] as? [String] {
                    let count = record.recordCounts[position]
                    mergedPaths += paths[pathCursors[number]..<(pathCursors[number] + count)]
                    pathCursors[number] += count
                }
                entryCursors[number] += 1
                if buffer.count >= 4 << 20 {
                    try handle.write(contentsOf: buffer)
                    buffer.removeAll(keepingCapacity: true)
                }
            }
            try handle.write(contentsOf: buffer)
        }
        if !sidecars.isEmpty {
            var merged = sidecars[0]
            merged["paths"] = mergedPaths
            try AtomicFile.write(try TableSidecar.data(merged), to: TableSidecar.path(for: output))
        }
        return Summary(parts: ordered.count, entries: total, records: records,
                       failedEntries: ordered.reduce(0) { $0 + $1.record.failures })
    }
}
