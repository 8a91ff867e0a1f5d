import ArgumentParser
import Foundation
import SERAudio
import SERCorpora
import SEREncoder
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

        Without --architecture, ser train trains the best recipe there is, the shipped \
        model's: logistic regression (L2 0.01) on the speech encoder's every block and \
        functionals, speaker-adaptive, level-normalized, with one multi-condition copy of \
        every file. Without the encoder installed (`ser encoder install`) it trains the best \
        handcrafted recipe instead: logistic regression on functionals, otherwise the same. \
        The first line says which. Any option given replaces that part of the recipe; \
        naming an architecture starts from that family's own defaults instead.

        Architectures:
          mlp      hidden layers 256 and 128 with ReLU and dropout, AdamW
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
          whisper+functionals  whisper and functionals side by side: 4,612 values
          whisper-blocks  the encoder's view from every transformer block
                       (layers 1-6): 6,144 values, at the same encoding cost as
                       whisper and a little more accurate
          whisper-blocks+functionals  whisper-blocks and functionals side by
                       side (the shipped model's features): 7,684 values
          whisper-blocks-weighted(+functionals)  the same, each frame weighted
                       by the square root of its power, so babble or noise in
                       the pauses counts less; compare by --cv --conditions
          rich         MFCC 20 + deltas, spectral shape, ZCR, RMS, pYIN pitch:
                       152 values (default for a named mlp, logreg or tree family)
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
        trains its own model); --cv-repeats N does that over N partitions of the \
        speakers and pools them; --split FILE uses a protocol saved by `ser corpus split`. \
        --allow-leakage uses random file folds instead, as the seed projects did: speakers \
        then sit on both sides and the numbers do not measure unseen voices; every output \
        says so. With --conditions (or --condition CHAIN), each fold's model is also \
        scored on evaluation copies of its test recordings under recording conditions, \
        as `ser evaluate --conditions` does; babble there mixes other voices of the \
        fold's test side. --condition-share scores a seeded share of the recordings.

        Validation speakers (about 15 % of each corpus's training speakers) choose the \
        epoch and the calibration; the vector models (mlp, logreg, trees) are then trained \
        again on all training speakers for that many epochs, keeping the calibration \
        (--no-refit keeps the model fitted without the validation speakers).

        A checkpoint is written atomically after every epoch (OUT.checkpoint); running the \
        same command again resumes from it. --report writes a self-contained HTML report.

        Examples:
          ser train --data corpora/ravdess --cv speakers:5
          ser train --data corpora/ravdess corpora/crema-d --cv speakers:5 --conditions --condition-share 0.25
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

    @Option(help: "Model family: \(Architecture.allNames.joined(separator: ", ")). Default: the shipped recipe (logreg on the encoder's features, or on functionals without the encoder); naming a family starts from its own defaults.")
    var architecture: Architecture?
    @Option(help: ArgumentHelp("Features: whisper, whisper+functionals, whisper-blocks, whisper-blocks+functionals, whisper-blocks-weighted, whisper-blocks-weighted+functionals, rich, richmel, functionals, classic180 or x193 (vectors), or logmel or rich+logmel (images, for cnn, cnn1d, lstm, bilstm). Default: the shipped recipe's (whisper-blocks+functionals, or functionals without the encoder); with a named family, logmel for the CNNs and LSTMs and rich otherwise.",
                               valueName: "preset")) var features: FeaturePreset?
    var resolvedArchitecture: Architecture { baseRecipe.architecture }
    var resolvedFeatures: FeaturePreset { baseRecipe.resolvedFeatures }

    /// The recipe before the options that refine it: the standard one
    /// (`TrainingRecipe.standard`) unless a family is named.
    var baseRecipe: TrainingRecipe {
        guard let architecture else { return .standard(features: features, encoderInstalled: SpeechEncoders.isInstalled) }
        return TrainingRecipe(architecture: architecture, features: features)
    }

    /// What the first line of output says about the recipe.
    var recipeChoice: String {
        let recipe = self.recipe
        var parts = ["\(recipe.architecture.rawValue) on \(recipe.resolvedFeatures.rawValue)"]
        if let l2 = recipe.l2Penalty { parts.append(String(format: "L2 %g", l2)) }
        if recipe.adaptive { parts.append("speaker-adaptive") }
        parts.append(recipe.levelNormalization == nil ? "raw levels" : "level-normalized")
        if recipe.resolvedFeatures.needsEncoder { parts.append("\(recipe.encoderPrecision.rawValue) encoder") }
        if recipe.conditionCopies > 0 { parts.append("\(recipe.conditionCopies) multi-condition cop\(recipe.conditionCopies == 1 ? "y" : "ies") per file") }
        let what = parts.joined(separator: ", ")
        if architecture != nil { return "recipe: yours (\(what))" }
        if recipe.resolvedFeatures.needsEncoder { return "recipe: the shipped model's (\(what))" }
        return "recipe: the best handcrafted one (\(what))"
            + (SpeechEncoders.isInstalled ? "" : "; the speech encoder is not installed: `ser encoder install` gives the shipped model's recipe")
    }
    @Option(help: "Networks' optimizer: adamw or sgd (Nesterov momentum 0.9). Default: adamw.") var optimizer: OptimizerChoice?
    @Option(help: "Networks' learning-rate schedule: constant, cosine (warm-up, then cosine decay) or step (halved every quarter). Default: constant for mlp, cosine for the CNNs and LSTMs.")
    var schedule: LearningRateSchedule?
    @Option(help: "Networks' base learning rate (default 0.001).") var learningRate: Float?
    @Option(help: "Networks' decoupled weight decay (AdamW) or L2 (SGD) (default 0.0001).") var weightDecay: Float?
    @Option(name: .customLong("l2"), help: ArgumentHelp("logreg: the L2 penalty per example (the objective is the mean loss + penalty/2 × ‖W‖²). Default: 0.1.", valueName: "penalty"))
    var l2Penalty: Float?
    @Option(name: .customLong("adapted-l2"), help: ArgumentHelp("logreg with --adaptive: the L2 penalty of the speaker-adapted classifier alone (default: --l2's). The adapted classifier reads z-scores whose statistics come from few recordings; try a different penalty for it when tuning a recipe, and compare by --cv with --cv-repeats.", valueName: "penalty"))
    var adaptedL2Penalty: Float?
    @Flag(help: "Networks and logreg: weight pooled corpora equally in the loss, whatever their sizes, so a small corpus counts as much as a large one. Use when the voices you will hear are more like the small corpora.") var balanceCorpora = false
    @Flag(help: "Networks on pooled corpora: train each recording's softmax over every label, not only over the labels its corpus carries (CREMA-D has no calm or surprised).")
    var noLabelMasks = false
    @Flag(help: ArgumentHelp("Networks on pooled corpora: shared layers with one output softmax per corpus over the labels it carries, so corpora recorded differently need not share a decision boundary. Evaluation and cross-validation score each corpus with its own head; predict, listen and serve, which cannot know where audio comes from, combine the heads (each label's mean over the heads that carry it, weighted by their training recordings). Use it for models scored or used on known corpora; for audio of unknown origin one softmax over the pooled corpora answers better (figures in docs/RESULTS.md)."))
    var corpusHeads = false
    @Flag(help: ArgumentHelp("Vector features: z-score each speaker's features against that speaker's own recordings (no labels read; test speakers use their own). The model then classifies a set of one speaker's recordings (ser predict --same-speaker), not a lone file."))
    var speakerNormalization = false
    @Flag(inversion: .prefixedNo, help: ArgumentHelp("Vector features: also train a classifier of speaker-standardized features, stored beside the lone-file one, so the model answers a lone recording as before and adapts to a voice when it knows other recordings of it (ser predict --speakers/--profile, ser listen, the server's streams and profiles). On in the default recipe; recommended for every model that will hear the same voices more than once."))
    var adaptive: Bool?
    @Option(help: ArgumentHelp("With --adaptive and --cv/--split: also score each test speaker's recordings with the statistics of k others of that speaker, for each k of this list (\"all\": all of them), and print the curve. Default with --adaptive: 0,1,3,5,10,20,all.", valueName: "k,k,…"))
    var adaptation: String?
    @Flag(help: ArgumentHelp("Compute features over whole recordings, leading and trailing silence included, instead of each recording's speech span; the model then reads whole inputs in predict, listen and serve too. Use it when the pauses around an utterance may carry emotion, as in acted corpora (CREMA-D); keep the default when recordings come with silences of any length."))
    var noTrim = false
    @Option(help: ArgumentHelp("Seconds of the recording kept on each side of the speech span when trimming (default 0: the span alone). The speech encoder can read an utterance better with some of the quiet around it, while longer silences are still cut; try 0.5 with whisper features on one corpus, and compare by --cv. The model keeps the margin and applies it in predict, listen and serve.", valueName: "seconds"))
    var speechMargin: Double = 0
    @Flag(help: ArgumentHelp("Read each recording at its own level instead of bringing its speech to one active level (-26 dBFS) first. The model then hears a microphone's gain as part of the voice: a quiet take sounds sad and a peak-normalized one angry. Only for comparing with models trained before level normalization."))
    var noLevelNormalization = false
    @Option(help: ArgumentHelp("How the speech encoder multiplies for the whisper features: int8 (the default: dense layers in 8-bit integers, about twice as fast at half the memory, as accurate as float32 under cross-validation) or float32 (the exact path, for comparing with models and tables made before int8). The model records it and predicts the same way.", valueName: "precision"))
    var encoderPrecision: EncoderPrecision = .int8
    @Option(help: ArgumentHelp("Multi-condition training: add this many copies of every training file, each through a recording chain drawn at random (a gain within ±20 dB; by chance clipping, a room with RT60 0.2-1 s, white, pink or brown noise or babble of other training speakers at 5-25 dB SNR, a telephone line, or MP3, AAC or Opus at low bitrates). Makes answers hold on recordings made with phones, laptops and headsets; each copy costs one feature extraction (cached). Babble never mixes in a voice that a fold tests. Default: 1 in the default recipe, 0 with a named family.", valueName: "n"))
    var conditionCopies: Int?
    @OptionGroup var conditionSelection: ConditionSelection
    @Option(help: ArgumentHelp("With --conditions or --condition: score that share (0-1] of the recordings under each condition, chosen by a hash of their paths (the same ones every run), against the same recordings clean. Each condition costs one feature pass over its share, so 0.2 makes a large pooled run's robustness table five times cheaper.", valueName: "share"))
    var conditionShare = 1.0
    @Option(name: .shortAndLong, help: ArgumentHelp("Where to write the model (.safetensors).", valueName: "model")) var out: String?
    @Option(help: ArgumentHelp("Cross-validate over speaker folds, as speakers:K.", valueName: "speakers:k")) var cv: String?
    @Option(help: ArgumentHelp("With --cv: repeat the cross-validation over this many different partitions of the speakers (1 to 10; each costs a full cross-validation) and pool them. Which speakers share a fold moves a 5-fold figure by a point or two; repeats average that out and print each partition's figure, so use them before trusting a difference of that size between two recipes.", valueName: "n"))
    var cvRepeats = 1
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
        if let cv { _ = try SpeakerFoldsArgument.folds(cv) }
        try SpeakerFoldsArgument.checkRepeats(cvRepeats, option: "--cv-repeats", cv: cv)
        if cvRepeats > 1 && allowLeakage {
            throw ValidationError("--cv-repeats partitions speakers, and --allow-leakage folds ignore them; drop one of the two.")
        }
        if let epochs, epochs < 1 { throw ValidationError("--epochs must be at least 1.") }
        if !InputPipeline.speechMarginRange.contains(speechMargin) {
            throw ValidationError("--speech-margin takes 0 to 10 seconds (got \(speechMargin)).")
        }
        if let augment { _ = try Self.parseAugmentation(augment) }
        if let conditionCopies, !(0...8).contains(conditionCopies) { throw ValidationError("--condition-copies must be from 0 to 8.") }
        if conditionSelection.isRequested {
            guard cv != nil || split != nil else {
                throw ValidationError("--conditions scores cross-validation folds under recording conditions: give --cv speakers:K or --split FILE (for a trained model, use ser evaluate --conditions).")
            }
            guard !testTimeAugmentation else {
                throw ValidationError("--conditions scores copies of single recordings; a model with --test-time-augmentation averages copies made from clean recordings: drop one of the two.")
            }
        }
        if !(conditionShare > 0 && conditionShare <= 1) { throw ValidationError("--condition-share must be in (0, 1] (got \(conditionShare)).") }
        if recipe.conditionCopies > 0 && testTimeAugmentation {
            throw ValidationError("--test-time-augmentation averages an input with its --augment copies; multi-condition copies are for training only: drop one of the two.")
        }
        if testTimeAugmentation && augment == nil {
            throw ValidationError("--test-time-augmentation averages over the --augment copies: give --augment too.")
        }
        let architecture = resolvedArchitecture, family = architecture.family, adaptive = recipe.adaptive
        guard family.reads(resolvedFeatures) else {
            throw ValidationError(family.readsImages
                ? "--architecture \(family.name) reads log-mel images: use --features logmel (the default for it) or rich+logmel."
                : "--features \(resolvedFeatures.rawValue) is a log-mel image; \(family.name) reads a vector (whisper, whisper+functionals, whisper-blocks, whisper-blocks+functionals, whisper-blocks-weighted, whisper-blocks-weighted+functionals, rich, richmel, functionals, classic180 or x193).")
        }
        let unused = givenSettings.filter { !family.settings.contains($0.setting) }.map(\.option)
        if !unused.isEmpty {
            let honoured = givenSettingOptions.filter { family.settings.contains($0.setting) }.map(\.option)
            throw ValidationError("\(unused.joined(separator: ", ")) \(unused.count == 1 ? "does" : "do") not apply to \(family.name) (\(family.summary))"
                + (honoured.isEmpty ? "; it takes none of the training settings." : "; it takes \(honoured.joined(separator: ", "))."))
        }
        if corpusHeads && noLabelMasks {
            throw ValidationError("--corpus-heads trains each corpus's recordings on its own head, which is a label mask: drop --no-label-masks.")
        }
        if let l2Penalty {
            guard l2Penalty > 0 && l2Penalty <= 1000 else { throw ValidationError("--l2 must be in (0, 1000].") }
        }
        if let adaptedL2Penalty {
            guard family.settings.contains(.l2Penalty) && adaptive else {
                throw ValidationError("--adapted-l2 sets the penalty of an adaptive logreg's adapted classifier: use it with --architecture logreg --adaptive.")
            }
            guard adaptedL2Penalty > 0 && adaptedL2Penalty <= 1000 else { throw ValidationError("--adapted-l2 must be in (0, 1000].") }
        }
        if let learningRate, !(learningRate > 0 && learningRate < 10) { throw ValidationError("--learning-rate must be in (0, 10).") }
        if let weightDecay, !(weightDecay >= 0 && weightDecay < 10) { throw ValidationError("--weight-decay must be in [0, 10).") }
        if !(1...20).contains(ensemble) { throw ValidationError("--ensemble must be from 1 to 20.") }
        if adaptive && (speakerNormalization || family.readsImages) {
            throw ValidationError("--adaptive trains a lone-file and a speaker-standardized classifier of feature vectors: drop --speaker-normalization, and use a vector family (mlp, logreg, tree, forest, boosted).")
        }
        if let adaptation {
            guard adaptive else { throw ValidationError("--adaptation measures a speaker-adaptive model: give --adaptive too.") }
            _ = try AdaptationList.parse(adaptation)
        }
        if speakerNormalization && family.readsImages {
            throw ValidationError("--speaker-normalization applies to feature vectors, not to \(family.name)'s log-mel images.")
        }
    }

    /// Each option that sets a family-specific training setting, with that setting.
    private var givenSettingOptions: [(option: String, setting: TrainingSetting, given: Bool)] {
        [("--optimizer", .optimizer, optimizer != nil), ("--schedule", .schedule, schedule != nil),
         ("--learning-rate", .learningRate, learningRate != nil), ("--weight-decay", .weightDecay, weightDecay != nil),
         ("--l2", .l2Penalty, l2Penalty != nil), ("--balance-corpora", .corpusBalance, balanceCorpora),
         ("--no-label-masks", .labelMasks, noLabelMasks), ("--corpus-heads", .corpusHeads, corpusHeads)]
    }

    /// The family-specific settings given on the command line.
    private var givenSettings: [(option: String, setting: TrainingSetting, given: Bool)] { givenSettingOptions.filter(\.given) }

    /// The training recipe these flags describe.
    var recipe: TrainingRecipe {
        var recipe = baseRecipe
        recipe.features = recipe.resolvedFeatures
        recipe.trimsToSpeech = !noTrim
        recipe.speechMarginSeconds = speechMargin
        recipe.levelNormalization = noLevelNormalization ? nil : .standard
        recipe.encoderPrecision = encoderPrecision
        // The default recipe's copies and adaptation give way to options that exclude them.
        if let conditionCopies { recipe.conditionCopies = conditionCopies } else if testTimeAugmentation { recipe.conditionCopies = 0 }
        recipe.speakerNormalization = speakerNormalization
        recipe.augmentation = augmentation.map(\.argument)
        recipe.testTimeAugmentation = testTimeAugmentation
        recipe.seed = seed
        recipe.maximumEpochs = epochs
        recipe.allowsLeakage = allowLeakage
        recipe.optimizer = optimizer
        recipe.schedule = schedule
        recipe.learningRate = learningRate
        recipe.weightDecay = weightDecay
        if let l2Penalty { recipe.l2Penalty = l2Penalty }
        recipe.balancesCorpora = balanceCorpora
        recipe.masksLabelsByCorpus = !noLabelMasks
        recipe.trainsCorpusHeads = corpusHeads
        if let adaptive { recipe.adaptive = adaptive } else if speakerNormalization { recipe.adaptive = false }
        recipe.adaptedL2Penalty = adaptedL2Penalty
        recipe.refitsOnAllSpeakers = noRefit ? false : nil
        recipe.ensembleSize = ensemble
        return recipe
    }

    func run() throws {
        Terminal.printError("ser train: " + recipeChoice)
        let scan = try selection.labelling.scan(selection.paths)
        for excluded in scan.excluded { Terminal.printError("ser: left out \(excluded.path): \(excluded.reason)") }
        guard !scan.clean.isEmpty else { throw CommandFailure("no usable training files in \(selection.paths.joined(separator: ", "))") }
        let command = (["ser"] + CommandLine.arguments.dropFirst()).joined(separator: " ")
        var run = TrainingRun(recipe: recipe, items: scan.clean, provenance: .init(command: command, version: SER.version))
        run.contentHashes = scan.contentHashes
        run.cache = noCache ? nil : try FeatureCache(directory: FeatureCache.defaultDirectory)
        if let split {
            run.evaluation = .split(try SpeakerSplit(contentsOf: split))
        } else if let cv {
            run.evaluation = .speakerFolds(try SpeakerFoldsArgument.folds(cv), repeats: cvRepeats)
        }
        run.evaluationConditions = conditionSelection.chains
        run.conditionShare = conditionShare
        if recipe.adaptive { run.adaptationCurve = try AdaptationList.parse(adaptation ?? AdaptationList.standard) }
        run.output = out
        run.restartsFromScratch = restart
        let report = try run.run(observer: TrainingProgress(printsFolds: format == .table, log: log))
        if let log, let history = report.outcome?.history { try Self.writeLog(history, to: log) }
        let summary = TrainingSummary(recipe: run.recipe, report: report, excluded: scan.excluded.count, model: out, command: command)
        if let reportPath = self.report {
            try AtomicFile.write(Data(HTMLReport.training(summary, history: report.outcome?.history ?? []).utf8), to: reportPath)
        }
        switch format {
        case .json: try Terminal.printJSON(summary)
        case .table: Terminal.print(summary.text)
        }
    }

    static func writeLog(_ records: [EpochRecord], to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        var data = Data()
        for record in records { data.append(try encoder.encode(record)); data.append(0x0A) }
        try AtomicFile.write(data, to: path)
    }
}

