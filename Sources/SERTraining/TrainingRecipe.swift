import Foundation
import SERAudio
import SERCorpora
import SEREncoder
import SERFeatures
import SERModels
import SERRecognition
import SERSupport

/// Everything that decides what a training run produces from its data: the
/// model family, the features and how they are prepared, and how the family
/// is fitted. Its JSON (sorted keys) fingerprints checkpoints, so a changed
/// recipe never resumes another's, and is stored in the model header
/// (`ModelDescription.recipe`), so a model says how it was made.
///
/// What a run does with the result (cross-validation protocol, output path,
/// reports) is not part of the recipe: see `TrainingRun`.
public struct TrainingRecipe: Codable, Sendable, Equatable {
    /// The model family.
    public var architecture: Architecture = .mlp
    /// The features; nil: the family's default (`TrainingFamily.defaultFeatures`).
    public var features: FeaturePreset?
    /// The models' sample rate; audio at any rate is resampled to it.
    public var sampleRate = 16000
    /// Whether features cover each recording's speech span only (the default)
    /// or the whole recording, silences included.
    public var trimsToSpeech = true
    /// Seconds of the recording kept on each side of the speech span when
    /// trimming (`InputPipeline.speechMarginSeconds`); 0, the default: the span alone.
    public var speechMarginSeconds = 0.0
    /// The active level every input is brought to before its features are
    /// computed (`InputPipeline.levelNormalization`): answers that do not
    /// depend on the recording's gain. Nil: raw levels (`--no-level-normalization`,
    /// and recipes stored before it existed).
    public var levelNormalization: LevelNormalization? = .standard
    /// How the speech encoder multiplies for the encoder presets (`EncoderPrecision`);
    /// the model records it and prediction encodes the same way. Default: int8,
    /// chosen by cross-validation (as accurate as float32 within 0.2 points and
    /// about twice as fast; docs/RESULTS.md). Recipes stored before int8 existed
    /// read as float32.
    public var encoderPrecision: EncoderPrecision = .int8
    /// Whether each speaker's vectors are z-scored by that speaker's own recordings.
    public var speakerNormalization = false
    /// Perturbed copies of every training file, as `Perturbation.argument`s
    /// (`noise:15`, `speed:0.9`, …).
    public var augmentation: [String] = []
    /// Multi-condition copies of every training file, each through a randomly
    /// drawn recording chain (`RecordingChain.trainingMix`); 0: none.
    public var conditionCopies = 0
    /// Whether the model also classifies each input's augmented copies and averages.
    public var testTimeAugmentation = false
    /// Seed of initialisation, shuffling, validation speakers and folds.
    public var seed: UInt64 = 1
    /// The most epochs a network trains for; nil: the family's default.
    public var maximumEpochs: Int?
    /// Random file splits, speakers on both sides: for comparison with leaky numbers only.
    public var allowsLeakage = false
    /// Overrides of the networks' optimizer, learning-rate schedule, base rate and weight decay; nil: the family's defaults.
    public var optimizer: OptimizerChoice?
    public var schedule: LearningRateSchedule?
    public var learningRate: Float?
    public var weightDecay: Float?
    /// Logistic regression's L2 penalty; nil: `LogisticRegressionFamily.defaultL2Penalty`.
    public var l2Penalty: Float?
    /// Networks only: weight rows so every pooled corpus counts the same (`TrainingOptions.balancesCorpora`).
    public var balancesCorpora = false
    /// Pooled corpora: each corpus's softmax covers only the labels it carries (`TrainingOptions.masksLabelsByCorpus`).
    public var masksLabelsByCorpus = true
    /// Networks on pooled corpora: one softmax head per corpus (`TrainingOptions.trainsCorpusHeads`).
    public var trainsCorpusHeads = false
    /// Whether a speaker-standardized classifier is trained beside the lone-file one.
    public var adaptive = false
    /// logreg with `adaptive`: the speaker-standardized classifier's own L2
    /// penalty; nil: `l2Penalty`'s.
    public var adaptedL2Penalty: Float?
    /// Nil: the family's default (`TrainingFamily.refitsByDefault`).
    public var refitsOnAllSpeakers: Bool?
    /// Models with consecutive seeds whose probabilities are averaged; 1: a single model.
    public var ensembleSize = 1

    /// A recipe for `architecture` on `features` (nil: the family's default), every other setting at its default.
    public init(architecture: Architecture = .mlp, features: FeaturePreset? = nil) {
        self.architecture = architecture
        self.features = features
    }

