import Foundation
import SERAudio
import SERCorpora
import SERFeatures
import SERModels
import SERRecognition
import SERSpeakers
import SERSupport

/// The stages of a training run that report progress.
public enum TrainingStage: String, Sendable {
    case features
    case augmentedCopies = "augmented copies"
    case conditionCopies = "condition copies"
    case evaluationCopies = "evaluation copies"
    case folds
    case epochs
    case trees
}

/// What a training run tells its caller while it works. Every method has an
/// empty default, so an observer implements only what it shows. Progress
/// through the features stage is reported from worker threads.
public protocol TrainingObserver: Sendable {
    /// A stage of `total` steps begins.
    func stageStarted(_ stage: TrainingStage, total: Int)
    /// `finished` steps of the stage are done.
    func progressed(_ stage: TrainingStage, finished: Int)
    func stageFinished(_ stage: TrainingStage)
    /// Something the user should know: a file left out, a warning, a resumed checkpoint.
    func notice(_ message: String)
    /// Cross-validation fold `index` (0-based) has been scored.
    func foldFinished(_ index: Int, _ fold: CrossValidationSummary.Fold)
    /// The final model finished an epoch.
    func epochFinished(_ record: EpochRecord)
}

extension TrainingObserver {
    /// Does nothing by default.
    public func stageStarted(_ stage: TrainingStage, total: Int) {}
    /// Does nothing by default.
    public func progressed(_ stage: TrainingStage, finished: Int) {}
    /// Does nothing by default.
    public func stageFinished(_ stage: TrainingStage) {}
    /// Does nothing by default.
    public func notice(_ message: String) {}
    /// Does nothing by default.
    public func foldFinished(_ index: Int, _ fold: CrossValidationSummary.Fold) {}
    /// Does nothing by default.
    public func epochFinished(_ record: EpochRecord) {}
}

/// An observer that shows nothing.
public struct SilentTrainingObserver: TrainingObserver {
    /// An observer that ignores every event.
    public init() {}
}

/// One training job, as `ser train` runs it: features for the recipe (cached),
/// optionally speaker-independent cross-validation, and optionally the final
/// model trained on every speaker and written atomically, resuming from its
/// checkpoint when the same run was interrupted.
public struct TrainingRun: Sendable {
    /// How the recipe is measured before (or instead of) training the final model.
    public enum Evaluation: Sendable {
        /// K folds of disjoint speakers (random file folds when the recipe allows
        /// leakage), over `repeats` different partitions of the speakers.
        case speakerFolds(Int, repeats: Int = 1)
        /// The folds of a saved protocol (`ser corpus split`).
        case split(SpeakerSplit)
    }

    /// Who made a model: written into its header.
    public struct Provenance: Sendable {
        /// The command line that trained the model.
        public var command: String
        /// The version of ser that trained it.
        public var version: String
        /// Provenance of a model made by `command` with ser `version`.
        public init(command: String, version: String) {
            self.command = command
            self.version = version
        }
    }

    /// What to train and how.
    public var recipe: TrainingRecipe
    /// The labelled recordings (a scan's clean items).
    public var items: [CorpusItem]
    /// Content hashes of the items, for the leakage check of every fold.
    public var contentHashes: [String: String] = [:]
    /// Where feature vectors are read from and written to; nil: computed every time.
    public var cache: FeatureCache?
    /// The cross-validation to run; nil: none.
    public var evaluation: Evaluation?
    /// With an adaptive recipe and an evaluation: the k values of the adaptation
    /// curve (nil: all of a speaker's other recordings).
    public var adaptationCurve: [Int?] = [0, 1, 3, 5, 10, 20, nil]
    /// Recording chains under which cross-validation also scores every fold's
    /// model, on evaluation copies of its test recordings
    /// (`CrossValidationSummary.conditions`); clean is always the reference.
    /// Needs an evaluation; empty: clean recordings only.
    public var evaluationConditions: [RecordingChain] = []
    /// The share of recordings copied for `evaluationConditions` (0…1], chosen by
    /// a hash of each path, so every fold and every run scores the same ones.
    /// Each condition costs one feature pass over them.
    public var conditionShare = 1.0
    /// Where to write the final model; nil: evaluation only.
    public var output: String?
    /// Ignore an existing checkpoint and start over.
    public var restartsFromScratch = false
    /// Written into the final model's header.
    public var provenance: Provenance