/// Progress bars, fold lines and the running epoch log of `ser train`, on standard error.
private final class TrainingProgress: TrainingObserver, @unchecked Sendable {
    private let printsFolds: Bool
    private let log: String?
    private let lock = NSLock()
    private var bars: [TrainingStage: ProgressBar] = [:]
    private var records: [EpochRecord] = []

    init(printsFolds: Bool, log: String?) {
        self.printsFolds = printsFolds
        self.log = log
    }

    private func bar(_ stage: TrainingStage) -> ProgressBar? { lock.withLock { bars[stage] } }

    func stageStarted(_ stage: TrainingStage, total: Int) {
        lock.withLock { bars[stage] = ProgressBar(total: total, label: stage.rawValue) }
    }
    func progressed(_ stage: TrainingStage, finished: Int) { bar(stage)?.update(finished: finished) }
    func stageFinished(_ stage: TrainingStage) { bar(stage)?.finish() }
    func notice(_ message: String) { Terminal.printError("ser: " + message) }

    func foldFinished(_ index: Int, _ fold: CrossValidationSummary.Fold) {
        guard printsFolds else { return }
        let effort = fold.epochs > 0 ? "\(fold.epochs) epochs, " : ""
        Terminal.printError(String(format: "fold %d: accuracy %.1f%%, UAR %.1f%%, %@%.1f s — test %@",
                                   index + 1, 100 * fold.accuracy, 100 * fold.uar, effort, fold.seconds,
                                   fold.testSpeakers.isEmpty ? "random files" : fold.testSpeakers.joined(separator: " ")))
    }

    func epochFinished(_ record: EpochRecord) {
        guard let log else { return }
        let snapshot = lock.withLock { records.append(record); return records }
        try? TrainCommand.writeLog(snapshot, to: log)
    }
}

extension EncoderPrecision: ExpressibleByArgument {}

extension Architecture: ExpressibleByArgument {
    /// The names of the families `ser train` knows.
    public static var allValueStrings: [String] { allNames }
}

extension OptimizerChoice: ExpressibleByArgument {}

extension LearningRateSchedule: ExpressibleByArgument {}
