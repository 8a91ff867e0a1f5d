import Foundation
import SERAudio
import SEREncoder
import SERModels
import SERSpeakers
import SERSupport

/// What a model file says about itself, beyond its weights: the features it
/// expects, how it was trained and on what, and how well it did on speakers it
/// never saw. Stored as JSON under the `ser` key of the safetensors metadata.
public struct ModelDescription: Codable, Sendable, Equatable {
    /// The utterance-level feature vector the model reads, and at which rate.
    public struct Features: Codable, Sendable, Equatable {
        /// The feature preset's name (`FeaturePreset.rawValue`).
        public var preset: String
        /// The rate recordings are resampled to.
        public var sampleRate: Int
        /// The vector's length.
        public var dimension: Int
        enum CodingKeys: String, CodingKey { case preset, dimension, sampleRate = "sample_rate" }
        /// Features of `preset` at `sampleRate`, `dimension` values long.
        public init(preset: String, sampleRate: Int, dimension: Int) {
            self.preset = preset
            self.sampleRate = sampleRate
            self.dimension = dimension
        }
    }

    /// The data the final model was fitted on.
    public struct TrainingData: Codable, Sendable, Equatable {
        /// Files per corpus and label.
        public var counts: [String: [String: Int]]
        /// Files it was fitted on.
        public var files: Int
        /// Their speakers.
        public var speakers: Int
        /// Speakers held out for early stopping and calibration.
        public var validationSpeakers: [String]
        /// Whether the run used random file splits (speakers on both sides).
        public var allowsLeakage: Bool
        /// When the final weights were refitted on all the training speakers
        /// (validation ones included) after validation chose the epochs and the
        /// calibration: the refit's epochs (0 for tree models). Nil: no refit.
        public var refitEpochs: Int?
        enum CodingKeys: String, CodingKey {
            case counts, files, speakers
            case validationSpeakers = "validation_speakers", allowsLeakage = "allows_leakage", refitEpochs = "refit_epochs"
        }
        /// The training data with its counts, speakers and validation speakers.
        public init(counts: [String: [String: Int]], files: Int, speakers: Int, validationSpeakers: [String], allowsLeakage: Bool) {
            self.counts = counts
            self.files = files
            self.speakers = speakers
            self.validationSpeakers = validationSpeakers
            self.allowsLeakage = allowsLeakage
        }
    }

    /// The classifier family (`mlp`, `logreg`, `cnn`, `forest`…).
    public var architecture: String
    /// How many models of `architecture`, trained with different seeds, average
    /// their probabilities (`EnsembleClassifier`); nil for a single model.
    public var ensembleSize: Int?
    /// The emotions, in the order of the classifier's outputs.
    public var labels: [String]
    /// The gender head's labels, when the model has one.
    public var genderLabels: [String]?
    /// The feature vector the model reads.
    public var features: Features
    /// "speaker" when the model reads per-speaker z-scores of its features
    /// (`SpeakerNormalization`); nil when it reads each recording on its own.
    public var featureNormalization: String?
    /// Models with a speaker-adapted part (`EmotionModel.adapted`): how it was
    /// trained and, from cross-validation, its accuracy after k recordings of a speaker.
    public var speakerAdaptation: SpeakerAdaptationSummary?
    /// Test-time augmentation: perturbations (`Perturbation.argument` form, e.g.
    /// "speed:0.9") whose copies of every input are classified too, the answer
    /// being the mean of the original's and the copies' probabilities. Nil: none.
    public var testTimeAugmentation: [String]?
    /// Whether each input is trimmed to its speech span before its features are
    /// computed (nil, the default: yes); false when the model was trained on
    /// whole recordings, silences included (`ser train --no-trim`).
    public var trimsToSpeech: Bool?
    /// Seconds of the recording kept on each side of the speech span when
    /// trimming (`InputPipeline.speechMarginSeconds`); nil: none, the span alone.
    public var speechMarginSeconds: Double?
    /// The active level every input is brought to before its features are
    /// computed (`InputPipeline.levelNormalization`); nil: raw levels, as models
    /// trained before level normalization read them.
    public var levelNormalization: LevelNormalization?
    /// The band (Hz, low and high) the voice activity detector judged voicing in
    /// when the training data's speech spans were found
    /// (`VoiceActivityConfiguration.voicingBandHz`); prediction finds speech the
    /// same way. Nil: the full band, as models trained before the band read it.
    public var voicingBandHz: [Double]?
    /// How the speech encoder multiplied when the model's features were computed
    /// (`EncoderPrecision` raw value); prediction encodes the same way. Nil: float32.
    public var encoderPrecision: String?
    /// The data the final model was fitted on.
    public var training: TrainingData?
    /// The final model on its validation speakers (after calibration).
    public var validation: ClassificationMetrics?
    /// Per-fold results of speaker-independent cross-validation, when it was run.
    public var crossValidation: CrossValidationSummary?
    /// The command line that trained the model.
    public var command: String?
    /// The training seed.
    public var seed: UInt64?
    /// When the model was written (ISO 8601).
    public var created: String?
    /// The version of ser that wrote it.
    public var serVersion: String?
    /// How the model was trained, as the training library's recipe
    /// (`SERTraining.TrainingRecipe`); nil for models written before recipes were stored.
    public var recipe: JSONValue?

