import Foundation
import SERAudio
import SERCorpora
import SEREncoder
import SERFeatures
import SERModels
import SERNumerics
import SERRecognition
import SERSupport

/// How to train.
public struct TrainingOptions: Sendable {
    /// The model family.
    public var architecture: Architecture = .mlp
    /// Seed of initialisation, shuffling and the validation speakers.
    public var seed: UInt64 = 1
    /// The most epochs a network trains for; nil: the family's default.
    public var maximumEpochs: Int?
    /// Share of the training speakers (per corpus) held out for early stopping and calibration.
    public var validationFraction = 0.15
    /// The seeds' random file split instead of speakers, for comparison only.
    public var allowsLeakage = false
    /// Networks only: weight rows so every corpus of pooled data counts the same in the loss.
    /// Measured on the four development corpora (MLP, `rich`, 5 folds) it did not help:
    /// RAVDESS 49.5 % vs 49.3 %, CREMA-D 47.6 % vs 49.0 %; so it is off by default.
    public var balancesCorpora = false
    /// Networks only: each pooled corpus's recordings train the softmax over the
    /// labels that corpus carries (`LabelledMatrix.labelMasks`), so CREMA-D, which
    /// has no calm, does not teach that its neutral voices are not calm. No effect
    /// on a single corpus.
    public var masksLabelsByCorpus = true
    /// Networks on pooled corpora: shared layers with one softmax per corpus
    /// (`CorpusHeadsClassifier`), trained on corpus-qualified labels, so that
    /// corpora recorded differently need not share a decision boundary.
    /// Recordings of a corpus the model has a head for are classified with it
    /// (evaluation, cross-validation); other audio with the heads combined.
    public var trainsCorpusHeads = false
    /// Test-time augmentation: the model also classifies copies of every input
    /// made with the dataset's augmentation recipe and averages the answers
    /// (`ModelDescription.testTimeAugmentation`). Cross-validation averages each
    /// test file with its augmented copies. Needs an augmented dataset.
    public var averagesAugmentedCopies = false
    /// Overrides of the networks' optimizer, learning-rate schedule and base rate.
    public var optimizer: OptimizerChoice?
    /// Overrides of the networks' learning-rate schedule, base rate and weight decay; nil: the family's defaults.
    public var schedule: LearningRateSchedule?
    public var learningRate: Float?
    public var weightDecay: Float?
    /// Logistic regression's L2 penalty; nil: `LogisticRegressionFamily.defaultL2Penalty`.
    public var l2Penalty: Float?
    /// Models trained with seeds `seed`, `seed + 7919`, … whose probabilities are
    /// averaged (`EnsembleClassifier`); 1 trains a single model.
    public var ensembleSize = 1
    /// Whether, after early stopping and calibration on the validation speakers,
    /// the model is trained again on all its training speakers (validation ones
    /// included) for the epochs early stopping chose, keeping the calibration
    /// the held-out speakers gave. Nil: the family's default
    /// (`TrainingFamily.refitsByDefault`).
    public var refitsOnAllSpeakers: Bool?
    /// Train a speaker-adaptive model (`EmotionModel.adapted`) with this recipe:
    /// a lone-file classifier and one for speaker-standardized vectors. Nil: the
    /// lone-file classifier only.
    public var adaptation: AdaptationRecipe?
    /// With multi-condition copies in the dataset: fit the temperature on the
    /// validation speakers' recordings and their copies (the default), so that
    /// confidence holds under recording conditions; false: on the recordings alone.
    public var calibratesOnConditionCopies = true
    public init() {}

    /// Whether this training refits on all speakers.
    public var refits: Bool { refitsOnAllSpeakers ?? architecture.family.refitsByDefault }
}

/// A trained model and what its validation speakers said about it.
public struct TrainingOutcome {
    /// The trained model, with its feature pipeline and description.
    public var model: EmotionModel
    /// Its metrics on the validation speakers (nil when none were held out).
    public var validation: ClassificationMetrics?
    /// The networks' per-epoch losses and validation scores (empty for other families).
    public var history: [EpochRecord]
    /// The speakers held out for early stopping and calibration.
    public var validationSpeakers: [String]
    /// The epochs of the refit on all training speakers (nil when there was none;
    /// 0 for the tree models, which have no epochs).
    public var refitEpochs: Int?
    /// The epoch a checkpoint resumed the last fit after, if one did.
    public var resumedAfterEpoch: Int?
}

