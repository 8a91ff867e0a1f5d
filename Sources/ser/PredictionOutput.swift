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

extension PredictionOutput {
    /// Prints `results` in `layout` (and each file's stage timings when asked
    /// for), then every failure on standard error; throws `SomeInputsFailed`
    /// when there was one.
    func report(_ results: [PredictionOutcome], layout: PredictionFormat) throws {
        try write(results, layout: layout)
        if includeTimings {
            for entry in results {
                guard case .success(let r) = entry.result else { continue }
                let t = r.timings
                Terminal.printError(String(format: "%@: decode %.1f ms, resample %.1f ms, speech detection %.1f ms, features %.1f ms, model %.2f ms",
                                           entry.input.name, 1000 * t.decode, 1000 * t.resample, 1000 * t.voiceActivity, 1000 * t.features, 1000 * t.model))
            }
        }
        let failures = results.compactMap { if case .failure(let failure) = $0.result { failure } else { nil } }
        for failure in failures { Terminal.printError("ser: \(failure)") }
        if !failures.isEmpty { throw SomeInputsFailed() }
    }

    /// Writes the answers of `entries` to `destination` as they come (JSON
    /// lines or CSV), so that a rerun of the same run resumes after the last
    /// complete chunk; a shard's part ends with a completion record. Throws
    /// `SomeInputsFailed` when an answer failed (each is reported as it comes).
    func writeAsTheyCome(to destination: String, identity: RunIdentity, isShard: Bool, layout: PredictionFormat, chunkSize: Int, entries: [Int],
                         progress: ProgressBar, answer: @escaping @Sendable (Int) -> PredictionOutcome) throws {
        let writer = TableWriter(destination: destination, layout: layout == .csv ? .csv(header: csvHeader + "\n") : .jsonLines,
                                 identity: identity, writesCompletionRecord: isShard, chunkSize: chunkSize)
        let summary = try writer.run(entries: entries, onProgress: { progress.update(finished: $0) }) { index in
            let entry = answer(index)
            var failure: String?
            if case .failure(let reason) = entry.result {
                failure = reason.message
                Terminal.printError("ser: \(reason)")
            }
            return EntryOutput(bytes: Data((record(for: entry, layout: layout) + "\n").utf8), records: 1, failure: failure)
        }
        progress.finish()
        if summary.alreadyComplete {
            Terminal.printError("ser: \(destination) is already complete (\(summary.entries) files); nothing to do")
        } else if summary.resumed > 0 {
            Terminal.printError("ser: resumed \(destination) after \(summary.resumed) of \(entries.count) files")
        }
        if summary.failedEntries > 0 { throw SomeInputsFailed() }
    }
}
