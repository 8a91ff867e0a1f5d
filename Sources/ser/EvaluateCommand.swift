import Foundation
import ArgumentParser
import SERAudio
import SERCorpora
import SERFeatures
import SERModels
import SERNumerics
import SERRecognition
import SERSpeakers
import SERSupport
import SERTraining

/// `ser evaluate`: a trained model against labelled data.
struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Measure a model on labelled recordings: accuracy, UAR, F1, confusion, calibration.",
        discussion: """
        Files are read, checked and labelled as by `ser train`, resampled to the model's \
        rate, and classified. Within each corpus, predictions are restricted to the labels \
        that corpus can carry (CREMA-D has no calm or surprised, for example): the model's \
        probabilities are renormalised over them, and the output says so. Files whose label \
        the model does not know are skipped and listed.

        JSON keys: accuracy, uar, macro_f1, n, labels, confusion, per_class, per_corpus, ece, skipped, \
        adaptation [{k, accuracy, uar, n}] with --adaptation (k is "all" for all), and conditions \
        [{condition, n, no_speech, accuracy, uar, ece, change}] with --conditions.

        Examples:
          ser evaluate --model pooled.safetensors --data corpora/crema-d
          ser evaluate --model m.safetensors --manifest test.jsonl --format json --report test.html
          ser evaluate --model models/default.safetensors --data corpora/ravdess --adaptation 0,1,3,5,10,20,all
          ser evaluate --model models/default.safetensors --data corpora/savee --conditions
          ser evaluate --model m.safetensors --data corpora/ravdess --condition phone --condition room:0.8+pink:15
        """
    )

    @Option(help: ArgumentHelp("The model file to evaluate.", valueName: "model")) var model: String
    @OptionGroup var selection: DataSelection
    @Option(help: "Output layout: table or json.") var format: ReportFormat = .table
    @Option(help: ArgumentHelp("Write an HTML report (confusion matrices, per-class F1).", valueName: "file.html")) var report: String?
    @Flag(help: "Neither read nor write the feature cache.") var noCache = false
    @Option(help: ArgumentHelp("For a model that adapts to speakers: also score each speaker's recordings with the statistics of k other recordings of that speaker (the k before it in a seeded random order), for each k of this list; \"all\" uses all of them. Shows how fast answers improve as a voice becomes known.", valueName: "k,k,…"))
    var adaptation: String?
    @Option(help: "Seed of the recording order of --adaptation.") var seed: UInt64 = 1
    @OptionGroup var conditionSelection: ConditionSelection

    func validate() throws {
        if let adaptation { _ = try AdaptationList.parse(adaptation) }
    }

    func run() throws {
        let emotionModel = try EmotionModel(contentsOf: model)
        let scan = try selection.labelling.scan(selection.paths)
        for excluded in scan.excluded { Terminal.printError("ser: left out \(excluded.path): \(excluded.reason)") }
        let known = Set(emotionModel.labels)
        var skipped = scan.clean.filter { !known.contains($0.label) }
            .map { SkippedFile(path: $0.path, reason: "label \($0.label) is not one of the model's labels") }
        let items = scan.clean.filter { known.contains($0.label) }
        guard !items.isEmpty else { throw CommandFailure("no files with the model's labels (\(emotionModel.labels.joined(separator: ", ")))") }
        let cache = noCache ? nil : try FeatureCache(directory: FeatureCache.defaultDirectory)
        let progress = ProgressBar(total: items.count, label: "features")
        var dataset = FeatureDataset(items: items, pipeline: emotionModel.pipeline, cache: cache, onProgress: { progress.update(finished: $0) })
        progress.finish()
        if !emotionModel.testTimePerturbations.isEmpty {
            // The model averages each input with its perturbed copies, as `ser predict` makes them.
            let copies = ProgressBar(total: dataset.items.count * emotionModel.testTimePerturbations.count, label: "test-time copies")
            dataset.augment(recipe: emotionModel.testTimePerturbations, seed: 0, fixedSeed: Perturbation.testTimeSeed, cache: cache,
                            onProgress: { copies.update(finished: $0) })
            copies.finish()
        }
        var curve: [AdaptationPoint]?
        if let adaptation {
            guard emotionModel.usesSpeakerStatistics else {
                throw CommandFailure("--adaptation: \(model) reads each recording on its own; train it with --adaptive to adapt to speakers")
            }
            let rows = Array(dataset.items.indices), labels = emotionModel.labels
            curve = Trainer.adaptationCurve(emotionModel, dataset, rows: rows, labels: labels, ks: try AdaptationList.parse(adaptation), seed: seed,
                                            averagingCopies: !emotionModel.testTimePerturbations.isEmpty)
                .map { $0.point(labels: labels) }
        }
        if emotionModel.normalizesPerSpeaker {
            // The model reads per-speaker z-scores: each evaluated speaker is
            // standardized by its own recordings (their labels are not read).
            dataset.normalizePerSpeaker()
        }
        skipped += dataset.failures
        for failure in dataset.failures { Terminal.printError("ser: \(failure.path): \(failure.reason)") }

        let labels = emotionModel.labels
        // One batch; a file's row is the mean over it and its test-time copies, if the model makes any.
        let probabilities = Trainer.probabilities(emotionModel.classifier, dataset, Array(dataset.items.indices), averagingCopies: true)
        let allowedByCorpus = dataset.labelsByCorpus
        var notes: [String] = []
        if !emotionModel.testTimePerturbations.isEmpty {
            notes.append("test-time augmentation: each file is classified with its \(emotionModel.testTimePerturbations.map(\.argument).joined(separator: ", ")) copies, answers averaged")
        }
        if emotionModel.normalizesPerSpeaker {
            notes.append("features z-scored per speaker, each by its own recordings (the model was trained with --speaker-normalization)")
        }
        if !emotionModel.trimsToSpeech {
            notes.append("features over whole recordings, silences included (the model was trained with --no-trim)")
        }
        let heads = emotionModel.classifier.corpusHeads
        if !heads.isEmpty {
            let own = allowedByCorpus.keys.map(\.rawValue).filter(heads.contains).sorted()
            let others = allowedByCorpus.keys.map(\.rawValue).filter { !heads.contains($0) }.sorted()
            notes.append("the model has a head per corpus: " + (own.isEmpty ? "" : "\(own.joined(separator: ", ")) scored with their own head")
                         + (own.isEmpty || others.isEmpty ? "" : "; ")
                         + (others.isEmpty ? "" : "\(others.joined(separator: ", ")) with the heads combined (\(heads.joined(separator: ", ")))"))
        }
        for corpus in allowedByCorpus.keys.sorted(by: { $0.rawValue < $1.rawValue }) where allowedByCorpus[corpus]!.count < labels.count {
            let allowed = labels.filter(allowedByCorpus[corpus]!.contains)
            notes.append("\(corpus.rawValue): predictions restricted to the labels it carries (\(allowed.joined(separator: ", ")))")
        }
        let scores = Self.scored(probabilities, dataset, labels: labels, carriedByCorpus: allowedByCorpus)
        let overall = scores.metrics(labels: labels)
        let perCorpus = scores.perCorpus(labels: labels).sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        let conditionScores = try scoreConditions(emotionModel, clean: dataset, cleanMetrics: overall, cache: cache)
        let command = (["ser"] + CommandLine.arguments.dropFirst()).joined(separator: " ")
        if let report {
            let html = HTMLReport.evaluation(title: "ser evaluate: \((model as NSString).lastPathComponent)", overall: overall,
                                             perCorpus: perCorpus, command: command, notes: notes, adaptation: curve,
                                             conditions: conditionScores)
            try AtomicFile.write(Data(html.utf8), to: report)
        }
        switch format {
        case .json:
            try Terminal.printJSON(EvaluationOutput(model: model, overall: overall, perCorpus: Dictionary(uniqueKeysWithValues: perCorpus),
                                                    notes: notes, skipped: skipped, adaptation: curve, conditions: conditionScores))
        case .table:
            for note in notes { Terminal.print("note: \(note)") }
            var table = TextTable(header: ["data", "n", "accuracy", "UAR", "macro-F1", "ECE"], rightAligned: [1, 2, 3, 4, 5])
            for (name, m) in perCorpus + [("overall", overall)] {
                table.rows.append([name, String(m.n), String(format: "%.1f %%", 100 * m.accuracy), String(format: "%.1f %%", 100 * m.uar),
                                   String(format: "%.1f %%", 100 * m.macroF1), String(format: "%.3f", m.ece ?? 0)])
            }
            Terminal.print(table.render())
            var classes = TextTable(header: ["label", "precision", "recall", "F1", "support"], rightAligned: [1, 2, 3, 4])
            for label in labels {
                guard let c = overall.perClass[label], c.support > 0 else { continue }
                classes.rows.append([label, String(format: "%.3f", c.precision), String(format: "%.3f", c.recall),
                                     String(format: "%.3f", c.f1), String(c.support)])
            }
            Terminal.print("\n" + classes.render())
            Terminal.print("\nconfusion (rows true, columns predicted; \(labels.joined(separator: " "))):")
            for (label, row) in zip(labels, overall.confusion) where row.reduce(0, +) > 0 {
                Terminal.print(label.padding(toLength: 10, withPad: " ", startingAt: 0) + row.map { String(format: "%5d", $0) }.joined())
            }
            if let curve { Terminal.print("\n" + AdaptationList.table(curve)) }
            if let conditionScores { Terminal.print("\n" + ConditionScore.table(conditionScores)) }
            if !skipped.isEmpty { Terminal.print("\n\(skipped.count) files skipped (--format json lists them)") }
        }
    }
}

