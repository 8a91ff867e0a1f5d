import Foundation
import SERAudio
import SERCorpora
import SEREncoder
import SERFeatures
import SERModels
import SERNumerics
import SERRecognition
import SERSpeakers
import SERSupport

/// Corpus items with their utterance-level feature vectors, computed at the
/// models' rate on both cores and kept in the feature cache.
public struct FeatureDataset: Sendable {
    /// The features every vector holds (the pipeline's preset).
    public var preset: FeaturePreset { pipeline.preset }
    /// The rate recordings are resampled to before their features are computed.
    public var sampleRate: Int { pipeline.sampleRate }
    /// The path from audio to vectors, the same one `ser predict` takes.
    public let pipeline: InputPipeline
    /// The recordings whose vectors were computed, in the order of `vectors` (copies of a recording are kept with its row, not here).
    public private(set) var items: [CorpusItem]
    /// One feature vector per item, `preset.dimension` long.
    public private(set) var vectors: [[Float]]
    /// Files whose features could not be computed, with the reason.
    public private(set) var failures: [SkippedFile]
    /// The recording chain every vector was made through; nil: the recordings as they are.
    public let condition: ConditionCopies?
    /// Feature vectors of each item's augmented copies (empty without augmentation).
    /// Training takes them only for its training items, so copies never cross a split.
    public private(set) var augmented: [[[Float]]] = []

    /// Computes (or reads from `cache`) the vector of every item through
    /// `pipeline`. A file that fails, or in which no speech is found, is listed
    /// in `failures`; the rest still count.
    ///
    /// With `condition`, every vector is of a copy of its recording as that
    /// recording chain would have made it (noise, a room, a codec…), drawn from
    /// the condition's seed and the file's path: the same copy every run.
    public init(items: [CorpusItem], pipeline: InputPipeline, cache: FeatureCache?, condition: ConditionCopies? = nil,
                onProgress: (@Sendable (Int) -> Void)? = nil) {
        self.pipeline = pipeline
        self.condition = condition
        let key = Self.cacheKey(pipeline) + (condition?.cacheTag ?? "")
        let results: [Result<[Float], Error>] = parallelMap(count: items.count, onCompletion: onProgress) { index in
            let path = items[index].path
            let compute = {
                guard let condition else { return try pipeline.vector(ofFile: path) }
                return try condition.vector(of: items[index], through: pipeline)
            }
            do {
                if let cache { return .success(try Self.cachedVector(path, key: key, pipeline: pipeline, cache: cache, compute: compute)) }
                return .success(try compute())
            } catch {
                return .failure(error)
            }
        }
        var kept: [CorpusItem] = [], vectors: [[Float]] = [], failures: [SkippedFile] = []
        for (item, result) in zip(items, results) {
            switch result {
            case .success(let vector) where vector.allSatisfy(\.isFinite):
                kept.append(item)
                vectors.append(vector)
            case .success:
                failures.append(SkippedFile(path: item.path, reason: "features are not finite"))
            case .failure(let error):
                failures.append(SkippedFile(path: item.path, reason: "\(error)"))
            }
        }
        self.items = kept
        self.vectors = vectors
        self.failures = failures
    }

    /// A dataset of vectors already computed by `pipeline` (one per item, e.g.
    /// read back from `ser features --trim`); rows with a vector of the wrong
    /// length or a non-finite value are listed in `failures`.
    public init(items: [CorpusItem], vectors: [[Float]], pipeline: InputPipeline) {
        precondition(items.count == vectors.count, "one vector per item")
        self.pipeline = pipeline
        condition = nil
        var kept: [CorpusItem] = [], rows: [[Float]] = [], failures: [SkippedFile] = []
        for (item, vector) in zip(items, vectors) {
            if vector.count == pipeline.preset.dimension && vector.allSatisfy(\.isFinite) {
                kept.append(item)
                rows.append(vector)
            } else {
                failures.append(SkippedFile(path: item.path, reason: "the vector has \(vector.count) values or a non-finite one; \(pipeline.preset.rawValue) has \(pipeline.preset.dimension)"))
            }
        }
        self.items = kept
        self.vectors = rows
        self.failures = failures
    }

