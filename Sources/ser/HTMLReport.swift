import Foundation
import SERModels
import SERRecognition

/// Self-contained HTML reports: inline SVG charts and tables, no scripts, no network.
enum HTMLReport {
    /// The report of a `ser train` run.
    static func training(_ s: TrainingSummary, history: [EpochRecord]) -> String {
        var body = ""
        if s.allowsLeakage {
            body += "<p class=warn>Leaky random split (--allow-leakage): the same speakers are in train and test. These numbers do not measure unseen voices.</p>"
        }
        body += "<h2>Run</h2><table>"
        body += row("command", "<code>\(escape(s.command))</code>") + row("seed", "\(s.seed)")
        body += row("architecture", escape(s.architecture)) + row("features", "\(escape(s.features)) at \(s.sampleRate) Hz")
        body += row("data", "\(s.files) files, \(s.speakers) speakers, \(s.excluded) excluded")
        if let heads = s.corpusHeads {
            body += row("corpus heads", escape(heads.map { "\($0.corpus) (\($0.labels.count) labels)" }.joined(separator: ", "))
                        + "; known corpora are scored with their own head, other audio with the heads combined")
        }
        body += row("time", String(format: "features %.1f s, training %.1f s", s.featureSeconds, s.trainingSeconds))
        body += "</table>"
        body += "<h2>Dataset composition</h2>" + composition(s.counts, labels: s.labels)
        if let cv = s.crossValidation {
            let a = cv.accuracy, u = cv.uar, f = cv.macroF1
            body += "<h2>\(cv.allowsLeakage ? "Random-split (leaky)" : "Speaker-independent") cross-validation</h2>"
            body += String(format: "<p class=headline>accuracy %.1f ± %.1f %% · UAR %.1f ± %.1f %% · macro-F1 %.1f ± %.1f %% · ECE %.3f (%@)</p>",
                           100 * a.mean, 100 * a.std, 100 * u.mean, 100 * u.std, 100 * f.mean, 100 * f.std, cv.pooled.ece ?? 0,
                           cv.foldsDescription)
            if let partitions = cv.partitionAccuracies {
                body += "<p>accuracy of each partition of the speakers: \(escape(AdaptationList.percentages(partitions)))</p>"
            }
            // Tree models have no epochs: the column shows only for networks.
            let showsEpochs = cv.folds.contains { $0.epochs > 0 }
            body += "<table><tr><th>fold</th><th>test speakers</th><th>n</th><th>accuracy</th><th>UAR</th><th>macro-F1</th>"
                + (showsEpochs ? "<th>epochs</th>" : "") + "<th>seconds</th></tr>"
            for (i, fold) in cv.folds.enumerated() {
                body += "<tr><td>\(i + 1)</td><td>\(escape(fold.testSpeakers.joined(separator: " ")))</td><td>\(fold.n)</td>"
                body += String(format: "<td>%.1f %%</td><td>%.1f %%</td><td>%.1f %%</td>", 100 * fold.accuracy, 100 * fold.uar, 100 * fold.macroF1)
                body += (showsEpochs ? "<td>\(fold.epochs)</td>" : "") + String(format: "<td>%.1f</td></tr>", fold.seconds)
            }
            body += "</table>"
            body += metricsSection(cv.pooled, title: "All test folds pooled")
            for (corpus, metrics) in (cv.perCorpus ?? [:]).sorted(by: { $0.key < $1.key }) {
                body += metricsSection(metrics, title: "Test folds pooled: \(escape(corpus))")
            }
            if let curve = cv.adaptation { body += adaptationSection(curve) }
            if let conditions = cv.conditions { body += conditionsSection(conditions) }
            if let combined = cv.combinedHeads {
                body += metricsSection(combined, title: "All test folds, heads combined (as for audio of unknown origin)")
                for (corpus, metrics) in (cv.combinedHeadsPerCorpus ?? [:]).sorted(by: { $0.key < $1.key }) {
                    body += metricsSection(metrics, title: "Heads combined: \(escape(corpus))")
                }
            }
        }
        if !history.isEmpty {
            body += "<h2>Training curves (final model)</h2><div class=charts>"
            body += lineChart(title: "loss", series: [("train", history.map(\.trainLoss), "#1f77b4"),
                                                      ("validation", history.compactMap(\.validationLoss), "#d62728")])
            body += lineChart(title: "accuracy", series: [("train accuracy", history.map(\.trainAccuracy), "#1f77b4"),
                                                          ("validation accuracy", history.compactMap(\.validationAccuracy), "#d62728"),
                                                          ("validation UAR", history.compactMap(\.validationUAR), "#2ca02c")], unitRange: true)
            body += "</div>"
        }
        if let validation = s.validation {
            body += metricsSection(validation, title: "Final model on its validation speakers (\(escape((s.validationSpeakers ?? []).joined(separator: " "))))")
        }
        return page(title: "ser train: \(s.architecture) on \(s.features)", body: body)
    }

