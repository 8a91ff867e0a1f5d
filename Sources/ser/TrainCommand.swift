import ArgumentParser
import Foundation
import SERAudio
import SERCorpora
import SERFeatures
import SERModels
import SERNumerics
import SERRecognition
import SERSupport
import SERTraining

/// `ser train`: fit a model on speakers and measure it on others.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train an emotion model and measure it on speakers it never heard.",
        discussion: """
        Every file is decoded, checked (duplicates, conflicting labels, clipped and silent \
        files are left out, as `ser corpus scan` reports) and resampled to 16 kHz, the \
        models' rate, before features are computed; features are cached. Validation is by \
        whole speakers (about 15% of each corpus's training speakers): early stopping keeps \
        the epoch with the best validation UAR, and the probabilities are calibrated on \
        them by temperature scaling. A gender head is trained jointly where the data says \
        the speakers' gender.

        Architectures:
          mlp      hidden layers 256 and 128 with ReLU and dropout, AdamW (default)
          logreg   multinomial logistic regression on standardized features,
                   fitted to its L2-regularized optimum by L-BFGS (penalty
                   0.1 per example, or --l2)
          tree     one CART decision tree (Gini, class-balanced), the seeds' tree
          forest   a random forest of 300 CART trees (bootstrap, √features per split)
          boosted  gradient-boosted trees, softmax loss (200 rounds, depth 4,
                   learning rate 0.1)
          cnn      2-D CNN on the log-mel image: 3 blocks of conv 3×3, max-pool
                   2×2, batch norm, ReLU (16/32/64 channels), statistics
                   pooling over time, dense 128 + GELU
          cnn1d    1-D CNN over time, mel bands as channels: conv 5/5/3 frames,
                   128 channels, batch norm, ReLU, max-pool 2, statistics
                   pooling, dense 128 + GELU
          lstm     LSTM of 128 units over frames averaged in pairs, then
                   statistics pooling and dense 128
          bilstm   bidirectional LSTM of 2 × 96 units, likewise
        The CNNs and LSTMs train with AdamW, batches of 32, a cosine learning-rate schedule \
        with warm-up, at most 40 epochs; each batch is split between two replicas of the \
        network that run on both cores.
        Features (--features):
          whisper      the speech encoder's view (Whisper-base's layers 2, 4, 6,
                       mean and std): 3,072 values; needs 'ser encoder install'.
                       The strongest features on unseen voices; pair it with
                       --architecture logreg
          whisper+functionals  whisper and functionals side by side (the shipped
                       model's features): 4,612 values
          rich         MFCC 20 + deltas, spectral shape, ZCR, RMS, pYIN pitch:
                       152 values (default for mlp, logreg and the trees)
          richmel      rich + the 128 mel bands' mean power in dB: 280 values
          functionals  11 statistics (mean, std, percentiles, skewness, kurtosis,
                       slope, extremes) of rich's features and 64 log-mel bands,
                       25 ms windows every 10 ms: 1,540 values
          classic180   MFCC 40 + chroma 12 + mel 128 means, the seed projects' vector
          x193         classic180 + spectral contrast + tonnetz
          logmel       a 192-frame × 64-band log-mel image, 16 ms hop
                       (the input of the CNNs and LSTMs, and only theirs)
          rich+logmel  the rich vector, then the image: the CNN or LSTM reads
                       the image, a dense branch of 64 the vector, joined
                       after pooling

        --cv speakers:K reports mean ± std over K folds of disjoint speakers (each fold \
        trains its own model); --split FILE uses a protocol saved by `ser corpus split`. \
        --allow-leakage uses random file folds instead, as the seed projects did: speakers \
        then sit on both sides and the numbers do not measure unseen voices; every output \
        says so.

        Validation speakers (about 15 % of each corpus's training speakers) choose the \
        epoch and the calibration; the vector models (mlp, logreg, trees) are then trained \
        again on all training speakers for that many epochs, keeping the calibration \
        (--no-refit keeps the model fitted without the validation speakers).

        A checkpoint is written atomically after every epoch (OUT.checkpoint); running the \
        same command again resumes from it. --report writes a self-contained HTML report.

        Examples:
          ser train --data corpora/ravdess --cv speakers:5
          ser train --data corpora/ravdess corpora/crema-d --out pooled.safetensors --report pooled.html
          ser train --manifest train.jsonl --architecture logreg --features classic180 --out lr.safetensors
          ser train --data corpora/ravdess --architecture cnn --cv speakers:5 --report cnn.html
        """
    )

    @OptionGroup var selection: DataSelection

    @Option(help: ArgumentHelp("Perturbed copies of every training file, comma-separated: noise:SNR_DB, gain:DB, speed:FACTOR, pitch:SEMITONES, shift:SECONDS (e.g. noise:15,speed:0.9,speed:1.1,pitch:2).",
                               valueName: "recipe")) var augment: String?
    @Flag(help: "Test-time augmentation: the model also classifies the --augment copies of every input (noise drawn from one fixed seed) and averages the answers; cross-validation averages each test file with its copies. Costs one feature pass per copy at prediction.")
    var testTimeAugmentation = false
    var augmentation: [Perturbation] { augment.flatMap { try? Self.parseAugmentation($0) } ?? [] }

    static func parseAugmentation(_ text: String) throws -> [Perturbation] {
        try text.split(separator: ",").map { entry in
            guard let perturbation = Perturbation(argument: entry.trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError("--augment: \(entry) is not one of noise:SNR_DB (-10…80), gain:DB (±40), speed:FACTOR (0.5…2), pitch:SEMITONES (±12), shift:SECONDS (0…5).")
            }
            return perturbation
        }
    }

    @Option(help: "Model family: mlp, logreg, tree, forest, boosted, cnn, cnn1d, lstm or bilstm.") var architecture: Architecture = .mlp
    @Option(help: ArgumentHelp("Features: whisper, whisper+functionals, rich, richmel, functionals, classic180 or x193 (vectors), or logmel or rich+logmel (images, for cnn, cnn1d, lstm, bilstm). Default: logmel for those, rich otherwise.",
                               valueName: "preset")) var features: FeaturePreset?
    var resolvedFeatures: FeaturePreset { features ?? architecture.defaultFeatures }
    @Option(help: "Networks' optimizer: adamw or sgd (Nesterov momentum 0.9). Default: adamw.") var optimizer: OptimizerChoice?
    @Option(help: "Networks' learning-rate schedule: constant, cosine (warm-up, then cosine decay) or step (halved every quarter). Default: constant for mlp, cosine for the CNNs and LSTMs.")
    var schedule: LearningRateSchedule?
    @Option(help: "Networks' base learning rate (default 0.001).") var learningRate: Float?
    @Option(help: "Networks' decoupled weight decay (AdamW) or L2 (SGD) (default 0.0001).") var weightDecay: Float?
    @Option(name: .customLong("l2"), help: ArgumentHelp("logreg: the L2 penalty per example (the objective is the mean loss + penalty/2 × ‖W‖²). Default: 0.1.", valueName: "penalty"))
    var l2Penalty: Float?
    @Flag(help: "Networks: weight pooled corpora equally in the loss, whatever their sizes.") var balanceCorpora = false
    @Flag(help: "Networks on pooled corpora: train each recording's softmax over every label, not only over the labels its corpus carries (CREMA-D has no calm or surprised).")
    var noLabelMasks = false
    @Flag(help: ArgumentHelp("Networks on pooled corpora: shared layers with one output softmax per corpus over the labels it carries, so corpora recorded differently need not share a decision boundary. Evaluation and cross-validation score each corpus with its own head; predict, listen and serve, which cannot know where audio comes from, combine the heads (each label's mean over the heads that carry it, weighted by their training recordings). Use it for models scored or used on known corpora; for audio of unknown origin one softmax over the pooled corpora answers better (figures in docs/RESULTS.md)."))
    var corpusHeads = false
    @Flag(help: ArgumentHelp("Vector features: z-score each speaker's features against that speaker's own recordings (no labels read; test speakers use their own). The model then classifies a set of one speaker's recordings (ser predict --same-speaker), not a lone file."))
    var speakerNormalization = false
    @Flag(help: ArgumentHelp("Vector features: also train a classifier of speaker-standardized features, stored beside the lone-file one, so the model answers a lone recording as before and adapts to a voice when it knows other recordings of it (ser predict --speakers/--profile, ser listen, the server's streams and profiles). Recommended for every model that will hear the same voices more than once."))
    var adaptive = false
    @Option(help: ArgumentHelp("With --adaptive and --cv/--split: also score each test speaker's recordings with the statistics of k others of that speaker, for each k of this list (\"all\": all of them), and print the curve. Default with --adaptive: 0,1,3,5,10,20,all.", valueName: "k,k,…"))
    var adaptation: String?
    @Flag(help: ArgumentHelp("Compute features over whole recordings, leading and trailing silence included, instead of each recording's speech span; the model then reads whole inputs in predict, listen and serve too. Use it when the pauses around an utterance may carry emotion, as in acted corpora (CREMA-D); keep the default when recordings come with silences of any length."))
    var noTrim = false
    @Option(name: .shortAndLong, help: ArgumentHelp("Where to write the model (.safetensors).", valueName: "model")) var out: String?
    @Option(help: ArgumentHelp("Cross-validate over speaker folds, as speakers:K.", valueName: "speakers:k")) var cv: String?
    @Option(help: ArgumentHelp("Cross-validate over the folds of a split file from `ser corpus split`.", valueName: "file")) var split: String?
    @Option(help: "Maximum epochs (early stopping usually ends sooner).") var epochs: Int?
    @Option(help: "Seed for initialisation, shuffling, validation speakers and folds.") var seed: UInt64 = 1
    @Flag(help: "Random file folds (speakers on both sides), only to compare with leaky published numbers.") var allowLeakage = false
    @Option(help: ArgumentHelp("Write an HTML report (curves, confusion matrices, per-class F1).", valueName: "file.html")) var report: String?
    @Option(help: ArgumentHelp("Write the per-epoch log of the final model as JSON lines.", valueName: "file.jsonl")) var log: String?
    @Flag(help: "Keep the model fitted without the validation speakers (vector models are otherwise refitted on all training speakers once validation has chosen epochs and calibration).")
    var noRefit = false
    @Option(help: "Train this many models with successive seeds and average their probabilities (1 to 20; each costs a full training).")
    var ensemble = 1
    @Flag(help: "Ignore an existing checkpoint and start over.") var restart = false
    @Flag(help: "Neither read nor write the feature cache.") var noCache = false
    @Option(help: "Summary layout: table or json.") var format: ReportFormat = .table

    func validate() throws {
        if out == nil && cv == nil && split == nil {
            throw ValidationError("nothing to do: give --out MODEL to train a model, and/or --cv speakers:K or --split FILE to measure one.")
        }
        if cv != nil && split != nil { throw ValidationError("choose one of --cv and --split.") }
        if let cv, !(cv.hasPrefix("speakers:") && Int(cv.dropFirst(9)).map { $0 >= 2 } == true) {
            throw ValidationError("--cv takes speakers:K with K ≥ 2 (got \(cv)).")
        }
        if let epochs, epochs < 1 { throw ValidationError("--epochs must be at least 1.") }
        if let augment { _ = try Self.parseAugmentation(augment) }
        if testTimeAugmentation && augment == nil {
            throw ValidationError("--test-time-augmentation averages over the --augment copies: give --augment too.")
        }
        guard architecture.reads(resolvedFeatures) else {
            throw ValidationError(architecture.designKind != nil
                ? "--architecture \(architecture.rawValue) reads log-mel images: use --features logmel (the default for it) or rich+logmel."
                : "--features \(resolvedFeatures.rawValue) feeds cnn, cnn1d, lstm and bilstm; \(architecture.rawValue) reads a vector (whisper, whisper+functionals, rich, richmel, functionals, classic180 or x193).")
        }
        if architecture.isTreeModel && (optimizer != nil || schedule != nil || learningRate != nil || weightDecay != nil || balanceCorpora || noLabelMasks || corpusHeads) {
            throw ValidationError("--optimizer, --schedule, --learning-rate, --weight-decay, --balance-corpora, --no-label-masks and --corpus-heads set how networks train; \(architecture.rawValue) is a tree model.")
        }
        if corpusHeads && noLabelMasks {
            throw ValidationError("--corpus-heads trains each corpus's recordings on its own head, which is a label mask: drop --no-label-masks.")
        }
        if architecture == .logreg && (optimizer != nil || schedule != nil || learningRate != nil || weightDecay != nil) {
            throw ValidationError("--optimizer, --schedule, --learning-rate and --weight-decay set a stochastic optimizer; logreg is fitted to its optimum by L-BFGS: set its penalty with --l2.")
        }
        if let l2Penalty {
            guard architecture == .logreg else { throw ValidationError("--l2 sets logreg's penalty; \(architecture.rawValue) does not use it.") }
            guard l2Penalty > 0 && l2Penalty <= 1000 else { throw ValidationError("--l2 must be in (0, 1000].") }
        }
        if let learningRate, !(learningRate > 0 && learningRate < 10) { throw ValidationError("--learning-rate must be in (0, 10).") }
        if let weightDecay, !(weightDecay >= 0 && weightDecay < 10) { throw ValidationError("--weight-decay must be in [0, 10).") }
        if !(1...20).contains(ensemble) { throw ValidationError("--ensemble must be from 1 to 20.") }
        if adaptive && (speakerNormalization || architecture.designKind != nil) {
            throw ValidationError("--adaptive trains a lone-file and a speaker-standardized classifier of feature vectors: drop --speaker-normalization, and use a vector family (mlp, logreg, tree, forest, boosted).")
        }
        if let adaptation {
            guard adaptive else { throw ValidationError("--adaptation measures a speaker-adaptive model: give --adaptive too.") }
            _ = try AdaptationList.parse(adaptation)
        }
        if speakerNormalization && architecture.designKind != nil {
            throw ValidationError("--speaker-normalization applies to feature vectors (mlp, logreg, tree, forest, boosted), not to \(architecture.rawValue)'s log-mel images.")
        }
    }

    func run() throws {
        let started = Date()
        useSingleThreadedBLAS()
        let scan = try selection.labelling.scan(selection.paths)
        for excluded in scan.excluded { Terminal.printError("ser: left out \(excluded.path): \(excluded.reason)") }
        guard !scan.clean.isEmpty else { throw CommandFailure("no usable training files in \(selection.paths.joined(separator: ", "))") }
        let cache = noCache ? nil : try FeatureCache(directory: FeatureCache.defaultDirectory)
        let progress = ProgressBar(total: scan.clean.count, label: "features")
        let features = resolvedFeatures
        let pipeline = try InputPipeline(preset: features, sampleRate: 16000, trimsToSpeech: !noTrim)
        var dataset = FeatureDataset(items: scan.clean, pipeline: pipeline, cache: cache, onProgress: { progress.update(finished: $0) })
        progress.finish()
        if !augmentation.isEmpty {
            let copies = ProgressBar(total: dataset.items.count * augmentation.count, label: "augmented copies")
            dataset.augment(recipe: augmentation, seed: seed, cache: cache, onProgress: { copies.update(finished: $0) })
            copies.finish()
        }
        for failure in dataset.failures { Terminal.printError("ser: left out \(failure.path): \(failure.reason)") }
        if speakerNormalization {
            let sparse = dataset.sparselyRecordedSpeakers
            if !sparse.isEmpty {
                Terminal.printError("ser: warning: \(sparse.count) speaker(s) have fewer than \(SpeakerNormalization.minimumRecordings) recordings; their statistics are unreliable: \(sparse.prefix(5).joined(separator: ", "))\(sparse.count > 5 ? ", …" : "")")
            }
            dataset.normalizePerSpeaker()
        }
        let labels = dataset.labels
        guard labels.count >= 2 else { throw CommandFailure("training needs at least two labels; the data has \(labels)") }
        let featureSeconds = Date().timeIntervalSince(started)
        if allowLeakage {
            Terminal.printError("ser: WARNING: --allow-leakage: random file folds put the same speakers in train and test; these numbers do not measure unseen voices")
        }
        var options = TrainingOptions()
        options.architecture = architecture
        options.seed = seed
        options.maximumEpochs = epochs
        options.allowsLeakage = allowLeakage
        options.optimizer = optimizer
        options.schedule = schedule
        options.learningRate = learningRate
        options.weightDecay = weightDecay
        options.l2Penalty = l2Penalty
        options.balancesCorpora = balanceCorpora
        options.masksLabelsByCorpus = !noLabelMasks
        options.trainsCorpusHeads = corpusHeads
        options.averagesAugmentedCopies = testTimeAugmentation
        if noRefit { options.refitsOnAllSpeakers = false }
        if adaptive { options.adaptation = AdaptationRecipe() }
        options.ensembleSize = ensemble
        let command = (["ser"] + CommandLine.arguments.dropFirst()).joined(separator: " ")

        var crossValidation: CrossValidationSummary?
        if let protocolSplit = try resolvedSplit(dataset.items, contentHashes: scan.contentHashes) {
            let folds = ProgressBar(total: protocolSplit.folds.count, label: "folds")
            let ks = adaptive ? try AdaptationList.parse(adaptation ?? AdaptationList.standard) : []
            crossValidation = Trainer.crossValidate(dataset, split: protocolSplit, labels: labels, options: options,
                                                    adaptationCurve: ks) { index, fold in
                folds.update(finished: index + 1)
                if format == .table {
                    let effort = architecture.isTreeModel ? "" : "\(fold.epochs) epochs, "
                    Terminal.printError(String(format: "fold %d: accuracy %.1f%%, UAR %.1f%%, %@%.1f s — test %@",
                                               index + 1, 100 * fold.accuracy, 100 * fold.uar, effort, fold.seconds,
                                               fold.testSpeakers.isEmpty ? "random files" : fold.testSpeakers.joined(separator: " ")))
                }
            }
            folds.finish()
        }
        // Measured, not assumed: the final model's adapted part speaks from the fewest
        // recordings at which cross-validation found it at least as accurate as the lone-file one.
        if let curve = crossValidation?.adaptation, let minimum = AdaptationRecipe.minimumRecordings(from: curve) {
            options.adaptation?.minimumRecordings = minimum
        }

        var outcome: TrainingOutcome?
        if let out {
            let fingerprint = ContentHash.ofBytes(Array(sortedJSONText(FingerprintInput(
                paths: dataset.items.map(\.path), labels: labels, architecture: architecture.rawValue,
                features: features.rawValue, seed: seed, epochs: epochs, allowLeakage: allowLeakage,
                augment: augmentation.map(\.argument), optimizer: optimizer?.rawValue, schedule: schedule?.rawValue,
                learningRate: learningRate, weightDecay: weightDecay, l2Penalty: l2Penalty, balanceCorpora: balanceCorpora ? true : nil,
                noLabelMasks: noLabelMasks ? true : nil, corpusHeads: corpusHeads ? true : nil, noTrim: noTrim ? true : nil, speakerNormalization: speakerNormalization ? true : nil, adaptive: adaptive ? true : nil, noRefit: noRefit ? true : nil,
                ensemble: ensemble > 1 ? ensemble : nil)).utf8))
            let checkpointPath = out + ".checkpoint"
            let checkpointPaths = Trainer.checkpointPaths(checkpointPath, ensembleSize: ensemble)
            if restart {
                for path in checkpointPaths { try? FileManager.default.removeItem(atPath: path) }
            }
            let epochProgress = ProgressBar(total: architecture.isTreeModel ? 1 : epochs ?? architecture.configuration(seed: seed, epochs: nil, preset: features).maximumEpochs,
                                            label: architecture.isTreeModel ? "trees" : "epochs")
            var logRecords: [EpochRecord] = []
            let checkpoint = NeuralNetworkClassifier.Checkpointing(path: checkpointPath, fingerprint: fingerprint) { record in
                epochProgress.update(finished: record.epoch)
                logRecords.append(record)
                if let log { try? writeLog(logRecords, to: log) }
            }
            let result = Trainer.train(dataset, labels: labels, options: options, checkpoint: checkpoint)
            epochProgress.finish()
            let trained = (result.model.classifier as? CorpusHeadsClassifier)?.shared ?? result.model.classifier
            if let resumed = (trained as? NeuralNetworkClassifier)?.resumedAfterEpoch {
                Terminal.printError("ser: resumed from \(checkpointPath) after epoch \(resumed)")
            }
            result.model.description.crossValidation = crossValidation
            result.model.description.speakerAdaptation?.curve = crossValidation?.adaptation
            result.model.description.command = command
            result.model.description.created = ISO8601DateFormatter().string(from: Date())
            result.model.description.serVersion = SER.version
            try result.model.write(to: out)
            if let log { try writeLog(result.history, to: log) }
            for path in checkpointPaths { try? FileManager.default.removeItem(atPath: path) }
            outcome = result
        }

        let trainingSeconds = Date().timeIntervalSince(started) - featureSeconds
        let summary = TrainingSummary(
            architecture: architecture.rawValue, ensembleSize: ensemble > 1 ? ensemble : nil, features: features.rawValue, sampleRate: 16000, labels: labels,
            files: dataset.items.count, speakers: Set(dataset.items.compactMap(\.speaker)).count,
            excluded: scan.excluded.count + dataset.failures.count, counts: dataset.counts(),
            crossValidation: crossValidation, validation: outcome?.validation, validationSpeakers: outcome?.validationSpeakers,
            epochs: outcome?.history.count, refitEpochs: outcome?.refitEpochs, temperature: outcome.map { Double($0.model.classifier.temperature) },
            model: out, allowsLeakage: allowLeakage, seed: seed, command: command,
            featureSeconds: featureSeconds, trainingSeconds: trainingSeconds,
            augmentation: augmentation.map(\.argument), augmentedCopies: dataset.augmented.reduce(0) { $0 + $1.count },
            testTimeAugmentation: testTimeAugmentation,
            featureNormalization: speakerNormalization ? "speaker" : "recording", adaptive: adaptive,
            adaptationMinimumRecordings: crossValidation?.adaptation == nil ? nil : options.adaptation?.minimumRecordings, trimsToSpeech: !noTrim,
            corpusHeads: corpusHeads ? dataset.corpusHeads(Array(dataset.items.indices), labels: labels) : nil)
        if let report {
            try AtomicFile.write(Data(HTMLReport.training(summary, history: outcome?.history ?? []).utf8), to: report)
        }
        switch format {
        case .json: try Terminal.printJSON(summary)
        case .table: Terminal.print(summary.text)
        }
    }

    /// The protocol `--cv` or `--split` asks for, checked for leakage.
    private func resolvedSplit(_ items: [CorpusItem], contentHashes: [String: String]) throws -> SpeakerSplit? {
        var result: SpeakerSplit?
        if let split {
            result = try SpeakerSplit(contentsOf: split)
        } else if let cv {
            let k = Int(cv.dropFirst(9)) ?? 5
            result = allowLeakage ? SpeakerSplitter.randomLeaky(items, folds: k, seed: seed)
                : try SpeakerSplitter.kFold(items, folds: k, seed: seed)
        }
        if let result, !result.allowsLeakage {
            for index in result.folds.indices {
                let (train, test) = result.partition(items, fold: index)
                try SpeakerSplitter.checkNoLeakage(train: train, test: test, contentHashes: contentHashes)
            }
        }
        return result
    }

    private func writeLog(_ records: [EpochRecord], to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        var data = Data()
        for record in records { data.append(try encoder.encode(record)); data.append(0x0A) }
        try AtomicFile.write(data, to: path)
    }
}