    /// As `init(items:pipeline:cache:onProgress:)` with a pipeline for `preset`
    /// that trims to speech when `speechDetector` is given. When the preset's
    /// speech encoder is not installed, every item fails with that reason.
    public init(items: [CorpusItem], preset: FeaturePreset, sampleRate: Int = 16000,
                speechDetector: VoiceActivityDetector? = VoiceActivityDetector(), cache: FeatureCache?,
                onProgress: (@Sendable (Int) -> Void)? = nil) {
        let embedder = preset.needsEncoder ? try? SpeechEncoders.embedder() : nil
        let pipeline = InputPipeline(preset: preset, sampleRate: sampleRate, trimsToSpeech: speechDetector != nil,
                                     detector: speechDetector ?? VoiceActivityDetector(), resolvedEmbedder: embedder)
        self.init(items: items, pipeline: pipeline, cache: cache, onProgress: onProgress)
    }

    /// `pipeline`'s vector of the file at `path` under `key` (the pipeline's key and
    /// any copy's tag) from `cache`, computed and stored on a miss. A miss is first
    /// served from the cached vector of the preset that contains this one
    /// (`FeaturePreset.containingPreset`, under the same tags), so comparing the
    /// encoder's view alone with the shipped features costs no second encoding.
    static func cachedVector(_ path: String, key: String, pipeline: InputPipeline, cache: FeatureCache,
                             compute: () throws -> [Float]) throws -> [Float] {
        let dimension = pipeline.preset.dimension
        return try cache.values(for: path, key: key, expectedCount: dimension) {
            let base = cacheKey(pipeline)
            if let container = pipeline.preset.containingPreset, key.hasPrefix(base) {
                let containerKey = FeatureCache.key(preset: container, sampleRate: pipeline.sampleRate, encoderIdentity: pipeline.embedder?.identity)
                    + pipeline.trimmingCacheTag + key.dropFirst(base.count)
                if let whole = cache.cachedValues(for: path, key: containerKey, expectedCount: container.dimension) {
                    return Array(whole.prefix(dimension))
                }
            }
            return try compute()
        }.values
    }

    /// The feature-cache key of `pipeline`'s vectors (shared with `ser features --trim`).
    public static func cacheKey(_ pipeline: InputPipeline) -> String {
        FeatureCache.key(preset: pipeline.preset, sampleRate: pipeline.sampleRate, encoderIdentity: pipeline.embedder?.identity)
            + pipeline.trimmingCacheTag
    }

    /// The perturbations `augment` made the copies with, in the order of each item's copies.
    public private(set) var augmentationRecipe: [Perturbation] = []

    /// Adds perturbed copies of every item (one per `recipe` entry), computed on
    /// both cores and cached like the originals: the same copy every run for a seed.
    /// Each copy's noise is drawn from a seed of its own recording, or from
    /// `fixedSeed` when given (`Perturbation.testTimeSeed` makes the copies a
    /// model with test-time augmentation classifies at prediction). Copies are
    /// made from what the originals' features read: the speech span, or the
    /// whole recording when the pipeline reads whole recordings.
    public mutating func augment(recipe: [Perturbation], seed: UInt64, fixedSeed: UInt64? = nil,
                                 cache: FeatureCache?, onProgress: (@Sendable (Int) -> Void)? = nil) {
        augmentationRecipe = recipe
        guard !recipe.isEmpty else { augmented = []; return }
        var planned = Augmenter.plan(training: items, recipe: recipe, copies: recipe.count, seed: seed)
        if let fixedSeed { for index in planned.indices { planned[index].seed = fixedSeed } }
        let plan = planned
        let pipeline = pipeline
        let base = Self.cacheKey(pipeline)
        let results: [[Float]?] = parallelMap(count: plan.count, onCompletion: onProgress) { index in
            let copy = plan[index]
            let key = base + ";augment=\(copy.perturbation.argument)#\(copy.seed)"
            let compute = { try pipeline.vector(ofFile: copy.source.path, perturbation: copy.perturbation, seed: copy.seed) }
            let vector = cache.flatMap { try? Self.cachedVector(copy.source.path, key: key, pipeline: pipeline, cache: $0, compute: compute) } ?? (try? compute())
            return vector.flatMap { $0.allSatisfy(\.isFinite) ? $0 : nil }
        }
        augmented = items.indices.map { item in
            (0..<recipe.count).compactMap { results[item * recipe.count + $0] }
        }
    }

