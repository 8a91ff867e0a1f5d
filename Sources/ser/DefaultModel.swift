import Foundation

/// Finds the model `ser` uses when no `--model` is given.
enum DefaultModel {
    static let fileName = "default.safetensors"

    /// Candidates, in order: `$SER_MODEL`; `share/ser/` beside an installed binary;
    /// `models/` in the source tree the binary was built in (walking up from it).
    static func candidates(executable: String = CommandLine.arguments[0]) -> [String] {
        var list: [String] = []
        if let path = ProcessInfo.processInfo.environment["SER_MODEL"], !path.isEmpty { list.append(path) }
        let resolved = URL(fileURLWithPath: executable).resolvingSymlinksInPath()
        var directory = resolved.deletingLastPathComponent()
        list.append(directory.deletingLastPathComponent().appendingPathComponent("share/ser/\(fileName)").path)
        for _ in 0..<5 {
            list.append(directory.appendingPathComponent("models/\(fileName)").path)
            directory = directory.deletingLastPathComponent()
        }
        return list
    }

    /// The default model's path, or an error saying where it was looked for.
    static func path() throws -> String {
        let list = candidates()
        if let found = list.first(where: { FileManager.default.isReadableFile(atPath: $0) }) { return found }
        throw CommandFailure("no default model found (looked in \(list.joined(separator: ", "))); pass --model PATH or set SER_MODEL")
    }
}