extension EvaluateCommand {
    /// Scores the model on a copy of every clean recording per condition
    /// (nil without --conditions). A recording in which no speech is found
    /// under a condition counts as a wrong answer there: a user would get none.
    func scoreConditions(_ emotionModel: EmotionModel, clean: FeatureDataset, cleanMetrics: ClassificationMetrics,
                         cache: FeatureCache?) throws -> [ConditionScore]? {
        let chains = conditionSelection.chains
        guard !chains.isEmpty else { return nil }
        guard emotionModel.testTimePerturbations.isEmpty else {
            throw CommandFailure("--conditions: \(model) averages test-time copies, which are made from the clean recordings; score it without --conditions")
        }
        let labels = emotionModel.labels
        let babble = chains.contains(where: \.needsBabble)
            ? BabblePool(items: clean.items, sampleRate: emotionModel.sampleRate, seed: ConditionCopies.evaluationSeed) : nil
        var results: [ConditionScore] = []
        for chain in chains {
            guard !chain.isClean else {
                results.append(ConditionScore(clean: cleanMetrics))
                continue
            }
            let progress = ProgressBar(total: clean.items.count, label: chain.argument)
            var dataset = FeatureDataset(items: clean.items, pipeline: emotionModel.pipeline, cache: cache,
                                         condition: ConditionCopies(chain: chain, seed: ConditionCopies.evaluationSeed, babble: babble),
                                         onProgress: { progress.update(finished: $0) })
            progress.finish()
            for failure in dataset.failures where !failure.reason.contains("no speech") {
                Terminal.printError("ser: \(chain.argument): \(failure.path): \(failure.reason)")
            }
            if emotionModel.normalizesPerSpeaker { dataset.normalizePerSpeaker() }
            let probabilities = Trainer.probabilities(emotionModel.classifier, dataset, Array(dataset.items.indices), averagingCopies: true)
            let metrics = Self.scored(probabilities, dataset, labels: labels, carriedByCorpus: clean.labelsByCorpus).metrics(labels: labels)
            results.append(ConditionScore(condition: chain.argument, answered: metrics, unanswered: clean.items.count - dataset.items.count,
                                          cleanAccuracy: cleanMetrics.accuracy))
        }
        return results
    }