/// Speaker-independent training and cross-validation of emotion models.
public enum Trainer {
    /// Splits training examples into fitting and validation sets by whole speakers
    /// (about `fraction` of each corpus's speakers, at least one where a corpus has
    /// three or more), or by files when leakage is allowed or speakers are unknown.
    public static func validationSplit(_ dataset: FeatureDataset, indices: [Int], fraction: Double, seed: UInt64,
                                       allowsLeakage: Bool) -> (fit: [Int], validation: [Int], speakers: [String]) {
        var generator = SplitMix64(seed: seed &+ 0x5EED)
        if allowsLeakage {
            let shuffled = indices.shuffled(using: &generator)
            let count = Int((Double(indices.count) * fraction).rounded())
            return (Array(shuffled.dropFirst(count)), Array(shuffled.prefix(count)), [])
        }
        var speakersByCorpus: [String: Set<String>] = [:]
        for i in indices {
            let item = dataset.items[i]
            speakersByCorpus[item.corpus.rawValue, default: []].insert(item.speaker ?? "file:\(item.path)")
        }
        var chosen = Set<String>()
        for corpus in speakersByCorpus.keys.sorted() {
            let speakers = speakersByCorpus[corpus]!.sorted().shuffled(using: &generator)
            guard speakers.count >= 3 else { continue }
            chosen.formUnion(speakers.prefix(max(1, Int((Double(speakers.count) * fraction).rounded()))))
        }
        let validation = indices.filter { chosen.contains(dataset.items[$0].speaker ?? "file:\(dataset.items[$0].path)") }
        let fit = indices.filter { !chosen.contains(dataset.items[$0].speaker ?? "file:\(dataset.items[$0].path)") }
        return (fit, validation, chosen.filter { !$0.hasPrefix("file:") }.sorted())
    }

    /// The ways a model is built from single fits, outermost first: a model asked
    /// for with several is speaker-adapted around an ensemble whose members have
    /// corpus heads. Each trains its parts through `train` with its own option cleared.
    static let compositions: [any TrainingComposition] = [SpeakerAdaptedComposition(), EnsembleComposition(), CorpusHeadsComposition()]