    /// A run of `recipe` on `items`, recording `provenance`; set `evaluation` and `output` for what it should do.
    public init(recipe: TrainingRecipe, items: [CorpusItem], provenance: Provenance) {
        self.recipe = recipe
        self.items = items
        self.provenance = provenance
    }

    /// Every checkpoint this run's model may leave beside `output`.
    public var checkpointPaths: [String] {
        output.map { Trainer.checkpointPaths($0 + ".checkpoint", ensembleSize: recipe.ensembleSize) } ?? []
    }

    /// What a finished run measured and made.
    public struct Report {
        /// The labels the model tells apart, in its output order.
        public var labels: [String]
        /// Recordings whose features were computed, and their speakers.
        public var files: Int
        /// The number of speakers among them.
        public var speakers: Int
        /// Recordings per corpus and label.
        public var counts: [String: [String: Int]]
        /// Recordings whose features could not be computed, with the reason.
        public var failures: [SkippedFile]
        /// Augmented and condition copies added to the training data.
        public var augmentedCopies: Int
        /// The final model's corpus heads, with a recipe that trains them.
        public var corpusHeads: [CorpusHeadsClassifier.Head]?
        /// The cross-validation's figures, with an evaluation.
        public var crossValidation: CrossValidationSummary?
        /// With an adaptive recipe and an evaluation: the fewest recordings of a
        /// voice from which the model's adapted answers speak.
        public var adaptationMinimumRecordings: Int?
        /// The final model, when `output` was given.
        public var outcome: TrainingOutcome?
        /// The epoch after which the final model resumed from its checkpoint.
        public var resumedAfterEpoch: Int?
        /// Seconds spent computing (or reading) feature vectors.
        public var featureSeconds: Double
        /// Seconds spent training and scoring models.
        public var trainingSeconds: Double
    }

    /// Runs the job. Files that cannot be read are left out (and reported to
    /// `observer`); the run fails only when too little data is left, a fold
    /// would leak speakers, or the model cannot be written.
    public func run(observer: any TrainingObserver = SilentTrainingObserver()) throws -> Report {
        let started = Date()
        var dataset = try features(observer: observer)
        let labels = dataset.labels
        guard labels.count >= 2 else { throw TrainingRunError.tooFewLabels(labels) }
        let resolved = try resolvedSplit(dataset.items)
        if recipe.conditionCopies > 0 {
            observer.stageStarted(.conditionCopies, total: dataset.items.count * recipe.conditionCopies)
            dataset.addConditionCopies(recipe.conditionCopies, seed: recipe.seed, babbleGroups: Self.babbleGroups(dataset.items, split: resolved),
                                       cache: cache, onProgress: { observer.progressed(.conditionCopies, finished: $0) })
            observer.stageFinished(.conditionCopies)
        }
        let conditionSets = resolved == nil ? [] : conditionTestSets(dataset, split: resolved, observer: observer)
        if recipe.speakerNormalization { normalizePerSpeaker(&dataset, observer: observer) }
        let featureSeconds = Date().timeIntervalSince(started)
        if recipe.allowsLeakage {
            observer.notice("WARNING: --allow-leakage: random file folds put the same speakers in train and test; these numbers do not measure unseen voices")
        }
        var options = recipe.options
        var crossValidation: CrossValidationSummary?
        if let split = resolved {
            observer.stageStarted(.folds, total: split.folds.count)
            crossValidation = Trainer.crossValidate(dataset, split: split, labels: labels, options: options,
                                                    adaptationCurve: recipe.adaptive ? adaptationCurve : [],
                                                    conditions: conditionSets) { index, fold in
                observer.progressed(.folds, finished: index + 1)
                observer.foldFinished(index, fold)
            }
            observer.stageFinished(.folds)
        }
        // Measured, not assumed: the final model's adapted part speaks from the fewest
        // recordings at which cross-validation found it at least as accurate as the lone-file one.
        var minimumRecordings: Int?
        if let curve = crossValidation?.adaptation, let minimum = AdaptationRecipe.minimumRecordings(from: curve) {
            options.adaptation?.minimumRecordings = minimum
            minimumRecordings = minimum
        }
        var outcome: TrainingOutcome?
        var resumedAfterEpoch: Int?
        if let output {
            (outcome, resumedAfterEpoch) = try trainFinalModel(dataset, labels: labels, options: options,
                                                               crossValidation: crossValidation, output: output, observer: observer)
        }
        let all = Array(dataset.items.indices)
        return Report(labels: labels, files: dataset.items.count, speakers: Set(dataset.items.compactMap(\.speaker)).count,
                      counts: dataset.counts(), failures: dataset.failures,
                      augmentedCopies: dataset.augmented.reduce(0) { $0 + $1.count },
                      corpusHeads: recipe.trainsCorpusHeads ? dataset.corpusHeads(all, labels: labels) : nil,
                      crossValidation: crossValidation,
                      adaptationMinimumRecordings: crossValidation?.adaptation == nil ? nil : minimumRecordings,
                      outcome: outcome, resumedAfterEpoch: resumedAfterEpoch, featureSeconds: featureSeconds,
                      trainingSeconds: Date().timeIntervalSince(started) - featureSeconds)
    }