    /// The report of a `ser evaluate` run.
    static func evaluation(title: String, overall: ClassificationMetrics, perCorpus: [(String, ClassificationMetrics)],
                           command: String, notes: [String], adaptation: [AdaptationPoint]? = nil,
                           conditions: [ConditionScore]? = nil) -> String {
        var body = "<h2>Run</h2><table>" + row("command", "<code>\(escape(command))</code>") + "</table>"
        for note in notes { body += "<p>\(escape(note))</p>" }
        if let conditions { body += conditionsSection(conditions) }
        body += metricsSection(overall, title: "Overall")
        for (corpus, metrics) in perCorpus { body += metricsSection(metrics, title: escape(corpus)) }
        if let adaptation { body += adaptationSection(adaptation) }
        return page(title: title, body: body)
    }

    static func metricsSection(_ m: ClassificationMetrics, title: String) -> String {
        var html = "<h2>\(title)</h2>"
        html += String(format: "<p class=headline>n = %d · accuracy %.1f %% · UAR %.1f %% · macro-F1 %.1f %%%@</p>", m.n, 100 * m.accuracy,
                       100 * m.uar, 100 * m.macroF1, m.ece.map { String(format: " · ECE %.3f", $0) } ?? "")
        html += "<div class=charts>"
        html += heatmap(m, normalized: false) + heatmap(m, normalized: true)
        html += barChart(title: "per-class F1", labels: m.labels, values: m.labels.map { m.perClass[$0]?.f1 ?? 0 })
        html += "</div><table><tr><th>label</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr>"
        for label in m.labels {
            guard let c = m.perClass[label] else { continue }
            html += String(format: "<tr><td>%@</td><td>%.3f</td><td>%.3f</td><td>%.3f</td><td>%d</td></tr>", escape(label), c.precision, c.recall, c.f1, c.support)
        }
        return html + "</table>"
    }

    /// Accuracy per recording condition, as bars and a table with each condition's change against clean.
    static func conditionsSection(_ scores: [ConditionScore]) -> String {
        var html = "<h2>Recording conditions</h2><p>The same recordings as other recording chains would have made them; "
            + "a recording in which no speech is found counts as wrong.</p><div class=charts>"
        html += barChart(title: "accuracy per condition", labels: scores.map(\.condition), values: scores.map(\.accuracy))
        html += "</div><table><tr><th>condition</th><th>n</th><th>no speech</th><th>accuracy</th><th>UAR</th><th>ECE</th><th>vs clean</th></tr>"
        for s in scores {
            html += String(format: "<tr><td>%@</td><td>%d</td><td>%d</td><td>%.1f %%</td><td>%.1f %%</td><td>%.3f</td><td>%@</td></tr>",
                           escape(s.condition), s.n, s.noSpeech, 100 * s.accuracy, 100 * s.uar, s.ece,
                           s.condition == "clean" ? "" : String(format: "%+.1f", 100 * s.change))
        }
        return html + "</table>"
    }

    static func composition(_ counts: [String: [String: Int]], labels: [String]) -> String {
        var html = "<table><tr><th>corpus</th>" + labels.map { "<th>\(escape($0))</th>" }.joined() + "<th>total</th></tr>"
        for corpus in counts.keys.sorted() {
            let row = counts[corpus]!
            html += "<tr><td>\(escape(corpus))</td>" + labels.map { "<td>\(row[$0] ?? 0)</td>" }.joined()
            html += "<td>\(row.values.reduce(0, +))</td></tr>"
        }
        return html + "</table>"
    }

