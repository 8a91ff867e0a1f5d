import Foundation
import SERSupport

/// One file of a manifest: its path as the manifest writes it, and what is
/// known of its content.
public struct ManifestEntry: Sendable, Equatable, Codable {
    /// The path as written: relative to the manifest's folder, or absolute.
    public var path: String
    /// Size in bytes, when listed.
    public var size: Int?
    /// SHA-256 of the file's bytes (hex), when listed.
    public var sha256: String?

    public init(path: String, size: Int? = nil, sha256: String? = nil) {
        self.path = path
        self.size = size
        self.sha256 = sha256
    }

    /// What decides this entry's shard: its content hash when known (so renaming
    /// or moving a file does not move it between shards), otherwise its path.
    public var shardKey: String { sha256.map { "sha256:" + $0 } ?? path }
}

/// An ordered list of audio files: the input of every batch command.
///
/// Written as JSON lines (`{"path": …, "size": …, "sha256": …}`) by `ser manifest`;
/// read from JSONL or CSV with a `path` column, so the labelled manifests of
/// `ser corpus manifest` serve too (their other fields are ignored here).
public struct FileManifest: Sendable, Equatable {
    public var entries: [ManifestEntry]
    /// The folder relative paths are resolved against (the manifest's own).
    public var baseDirectory: String

    public init(entries: [ManifestEntry], baseDirectory: String) {
        self.entries = entries
        self.baseDirectory = baseDirectory
    }

    /// Where an entry's file is on this machine.
    public func resolvedPath(of entry: ManifestEntry) -> String {
        entry.path.hasPrefix("/") ? entry.path : URL(fileURLWithPath: baseDirectory).appendingPathComponent(entry.path).path
    }

    /// A digest of the entry list (paths and content hashes, in order): parts of
    /// one run carry it, so parts of runs over different lists are never merged.
    public var digest: String {
        var hasher = SHA256()
        for entry in entries {
            hasher.update(Data(entry.path.utf8))
            hasher.update(Data([0x09]))
            hasher.update(Data((entry.sha256 ?? "").utf8))
            hasher.update(Data([0x0A]))
        }
        return hasher.finalizeHex()
    }

