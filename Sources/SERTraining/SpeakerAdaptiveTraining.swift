import Foundation
import SERCorpora
import SERModels
import SERRecognition
import SERSpeakers
import SERSupport

/// How a model learns to use a speaker's statistics (`ser train --adaptive`):
/// the estimator's settings, stored with the model (`SpeakerAdaptation`).
public struct AdaptationRecipe: Sendable, Equatable {
    /// τ: pseudo-recordings of the population mean in a speaker's mean.
    public var meanPriorWeight = 3.0
    /// τᵥ: pseudo-recordings of the population's within-speaker variance.
    public var variancePriorWeight = 10.0
    /// κ: after k recordings the adapted answer weighs k / (k + κ).
    public var blendPriorWeight = 1.0
    /// Recordings needed before the adapted classifier speaks at all.
    public var minimumRecordings = 1
    /// logreg: the adapted classifier's L2 penalty; nil: the lone-file one's
    /// (`TrainingOptions.l2Penalty`).
    public var adaptedL2Penalty: Float?

    /// The defaults, with the adapted classifier's own L2 penalty when given.
    public init(adaptedL2Penalty: Float? = nil) {
        self.adaptedL2Penalty = adaptedL2Penalty
    }

    /// The fewest recordings from which adapted answers pay, read off a measured
    /// curve: the smallest listed k ≥ 1 from which every listed point (all
    /// included) is at least as accurate as k = 0, the lone-file answer. Nil
    /// when the curve has no k = 0 or no finite k; `Int.max` when adapting never
    /// pays there. Points at or above the minimum do not depend on it, so the
    /// curve stays valid for the model that uses it.
    public static func minimumRecordings(from curve: [AdaptationPoint]) -> Int? {
        guard let lone = curve.first(where: { $0.k == 0 })?.accuracy else { return nil }
        let finite = curve.compactMap(\.k).filter { $0 >= 1 }.sorted()
        guard !finite.isEmpty else { return nil }
        for k in finite where curve.allSatisfy({ point in (point.k.map { $0 < k } ?? false) || point.accuracy >= lone }) {
            return k
        }
        return Int.max
    }
}

extension FeatureDataset {
    /// This dataset with each vector z-scored by its speaker's own recordings
    /// (`normalizePerSpeaker`), without augmented copies: what the adapted
    /// classifier of a speaker-adaptive model trains on.
    func speakerNormalizedCopy() -> FeatureDataset {
        var copy = self
        copy.dropAugmentedCopies()
        copy.normalizePerSpeaker()
        return copy
    }
}

/// A speaker-adaptive model (`TrainingOptions.adaptation`): a lone-file
/// classifier and an adapted one of the same family.
struct SpeakerAdaptedComposition: TrainingComposition {
    func applies(to options: TrainingOptions) -> Bool { options.adaptation != nil }

    /// Trains a speaker-adaptive model on `indices`: the lone-file classifier as
    /// `train` fits it, and an adapted classifier of the same family on the
    /// training speakers' per-speaker z-scores, with the population statistics the
    /// estimator shrinks toward, all from the training speakers only.
    func train(_ dataset: FeatureDataset, indices: [Int]?, labels: [String], options: TrainingOptions,
               checkpoint: TrainingCheckpointing?) -> TrainingOutcome {
        let recipe = options.adaptation ?? AdaptationRecipe()
        var plain = options
        plain.adaptation = nil
        let all = indices ?? Array(dataset.items.indices)
        let lone = Trainer.train(dataset, indices: all, labels: labels, options: plain, checkpoint: checkpoint)
        var adaptedOptions = plain
        if let penalty = recipe.adaptedL2Penalty { adaptedOptions.l2Penalty = penalty }
        let adaptedOutcome = Trainer.train(dataset.speakerNormalizedCopy(), indices: all, labels: labels, options: adaptedOptions)
        let groups = all.map { FeatureDataset.speakerGroup(of: dataset.items[$0]) }
        let adaptation = SpeakerAdaptation(fitting: all.map { dataset.vectors[$0] }, groups: groups,
                                           meanPriorWeight: recipe.meanPriorWeight, variancePriorWeight: recipe.variancePriorWeight,
                                           blendPriorWeight: recipe.blendPriorWeight, minimumRecordings: recipe.minimumRecordings)
        var description = lone.model.description
        description.speakerAdaptation = SpeakerAdaptationSummary(adaptation)
        let model = EmotionModel(classifier: lone.model.classifier, preset: lone.model.preset, description: description,
                                 adapted: .init(classifier: adaptedOutcome.model.classifier, adaptation: adaptation))
        var outcome = lone
        outcome.model = model
        return outcome
    }
}