    /// The recipe of the shipped model (`models/default.safetensors`) and what
    /// `ser train` trains when no model family is named and the speech encoder is
    /// installed: logistic regression (L2 0.01) on the encoder's every block and
    /// `functionals`, speaker-adaptive, level-normalized, with one multi-condition
    /// copy of every training file. Chosen by 5-fold speaker cross-validation on
    /// clean recordings and under recording conditions (docs/RESULTS.md).
    public static var shipped: TrainingRecipe {
        var recipe = TrainingRecipe(architecture: .logreg, features: .whisperBlocksFunctionals)
        recipe.l2Penalty = 0.01
        recipe.adaptive = true
        recipe.conditionCopies = 1
        return recipe
    }

    /// The best recipe on handcrafted features (`models/default-handcrafted.safetensors`),
    /// what `ser train` trains when no model family is named and the encoder is not
    /// installed: logistic regression (L2 0.1) on `functionals`, speaker-adaptive,
    /// level-normalized, with one multi-condition copy of every training file.
    public static var handcrafted: TrainingRecipe {
        var recipe = TrainingRecipe(architecture: .logreg, features: .functionals)
        recipe.adaptive = true
        recipe.conditionCopies = 1
        return recipe
    }

    /// The recipe `ser train` starts from when no model family is named: the
    /// shipped one for `features` that need the speech encoder, or for no named
    /// features when the encoder is installed; otherwise the handcrafted one.
    /// Named features replace the recipe's own.
    public static func standard(features: FeaturePreset?, encoderInstalled: Bool) -> TrainingRecipe {
        let usesEncoder = features?.needsEncoder ?? encoderInstalled
        var recipe = usesEncoder ? shipped : handcrafted
        if let features { recipe.features = features }
        return recipe
    }

    /// The features this recipe reads: `features`, or the family's default.
    public var resolvedFeatures: FeaturePreset { features ?? architecture.family.defaultFeatures }

    /// The augmentation recipe as perturbations; an argument that does not parse is an error naming it.
    public func perturbations() throws -> [Perturbation] {
        try augmentation.map { argument in
            guard let perturbation = Perturbation(argument: argument) else { throw TrainingRecipeError.unknownPerturbation(argument) }
            return perturbation
        }
    }

    /// How `Trainer` fits this recipe's models.
    public var options: TrainingOptions {
        var options = TrainingOptions()
        options.architecture = architecture
        options.seed = seed
        options.maximumEpochs = maximumEpochs
        options.allowsLeakage = allowsLeakage
        options.optimizer = optimizer
        options.schedule = schedule
        options.learningRate = learningRate
        options.weightDecay = weightDecay
        options.l2Penalty = l2Penalty
        options.balancesCorpora = balancesCorpora
        options.masksLabelsByCorpus = masksLabelsByCorpus
        options.trainsCorpusHeads = trainsCorpusHeads
        options.averagesAugmentedCopies = testTimeAugmentation
        options.refitsOnAllSpeakers = refitsOnAllSpeakers
        options.adaptation = adaptive ? AdaptationRecipe(adaptedL2Penalty: adaptedL2Penalty) : nil
        options.ensembleSize = ensembleSize
        return options
    }

    /// The path from audio to vectors that this recipe's features take.
    public func inputPipeline() throws -> InputPipeline {
        try InputPipeline(preset: resolvedFeatures, sampleRate: sampleRate, trimsToSpeech: trimsToSpeech,
                          speechMarginSeconds: speechMarginSeconds, levelNormalization: levelNormalization,
                          encoderPrecision: encoderPrecision)
    }

    /// The recipe stored in `description`, or nil for a model trained before recipes were stored.
    public init?(storedIn description: ModelDescription) throws {
        guard let stored = description.recipe else { return nil }
        self = try stored.decoded(as: TrainingRecipe.self)
    }

    /// A stable fingerprint of this recipe applied to `paths` with `labels`:
    /// what a checkpoint must match to be resumed.
    public func fingerprint(paths: [String], labels: [String]) -> String {
        struct Input: Encodable { var recipe: TrainingRecipe, paths: [String], labels: [String] }
        return ContentHash.ofBytes(Array(sortedJSONText(Input(recipe: self, paths: paths, labels: labels)).utf8))
    }