    /// The recipe's features of every item, with augmented copies and speaker
    /// normalization when the recipe asks for them.
    private func features(observer: any TrainingObserver) throws -> FeatureDataset {
        let perturbations = try recipe.perturbations()
        observer.stageStarted(.features, total: items.count)
        var dataset = FeatureDataset(items: items, pipeline: try recipe.inputPipeline(), cache: cache,
                                     onProgress: { observer.progressed(.features, finished: $0) })
        observer.stageFinished(.features)
        if !perturbations.isEmpty {
            observer.stageStarted(.augmentedCopies, total: dataset.items.count * perturbations.count)
            dataset.augment(recipe: perturbations, seed: recipe.seed, cache: cache,
                            onProgress: { observer.progressed(.augmentedCopies, finished: $0) })
            observer.stageFinished(.augmentedCopies)
        }
        for failure in dataset.failures { observer.notice("left out \(failure.path): \(failure.reason)") }
        return dataset
    }

    /// Replaces the vectors by per-speaker z-scores (after every copy is made).
    private func normalizePerSpeaker(_ dataset: inout FeatureDataset, observer: any TrainingObserver) {
        let sparse = dataset.sparselyRecordedSpeakers
        if !sparse.isEmpty {
            observer.notice("warning: \(sparse.count) speaker(s) have fewer than \(SpeakerNormalization.minimumRecordings) recordings; their statistics are unreliable: \(sparse.prefix(5).joined(separator: ", "))\(sparse.count > 5 ? ", …" : "")")
        }
        dataset.normalizePerSpeaker()
    }

    /// The evaluation copies of `evaluationConditions` for the rows
    /// `conditionShare` chooses, each test copy's babble from its own fold's
    /// test side; z-scored per speaker when the recipe reads z-scores.
    private func conditionTestSets(_ dataset: FeatureDataset, split: SpeakerSplit?, observer: any TrainingObserver) -> [ConditionTestSet] {
        let chains = evaluationConditions.filter { !$0.isClean }
        guard !chains.isEmpty else { return [] }
        let rows = Self.conditionRows(dataset.items, share: conditionShare)
        let groups = Self.babbleGroups(dataset.items, split: split)
        observer.stageStarted(.evaluationCopies, total: rows.count * chains.count)
        var sets: [ConditionTestSet] = []
        for chain in chains {
            let done = sets.count * rows.count
            var set = dataset.conditionTestSet(chain, rows: rows, babbleGroups: groups, cache: cache,
                                               onProgress: { observer.progressed(.evaluationCopies, finished: done + $0) })
            if recipe.speakerNormalization { set.normalizePerSpeaker(items: dataset.items) }
            sets.append(set)
        }
        observer.stageFinished(.evaluationCopies)
        return sets
    }

