import Foundation
import ArgumentParser
import SERAudio
import SERModels
import SERRecognition
import SERSpeakers
import SERSupport

/// `ser model`: inspect model files.
struct ModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "Inspect model files.",
        subcommands: [Info.self]
    )

    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Summarise a model: layers, parameters, labels, features, training data and metrics.",
            discussion: "Without MODEL, describes the default model that `ser predict` uses."
        )
        @Argument(help: ArgumentHelp("A model file (.safetensors).", valueName: "model")) var model: String?
        @Option(help: "Output layout: table or json.") var format: ReportFormat = .table

        /// What the file holds, one phrase per classifier.
        static func parts(_ model: EmotionModel) -> [String] {
            var parts = [model.normalizesPerSpeaker
                         ? "a classifier of per-speaker z-scores (answers need a speaker's recordings)"
                         : "a lone-file classifier (answers each recording on its own)"]
            if let adapted = model.adapted {
                let a = adapted.adaptation
                let from = a.minimumRecordings == Int.max ? "never used" : "used from \(max(1, a.minimumRecordings)) recording(s) of a voice on"
                parts.append(String(format: "a speaker-adapted classifier, %d parameters (features standardized by the speaker's statistics, shrunk toward the training population by %g recordings for the mean and %g for the variance; blended in by k/(k + %g) after k recordings; %@)",
                                    adapted.classifier.parameterCount, a.meanPriorWeight, a.variancePriorWeight, a.blendPriorWeight, from))
            }
            return parts
        }

        func run() throws {
            let path = try model ?? DefaultModel.path()
            let file = try SafeTensorsFile(contentsOf: path)
            let loaded = try EmotionModel(file: file, source: path)
            let d = loaded.description
            let layers = loaded.classifier.structureSummary
            switch format {
            case .json:
                try Terminal.printJSON(ModelInfo(path: path, description: d, parameters: loaded.classifier.parameterCount,
                                                 layers: layers, temperature: Double(loaded.classifier.temperature), parts: Self.parts(loaded)))
            case .table:
                var lines = ["model: \(path)"]
                lines.append("architecture: \(d.architecture)\(d.ensembleSize.map { " × \($0) (ensemble)" } ?? ""), \(loaded.classifier.parameterCount) parameters (\(layers.joined(separator: ", ")))")
                lines.append("labels: \(d.labels.joined(separator: " "))" + (d.genderLabels.map { "; gender: \($0.joined(separator: " "))" } ?? ""))
                lines.append("features: \(d.features.preset), \(d.features.dimension) values at \(d.features.sampleRate) Hz"
                             + (d.featureNormalization == "speaker" ? ", z-scored per speaker" : "")
                             + (d.trimsToSpeech == false ? ", over whole recordings (not trimmed to speech)"
                                : ", trimmed to speech" + (d.speechMarginSeconds.map { String(format: " with %g s kept on each side", $0) } ?? ""))
                             + (d.encoderPrecision.map { ", speech encoder in \($0)" } ?? ""))
                if let copies = d.testTimeAugmentation {
                    lines.append("test-time augmentation: each input is classified with its \(copies.joined(separator: ", ")) copies, answers averaged")
                }
                lines.append(String(format: "calibration: temperature %.2f", loaded.classifier.temperature))
                lines.append("parts: " + Self.parts(loaded).joined(separator: "; "))
                if let curve = d.speakerAdaptation?.curve { lines.append(AdaptationList.table(curve)) }
                if let t = d.training {
                    lines.append("trained on: \(t.files) files, \(t.speakers) speakers" + (t.allowsLeakage ? " (LEAKY random split)" : "")
                                 + (t.refitEpochs.map { $0 > 0 ? ", refitted on all of them for \($0) epochs after validation" : ", refitted on all of them after validation" } ?? ""))
                    for corpus in t.counts.keys.sorted() {
                        let row = t.counts[corpus]!
                        lines.append("  \(corpus): " + d.labels.compactMap { label in row[label].map { "\(label) \($0)" } }.joined(separator: ", "))
                    }
                }
                if let cv = d.crossValidation {
                    lines.append(String(format: "%@ (%@): accuracy %.1f ± %.1f %%, UAR %.1f ± %.1f %%",
                                        cv.allowsLeakage ? "random-split CV (LEAKY)" : "speaker-independent CV", cv.foldsDescription,
                                        100 * cv.accuracy.mean, 100 * cv.accuracy.std, 100 * cv.uar.mean, 100 * cv.uar.std))
                    if let conditions = cv.conditions { lines.append(ConditionScore.table(conditions)) }
                }
                if let level = d.levelNormalization {
                    lines.append(String(format: "level normalization: every input's speech brought to %.0f dBFS", level.referenceDBFS))
                }
                if let v = d.validation {
                    lines.append(String(format: "validation speakers: accuracy %.1f %%, UAR %.1f %%, ECE %.3f", 100 * v.accuracy, 100 * v.uar, v.ece ?? 0))
                }
                if let command = d.command { lines.append("command: \(command)" + (d.seed.map { " (seed \($0))" } ?? "")) }
                if let created = d.created { lines.append("created: \(created) by ser \(d.serVersion ?? "?")") }
                Terminal.print(lines.joined(separator: "\n"))
            }
        }
    }
}

private struct ModelInfo: Encodable {
    var path: String
    var description: ModelDescription
    var parameters: Int
    var layers: [String]
    var temperature: Double
    var parts: [String]
}