    /// Trains one model on `indices` (all examples by default): early stopping and
    /// temperature scaling on held-out validation speakers, the best epoch kept;
    /// then, when `options.refits`, a fresh fit on all of `indices` for that many
    /// epochs with the same calibration. With `options.ensembleSize` > 1, that many
    /// such models with successive seeds, averaged.
    public static func train(_ dataset: FeatureDataset, indices: [Int]? = nil, labels: [String], options: TrainingOptions,
                             checkpoint: TrainingCheckpointing? = nil) -> TrainingOutcome {
        if let composition = compositions.first(where: { $0.applies(to: options) }) {
            return composition.train(dataset, indices: indices, labels: labels, options: options, checkpoint: checkpoint)
        }
        let all = indices ?? Array(dataset.items.indices)
        let family = options.architecture.family
        precondition(family.reads(dataset.preset), "\(family.name) cannot read \(dataset.preset.rawValue)")
        let (fit, held, speakers) = validationSplit(dataset, indices: all, fraction: options.validationFraction,
                                                    seed: options.seed, allowsLeakage: options.allowsLeakage)
        let validation = held.isEmpty ? nil : dataset.matrix(held, labels: labels)
        let first = family.fit(FitRequest(dataset: dataset, rows: fit, validation: validation, labels: labels, options: options,
                                          epochs: options.maximumEpochs, checkpoint: checkpoint))
        var classifier = first.classifier
        var resumedAfterEpoch = first.resumedAfterEpoch
        var metrics: ClassificationMetrics?
        var refitEpochs: Int?
        if let validation {
            // With multi-condition copies, the temperature is fitted on the validation
            // speakers' recordings and their copies, so that confidence holds under the
            // conditions too, not only on clean recordings.
            let mixesCopies = options.calibratesOnConditionCopies && dataset.conditionCopyCount > 0
            classifier.calibrate(on: mixesCopies ? dataset.trainingMatrix(held, labels: labels) : validation)
            metrics = evaluate(classifier, on: validation)
            if options.refits {
                var epochs = family.refitEpochs(after: first, options: options)
                let refitCheckpoint = checkpoint.map {
                    TrainingCheckpointing(path: refitCheckpointPath($0.path), fingerprint: $0.fingerprint + ";refit:\(epochs ?? 0)",
                                          onEpoch: $0.onEpoch)
                }
                let refit = family.fit(FitRequest(dataset: dataset, rows: all, validation: nil, labels: labels, options: options,
                                                  epochs: epochs, checkpoint: refitCheckpoint))
                epochs = refit.history.isEmpty ? epochs : refit.history.count
                refit.classifier.adoptCalibration(of: classifier)
                classifier = refit.classifier
                resumedAfterEpoch = refit.resumedAfterEpoch
                refitEpochs = epochs ?? 0
            }
        }
        var description = ModelDescription(
            architecture: options.architecture.rawValue, labels: labels,
            genderLabels: classifier.hasGenderHead ? SpeakerGender.labels : nil,
            features: .init(preset: dataset.preset.rawValue, sampleRate: dataset.sampleRate, dimension: dataset.preset.dimension))
        description.featureNormalization = dataset.isSpeakerNormalized ? "speaker" : nil
        description.trimsToSpeech = dataset.pipeline.trimsToSpeech ? nil : false
        let margin = dataset.pipeline.speechMarginSeconds
        description.speechMarginSeconds = dataset.pipeline.trimsToSpeech && margin > 0 ? margin : nil
        description.levelNormalization = dataset.pipeline.levelNormalization
        description.voicingBandHz = dataset.pipeline.detector.configuration.voicingBandHz.map { [$0.lowerBound, $0.upperBound] }
        if dataset.preset.needsEncoder && dataset.pipeline.encoderPrecision != .float32 {
            description.encoderPrecision = dataset.pipeline.encoderPrecision.rawValue
        }
        if options.averagesAugmentedCopies && !dataset.augmentationRecipe.isEmpty {
            description.testTimeAugmentation = dataset.augmentationRecipe.map(\.argument)
        }
        description.training = .init(counts: dataset.counts(all), files: all.count,
                                     speakers: Set(all.compactMap { dataset.items[$0].speaker }).count,
                                     validationSpeakers: speakers, allowsLeakage: options.allowsLeakage)
        description.training?.refitEpochs = refitEpochs
        description.validation = metrics
        description.seed = options.seed
        let model = EmotionModel(classifier: classifier, preset: dataset.preset, description: description)
        return TrainingOutcome(model: model, validation: metrics, history: first.history, validationSpeakers: speakers,
                               refitEpochs: refitEpochs, resumedAfterEpoch: resumedAfterEpoch)
    }

    /// Every checkpoint a training run with `ensembleSize` members may leave beside `checkpointPath`.
    public static func checkpointPaths(_ checkpointPath: String, ensembleSize: Int) -> [String] {
        (0..<max(1, ensembleSize)).flatMap { member in
            let path = memberCheckpointPath(checkpointPath, member)
            return [path, refitCheckpointPath(path)]
        }
    }

    /// Where the refit on all speakers keeps its checkpoint, beside the first fit's `checkpointPath`.
    public static func refitCheckpointPath(_ checkpointPath: String) -> String { checkpointPath + "-refit" }

    /// Accuracy, UAR, F1, confusion and calibration error of `classifier` on `data`,
    /// each row decided among the labels its mask permits (`ScoredPredictions`).
    public static func evaluate(_ classifier: any TrainedClassifier, on data: LabelledMatrix) -> ClassificationMetrics {
        ScoredPredictions(classifier.probabilities(data.features), truth: data.targets, permitted: data.labelMasks,
                          corpora: Array(repeating: "", count: data.targets.count))
            .metrics(labels: classifier.labels)
    }

