import Foundation
import ArgumentParser
import SERAudio
import SERFeatures
import SERModels
import SERRecognition
import SERTraining

/// What `ser train` prints (table) or writes (JSON), and what the report shows.
struct TrainingSummary: Encodable {
    var architecture: String
    /// Models averaged (`--ensemble`); nil for one.
    var ensembleSize: Int?
    var features: String
    var sampleRate: Int
    var labels: [String]
    var files: Int
    var speakers: Int
    var excluded: Int
    var counts: [String: [String: Int]]
    var crossValidation: CrossValidationSummary?
    var validation: ClassificationMetrics?
    var validationSpeakers: [String]?
    var epochs: Int?
    /// Epochs of the refit on all training speakers (0 for trees), nil without one.
    var refitEpochs: Int?
    var temperature: Double?
    var model: String?
    var allowsLeakage: Bool
    var seed: UInt64
    var command: String
    var featureSeconds: Double
    var trainingSeconds: Double
    /// The `--augment` recipe and how many perturbed copies it made.
    var augmentation: [String] = []
    var augmentedCopies = 0
    /// Whether the model averages each input with its augmented copies.
    var testTimeAugmentation = false
    /// "speaker" with --speaker-normalization, else "recording".
    var featureNormalization = "recording"
    /// Whether the model has a speaker-adapted part (`--adaptive`).
    var adaptive = false
    /// With --adaptive and cross-validation: the recordings of a voice from which the model adapts.
    var adaptationMinimumRecordings: Int?
    /// False with --no-trim: features over whole recordings, silences included.
    var trimsToSpeech = true
    /// Seconds kept around the speech span when trimming (--speech-margin).
    var speechMarginSeconds: Double?
    /// With --corpus-heads, the final model's heads.
    var corpusHeads: [CorpusHeadsClassifier.Head]?
    /// The active level inputs are brought to (dBFS); nil with --no-level-normalization.
    var levelNormalizationDBFS: Double?
    /// Multi-condition copies per file (`--condition-copies`).
    var conditionCopies = 0

    enum CodingKeys: String, CodingKey {
        case trimsToSpeech = "trims_to_speech", corpusHeads = "corpus_heads", speechMarginSeconds = "speech_margin_seconds"
        case levelNormalizationDBFS = "level_normalization_dbfs", conditionCopies = "condition_copies"
        case augmentation, augmentedCopies = "augmented_copies", testTimeAugmentation = "test_time_augmentation", featureNormalization = "feature_normalization", adaptive, adaptationMinimumRecordings = "adaptation_minimum_recordings"
        case architecture, features, labels, files, speakers, excluded, counts, validation, epochs, temperature, model, seed, command
        case refitEpochs = "refit_epochs", ensembleSize = "ensemble_size"
        case sampleRate = "sample_rate", crossValidation = "cross_validation", validationSpeakers = "validation_speakers"
        case allowsLeakage = "allows_leakage", featureSeconds = "feature_seconds", trainingSeconds = "training_seconds"
    }

