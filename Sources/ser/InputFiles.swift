import Foundation

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