    /// Adds `copiesPerItem` multi-condition copies of every item: each its
    /// recording through a chain drawn at random (`RecordingChain.trainingMix`:
    /// gain, clipping, a room, noise or babble, a telephone line or a codec),
    /// from `seed`, the item's path and the copy's number, so the same copy every
    /// run; computed on both cores and cached. They join the augmented copies,
    /// which training takes for its training rows only.
    ///
    /// Babble mixes only voices of the item's own `babbleGroups` entry (other
    /// speakers of that group): give each item the folds its speaker is tested
    /// in, so that babble in a training copy never holds a voice that a fold tests.
    public mutating func addConditionCopies(_ copiesPerItem: Int, seed: UInt64, babbleGroups: [String]? = nil,
                                            cache: FeatureCache?, onProgress: (@Sendable (Int) -> Void)? = nil) {
        guard copiesPerItem > 0, !items.isEmpty else { return }
        let groups = babbleGroups ?? items.map { _ in "" }
        precondition(groups.count == items.count, "one babble group per item")
        var pools: [String: BabblePool] = [:]
        for group in Set(groups) {
            let members = self.items.indices.filter { groups[$0] == group }.map { self.items[$0] }
            pools[group] = BabblePool(items: members, sampleRate: sampleRate, seed: seed ^ 0xBAB8_1E00)
        }
        let sources = self.items, pipeline = self.pipeline, base = Self.cacheKey(pipeline), frozenPools = pools
        let results: [[Float]?] = parallelMap(count: sources.count * copiesPerItem, onCompletion: onProgress) { index in
            let item = sources[index / copiesPerItem], copy = index % copiesPerItem
            let pool = frozenPools[groups[index / copiesPerItem]]
            let copySeed = seed ^ ContentHash.seed(of: "\(item.path)#condition\(copy)")
            let babbleAvailable = !(pool?.voices(excludingSpeakerOf: item).isEmpty ?? true)
            let condition = ConditionCopies(chain: .trainingMix(seed: copySeed, babbleAvailable: babbleAvailable), seed: copySeed, babble: pool)
            return condition.cachedVector(of: item, through: pipeline, baseKey: base, cache: cache)
        }
        addConditionCopies(vectors: items.indices.map { row in (0..<copiesPerItem).compactMap { results[row * copiesPerItem + $0] } })
    }

    /// Adds already computed condition copies: `vectors[row]` are item `row`'s.
    mutating func addConditionCopies(vectors: [[[Float]]]) {
        precondition(vectors.count == items.count, "copies for every item")
        if augmented.count != items.count { augmented = items.map { _ in [] } }
        for row in items.indices { augmented[row] += vectors[row] }
        conditionCopyCount += vectors.map(\.count).max() ?? 0
    }

    /// Multi-condition copies per item that `addConditionCopies` added (0: none).
    /// Training calibrates on its validation speakers' copies too when there are some.
    public private(set) var conditionCopyCount = 0

    /// Evaluation copies of the recordings at `rows` through `chain`, drawn from
    /// `ConditionCopies.evaluationSeed` (never a training copy's seed), computed on
    /// both cores and cached. Babble for a row mixes only voices of its own
    /// `babbleGroups` entry: give each item the folds its speaker is tested in, so a
    /// test copy's babble comes from the test side of its fold.
    public func conditionTestSet(_ chain: RecordingChain, rows: [Int], babbleGroups: [String], cache: FeatureCache?,
                                 onProgress: (@Sendable (Int) -> Void)? = nil) -> ConditionTestSet {
        precondition(babbleGroups.count == items.count, "one babble group per item")
        var pools: [String: BabblePool] = [:]
        if chain.needsBabble {
            for group in Set(rows.map { babbleGroups[$0] }) {
                let members = items.indices.filter { babbleGroups[$0] == group }.map { items[$0] }
                pools[group] = BabblePool(items: members, sampleRate: sampleRate, seed: ConditionCopies.evaluationSeed)
            }
        }
        let sources = items, pipeline = pipeline, base = Self.cacheKey(pipeline), frozenPools = pools
        let results: [[Float]?] = parallelMap(count: rows.count, onCompletion: onProgress) { index in
            let item = sources[rows[index]]
            let condition = ConditionCopies(chain: chain, seed: ConditionCopies.evaluationSeed, babble: frozenPools[babbleGroups[rows[index]]])
            return condition.cachedVector(of: item, through: pipeline, baseKey: base, cache: cache)
        }
        var vectors: [Int: [Float]] = [:]
        for (row, vector) in zip(rows, results) { if let vector { vectors[row] = vector } }
        return ConditionTestSet(chain: chain, rows: Set(rows), vectors: vectors)
    }