    /// A confusion matrix as a heatmap, truth down, prediction across.
    static func heatmap(_ m: ClassificationMetrics, normalized: Bool) -> String {
        let k = m.labels.count, cell = 44, left = 80, top = 90
        let width = left + k * cell + 10, height = top + k * cell + 30
        var svg = "<svg role=img aria-label='confusion matrix\(normalized ? ", row-normalised" : "")' viewBox='0 0 \(width) \(height)' width='\(width)' height='\(height)'>"
        svg += "<text x='\(left)' y='16' class=title>confusion \(normalized ? "(row-normalised)" : "(counts)")</text>"
        svg += "<text x='\(left + k * cell / 2)' y='\(height - 6)' text-anchor=middle>predicted</text>"
        for (j, label) in m.labels.enumerated() {
            svg += "<text transform='translate(\(left + j * cell + cell / 2),\(top - 6)) rotate(-50)'>\(escape(label))</text>"
            svg += "<text x='\(left - 6)' y='\(top + j * cell + cell / 2 + 4)' text-anchor=end>\(escape(label))</text>"
        }
        let peak = max(1, m.confusion.flatMap { $0 }.max() ?? 1)
        for i in 0..<k {
            let total = max(1, m.confusion[i].reduce(0, +))
            for j in 0..<k {
                let count = m.confusion[i][j]
                let share = normalized ? Double(count) / Double(total) : Double(count) / Double(peak)
                let shade = Int(255 - 200 * share)
                let text = normalized ? String(format: "%.2f", Double(count) / Double(total)) : String(count)
                svg += "<rect x='\(left + j * cell)' y='\(top + i * cell)' width='\(cell - 1)' height='\(cell - 1)' fill='rgb(\(shade),\(shade),255)'><title>\(escape(m.labels[i])) → \(escape(m.labels[j])): \(count)</title></rect>"
                svg += "<text x='\(left + j * cell + cell / 2)' y='\(top + i * cell + cell / 2 + 4)' text-anchor=middle fill='\(share > 0.6 ? "#fff" : "#000")'>\(text)</text>"
            }
        }
        return svg + "</svg>"
    }

    static func barChart(title: String, labels: [String], values: [Double]) -> String {
        let barHeight = 22, left = 80, width = 360, top = 28
        let height = top + labels.count * barHeight + 10
        var svg = "<svg role=img aria-label='\(escape(title))' viewBox='0 0 \(left + width + 50) \(height)' width='\(left + width + 50)' height='\(height)'>"
        svg += "<text x='\(left)' y='16' class=title>\(escape(title))</text>"
        for (i, (label, value)) in zip(labels, values).enumerated() {
            let y = top + i * barHeight
            svg += "<text x='\(left - 6)' y='\(y + 15)' text-anchor=end>\(escape(label))</text>"
            svg += "<rect x='\(left)' y='\(y + 3)' width='\(Int(Double(width) * max(0, min(1, value))))' height='\(barHeight - 6)' fill='#4c78a8'/>"
            svg += String(format: "<text x='%d' y='%d'>%.2f</text>", left + Int(Double(width) * max(0, min(1, value))) + 4, y + 15, value)
        }
        return svg + "</svg>"
    }

    /// The adaptation curve: a table and accuracy/UAR against k (points evenly spaced, labelled by k).
    static func adaptationSection(_ curve: [AdaptationPoint]) -> String {
        var body = "<h2>Adaptation to the speaker</h2><p>Each recording scored with the statistics of k other recordings of its speaker (k = 0: alone; all: every recording of the speaker).</p>"
        let repeated = AdaptationList.isRepeated(curve)
        body += "<table><tr><th>k</th><th>n</th><th>accuracy</th><th>UAR</th>" + (repeated ? "<th>each partition</th>" : "") + "</tr>"
        for point in curve {
            body += String(format: "<tr><td>%@</td><td>%d</td><td>%.1f %%</td><td>%.1f %%</td>", point.label, point.n, 100 * point.accuracy, 100 * point.uar)
            if repeated { body += "<td>\(escape(point.partitionAccuracies.map(AdaptationList.percentages) ?? ""))</td>" }
            body += "</tr>"
        }
        body += "</table><div class=charts>"
        body += lineChart(title: "accuracy and UAR", series: [("accuracy", curve.map(\.accuracy), "#1f77b4"), ("UAR", curve.map(\.uar), "#2ca02c")],
                          unitRange: true, axis: "recordings known (k)", ticks: curve.map(\.label))
        return body + "</div>"
    }