    enum CodingKeys: String, CodingKey {
        case architecture, labels, features, training, validation, command, seed, created, recipe
        case ensembleSize = "ensemble_size"
        case genderLabels = "gender_labels", crossValidation = "cross_validation", serVersion = "ser_version"
        case featureNormalization = "feature_normalization", testTimeAugmentation = "test_time_augmentation"
        case trimsToSpeech = "trims_to_speech", speakerAdaptation = "speaker_adaptation"
        case speechMarginSeconds = "speech_margin_seconds", levelNormalization = "level_normalization"
        case voicingBandHz = "voicing_band_hz", encoderPrecision = "encoder_precision"
    }

    /// A description of an `architecture` model of `labels` reading `features`; the rest is filled in by training.
    public init(architecture: String, labels: [String], genderLabels: [String]?, features: Features) {
        self.architecture = architecture
        self.labels = labels
        self.genderLabels = genderLabels
        self.features = features
    }
}

/// What a model file says about its speaker-adapted part.
public struct SpeakerAdaptationSummary: Codable, Sendable, Equatable {
    /// The estimator's settings (`SpeakerAdaptation`).
    public var meanPriorWeight: Double
    /// Recordings' worth of weight the population's variance keeps against a speaker's.
    public var variancePriorWeight: Double
    /// κ of the blend: after k recordings the adapted answer weighs k / (k + κ).
    public var blendPriorWeight: Double
    /// Recordings of a voice needed before the adapted classifier speaks.
    public var minimumRecordings: Int
    /// Cross-validated accuracy after k recordings of each test speaker, when it was measured.
    public var curve: [AdaptationPoint]?

    enum CodingKeys: String, CodingKey {
        case curve
        case meanPriorWeight = "mean_prior_weight", variancePriorWeight = "variance_prior_weight"
        case blendPriorWeight = "blend_prior_weight", minimumRecordings = "minimum_recordings"
    }

    /// The summary of `adaptation`'s settings, with its cross-validated curve.
    public init(_ adaptation: SpeakerAdaptation, curve: [AdaptationPoint]? = nil) {
        meanPriorWeight = adaptation.meanPriorWeight
        variancePriorWeight = adaptation.variancePriorWeight
        blendPriorWeight = adaptation.blendPriorWeight
        minimumRecordings = adaptation.minimumRecordings
        self.curve = curve
    }
}

extension ModelDescription {
    /// `encoderPrecision` as a precision: float32 when absent, nil when the file names one this ser does not know.
    public var precision: EncoderPrecision? {
        encoderPrecision.map { EncoderPrecision(rawValue: $0) } ?? .float32
    }

    /// `voicingBandHz` as a range, when it is a valid one (0 < low < high, finite).
    public var voicingBand: ClosedRange<Double>? {
        guard let band = voicingBandHz, band.count == 2, band[0].isFinite, band[1].isFinite, band[0] > 0, band[0] < band[1] else { return nil }
        return band[0]...band[1]
    }
}