    enum CodingKeys: String, CodingKey {
        case architecture, features, seed, augmentation, optimizer, schedule
        case sampleRate = "sample_rate", trimsToSpeech = "trims_to_speech", speakerNormalization = "speaker_normalization"
        case testTimeAugmentation = "test_time_augmentation", maximumEpochs = "maximum_epochs", allowsLeakage = "allows_leakage"
        case learningRate = "learning_rate", weightDecay = "weight_decay", l2Penalty = "l2_penalty"
        case balancesCorpora = "balances_corpora", masksLabelsByCorpus = "masks_labels_by_corpus"
        case trainsCorpusHeads = "trains_corpus_heads", adaptive, refitsOnAllSpeakers = "refits_on_all_speakers"
        case ensembleSize = "ensemble_size", speechMarginSeconds = "speech_margin_seconds"
        case adaptedL2Penalty = "adapted_l2_penalty", levelNormalization = "level_normalization"
        case conditionCopies = "condition_copies", encoderPrecision = "encoder_precision"
    }

    /// Reads a stored recipe. A key it lacks (a recipe stored by an older
    /// version) takes the value that version used, so a model's recipe reads as it
    /// was trained: no level normalization, no condition copies.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = TrainingRecipe()
        architecture = try c.decodeIfPresent(Architecture.self, forKey: .architecture) ?? defaults.architecture
        features = try c.decodeIfPresent(FeaturePreset.self, forKey: .features)
        sampleRate = try c.decodeIfPresent(Int.self, forKey: .sampleRate) ?? defaults.sampleRate
        trimsToSpeech = try c.decodeIfPresent(Bool.self, forKey: .trimsToSpeech) ?? defaults.trimsToSpeech
        speechMarginSeconds = try c.decodeIfPresent(Double.self, forKey: .speechMarginSeconds) ?? defaults.speechMarginSeconds
        // Absent in recipes stored before level normalization: those models read raw levels.
        levelNormalization = try c.decodeIfPresent(LevelNormalization.self, forKey: .levelNormalization)
        conditionCopies = try c.decodeIfPresent(Int.self, forKey: .conditionCopies) ?? 0
        encoderPrecision = try c.decodeIfPresent(EncoderPrecision.self, forKey: .encoderPrecision) ?? .float32
        speakerNormalization = try c.decodeIfPresent(Bool.self, forKey: .speakerNormalization) ?? defaults.speakerNormalization
        augmentation = try c.decodeIfPresent([String].self, forKey: .augmentation) ?? defaults.augmentation
        testTimeAugmentation = try c.decodeIfPresent(Bool.self, forKey: .testTimeAugmentation) ?? defaults.testTimeAugmentation
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? defaults.seed
        maximumEpochs = try c.decodeIfPresent(Int.self, forKey: .maximumEpochs)
        allowsLeakage = try c.decodeIfPresent(Bool.self, forKey: .allowsLeakage) ?? defaults.allowsLeakage
        optimizer = try c.decodeIfPresent(OptimizerChoice.self, forKey: .optimizer)
        schedule = try c.decodeIfPresent(LearningRateSchedule.self, forKey: .schedule)
        learningRate = try c.decodeIfPresent(Float.self, forKey: .learningRate)
        weightDecay = try c.decodeIfPresent(Float.self, forKey: .weightDecay)
        l2Penalty = try c.decodeIfPresent(Float.self, forKey: .l2Penalty)
        balancesCorpora = try c.decodeIfPresent(Bool.self, forKey: .balancesCorpora) ?? defaults.balancesCorpora
        masksLabelsByCorpus = try c.decodeIfPresent(Bool.self, forKey: .masksLabelsByCorpus) ?? defaults.masksLabelsByCorpus
        trainsCorpusHeads = try c.decodeIfPresent(Bool.self, forKey: .trainsCorpusHeads) ?? defaults.trainsCorpusHeads
        adaptive = try c.decodeIfPresent(Bool.self, forKey: .adaptive) ?? defaults.adaptive
        adaptedL2Penalty = try c.decodeIfPresent(Float.self, forKey: .adaptedL2Penalty)
        refitsOnAllSpeakers = try c.decodeIfPresent(Bool.self, forKey: .refitsOnAllSpeakers)
        ensembleSize = try c.decodeIfPresent(Int.self, forKey: .ensembleSize) ?? defaults.ensembleSize
    }
}

/// Why a training recipe cannot be used.
public enum TrainingRecipeError: Error, CustomStringConvertible, Equatable {
    case unknownPerturbation(String)

    /// What went wrong and what to do instead.
    public var description: String {
        switch self {
        case .unknownPerturbation(let argument):
            return "the augmentation \(argument) is not one of noise:SNR_DB (-10…80), gain:DB (±40), speed:FACTOR (0.5…2), pitch:SEMITONES (±12), shift:SECONDS (0…5)"
        }
    }
}