    var text: String {
        var lines: [String] = []
        if allowsLeakage { lines.append("WARNING: leaky random split (--allow-leakage): speakers are in both train and test.") }
        lines.append("\(architecture)\(ensembleSize.map { " × \($0) (ensemble)" } ?? "") on \(features) at \(sampleRate / 1000) kHz: \(files) files, \(speakers) speakers, \(labels.count) labels (\(labels.joined(separator: " ")))")
        if featureNormalization == "speaker" {
            lines.append("features z-scored per speaker (each test speaker by its own unlabelled recordings)")
        }
        if !trimsToSpeech { lines.append("features over whole recordings, silences included (--no-trim)") }
        if trimsToSpeech, let speechMarginSeconds {
            lines.append(String(format: "features over each speech span with %g s of the recording on each side (--speech-margin)", speechMarginSeconds))
        }
        lines.append(levelNormalizationDBFS.map { String(format: "every input brought to an active speech level of %.0f dBFS", $0) }
                     ?? "raw input levels (--no-level-normalization): the recording's gain is part of what the model hears")
        if conditionCopies > 0 {
            lines.append("multi-condition training: \(conditionCopies) cop\(conditionCopies == 1 ? "y" : "ies") of every training file through a random recording chain")
        }
        if adaptive {
            lines.append("speaker-adaptive: a lone-file classifier and one of speaker-standardized features (--adaptive)")
        }
        if let corpusHeads {
            lines.append("corpus heads: " + corpusHeads.map { "\($0.corpus) (\($0.labels.count) labels)" }.joined(separator: ", ")
                         + "; known corpora are scored with their own head, other audio with the heads combined")
        }
        if testTimeAugmentation {
            lines.append("test-time augmentation: each input is classified with its \(augmentation.joined(separator: ", ")) copies, answers averaged")
        }
        if let cv = crossValidation {
            let a = cv.accuracy, u = cv.uar, f = cv.macroF1
            lines.append(String(format: "%@ (%@): accuracy %.1f ± %.1f %%, UAR %.1f ± %.1f %%, macro-F1 %.1f ± %.1f %%, ECE %.3f",
                                cv.allowsLeakage ? "random-split cross-validation (LEAKY)" : "speaker-independent cross-validation",
                                cv.foldsDescription, 100 * a.mean, 100 * a.std, 100 * u.mean, 100 * u.std, 100 * f.mean, 100 * f.std,
                                cv.pooled.ece ?? 0))
            if let partitions = cv.partitionAccuracies {
                lines.append("  accuracy of each partition: " + AdaptationList.percentages(partitions)
                             + String(format: " (pooled %.1f %%)", 100 * cv.pooled.accuracy))
            }
            for (corpus, m) in (cv.perCorpus ?? [:]).sorted(by: { $0.key < $1.key }) {
                lines.append(String(format: "  %@: %d files, accuracy %.1f %%, UAR %.1f %%", corpus, m.n, 100 * m.accuracy, 100 * m.uar))
            }
            if let all = cv.combinedHeads {
                lines.append(String(format: "heads combined, as for audio of unknown origin: accuracy %.1f %%, UAR %.1f %%, ECE %.3f",
                                    100 * all.accuracy, 100 * all.uar, all.ece ?? 0))
                for (corpus, m) in (cv.combinedHeadsPerCorpus ?? [:]).sorted(by: { $0.key < $1.key }) {
                    lines.append(String(format: "  %@: %d files, accuracy %.1f %%, UAR %.1f %%", corpus, m.n, 100 * m.accuracy, 100 * m.uar))
                }
            }
        }
        if let conditions = crossValidation?.conditions {
            lines.append(ConditionScore.table(conditions))
        }
        if let curve = crossValidation?.adaptation {
            lines.append(AdaptationList.table(curve))
            if let minimum = adaptationMinimumRecordings {
                lines.append(minimum == Int.max
                    ? "adapted answers never beat the lone-file ones on these folds: the model answers each recording on its own"
                    : minimum <= 1 ? "adapted answers from the first recording of a voice on"
                    : "adapted answers from \(minimum) recordings of a voice on (fewer lowered the cross-validated accuracy)")
            }
        }
        if let model {
            var line = "model: \(model)"
            if let epochs, epochs > 0 { line += ", best of \(epochs) epochs" }
            if let refitEpochs {
                line += refitEpochs > 0 ? ", refitted on all training speakers for \(refitEpochs) epochs" : ", refitted on all training speakers"
            }
            if let temperature { line += String(format: ", temperature %.2f", temperature) }
            lines.append(line)
            if let validation {
                lines.append(String(format: "  validation speakers (%@): accuracy %.1f %%, UAR %.1f %%, ECE %.3f",
                                    (validationSpeakers ?? []).joined(separator: " "), 100 * validation.accuracy, 100 * validation.uar,
                                    validation.ece ?? 0))
            }
        }
        lines.append(String(format: "time: features %.1f s, training %.1f s", featureSeconds, trainingSeconds))
        return lines.joined(separator: "\n")
    }
}

