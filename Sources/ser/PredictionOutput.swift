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
    func record(for entry: PredictionOutcome, layout: PredictionFormat) -> String {
        if layout == .csv {
            switch entry.result {
            case .success(let r):
                let e = r.estimate
                var cells = [CSVText.field(entry.input.name), String(format: "%.3f", r.duration), String(e.speech), e.emotion ?? "",
                             e.confidence.map { String(format: "%.4f", $0) } ?? "", e.gender?.label ?? "",
                             e.gender.map { String(format: "%.4f", $0.confidence) } ?? ""]
                cells += labels.map { label in e.probabilities?[label].map { String(format: "%.4f", $0) } ?? "" }
                cells += [entry.adaptation.map { CSVText.field($0.speaker) } ?? "", entry.adaptation.map { String($0.recordings) } ?? ""]
                return (cells + [""]).joined(separator: ",")
            case .failure(let failure):
                return ([CSVText.field(entry.input.name)] + Array(repeating: "", count: 8 + labels.count) + [CSVText.field(failure.message)]).joined(separator: ",")
            }
        }
        return WireJSON.text(answer(entry))
    }

    func write(_ entries: [PredictionOutcome], layout: PredictionFormat) throws {
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
                    table.rows.append([entry.input.name, e.speech ? (e.emotion ?? "") : "(no speech)",
                                       e.confidence.map { String(format: "%.0f%%", 100 * $0) } ?? "",
                                       runners.joined(separator: ", "),
                                       e.gender.map { String(format: "%@ %.0f%%", $0.label, 100 * $0.confidence) } ?? "",
                                       String(format: "%.1f s", r.duration)]
                                      + (adapted ? [entry.adaptation.map { "\($0.speaker) (\($0.recordings))" } ?? "(alone)"] : []))
                    for segment in r.segments ?? [] {
                        let s = segment.estimate
                        table.rows.append([String(format: "  %7.2f–%.2f s", segment.start, segment.end),
                                           s.speech ? (s.emotion ?? "") : "(no speech)",
                                           s.confidence.map { String(format: "%.0f%%", 100 * $0) } ?? "", "", "", ""] + (adapted ? [""] : []))
                    }
                case .failure:
                    table.rows.append([entry.input.name, "(failed)", "", "", "", ""] + (adapted ? [""] : []))
                }
            }
            Terminal.print(table.render())
        }
    }

    private func answer(_ entry: PredictionOutcome) -> BatchItemAnswer {
        BatchItemAnswer(entry, includeTimings: includeTimings)
    }
}