extension Trainer {
    /// The adaptation curve of `model` on `rows`: for each k of `ks` (nil: all),
    /// every recording classified with the statistics of `k` other recordings of
    /// its speaker, the k before it in a seeded random cyclic order of that
    /// speaker's recordings (so each recording is scored at every k, and never
    /// with itself); "all" uses every recording of the speaker, itself included,
    /// as `--speaker-normalization` does. Decisions are restricted to each
    /// corpus's labels as elsewhere. k = 0 is the lone-file answer.
    /// With `averagingCopies` (a model with test-time augmentation), each
    /// recording is classified with its augmented copies; otherwise copies, which
    /// are for training only, are never read here.
    public static func adaptationCurve(_ model: EmotionModel, _ dataset: FeatureDataset, rows: [Int], labels: [String],
                                       ks: [Int?], seed: UInt64, averagingCopies: Bool) -> [AdaptationCurveRows] {
        let variants = rows.map { averagingCopies ? dataset.variants(of: $0) : [dataset.vectors[$0]] }
        var members: [String: [Int]] = [:]   // positions in `rows`
        for (position, row) in rows.enumerated() { members[FeatureDataset.speakerGroup(of: dataset.items[row]), default: []].append(position) }
        let dimension = dataset.vectors.first?.count ?? 0
        let masks = dataset.labelMasks(rows, labels: labels)
        let index = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($1, $0) })
        let orders = members.mapValues { positions -> [Int] in
            var generator = SplitMix64(seed: seed &+ stableHash(FeatureDataset.speakerGroup(of: dataset.items[rows[positions[0]]])))
            return positions.shuffled(using: &generator)
        }
        return ks.map { k in
            var result = AdaptationCurveRows(k: k)
            let answers: [(Int, Classification?)] = parallelMap(count: rows.count) { position in
                let group = FeatureDataset.speakerGroup(of: dataset.items[rows[position]])
                let order = orders[group] ?? [position]
                var statistics = SpeakerStatistics(dimension: dimension)
                if let k {
                    let at = order.firstIndex(of: position) ?? 0
                    for step in 0..<min(k, order.count - 1) {
                        statistics.add(variants[order[(at - 1 - step + 2 * order.count) % order.count]][0])
                    }
                } else {
                    for other in order { statistics.add(variants[other][0]) }
                }
                return (position, model.classifyVariants(variants[position], speaker: statistics))
            }
            for (position, answer) in answers {
                guard let answer, let target = index[dataset.items[rows[position]].label] else { continue }
                let decision = permittedDecision(answer.probabilities, permitted: masks?[position])
                result.truth.append(target)
                result.predicted.append(max(decision.index, 0))
                result.corpora.append(dataset.items[rows[position]].corpus.rawValue)
            }
            return result
        }
    }
}

/// FNV-1a of a string: the same seed for a speaker on every run and machine.
private func stableHash(_ text: String) -> UInt64 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
    return hash
}

/// The decisions of one curve point, gathered over folds.
public struct AdaptationCurveRows: Sendable {
    /// The recordings of its speaker each answer knew (nil: all the others).
    public var k: Int?
    /// The true label index of each scored recording.
    public var truth: [Int] = []
    /// The decided label index of each scored recording.
    public var predicted: [Int] = []
    /// The corpus of each scored recording.
    public var corpora: [String] = []

    /// An empty point for `k` known recordings.
    public init(k: Int?) { self.k = k }

    /// Adds `other`'s rows (another fold's) to this point's.
    public mutating func append(_ other: AdaptationCurveRows) {
        truth += other.truth
        predicted += other.predicted
        corpora += other.corpora
    }

    /// Accuracy and UAR overall and, with several corpora, per corpus.
    public func point(labels: [String]) -> AdaptationPoint {
        func measured(_ rows: [Int]) -> AdaptationPoint {
            let metrics = ClassificationMetrics(labels: labels, truth: rows.map { truth[$0] }, predicted: rows.map { predicted[$0] },
                                                confidence: rows.map { _ in 1 })
            return AdaptationPoint(k: k, accuracy: metrics.accuracy, uar: metrics.uar, n: metrics.n)
        }
        var point = measured(Array(truth.indices))
        let names = Set(corpora)
        if names.count > 1 {
            point.perCorpus = Dictionary(uniqueKeysWithValues: names.map { name in (name, measured(corpora.indices.filter { corpora[$0] == name })) })
        }
        return point
    }
}
