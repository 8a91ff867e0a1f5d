import Foundation
import SERAudio
import SEREncoder
import SERFeatures

/// The one path from a recording to the feature vector a model reads:
/// decode → mono → resample to the model's rate → find the speech → bring it
/// to one active level → the preset's vector (through the speech encoder for
/// the `whisper` presets).
///
/// Training (`FeatureDataset`), `ser predict`, `ser listen`, the server and
/// speaker statistics all call it, so they compute identical vectors for the
/// same audio, and they share one rule: **a recording in which the voice
/// activity detector finds no speech has no vector** (prediction answers "no
/// speech"; training skips the file and says why). With `trimsToSpeech` the
/// vector reads the speech span, widened by `speechMarginSeconds` of the
/// recording on each side; without it, the whole recording.
///
/// With `levelNormalization` (every model trained since it existed), the
/// answer does not depend on the recording's gain: the detector hears the
/// recording brought to the reference level, and every feature input (a speech
/// span, a segment, a live window, a perturbed copy) is brought to the
/// reference before its vector is computed. Older models read raw levels.
public struct InputPipeline: Sendable {
    /// The feature vector it computes.
    public let preset: FeaturePreset
    /// The rate every recording is resampled to first.
    public let sampleRate: Int
    /// Whether vectors read the speech span (widened by the margin) rather than the whole recording.
    public let trimsToSpeech: Bool
    /// Seconds of the recording kept on each side of the speech span when
    /// trimming (clamped to the recording). The speech encoder reads an
    /// utterance better with a little of the quiet around it; a margin keeps
    /// that while long silences are still cut.
    public let speechMarginSeconds: Double
    /// The active level every feature input is brought to; nil: raw levels, as
    /// models trained before level normalization read them.
    public let levelNormalization: LevelNormalization?
    /// How speech is found.
    public let detector: VoiceActivityDetector
    /// The speech encoder, for presets that read one (`FeaturePreset.needsEncoder`).
    public let embedder: (any SpeechEmbedder)?
    /// How the speech encoder multiplies (its identity says so too, so caches keep precisions apart).
    public let encoderPrecision: EncoderPrecision

    /// Why a recording has no vector.
    public enum Failure: Error, Equatable, Sendable, CustomStringConvertible {
        case noSpeech(path: String)

        /// What went wrong, with the file, and why it matters.
        public var description: String {
            switch self {
            case .noSpeech(let path):
                return "\(path): no speech found (silence, noise or a steady tone), so it has no emotion to learn or tell"
            }
        }
    }

    /// A pipeline for `preset` at `sampleRate`. Presets that read the speech
    /// encoder load it (once per process) unless `embedder` is given, and throw
    /// `SpeechEncoders.Failure.notInstalled` when it is not installed.
    public init(preset: FeaturePreset, sampleRate: Int = 16000, trimsToSpeech: Bool = true, speechMarginSeconds: Double = 0,
                levelNormalization: LevelNormalization? = nil,
                detector: VoiceActivityDetector = VoiceActivityDetector(), encoderPrecision: EncoderPrecision = .float32,
                embedder: (any SpeechEmbedder)? = nil) throws {
        self.preset = preset
        self.sampleRate = sampleRate
        self.trimsToSpeech = trimsToSpeech
        self.speechMarginSeconds = Self.validMargin(speechMarginSeconds)
        self.levelNormalization = levelNormalization
        self.detector = detector
        self.encoderPrecision = encoderPrecision
        self.embedder = preset.needsEncoder ? try (embedder ?? SpeechEncoders.embedder(precision: encoderPrecision)) : nil
    }

    /// A pipeline whose encoder is already resolved: `resolvedEmbedder` for a
    /// preset that reads one (nil there makes every vector fail with
    /// `FeatureError.encoderRequired`), ignored otherwise.
    public init(preset: FeaturePreset, sampleRate: Int, trimsToSpeech: Bool, speechMarginSeconds: Double = 0,
                levelNormalization: LevelNormalization? = nil,
                detector: VoiceActivityDetector, encoderPrecision: EncoderPrecision = .float32, resolvedEmbedder: (any SpeechEmbedder)?) {
        self.preset = preset
        self.sampleRate = sampleRate
        self.trimsToSpeech = trimsToSpeech
        self.speechMarginSeconds = Self.validMargin(speechMarginSeconds)
        self.levelNormalization = levelNormalization
        self.detector = detector
        self.encoderPrecision = encoderPrecision
        embedder = preset.needsEncoder ? resolvedEmbedder : nil
    }

    /// This pipeline with speech found by `detector` instead: the same preset,
    /// rate, trimming, level rule and encoder.
    public func detecting(with detector: VoiceActivityDetector) -> InputPipeline {
        InputPipeline(preset: preset, sampleRate: sampleRate, trimsToSpeech: trimsToSpeech, speechMarginSeconds: speechMarginSeconds,
                      levelNormalization: levelNormalization, detector: detector, encoderPrecision: encoderPrecision,
                      resolvedEmbedder: embedder)
    }

    /// The margins a pipeline takes; options outside it are refused, values from files clamped.
    public static let speechMarginRange = 0.0...10.0

    /// A margin from a model file or an option, clamped to `speechMarginRange` (NaN: 0).
    static func validMargin(_ seconds: Double) -> Double { seconds.isFinite ? min(max(seconds, speechMarginRange.lowerBound), speechMarginRange.upperBound) : 0 }