    /// Row `index`'s vector followed by its augmented copies' (the variants a
    /// model with test-time augmentation averages over).
    public func variants(of index: Int) -> [[Float]] {
        [vectors[index]] + (index < augmented.count ? augmented[index] : [])
    }

    /// Forgets the augmented copies (the originals stay).
    public mutating func dropAugmentedCopies() {
        augmented = []
        augmentationRecipe = []
    }

    /// Whether `normalizePerSpeaker()` has replaced the vectors by per-speaker z-scores.
    public private(set) var isSpeakerNormalized = false

    /// The group whose statistics normalize `item`: its speaker within its corpus,
    /// or all of that corpus's recordings of unknown speakers.
    public static func speakerGroup(of item: CorpusItem) -> String {
        item.corpus.rawValue + "/" + (item.speaker ?? "?")
    }

    /// Speakers (groups, see `speakerGroup(of:)`) with fewer than
    /// `SpeakerNormalization.minimumRecordings` recordings.
    public var sparselyRecordedSpeakers: [String] {
        var counts: [String: Int] = [:]
        for item in items { counts[Self.speakerGroup(of: item), default: 0] += 1 }
        return counts.filter { $0.value < SpeakerNormalization.minimumRecordings }.keys.sorted()
    }

    /// Replaces every vector by its z-score against its speaker's own recordings
    /// (`SpeakerNormalization`); augmented copies use the statistics of their
    /// speaker's original recordings. No labels are read and no speaker's
    /// statistics touch another's, so train and test speakers stay independent.
    public mutating func normalizePerSpeaker() {
        guard !isSpeakerNormalized else { return }
        let groups = items.map(Self.speakerGroup(of:))
        let byGroup = SpeakerNormalization.statistics(of: vectors, groups: groups)
        for row in items.indices {
            guard let statistics = byGroup[groups[row]] else { continue }
            vectors[row] = statistics.apply(vectors[row])
            if row < augmented.count { augmented[row] = augmented[row].map(statistics.apply) }
        }
        isSpeakerNormalized = true
    }

    /// The examples at `indices` and their augmented copies, for fitting; with
    /// `balancingCorpora`, row weights that give every corpus the same total weight;
    /// with `maskingLabels`, each row's label mask (see `labelMasks(_:labels:)`).
    public func trainingMatrix(_ indices: [Int], labels: [String], balancingCorpora: Bool = false,
                               maskingLabels: Bool = true) -> LabelledMatrix {
        guard !augmented.isEmpty else {
            var training = matrix(indices, labels: labels)
            training.rowWeights = balancingCorpora ? corpusBalance(indices) : nil
            if !maskingLabels { training.labelMasks = nil }
            return training
        }
        var rows = indices, values: [Float] = []
        for i in indices { values += vectors[i] }
        for i in indices {
            for copy in augmented[i] { rows.append(i); values += copy }
        }
        var training = labelled(Matrix(rows: rows.count, columns: vectors.first?.count ?? 0, values: values), rows: rows, labels: labels)
        training.rowWeights = balancingCorpora ? corpusBalance(rows) : nil
        if !maskingLabels { training.labelMasks = nil }
        return training
    }

    /// Row weights that make every corpus among `rows` weigh the same in the loss
    /// (n / (corpora · n_corpus)), or nil for a single corpus: pooled training must
    /// not be ruled by its largest corpus.
    func corpusBalance(_ rows: [Int]) -> [Float]? {
        var sizes: [CorpusName: Int] = [:]
        for row in rows { sizes[items[row].corpus, default: 0] += 1 }
        guard sizes.count > 1 else { return nil }
        return rows.map { Float(rows.count) / Float(sizes.count * sizes[items[$0].corpus]!) }
    }