extension TrainingSummary {
    /// The summary of `report`, a run of `recipe` on data from which a scan left out `excluded` files.
    init(recipe: TrainingRecipe, report: TrainingRun.Report, excluded: Int, model: String?, command: String) {
        let outcome = report.outcome
        self.init(
            architecture: recipe.architecture.rawValue, ensembleSize: recipe.ensembleSize > 1 ? recipe.ensembleSize : nil,
            features: recipe.resolvedFeatures.rawValue, sampleRate: recipe.sampleRate, labels: report.labels,
            files: report.files, speakers: report.speakers, excluded: excluded + report.failures.count, counts: report.counts,
            crossValidation: report.crossValidation, validation: outcome?.validation, validationSpeakers: outcome?.validationSpeakers,
            epochs: outcome?.history.count, refitEpochs: outcome?.refitEpochs,
            temperature: outcome.map { Double($0.model.classifier.temperature) },
            model: model, allowsLeakage: recipe.allowsLeakage, seed: recipe.seed, command: command,
            featureSeconds: report.featureSeconds, trainingSeconds: report.trainingSeconds,
            augmentation: recipe.augmentation, augmentedCopies: report.augmentedCopies,
            testTimeAugmentation: recipe.testTimeAugmentation,
            featureNormalization: recipe.speakerNormalization ? "speaker" : "recording", adaptive: recipe.adaptive,
            adaptationMinimumRecordings: report.adaptationMinimumRecordings, trimsToSpeech: recipe.trimsToSpeech,
            speechMarginSeconds: recipe.trimsToSpeech && recipe.speechMarginSeconds > 0 ? recipe.speechMarginSeconds : nil,
            corpusHeads: report.corpusHeads, levelNormalizationDBFS: recipe.levelNormalization?.referenceDBFS,
            conditionCopies: recipe.conditionCopies)
    }
}

/// The k values of an adaptation curve as users write them: `0,1,3,5,all`.
enum AdaptationList {
    static let standard = "0,1,3,5,10,20,all"

    static func parse(_ text: String) throws -> [Int?] {
        let values = try text.split(separator: ",").map { part -> Int? in
            let item = part.trimmingCharacters(in: .whitespaces)
            if item == "all" { return nil }
            guard let k = Int(item), (0...10_000).contains(k) else {
                throw ValidationError("--adaptation takes counts of recordings (0 to 10000) and \"all\", separated by commas (got \(item)).")
            }
            return k
        }
        guard !values.isEmpty else { throw ValidationError("--adaptation needs at least one k.") }
        return values
    }

    /// Accuracies as "74.1 / 75.0 / 75.2 %".
    static func percentages(_ values: [Double]) -> String {
        values.map { String(format: "%.1f", 100 * $0) }.joined(separator: " / ") + " %"
    }

    /// Whether the curve comes from repeated cross-validation (each point has every partition's accuracy).
    static func isRepeated(_ curve: [AdaptationPoint]) -> Bool {
        curve.contains { ($0.partitionAccuracies?.count ?? 0) > 1 }
    }

    /// The curve as a text table, with per-corpus columns for pooled data and,
    /// for repeated cross-validation, each partition's accuracy.
    static func table(_ curve: [AdaptationPoint]) -> String {
        let corpora = Set(curve.flatMap { $0.perCorpus?.keys.map { $0 } ?? [] }).sorted()
        let repeated = isRepeated(curve)
        let extra = corpora + (repeated ? ["each partition"] : [])
        var table = TextTable(header: ["k (recordings known)", "n", "accuracy", "UAR"] + extra, rightAligned: Set(1..<(4 + extra.count)))
        for point in curve {
            table.rows.append([point.label, String(point.n), String(format: "%.1f %%", 100 * point.accuracy), String(format: "%.1f %%", 100 * point.uar)]
                              + corpora.map { corpus in point.perCorpus?[corpus].map { String(format: "%.1f %%", 100 * $0.accuracy) } ?? "" }
                              + (repeated ? [point.partitionAccuracies.map(percentages) ?? ""] : []))
        }
        return "adaptation curve (each recording scored with k other recordings of its speaker; 0: alone):\n" + table.render()
    }
}

