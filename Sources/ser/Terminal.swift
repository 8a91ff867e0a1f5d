import SERAudio
import Foundation

/// Where output goes and whether a person is watching it.
enum Terminal {
    /// Whether standard error is an interactive terminal (progress is shown only then).
    static var showsProgress: Bool {
        isatty(STDERR_FILENO) == 1 && ProcessInfo.processInfo.environment["CI"] == nil
            && ProcessInfo.processInfo.environment["TERM"] != "dumb"
    }

    /// Writes a line to standard output.
    static func print(_ line: String) {
        Swift.print(line)
    }

    /// Writes a value as pretty-printed JSON to standard output.
    static func printJSON<Value: Encodable>(_ value: Value) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        print(String(decoding: try encoder.encode(value), as: UTF8.self))
    }

    /// Writes a line to standard error.
    static func printError(_ line: String) {
        fflush(nil)
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    /// Reports one failed input as `ser: PATH: reason`.
    static func report(_ error: Error, for path: String) {
        printError("ser: " + message(for: error, path: path))
    }

    /// `PATH: reason` for any error; audio errors already name their file.
    static func message(for error: Error, path: String) -> String {
        if let audio = error as? AudioError, audio.path != nil { return audio.description }
        return "\(path): \(error)"
    }
}

/// A one-line progress bar on standard error, drawn only on a terminal and
/// redrawn at most ten times a second.
final class ProgressBar: @unchecked Sendable {
    private let total: Int
    private let label: String
    private let enabled: Bool
    private let lock = NSLock()
    private var lastDraw = Date.distantPast
    private let start = Date()

    /// - Parameter total: items to process; with one item, progress is reported
    ///   within it through `update(fraction:)` instead.
    init(total: Int, label: String, enabled: Bool = Terminal.showsProgress) {
        self.total = total
        self.label = label
        self.enabled = enabled && total > 0
    }

    /// Records that `finished` of `total` items are done.
    func update(finished: Int) {
        guard total > 1 else { return }
        draw(fraction: Double(finished) / Double(total), force: finished == total) { elapsed in
            String(format: "%d/%d  %.1f files/s", finished, self.total, elapsed > 0 ? Double(finished) / elapsed : 0)
        }
    }

    /// Records progress through a single long item (0…1).
    func update(fraction: Double) {
        guard total == 1 else { return }
        let clamped = min(max(fraction, 0), 1)
        draw(fraction: clamped, force: false) { elapsed in
            let remaining = clamped > 0.01 ? elapsed * (1 - clamped) / clamped : .nan
            return remaining.isFinite ? String(format: "%3.0f%%  %.0f s left", clamped * 100, remaining)
                                      : String(format: "%3.0f%%", clamped * 100)
        }
    }

    private func draw(fraction: Double, force: Bool, status: (_ elapsed: Double) -> String) {
        guard enabled else { return }
        lock.withLock {
            let now = Date()
            guard force || now.timeIntervalSince(lastDraw) >= 0.1 else { return }
            lastDraw = now
            let width = 30
            let filled = min(width, Int(Double(width) * fraction))
            let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
            let line = "\r\(label) \(bar) \(status(now.timeIntervalSince(start)))\u{1B}[K"
            FileHandle.standardError.write(Data(line.utf8))
        }
    }

    /// Clears the bar.
    func finish() {
        guard enabled else { return }
        lock.withLock { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }
}

/// Lays out rows as aligned columns.
struct TextTable {
    var header: [String]
    var rows: [[String]] = []
    /// Columns aligned to the right (numbers).
    var rightAligned: Set<Int> = []

    func render() -> String {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { index, cell in
                let pad = String(repeating: " ", count: widths[index] - cell.count)
                return rightAligned.contains(index) ? pad + cell : cell + pad
            }.joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }
        return ([line(header)] + rows.map(line)).joined(separator: "\n")
    }
}

/// One entry of a batch's JSON output: the file's result, or `{"path", "error"}`.
enum FileEntry<Success: Encodable>: Encodable {
    case success(Success)
    case failure(path: String, error: String)

    private enum CodingKeys: String, CodingKey { case path, error }

    func encode(to encoder: Encoder) throws {
        switch self {
        case .success(let value):
            try value.encode(to: encoder)
        case .failure(let path, let error):
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(path, forKey: .path)
            try container.encode(error, forKey: .error)
        }
    }
}
