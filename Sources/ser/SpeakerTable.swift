import ArgumentParser
import Foundation
import SERAudio
import SERBatch
import SERCorpora
import SERFeatures
import SERModels
import SERNumerics
import SERRecognition
import SERSupport

/// A CSV of `path,speaker` rows (a header row naming them first; other columns ignored).
struct SpeakerTable {
    private var byPath: [String: String] = [:]

    init(contentsOf path: String) throws {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw CommandFailure("\(path): cannot read the speaker table; check the path")
        }
        var lines = text.split(whereSeparator: \.isNewline).map { $0.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) } }
        guard let header = lines.first, let pathColumn = header.firstIndex(of: "path"), let speakerColumn = header.firstIndex(of: "speaker") else {
            throw CommandFailure("\(path): the speaker table needs a header row with path and speaker columns")
        }
        lines.removeFirst()
        let base = URL(fileURLWithPath: path).deletingLastPathComponent()
        for (number, cells) in lines.enumerated() where !cells.allSatisfy(\.isEmpty) {
            guard cells.count > max(pathColumn, speakerColumn), !cells[pathColumn].isEmpty, !cells[speakerColumn].isEmpty else {
                throw CommandFailure("\(path): row \(number + 2) lacks a path or a speaker")
            }
            // Relative paths are relative to the table's folder.
            let file = URL(fileURLWithPath: cells[pathColumn], relativeTo: base).standardizedFileURL.path
            byPath[file] = cells[speakerColumn]
        }
    }

    func speaker(of path: String) -> String? { byPath[URL(fileURLWithPath: path).standardizedFileURL.path] }
}
