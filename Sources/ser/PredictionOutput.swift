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

enum PredictionFormat: String, ExpressibleByArgument, CaseIterable {
    case table, json, jsonl, csv
}

struct PredictionEntry: Sendable {
    enum Result: Sendable {
        case success(Recognition)
        case failure(String)
    }
    var path: String
    var result: Result
    /// The speaker group the answer was adapted to, and how many recordings it had.
    var adaptation: (group: String, recordings: Int)?

    init(path: String, result: Result) {
        self.path = path
        self.result = result
    }
}

/// Writes predictions in each layout.
struct PredictionOutput {
    var labels: [String]
    var includeTimings: Bool

    /// The CSV layout's header line (without its line break).
    var csvHeader: String {
        (["path", "duration", "speech", "emotion", "confidence", "gender", "gender_confidence"] + labels
         + ["adapted_to", "adapted_recordings", "error"]).joined(separator: ",")
    }

    /// One entry as a JSON line or a CSV row (without the line break).
    func record(for entry: PredictionEntry, layout: PredictionFormat) -> String {
        if layout == .csv {
            switch entry.result {
            case .success(let r):
                let e = r.estimate
                var cells = [CSVText.field(entry.path), String(format: "%.3f", r.duration), String(e.speech), e.emotion ?? "",
                             e.confidence.map { String(format: "%.4f", $0) } ?? "", e.gender?.label ?? "",
                             e.gender.map { String(format: "%.4f", $0.confidence) } ?? ""]
                cells += labels.map { label in e.probabilities?[label].map { String(format: "%.4f", $0) } ?? "" }
                cells += [entry.adaptation.map { CSVText.field($0.group) } ?? "", entry.adaptation.map { String($0.recordings) } ?? ""]
                return (cells + [""]).joined(separator: ",")
            case .failure(let message):
                return ([CSVText.field(entry.path)] + Array(repeating: "", count: 8 + labels.count) + [CSVText.field(message)]).joined(separator: ",")
            }
        }
        return WireJSON.text(answer(entry))
    }

    func write(_ entries: [PredictionEntry], layout: PredictionFormat) throws {
        switch layout {
        case .json:
            Terminal.print(WireJSON.text(entries.map(answer), pretty: true))
        case .jsonl:
            for entry in entries { Terminal.print(record(for: entry, layout: .jsonl)) }
        case .csv:
            Terminal.print(csvHeader)
            for entry in entries { Terminal.print(record(for: entry, layout: .csv)) }
        case .table:
            let adapted = entries.contains { $0.adaptation != nil }
            var table = TextTable(header: ["file", "emotion", "confidence", "runners-up", "gender", "duration"] + (adapted ? ["adapted to"] : []),
                                  rightAligned: [2, 5])
            for entry in entries {
                switch entry.result {
                case .success(let r):
                    let e = r.estimate
                    let runners = e.ranked.dropFirst().prefix(2).map { String(format: "%@ %.0f%%", $0.label, 100 * $0.probability) }
                    table.rows.append([entry.path, e.speech ? (e.emotion ?? "") : "(no speech)",
                                       e.confidence.map { String(format: "%.0f%%", 100 * $0) } ?? "",
                                       runners.joined(separator: ", "),
                                       e.gender.map { String(format: "%@ %.0f%%", $0.label, 100 * $0.confidence) } ?? "",
                                       String(format: "%.1f s", r.duration)]
                                      + (adapted ? [entry.adaptation.map { "\($0.group) (\($0.recordings))" } ?? "(alone)"] : []))
                    for segment in r.segments ?? [] {
                        let s = segment.estimate
                        table.rows.append([String(format: "  %7.2f–%.2f s", segment.start, segment.end),
                                           s.speech ? (s.emotion ?? "") : "(no speech)",
                                           s.confidence.map { String(format: "%.0f%%", 100 * $0) } ?? "", "", "", ""] + (adapted ? [""] : []))
                    }
                case .failure:
                    table.rows.append([entry.path, "(failed)", "", "", "", ""] + (adapted ? [""] : []))
                }
            }
            Terminal.print(table.render())
        }
    }

    private func answer(_ entry: PredictionEntry) -> BatchAnswer {
        switch entry.result {
        case .failure(let message): return .failure(FailureAnswer(path: entry.path, error: message))
        case .success(let r):
            return .answer(PredictionAnswer(r, path: entry.path, includeTimings: includeTimings,
                                            adaptation: entry.adaptation.map { AdaptationAnswer(utterances: $0.recordings, speaker: $0.group) }))
        }
    }
}

/// One file of a batch on the wire: its answer, or why it has none.
enum BatchAnswer: Encodable {
    case answer(PredictionAnswer)
    case failure(FailureAnswer)

    func encode(to encoder: Encoder) throws {
        switch self {
        case .answer(let answer): try answer.encode(to: encoder)
        case .failure(let failure): try failure.encode(to: encoder)
        }
    }
}