    /// Reads a manifest: JSON lines with a `path` key, or CSV whose header names a `path` column.
    public init(contentsOf path: String) throws {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw BatchError.unreadableManifest(path: path, reason: (error as NSError).localizedDescription)
        }
        try self.init(data: data, path: path)
    }

    /// Parses a manifest's bytes; `path` says where it lives (relative paths are
    /// resolved against its folder), whether it is CSV (by extension), and names it in errors.
    public init(data: Data, path: String) throws {
        guard let text = String(data: data, encoding: .utf8) else {
            throw BatchError.unreadableManifest(path: path, reason: "not UTF-8 text")
        }
        let base = URL(fileURLWithPath: path).deletingLastPathComponent().path
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        var entries: [ManifestEntry] = []
        if (path as NSString).pathExtension.lowercased() == "csv" {
            guard let headerLine = lines.first else { self.init(entries: [], baseDirectory: base); return }
            let header = CSVText.fields(String(headerLine)).map { $0.lowercased().trimmingCharacters(in: .whitespaces) }
            guard let pathColumn = header.firstIndex(of: "path") else {
                throw BatchError.badManifestLine(path: path, line: 1, reason: "the CSV header has no path column")
            }
            let sizeColumn = header.firstIndex(of: "size"), hashColumn = header.firstIndex(of: "sha256")
            for (number, line) in lines.enumerated().dropFirst() where !line.trimmingCharacters(in: .whitespaces).isEmpty {
                let fields = CSVText.fields(String(line))
                guard fields.count == header.count, !fields[pathColumn].isEmpty else {
                    throw BatchError.badManifestLine(path: path, line: number + 1, reason: "\(fields.count) fields (the header has \(header.count)) or no path")
                }
                let size = try sizeColumn.map { column -> Int? in
                    let cell = fields[column].trimmingCharacters(in: .whitespaces)
                    if cell.isEmpty { return nil }
                    guard let value = Int(cell), value >= 0 else {
                        throw BatchError.badManifestLine(path: path, line: number + 1, reason: "size \(cell) is not a byte count")
                    }
                    return value
                } ?? nil
                let hash = try hashColumn.flatMap { column -> String? in
                    try Self.checkedHash(fields[column], path: path, line: number + 1)
                }
                entries.append(ManifestEntry(path: fields[pathColumn], size: size, sha256: hash))
            }
        } else {
            for (number, line) in lines.enumerated() where !line.trimmingCharacters(in: .whitespaces).isEmpty {
                guard let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else {
                    throw BatchError.badManifestLine(path: path, line: number + 1, reason: "not a JSON object")
                }
                guard let file = object["path"] as? String, !file.isEmpty else {
                    throw BatchError.badManifestLine(path: path, line: number + 1, reason: "no \"path\" string")
                }
                var size: Int?
                if let value = object["size"], !(value is NSNull) {
                    guard let number = value as? NSNumber, let bytes = Int(exactly: number.doubleValue), bytes >= 0 else {
                        throw BatchError.badManifestLine(path: path, line: number + 1, reason: "\"size\" is not a byte count")
                    }
                    size = bytes
                }
                let hash = try (object["sha256"] as? String).flatMap { try Self.checkedHash($0, path: path, line: number + 1) }
                entries.append(ManifestEntry(path: file, size: size, sha256: hash))
            }
        }
        self.init(entries: entries, baseDirectory: base)
    }

    private static func checkedHash(_ text: String, path: String, line: Int) throws -> String? {
        let hash = text.trimmingCharacters(in: .whitespaces).lowercased()
        if hash.isEmpty { return nil }
        guard hash.count == 64, hash.allSatisfy(\.isHexDigit) else {
            throw BatchError.badManifestLine(path: path, line: line, reason: "sha256 \(text) is not 64 hex digits")
        }
        return hash
    }

    /// The manifest as JSON lines, one object per entry with sorted keys.
    public func jsonLinesData() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var data = Data()
        for entry in entries {
            // Encoding a struct of strings and integers cannot fail.
            data.append((try? encoder.encode(entry)) ?? Data())
            data.append(0x0A)
        }
        return data
    }

    /// Lists `files` (paths on this machine) for a manifest to be written at
    /// `manifestPath`: paths below the manifest's folder are written relative to
    /// it, so the tree and its manifest can be mounted anywhere; others stay absolute.
    ///
    /// - Parameters:
    ///   - sizes: record each file's size.
    ///   - hashes: record each file's SHA-256 (reads every byte; on all cores).
    ///   - onProgress: called with the number of files hashed so far.
    /// - Returns: the manifest, and the files that could not be read with why.
    public static func listing(_ files: [String], manifestPath: String, sizes: Bool, hashes: Bool,
                               onProgress: (@Sendable (Int) -> Void)? = nil) -> (manifest: FileManifest, failures: [(path: String, reason: String)]) {
        let base = URL(fileURLWithPath: manifestPath).deletingLastPathComponent().standardizedFileURL.path
        let prefix = base.hasSuffix("/") ? base : base + "/"
        let results: [Result<ManifestEntry, BatchError>] = parallelMap(count: files.count, onCompletion: onProgress) { index in
            let file = files[index]
            let absolute = URL(fileURLWithPath: file).standardizedFileURL.path
            let written = absolute.hasPrefix(prefix) ? String(absolute.dropFirst(prefix.count)) : absolute
            var entry = ManifestEntry(path: written)
            if sizes {
                guard let attributes = try? FileManager.default.attributesOfItem(atPath: absolute),
                      let size = (attributes[.size] as? NSNumber)?.intValue else {
                    return .failure(.unreadableManifest(path: file, reason: "cannot read its size"))
                }
                entry.size = size
            }
            if hashes {
                guard let digest = try? SHA256.hexDigest(ofFile: absolute) else {
                    return .failure(.unreadableManifest(path: file, reason: "cannot read it"))
                }
                entry.sha256 = digest
            }
            return .success(entry)
        }
        var entries: [ManifestEntry] = [], failures: [(String, String)] = []
        for (file, result) in zip(files, results) {
            switch result {
            case .success(let entry): entries.append(entry)
            case .failure: failures.append((file, "cannot be read (check permissions)"))
            }
        }
        return (FileManifest(entries: entries, baseDirectory: base), failures)
    }
}