    /// The probabilities of the rows at `indices`; with `averagingCopies`, each
    /// row's are the mean over its vector and its augmented copies (test-time augmentation).
    /// A model with corpus heads answers each row with its corpus's head
    /// (`EmotionClassifier.probabilities(_:corpora:)`), or, with
    /// `combiningHeads`, with the heads combined, as for audio of unknown origin.
    public static func probabilities(_ classifier: any TrainedClassifier, _ dataset: FeatureDataset, _ indices: [Int],
                                     averagingCopies: Bool, combiningHeads: Bool = false) -> Matrix {
        guard !indices.isEmpty else { return Matrix(rows: 0, columns: classifier.labels.count) }
        let columns = dataset.vectors.first?.count ?? 0
        func corpora(_ rows: [Int]) -> [String] { combiningHeads ? [] : rows.map { dataset.items[$0].corpus.rawValue } }
        guard averagingCopies, !dataset.augmented.isEmpty else {
            return classifier.probabilities(Matrix(rows: indices.count, columns: columns, values: indices.flatMap { dataset.vectors[$0] }),
                                            corpora: corpora(indices))
        }
        let variants = indices.map(dataset.variants(of:))
        let all = classifier.probabilities(Matrix(rows: variants.reduce(0) { $0 + $1.count }, columns: columns,
                                                  values: variants.flatMap { $0.flatMap { $0 } }),
                                           corpora: corpora(zip(indices, variants).flatMap { index, group in group.map { _ in index } }))
        var out = Matrix(rows: indices.count, columns: all.columns)
        var row = 0
        for (r, group) in variants.enumerated() {
            for _ in group {
                for c in 0..<all.columns { out[r, c] += all[row, c] / Float(group.count) }
                row += 1
            }
        }
        return out
    }

    /// `classifier`'s decisions on `vectors`, the features of dataset rows `rows`
    /// (one each), scored against those rows' labels among their corpus's labels,
    /// each answered by its corpus's head where the model has one.
    static func scored(_ classifier: any TrainedClassifier, _ dataset: FeatureDataset, rows: [Int], vectors: [[Float]],
                       labels: [String]) -> ScoredPredictions {
        guard !rows.isEmpty else { return ScoredPredictions() }
        let data = dataset.matrix(rows, labels: labels)
        let corpora = rows.map { dataset.items[$0].corpus.rawValue }
        let features = Matrix(rows: rows.count, columns: data.features.columns, values: vectors.flatMap { $0 })
        return ScoredPredictions(classifier.probabilities(features, corpora: corpora), truth: data.targets,
                                 permitted: data.labelMasks, corpora: corpora)
    }

