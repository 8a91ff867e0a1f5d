import ArgumentParser
import Foundation
import SERAudio
import SERSupport

/// Output layouts shared by the reporting commands.
enum ReportFormat: String, ExpressibleByArgument, CaseIterable {
    case table, json
}

/// `ser info`: what a recording is and how loud it is.
struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Show container, codec, sample rate, channels, length and levels of audio files.",
        discussion: """
        Each file is decoded completely (in bounded memory, so hours-long files are fine) \
        to count its real frames and measure its peak and RMS level in dBFS over all \
        channels. A full-scale sine reads 0 dBFS peak and -3.01 dBFS RMS; digital silence \
        reads -inf (null in JSON).

        Files that cannot be read are reported on standard error (in JSON, as entries \
        with "path" and "error") and the others are still processed.
        """
    )

    @Argument(help: ArgumentHelp("Audio or video files.", valueName: "file"))
    var files: [String]

    @Flag(name: .shortAndLong, help: "Walk directories for audio files.")
    var recursive = false

    @Option(help: "Output layout: table or json.")
    var format: ReportFormat = .table

    func run() throws {
        let items = InputFiles.expand(files, recursive: recursive)
        let progress = ProgressBar(total: items.count, label: "info")
        let results: [Result<AudioFileSummary, Error>] = parallelMap(
            count: items.count, onCompletion: { progress.update(finished: $0) }
        ) { index in
            Result { try AudioFileSummary(path: items[index].path) }
        }
        progress.finish()

        var failed = false
        switch format {
        case .json:
            let entries = zip(items, results).map { item, result in
                switch result {
                case .success(let summary): return FileEntry<AudioFileSummary>.success(summary)
                case .failure(let error):
                    failed = true
                    return .failure(path: item.path, error: Terminal.message(for: error, path: item.path))
                }
            }
            try Terminal.printJSON(entries)
        case .table:
            var table = TextTable(
                header: ["file", "container", "codec", "rate", "ch", "frames", "duration", "peak dBFS", "rms dBFS"],
                rightAligned: [3, 4, 5, 6, 7, 8])
            for (item, result) in zip(items, results) {
                switch result {
                case .success(let s):
                    table.rows.append([
                        s.path, s.container, s.codec, String(s.sampleRate), String(s.channels), String(s.frames),
                        String(format: "%.3f s", s.duration), Self.decibels(s.peakDBFS), Self.decibels(s.rmsDBFS),
                    ])
                case .failure(let error):
                    failed = true
                    Terminal.report(error, for: item.path)
                }
            }
            if !table.rows.isEmpty { Terminal.print(table.render()) }
        }
        if failed { throw ExitCode.someInputsFailed }
    }

    static func decibels(_ value: Double?) -> String {
        guard let value else { return "-inf" }
        return String(format: "%.2f", value)
    }
}
