import Foundation
import SERBatch
import SERRecognition
import SERSupport

/// Turns command-line paths into the list of files to process.
enum InputFiles {
    /// Extensions picked up when walking a directory with `--recursive`.
    /// Files given explicitly are read by content whatever their extension.
    static let audioExtensions: Set<String> = [
        "wav", "wave", "flac", "ogg", "oga", "opus", "mp3", "aif", "aiff", "aifc", "au", "snd", "caf",
        "w64", "rf64", "m4a", "mp4", "m4v", "aac", "webm", "mkv", "mka", "mov", "wma", "avi",
    ]

    /// One file to process: its path, and for files found under a directory the
    /// path relative to that directory (used to mirror the layout on output).
    struct Item: Sendable {
        var path: String
        var relativePath: String?
    }

    /// Expands `paths`: files stay as given; with `recursive`, directories become
    /// the audio files below them, sorted. Without it a directory stays as is and
    /// is reported as an error by the decoder.
    static func expand(_ paths: [String], recursive: Bool) -> [Item] {
        var items: [Item] = []
        for path in paths {
            var isDirectory: ObjCBool = false
            guard recursive, FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory),
                  isDirectory.boolValue
            else {
                items.append(Item(path: path, relativePath: nil))
                continue
            }
            let root = URL(fileURLWithPath: path)
            var found: [String] = []
            if let walker = FileManager.default.enumerator(atPath: path) {
                for case let relative as String in walker
                where audioExtensions.contains((relative as NSString).pathExtension.lowercased()) {
                    found.append(relative)
                }
            }
            for relative in found.sorted() {
                items.append(Item(path: root.appendingPathComponent(relative).path, relativePath: relative))
            }
        }
        return items
    }
}

/// One recording given to a batch command: a file, or standard input spooled to
/// a temporary file.
struct BatchInput: Sendable {
    var path: String
    /// What answers call it: the path as given, or `-` for standard input.
    var displayName: String
    /// Its content hash, when a manifest lists one.
    var sha256: String?

    /// As a manifest entry: what picks its shard and makes the run's digest.
    var entry: ManifestEntry { ManifestEntry(path: displayName, sha256: sha256) }
    var shardKey: String { entry.shardKey }
    var prediction: PredictionInput { PredictionInput(path: path, name: displayName) }
}

extension InputFiles {
    /// Files, folders (searched recursively), glob patterns and `-` (standard
    /// input, read once and spooled to a temporary file) as batch inputs.
    static func batchInputs(_ paths: [String]) throws -> [BatchInput] {
        var inputs: [BatchInput] = []
        for path in paths {
            if path == "-" {
                let data = try FileHandle.standardInput.readToEnd() ?? Data()
                let temporary = FileManager.default.temporaryDirectory.appendingPathComponent("ser-stdin-\(getpid())").path
                try AtomicFile.write(data, to: temporary)
                StandardInputSpool.register(temporary)
                inputs.append(BatchInput(path: temporary, displayName: "-"))
                continue
            }
            var matches = [path]
            if path.contains(where: { "*?[".contains($0) }) && !FileManager.default.fileExists(atPath: path) {
                matches = Glob.expand(path)
                if matches.isEmpty { matches = [path] }   // reported as not found
            }
            for item in expand(matches, recursive: true) { inputs.append(BatchInput(path: item.path, displayName: item.path)) }
        }
        return inputs
    }

    /// A manifest's entries as batch inputs, paths resolved against it.
    static func batchInputs(_ manifest: FileManifest) -> [BatchInput] {
        manifest.entries.map { BatchInput(path: manifest.resolvedPath(of: $0), displayName: $0.path, sha256: $0.sha256) }
    }

    /// The digest of an input list, as `FileManifest.digest` computes it.
    static func digest(of inputs: [BatchInput]) -> String {
        FileManifest(entries: inputs.map(\.entry), baseDirectory: "/").digest
    }
}