    /// What a feature cache key adds for this pipeline's speech trimming
    /// (nothing for whole recordings, whose vectors do not depend on the detector).
    public var trimmingCacheTag: String {
        let level = levelNormalization.map { ";level=\($0.referenceDBFS)" } ?? ""
        guard trimsToSpeech else { return level }
        return ";trim=" + detector.cacheTag + (speechMarginSeconds > 0 ? ";margin=\(speechMarginSeconds)" : "") + level
    }

    /// What decides this pipeline's vectors, as one string: the preset and its
    /// dimension, the rate, the speech encoder's weights and the trimming. Speaker
    /// statistics (profiles) are only valid for vectors of the same identity.
    public var featureIdentity: String {
        "preset=\(preset.rawValue);dimension=\(preset.dimension);rate=\(sampleRate)"
            + (preset.needsEncoder ? ";encoder=\(embedder?.identity ?? "none")" : "") + (trimsToSpeech ? trimmingCacheTag : ";whole" + trimmingCacheTag)
    }

    /// The recording at `path`, mono at the pipeline's rate.
    public func samples(ofFile path: String) throws -> [Float] {
        try AudioSignal(contentsOf: path, sampleRate: sampleRate).samples
    }

    /// Where the speech is in `samples`, and the samples the vector reads (the
    /// speech span widened by the margin, or all of them without trimming); nil
    /// when there is no speech.
    /// With level normalization the detector hears the recording brought to the
    /// reference level, so where it finds speech does not depend on the gain.
    public func featureInput(_ samples: [Float]) -> (samples: [Float], span: Range<Int>)? {
        guard let span = speechSpan(of: samples) else { return nil }
        return (trimsToSpeech ? Array(samples[widened(span, within: samples.count)]) : samples, span)
    }

    /// The span from the first to the last speech region the detector finds in
    /// `samples` (see `featureInput`); nil when there is none.
    public func speechSpan(of samples: [Float]) -> Range<Int>? {
        detector.speechSpan(of: levelledForDetection(samples), sampleRate: sampleRate)
    }

    /// The speech regions of `samples`, as the detector hears them in this
    /// pipeline (brought to the reference level when the pipeline normalizes).
    public func speechRegions(in samples: [Float]) -> [SpeechRegion] {
        detector.regions(in: levelledForDetection(samples), sampleRate: sampleRate)
    }

    /// What the detector reads: `samples` at the reference level, or as they are.
    private func levelledForDetection(_ samples: [Float]) -> [Float] {
        levelNormalization.map { $0.normalized(samples, sampleRate: sampleRate) } ?? samples
    }

    /// The active level of the speech in `samples` in dBFS: within `span` when
    /// given (clamped to the samples), else within the span the detector finds,
    /// or over all of them when it finds none. A measurement of the recording,
    /// reported beside the answer and never a feature. Nil for digital silence.
    public func speechLevelDBFS(of samples: [Float], span: Range<Int>? = nil) -> Double? {
        let range = (span ?? speechSpan(of: samples) ?? 0..<samples.count).clamped(to: 0..<samples.count)
        return samples[range].withUnsafeBufferPointer { LevelNormalization.activeLevelDBFS(of: $0, sampleRate: sampleRate) }
    }

    /// `span` widened by the margin on each side, clamped to `0..<count`.
    public func widened(_ span: Range<Int>, within count: Int) -> Range<Int> {
        let extra = Int((speechMarginSeconds * Double(sampleRate)).rounded())
        return max(0, span.lowerBound - extra)..<min(count, span.upperBound + extra)
    }

    /// The vector of samples that are already the feature input (see `featureInput`).
    /// With `concurrently`, pitch runs on a second thread (lower latency for one utterance).
    /// With level normalization, the input is first brought to the reference level.
    public func vector(ofFeatureInput samples: [Float], concurrently: Bool = false) throws -> [Float] {
        let input = levelNormalization.map { $0.normalized(samples, sampleRate: sampleRate) } ?? samples
        return try preset.vector(samples: input, sampleRate: sampleRate, concurrently: concurrently, embedder: embedder)
    }

    /// The vector of the recording at `path`, optionally of a perturbed copy
    /// of its feature input (training's augmentation). Throws `Failure.noSpeech`
    /// when there is no speech.
    public func vector(ofFile path: String, perturbation: Perturbation? = nil, seed: UInt64 = 0) throws -> [Float] {
        try vector(ofRecording: try samples(ofFile: path), path: path, perturbation: perturbation, seed: seed)
    }

    /// The vector of a whole recording already decoded at the pipeline's rate
    /// (`path` names it in errors), optionally of a perturbed copy of its feature
    /// input. Recording conditions are applied to the whole recording before this,
    /// so that the detector hears them too. Throws `Failure.noSpeech` when there is no speech.
    public func vector(ofRecording recording: [Float], path: String, perturbation: Perturbation? = nil, seed: UInt64 = 0) throws -> [Float] {
        guard var input = featureInput(recording)?.samples else { throw Failure.noSpeech(path: path) }
        if let perturbation { input = try perturbation.applied(to: input, sampleRate: sampleRate, seed: seed) }
        return try vector(ofFeatureInput: input)
    }
}