    /// Cross-validates over the folds of `split`: each fold trains on the other
    /// speakers (with its own validation speakers) and is tested on its own.
    /// Within each corpus, decisions choose among the labels it carries, as
    /// `ser evaluate` scores them. Models with corpus heads are scored with
    /// each test corpus's own head, and again with the heads combined
    /// (`CrossValidationSummary.combinedHeads`).
    /// With `adaptationCurve` (k values, nil for "all") and a speaker-adaptive
    /// model (`options.adaptation`), each fold's test speakers are also scored
    /// after k recordings (`adaptationCurve(_:_:rows:labels:ks:seed:averagingCopies:)`), pooled
    /// into `CrossValidationSummary.adaptation`.
    /// With `conditions`, each fold's model also scores the evaluation copies of
    /// its test rows under each chain, and the clean vectors of the same rows as
    /// the reference (`CrossValidationSummary.conditions`); a copied row with no
    /// copy vector (no speech found) counts wrong.
    /// A repeated split (`SpeakerSplit.partitions`) pools every partition's
    /// folds, orders each speaker's recordings afresh in each partition (seed
    /// `options.seed` + the partition's index) and keeps each partition's own
    /// accuracy beside the pooled figures.
    public static func crossValidate(_ dataset: FeatureDataset, split: SpeakerSplit, labels: [String], options: TrainingOptions,
                                     adaptationCurve ks: [Int?] = [], conditions: [ConditionTestSet] = [],
                                     onFold: ((Int, CrossValidationSummary.Fold) -> Void)? = nil) -> CrossValidationSummary {
        let position = Dictionary(dataset.items.enumerated().map { ($1.path, $0) }, uniquingKeysWith: { a, _ in a })
        var folds: [CrossValidationSummary.Fold] = []
        var combined = ScoredPredictions()
        // Kept per partition of the speakers (one unless the split is repeated) and pooled at the end.
        let partitions = split.partitionCount
        var ownByPartition = [ScoredPredictions](repeating: ScoredPredictions(), count: partitions)
        var curveByPartition = [[AdaptationCurveRows]](repeating: ks.map(AdaptationCurveRows.init(k:)), count: partitions)
        let conditionRows = conditions.first?.rows ?? []
        var cleanOfConditionRows = ScoredPredictions()
        var underConditions = [ScoredPredictions](repeating: ScoredPredictions(), count: conditions.count)
        var unanswered = [Int](repeating: 0, count: conditions.count)
        for fold in split.folds.indices {
            let partition = split.partition(ofFold: fold)
            let started = Date()
            let (train, test) = split.partition(dataset.items, fold: fold)
            let trainIndices = train.compactMap { position[$0.path] }, testIndices = test.compactMap { position[$0.path] }
            guard !trainIndices.isEmpty, !testIndices.isEmpty else { continue }
            var foldOptions = options
            foldOptions.seed = options.seed &+ UInt64(fold)
            let outcome = Self.train(dataset, indices: trainIndices, labels: labels, options: foldOptions)
            let testData = dataset.matrix(testIndices, labels: labels)
            let corpora = testIndices.map { dataset.items[$0].corpus.rawValue }
            let p = probabilities(outcome.model.classifier, dataset, testIndices, averagingCopies: options.averagesAugmentedCopies)
            let foldScores = ScoredPredictions(p, truth: testData.targets, permitted: testData.labelMasks, corpora: corpora)
            ownByPartition[partition].append(foldScores)
            if !outcome.model.classifier.corpusHeads.isEmpty {
                let q = probabilities(outcome.model.classifier, dataset, testIndices, averagingCopies: options.averagesAugmentedCopies,
                                      combiningHeads: true)
                combined.append(ScoredPredictions(q, truth: testData.targets, permitted: testData.labelMasks, corpora: corpora))
            }
            if outcome.model.adapted != nil && !ks.isEmpty {
                let foldCurve = adaptationCurve(outcome.model, dataset, rows: testIndices, labels: labels, ks: ks,
                                                seed: options.seed &+ UInt64(partition), averagingCopies: options.averagesAugmentedCopies)
                for (index, rows) in foldCurve.enumerated() { curveByPartition[partition][index].append(rows) }
            }
            if !conditions.isEmpty {
                let rows = testIndices.filter(conditionRows.contains)
                cleanOfConditionRows.append(scored(outcome.model.classifier, dataset, rows: rows, vectors: rows.map { dataset.vectors[$0] }, labels: labels))
                for (index, condition) in conditions.enumerated() {
                    let answered = rows.filter { condition.vectors[$0] != nil }
                    unanswered[index] += rows.count - answered.count
                    underConditions[index].append(scored(outcome.model.classifier, dataset, rows: answered,
                                                         vectors: answered.compactMap { condition.vectors[$0] }, labels: labels))
                }
            }
            let metrics = foldScores.metrics(labels: labels)
            let result = CrossValidationSummary.Fold(testSpeakers: split.folds[fold].testSpeakers, metrics: metrics,
                                                     epochs: outcome.history.count, seconds: Date().timeIntervalSince(started))
            folds.append(result)
            onFold?(fold, result)
        }
        var own = ScoredPredictions(), curve = ks.map(AdaptationCurveRows.init(k:))
        for partition in 0..<partitions {
            own.append(ownByPartition[partition])
            for index in curve.indices { curve[index].append(curveByPartition[partition][index]) }
        }
        let perCorpus = own.perCorpus(labels: labels)
        var summary = CrossValidationSummary(method: split.method.rawValue, folds: folds, pooled: own.metrics(labels: labels),
                                             perCorpus: perCorpus.count > 1 ? perCorpus : nil, allowsLeakage: split.allowsLeakage)
        if curve.contains(where: { !$0.truth.isEmpty }) { summary.adaptation = curve.map { $0.point(labels: labels) } }
        if partitions > 1 {
            summary.partitionAccuracies = ownByPartition.map { $0.metrics(labels: labels).accuracy }
            if var points = summary.adaptation {
                for index in points.indices {
                    points[index].partitionAccuracies = curveByPartition.map { $0[index].point(labels: labels).accuracy }
                }
                summary.adaptation = points
            }
        }
        if !conditions.isEmpty {
            let clean = cleanOfConditionRows.metrics(labels: labels)
            summary.conditions = [ConditionScore(clean: clean)] + conditions.indices.map { index in
                ConditionScore(condition: conditions[index].chain.argument, answered: underConditions[index].metrics(labels: labels),
                               unanswered: unanswered[index], cleanAccuracy: clean.accuracy)
            }
        }
        if !combined.truth.isEmpty {
            summary.combinedHeads = combined.metrics(labels: labels)
            summary.combinedHeadsPerCorpus = combined.perCorpus(labels: labels)
        }
        return summary
    }
}