    /// The rows of `items` scored under conditions: all for a share of 1, else
    /// those whose path hashes below the share (the same ones every run).
    static func conditionRows(_ items: [CorpusItem], share: Double) -> [Int] {
        guard share < 1 else { return Array(items.indices) }
        let threshold = UInt64(max(0, share) * 1_000_000)
        return items.indices.filter { ContentHash.seed(of: items[$0].path + "#condition-share") % 1_000_000 < threshold }
    }

    /// Each item's babble group for multi-condition copies: the folds its speaker
    /// is tested in, over every partition of `split`. Speakers of one group are on
    /// the same side of every fold, so babble made of them never puts a tested
    /// voice into a training copy. Without a split, one group.
    static func babbleGroups(_ items: [CorpusItem], split: SpeakerSplit?) -> [String] {
        guard let split else { return items.map { _ in "all" } }
        var groups = items.map { _ in "" }
        let index = Dictionary(items.enumerated().map { ($1.path, $0) }, uniquingKeysWith: { first, _ in first })
        for fold in split.folds.indices {
            for item in split.partition(items, fold: fold).test { if let row = index[item.path] { groups[row] += "\(fold)," } }
        }
        return groups
    }

    /// The evaluation's folds over `items`, each checked for leakage.
    private func resolvedSplit(_ items: [CorpusItem]) throws -> SpeakerSplit? {
        let split: SpeakerSplit
        switch evaluation {
        case nil: return nil
        case .split(let saved): split = saved
        case .speakerFolds(let k, let repeats):
            split = recipe.allowsLeakage ? SpeakerSplitter.randomLeaky(items, folds: k, seed: recipe.seed)
                : try SpeakerSplitter.kFold(items, folds: k, seed: recipe.seed, repeats: repeats)
        }
        if !split.allowsLeakage {
            for index in split.folds.indices {
                let (train, test) = split.partition(items, fold: index)
                try SpeakerSplitter.checkNoLeakage(train: train, test: test, contentHashes: contentHashes)
            }
        }
        return split
    }

    /// Trains the final model on every item with checkpoints beside `output`,
    /// records the recipe, evaluation and provenance in its header, and writes it.
    private func trainFinalModel(_ dataset: FeatureDataset, labels: [String], options: TrainingOptions,
                                 crossValidation: CrossValidationSummary?, output: String,
                                 observer: any TrainingObserver) throws -> (TrainingOutcome, Int?) {
        let checkpointPath = output + ".checkpoint"
        if restartsFromScratch {
            for path in checkpointPaths { try? FileManager.default.removeItem(atPath: path) }
        }
        let family = recipe.architecture.family
        let stage: TrainingStage = family.trainsInEpochs ? .epochs : .trees
        let epochs = family.maximumEpochs(options: options, preset: dataset.preset)
        observer.stageStarted(stage, total: epochs)
        let checkpoint = TrainingCheckpointing(path: checkpointPath,
                                                               fingerprint: recipe.fingerprint(paths: dataset.items.map(\.path), labels: labels)) { record in
            observer.progressed(stage, finished: record.epoch)
            observer.epochFinished(record)
        }
        let outcome = Trainer.train(dataset, labels: labels, options: options, checkpoint: checkpoint)
        observer.stageFinished(stage)
        let resumed = outcome.resumedAfterEpoch
        if let resumed { observer.notice("resumed from \(checkpointPath) after epoch \(resumed)") }
        outcome.model.description.crossValidation = crossValidation
        outcome.model.description.speakerAdaptation?.curve = crossValidation?.adaptation
        outcome.model.description.command = provenance.command
        outcome.model.description.created = ISO8601DateFormatter().string(from: Date())
        outcome.model.description.serVersion = provenance.version
        outcome.model.description.recipe = try JSONValue(encoding: recipe)
        try outcome.model.write(to: output)
        for path in checkpointPaths { try? FileManager.default.removeItem(atPath: path) }
        return (outcome, resumed)
    }
}

/// Why a training run stopped.
public enum TrainingRunError: Error, CustomStringConvertible, Equatable {
    case tooFewLabels([String])

    /// What went wrong and what to do.
    public var description: String {
        switch self {
        case .tooFewLabels(let labels):
            return "training needs at least two labels; the data has \(labels.isEmpty ? "none" : labels.joined(separator: ", ")): add recordings of other emotions"
        }
    }
}