    /// A line chart of series over evenly spaced points: epochs, or the `ticks` labels along `axis`.
    static func lineChart(title: String, series: [(String, [Double], String)], unitRange: Bool = false,
                          axis: String = "epoch", ticks: [String]? = nil) -> String {
        let width = 420.0, height = 240.0, left = 44.0, bottom = 28.0, top = 24.0, right = 10.0
        let all = series.flatMap(\.1).filter(\.isFinite)
        let count = series.map(\.1.count).max() ?? 0
        guard !all.isEmpty, count > 0 else { return "" }
        let lo = unitRange ? 0 : min(0, all.min()!), hi = unitRange ? 1 : max(all.max()!, lo + 1e-9)
        func x(_ i: Int) -> Double { left + (width - left - right) * (count == 1 ? 0.5 : Double(i) / Double(count - 1)) }
        func y(_ v: Double) -> Double { height - bottom - (height - bottom - top) * (v - lo) / (hi - lo) }
        let per = ticks == nil ? " per epoch" : " by \(axis)"
        var svg = "<svg role=img aria-label='\(escape(title + per))' viewBox='0 0 \(Int(width)) \(Int(height))' width='\(Int(width))' height='\(Int(height))'>"
        svg += "<text x='\(Int(left))' y='14' class=title>\(escape(title + per))</text>"
        svg += "<line x1='\(left)' y1='\(height - bottom)' x2='\(width - right)' y2='\(height - bottom)' stroke='#888'/>"
        svg += "<line x1='\(left)' y1='\(top)' x2='\(left)' y2='\(height - bottom)' stroke='#888'/>"
        for v in [lo, (lo + hi) / 2, hi] {
            svg += String(format: "<text x='%.0f' y='%.1f' text-anchor=end>%.2f</text>", left - 4, y(v) + 4, v)
        }
        if let ticks {
            for (i, tick) in ticks.enumerated() {
                svg += String(format: "<text x='%.1f' y='%.0f' text-anchor=middle>%@</text>", x(i), height - 12, escape(tick))
            }
        } else {
            svg += "<text x='\(Int(width - right))' y='\(Int(height - 6))' text-anchor=end>epoch \(count)</text>"
        }
        for (index, (name, values, color)) in series.enumerated() where !values.isEmpty {
            let points = values.enumerated().map { String(format: "%.1f,%.1f", x($0.offset), y($0.element)) }.joined(separator: " ")
            svg += "<polyline fill=none stroke='\(color)' stroke-width=2 points='\(points)'/>"
            svg += "<text x='\(Int(left) + 10 + index * 130)' y='\(Int(top) + 12)' fill='\(color)'>\(escape(name))</text>"
        }
        return svg + "</svg>"
    }

    static func page(title: String, body: String) -> String {
        """
        <!doctype html>
        <html lang=en><head><meta charset=utf-8><meta name=viewport content="width=device-width, initial-scale=1">
        <title>\(escape(title))</title>
        <style>
        body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1100px;padding:0 1rem;color:#222}
        h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd}
        table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left}
        .charts{display:flex;flex-wrap:wrap;gap:1.5rem;align-items:flex-start}svg{max-width:100%;height:auto;font-size:11px}
        .title{font-weight:600;font-size:12px}.headline{font-size:1.05rem;font-weight:600}.warn{background:#fee;border:1px solid #c00;padding:.5rem}
        </style></head><body><h1>\(escape(title))</h1>
        \(body)
        <p><small>Written by ser \(SER.version).</small></p></body></html>
        """
    }

    static func row(_ name: String, _ value: String) -> String { "<tr><th>\(escape(name))</th><td>\(value)</td></tr>" }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "'", with: "&#39;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