    /// The labels each corpus's recordings carry here (RAVDESS all eight, CREMA-D six).
    public var labelsByCorpus: [CorpusName: Set<String>] {
        var sets: [CorpusName: Set<String>] = [:]
        for item in items { sets[item.corpus, default: []].insert(item.label) }
        return sets
    }

    /// For each of `rows`, which of `labels` its corpus carries; nil when every
    /// row's corpus carries them all (a single corpus, say), so nothing is masked.
    public func labelMasks(_ rows: [Int], labels: [String]) -> [[Bool]]? {
        let masks = labelsByCorpus.mapValues { carried in labels.map(carried.contains) }
        guard masks.values.contains(where: { $0.contains(false) }) else { return nil }
        return rows.map { masks[items[$0].corpus]! }
    }

    /// This dataset with every label qualified by its corpus
    /// (`CorpusHeadsClassifier.qualifiedLabel`, e.g. `CREMA-D/angry`): what the
    /// shared classifier of a model with corpus heads is trained on. The
    /// feature vectors are shared, not copied.
    public func withCorpusQualifiedLabels() -> FeatureDataset {
        var qualified = self
        for index in qualified.items.indices {
            qualified.items[index].label = CorpusHeadsClassifier.qualifiedLabel(corpus: items[index].corpus.rawValue, label: items[index].label)
        }
        return qualified
    }

    /// One head per corpus among `rows`, over the labels its recordings there
    /// carry, in the order of `labels` (corpora in name order), weighted by
    /// those recordings (`labels`' only).
    public func corpusHeads(_ rows: [Int], labels: [String]) -> [CorpusHeadsClassifier.Head] {
        let known = Set(labels)
        var carried: [CorpusName: Set<String>] = [:], recordings: [CorpusName: Int] = [:]
        for row in rows where known.contains(items[row].label) {
            carried[items[row].corpus, default: []].insert(items[row].label)
            recordings[items[row].corpus, default: 0] += 1
        }
        return carried.keys.sorted { $0.rawValue < $1.rawValue }.map { corpus in
            CorpusHeadsClassifier.Head(corpus: corpus.rawValue, labels: labels.filter(carried[corpus]!.contains),
                                       recordings: recordings[corpus] ?? 0)
        }
    }

    /// Labels present in the data, in the canonical emotion order, then any others alphabetically.
    public var labels: [String] {
        let present = Set(items.map(\.label))
        let canonical = Emotion.allCases.map(\.rawValue).filter(present.contains)
        return canonical + present.subtracting(canonical).sorted()
    }

    /// The examples at `indices` as a labelled matrix over `labels`.
    public func matrix(_ indices: [Int], labels: [String]) -> LabelledMatrix {
        let columns = vectors.first?.count ?? 0
        var values: [Float] = []
        values.reserveCapacity(indices.count * columns)
        for i in indices { values += vectors[i] }
        return labelled(Matrix(rows: indices.count, columns: columns, values: values), rows: indices, labels: labels)
    }

    /// Rows of features with the label, gender and label mask of the items they come from.
    private func labelled(_ features: Matrix, rows: [Int], labels: [String]) -> LabelledMatrix {
        let index = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($1, $0) })
        return LabelledMatrix(features: features,
                              targets: rows.map { index[items[$0].label] ?? 0 },
                              genders: rows.map { i -> Int? in
                                  switch items[i].gender {
                                  case .female: return 0
                                  case .male: return 1
                                  case .unknown: return nil
                                  }
                              },
                              labelMasks: labelMasks(rows, labels: labels))
    }

    /// Files per corpus and label.
    public func counts(_ indices: [Int]? = nil) -> [String: [String: Int]] {
        var counts: [String: [String: Int]] = [:]
        for i in indices ?? Array(items.indices) { counts[items[i].corpus.rawValue, default: [:]][items[i].label, default: 0] += 1 }
        return counts
    }
}