    /// `probabilities` of `dataset`'s rows scored against their labels, each row
    /// among the labels its corpus carries (`carriedByCorpus`).
    static func scored(_ probabilities: Matrix, _ dataset: FeatureDataset, labels: [String],
                       carriedByCorpus: [CorpusName: Set<String>]) -> ScoredPredictions {
        let permittedByCorpus = carriedByCorpus.mapValues { carried in labels.map(carried.contains) }
        return ScoredPredictions(probabilities, truth: dataset.items.map { labels.firstIndex(of: $0.label) },
                                 permitted: dataset.items.map { permittedByCorpus[$0.corpus] ?? labels.map { _ in true } },
                                 corpora: dataset.items.map(\.corpus.rawValue))
    }
}

extension ConditionScore {
    /// The conditions table of `ser evaluate --conditions` and `ser train --cv … --conditions`.
    static func table(_ scores: [ConditionScore]) -> String {
        var table = TextTable(header: ["condition", "n", "no speech", "accuracy", "UAR", "ECE", "vs clean"], rightAligned: [1, 2, 3, 4, 5, 6])
        for s in scores {
            table.rows.append([s.condition, String(s.n), String(s.noSpeech), String(format: "%.1f %%", 100 * s.accuracy),
                               String(format: "%.1f %%", 100 * s.uar), String(format: "%.3f", s.ece),
                               s.condition == "clean" ? "" : String(format: "%+.1f", 100 * s.change)])
        }
        return "recording conditions (a file with no speech found counts as wrong):\n" + table.render()
    }
}

/// `ser evaluate --format json`.
private struct EvaluationOutput: Encodable {
    var model: String
    var overall: ClassificationMetrics
    var perCorpus: [String: ClassificationMetrics]
    var notes: [String]
    var skipped: [SkippedFile]
    var adaptation: [AdaptationPoint]?
    var conditions: [ConditionScore]?

    enum CodingKeys: String, CodingKey {
        case model, accuracy, uar, ece, n, labels, confusion, notes, skipped, adaptation, conditions
        case macroF1 = "macro_f1", perClass = "per_class", perCorpus = "per_corpus"
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(model, forKey: .model)
        try c.encode(overall.accuracy, forKey: .accuracy)
        try c.encode(overall.uar, forKey: .uar)
        try c.encode(overall.macroF1, forKey: .macroF1)
        try c.encode(overall.n, forKey: .n)
        try c.encode(overall.labels, forKey: .labels)
        try c.encode(overall.confusion, forKey: .confusion)
        try c.encode(overall.perClass, forKey: .perClass)
        try c.encode(overall.ece, forKey: .ece)
        try c.encode(perCorpus, forKey: .perCorpus)
        try c.encode(notes, forKey: .notes)
        try c.encode(skipped, forKey: .skipped)
        try c.encodeIfPresent(adaptation, forKey: .adaptation)
        try c.encodeIfPresent(conditions, forKey: .conditions)
    }
}