private struct FingerprintInput: Encodable {
    var paths: [String], labels: [String], architecture: String, features: String
    var seed: UInt64, epochs: Int?, allowLeakage: Bool
    var augment: [String]
    var optimizer: String?, schedule: String?, learningRate: Float?, weightDecay: Float?, l2Penalty: Float?, balanceCorpora: Bool?
    var noLabelMasks: Bool?
    var corpusHeads: Bool?
    var noTrim: Bool?
    var speakerNormalization: Bool?
    var adaptive: Bool?
    var noRefit: Bool?
    var ensemble: Int?
}

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
    /// With --corpus-heads, the final model's heads.
    var corpusHeads: [CorpusHeadsClassifier.Head]?

    enum CodingKeys: String, CodingKey {
        case trimsToSpeech = "trims_to_speech", corpusHeads = "corpus_heads"
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
            lines.append(String(format: "%@ (%d folds): accuracy %.1f ± %.1f %%, UAR %.1f ± %.1f %%, macro-F1 %.1f ± %.1f %%, ECE %.3f",
                                cv.allowsLeakage ? "random-split cross-validation (LEAKY)" : "speaker-independent cross-validation",
                                cv.folds.count, 100 * a.mean, 100 * a.std, 100 * u.mean, 100 * u.std, 100 * f.mean, 100 * f.std,
                                cv.pooled.ece ?? 0))
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

    /// The curve as a text table, with per-corpus columns for pooled data.
    static func table(_ curve: [AdaptationPoint]) -> String {
        let corpora = Set(curve.flatMap { $0.perCorpus?.keys.map { $0 } ?? [] }).sorted()
        var table = TextTable(header: ["k (recordings known)", "n", "accuracy", "UAR"] + corpora, rightAligned: Set(1..<(4 + corpora.count)))
        for point in curve {
            table.rows.append([point.label, String(point.n), String(format: "%.1f %%", 100 * point.accuracy), String(format: "%.1f %%", 100 * point.uar)]
                              + corpora.map { corpus in point.perCorpus?[corpus].map { String(format: "%.1f %%", 100 * $0.accuracy) } ?? "" })
        }
        return "adaptation curve (each recording scored with k other recordings of its speaker; 0: alone):\n" + table.render()
    }
}

extension Architecture: ExpressibleByArgument {}

extension OptimizerChoice: ExpressibleByArgument {}

extension LearningRateSchedule: ExpressibleByArgument {}