/// How `FeatureDataset` makes condition copies of its recordings: the recording
/// chain, the seed its random draws start from, and the voices babble mixes.
public struct ConditionCopies: Sendable {
    /// The recording chain every copy goes through (ranges drawn per copy).
    public var chain: RecordingChain
    /// The seed the chain's random draws start from, mixed with each recording's path.
    public var seed: UInt64
    /// Other speakers' voices for babble (each copy leaves its own speaker out).
    public var babble: BabblePool?

    /// Copies through `chain`, drawn from `seed`, with babble mixed from `babble`'s voices.
    public init(chain: RecordingChain, seed: UInt64, babble: BabblePool? = nil) {
        self.chain = chain
        self.seed = seed
        self.babble = babble
    }

    /// The seed of the evaluation copies of `ser evaluate --conditions` and
    /// cross-validation with conditions: never a training copy's.
    public static let evaluationSeed: UInt64 = 0xE7A1_C0DE

    /// What a cached vector of such a copy adds to its key.
    public var cacheTag: String {
        ";condition=\(chain.argument)#\(seed)" + (chain.needsBabble ? ";babble=\(babble?.identity ?? "none")" : "")
    }

    /// The feature vector of `item`'s recording through the chain, as `pipeline` reads it.
    public func vector(of item: CorpusItem, through pipeline: InputPipeline) throws -> [Float] {
        try pipeline.vector(ofRecording: copy(of: item, samples: pipeline.samples(ofFile: item.path), sampleRate: pipeline.sampleRate),
                            path: item.path)
    }

    /// As `vector(of:through:)`, read from or written to `cache` under
    /// `baseKey` (the pipeline's key) and this chain's tag; nil when the copy has
    /// no speech, cannot be made, or has a non-finite value.
    func cachedVector(of item: CorpusItem, through pipeline: InputPipeline, baseKey: String, cache: FeatureCache?) -> [Float]? {
        let compute = { try self.vector(of: item, through: pipeline) }
        let vector = cache.flatMap {
            try? FeatureDataset.cachedVector(item.path, key: baseKey + cacheTag, pipeline: pipeline, cache: $0, compute: compute)
        } ?? (try? compute())
        return vector.flatMap { $0.allSatisfy(\.isFinite) ? $0 : nil }
    }

    /// `item`'s recording (`samples`, mono at `sampleRate`) through the chain,
    /// with draws from the seed and the item's path.
    public func copy(of item: CorpusItem, samples: [Float], sampleRate: Int) throws -> [Float] {
        let itemSeed = seed ^ ContentHash.seed(of: item.path)
        let context = ConditionContext(babbleVoices: chain.needsBabble ? babble?.voices(excludingSpeakerOf: item) ?? [] : [])
        return try chain.applied(to: samples, sampleRate: sampleRate, seed: itemSeed, context: context)
    }
}

/// Evaluation copies of some of a dataset's recordings through one recording
/// chain (`FeatureDataset.conditionTestSet`): what cross-validation with
/// conditions scores each fold's model on.
public struct ConditionTestSet: Sendable {
    /// The chain the copies went through.
    public var chain: RecordingChain
    /// The dataset rows that were copied; a test row among them is scored under
    /// the chain, and counts wrong when its copy has no vector.
    public var rows: Set<Int>
    /// The vector of each copied row whose copy has speech.
    public var vectors: [Int: [Float]]

    /// Copies of `rows` through `chain`, with the vector of each copy that has speech.
    public init(chain: RecordingChain, rows: Set<Int>, vectors: [Int: [Float]]) {
        self.chain = chain
        self.rows = rows
        self.vectors = vectors
    }

    /// Replaces each vector by its z-score against the statistics of its
    /// speaker's copies under this chain (what a model trained with
    /// --speaker-normalization reads of a speaker recorded this way).
    public mutating func normalizePerSpeaker(items: [CorpusItem]) {
        let rows = vectors.keys.sorted()
        let groups = rows.map { FeatureDataset.speakerGroup(of: items[$0]) }
        let statistics = SpeakerNormalization.statistics(of: rows.compactMap { vectors[$0] }, groups: groups)
        for (row, group) in zip(rows, groups) {
            if let speaker = statistics[group], let vector = vectors[row] { vectors[row] = speaker.apply(vector) }
        }
    }
}
