import Foundation
import Testing

/// docs/ARCHITECTURE.md's module table states each library target's direct
/// dependencies; this holds it to what `Package.swift` declares, as SwiftPM
/// reads the manifest (`swift package dump-package`).
@Suite struct ArchitectureDocumentTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Library target → the targets it names as dependencies, from the manifest.
    static func declaredDependencies() throws -> [String: Set<String>] {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("ser-dump-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        // Its own scratch path: the running `swift test` holds the package's .build lock.
        process.arguments = ["swift", "package", "--package-path", root.path, "--scratch-path", scratch.path, "dump-package"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0,
              let manifest = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              let targets = manifest["targets"] as? [[String: Any]] else {
            throw CocoaError(.fileReadCorruptFile, userInfo: [NSLocalizedDescriptionKey: "swift package dump-package failed"])
        }
        var result: [String: Set<String>] = [:]
        for target in targets where target["type"] as? String == "regular" {
            guard let name = target["name"] as? String, name != "SERTestSupport" else { continue }
            let dependencies = (target["dependencies"] as? [[String: Any]] ?? []).compactMap { entry -> String? in
                // Targets of this package are named `byName` (or `target`); products of other packages are not listed in the table's backticks.
                for key in ["byName", "target"] { if let names = entry[key] as? [Any], let first = names.first as? String { return first } }
                return nil
            }
            result[name] = Set(dependencies)
        }
        return result
    }

    /// Row name → the backticked names of its "depends on" cell, for rows that
    /// name a single target.
    static func documentedDependencies() throws -> [String: Set<String>] {
        let text = try String(contentsOf: root.appendingPathComponent("docs/ARCHITECTURE.md"), encoding: .utf8)
        var result: [String: Set<String>] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix("| `") {
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 4 else { continue }
            let names = backticked(cells[1])
            guard names.count == 1, cells[1] == "`\(names[0])`" else { continue }
            result[names[0]] = Set(backticked(cells[2]))
        }
        return result
    }

    static func backticked(_ text: String) -> [String] {
        text.split(separator: "`", omittingEmptySubsequences: false).enumerated().compactMap { $0.offset % 2 == 1 ? String($0.element) : nil }
    }

    @Test func theModuleTableMatchesThePackageManifest() throws {
        let declared = try Self.declaredDependencies()
        let documented = try Self.documentedDependencies()
        #expect(declared.count >= 10, "the manifest lists \(declared.keys.sorted())")
        for (target, dependencies) in declared.sorted(by: { $0.key < $1.key }) {
            guard let row = documented[target] else {
                Issue.record("docs/ARCHITECTURE.md has no row for \(target)")
                continue
            }
            #expect(row == dependencies, "\(target): the table says \(row.sorted()), Package.swift says \(dependencies.sorted())")
        }
        let libraryRows = documented.keys.filter { $0.hasPrefix("SER") }
        for row in libraryRows where declared[row] == nil {
            Issue.record("docs/ARCHITECTURE.md describes \(row), which Package.swift does not declare")
        }
    }
}
