import Dispatch
import Foundation
import SERAudio
import SERNumerics

/// Named utterance-level feature vectors.
public enum FeaturePreset: String, CaseIterable, Sendable, Codable {
    /// MFCC 40 + chroma 12 + mel 128 means: the seed projects' vector
    /// (`mfcc(n_mfcc=40)`, `chroma_stft(S=|stft|)`, `melspectrogram()`, each averaged over frames).
    case classic180
    /// classic180 + spectral contrast 7 + tonnetz 6 means: the most popular open SER
    /// repository's vector (contrast on the magnitude STFT, tonnetz of the HPSS harmonic part).
    case x193
    /// Statistics of what carries emotion in speech: MFCC 20 with deltas and
    /// delta-deltas, spectral shape (centroid, bandwidth, roll-off, flatness,
    /// contrast), zero-crossing rate and RMS energy, each as mean and standard
    /// deviation over frames, plus pYIN pitch (C2–C6) over voiced frames and the
    /// voicing rate: 152 values. Its accuracy against classic180/x193 on unseen
    /// speakers is measured by the models work (issue 5), not assumed here.
    case rich
    /// `rich` plus the spectral envelope: the log (dB) of each of 128 mel bands'
    /// mean power over the recording (the mel spectrogram MFCC already
    /// computes, so nearly free): 280 values. With per-speaker normalization it
    /// beats `rich` on unseen speakers (see the README's measured table).
    case richmel
    /// Speech framing (25 ms windows every 10 ms) and eleven statistics
    /// (`Pooling.functionals`: mean, deviation, percentiles, range, skewness,
    /// kurtosis, slope, extremes) of each of: MFCC 20 with deltas and
    /// delta-deltas, spectral shape, contrast, ZCR, RMS level in dB, pYIN pitch
    /// and voicing (every 40 ms), and 64 log-mel bands in dB: 1,540 values, the
    /// large-functional-set approach of openSMILE's ComParE, from librosa's features.
    case functionals
    /// Not a pooled vector but a log-mel image for the CNN and LSTM models: 64 mel
    /// bands (Slaney, 0 Hz to Nyquist) of a 512-point STFT every 256 samples
    /// (32 ms windows every 16 ms at 16 kHz), in dB below the recording's loudest
    /// value and floored 80 dB under it, centre-cropped or centre-padded (with
    /// the floor) to 192 frames (3.07 s at 16 kHz). Frames are outermost, so the
    /// vector is `frames × bands` row-major.
    case logmel
    /// The `rich` vector followed by the `logmel` image, for networks that read
    /// both (a dense branch for the vector, the CNN or LSTM for the image).
    case richLogmel = "rich+logmel"
    /// A pretrained speech encoder's view (Whisper-base's audio encoder, installed
    /// by `ser encoder install`): the mean and standard deviation over the
    /// recording's frames of the hidden states of layers 2, 4 and 6, the audio
    /// encoded as it is (`SpeechEmbedding.middleLayers`): 3,072 values. Needs a `SpeechEmbedder`.
    case whisper
    /// `whisper` followed by `functionals`: the encoder's view and the
    /// handcrafted one side by side.
    case whisperFunctionals = "whisper+functionals"
    /// The encoder's view from every transformer block, layers 1–6
    /// (`SpeechEmbedding.everyBlock`): 6,144 values, encoded at the same cost as `whisper`.
    case whisperBlocks = "whisper-blocks"
    /// `whisper-blocks` followed by `functionals`.
    case whisperBlocksFunctionals = "whisper-blocks+functionals"
    /// `whisper-blocks` with each 20 ms frame weighted by the square root of its
    /// power (`SpeechEmbedding.everyBlockPowerWeighted`): the talker who dominates
    /// each moment counts more than babble or noise in the pauses. 6,144 values.
    case whisperBlocksWeighted = "whisper-blocks-weighted"
    /// `whisper-blocks-weighted` followed by `functionals`.
    case whisperBlocksWeightedFunctionals = "whisper-blocks-weighted+functionals"

    /// For `logmel` and `rich+logmel`, the image's frames and mel bands; nil for pooled presets.
    public var imageShape: (frames: Int, bands: Int)? {
        self == .logmel || self == .richLogmel ? (192, 64) : nil
    }

    /// Values before the image (the `rich` vector of `rich+logmel`); 0 for the other presets.
    public var imageOffset: Int { self == .richLogmel ? FeaturePreset.rich.dimension : 0 }

    /// The feature configuration the preset implies at `sampleRate`.
    public func configuration(sampleRate: Int = 22050) -> FeatureConfiguration {
        switch self {
        case .logmel:
            return FeatureConfiguration(sampleRate: sampleRate, stft: STFTConfiguration(fftSize: 512, hopLength: 256),
                                        mel: MelConfiguration(melCount: 64))
        case .classic180, .x193:
            return FeatureConfiguration(sampleRate: sampleRate, mfcc: MFCCConfiguration(coefficientCount: 40),
                                        chroma: ChromaConfiguration(usesMagnitude: true))
        case .functionals:
            let hop = max(1, sampleRate / 100), window = max(2, sampleRate / 40)
            var fftSize = 1
            while fftSize < window { fftSize *= 2 }
            return FeatureConfiguration(sampleRate: sampleRate,
                                        stft: STFTConfiguration(fftSize: fftSize, hopLength: hop, windowLength: window),
                                        mel: MelConfiguration(melCount: 64), mfcc: MFCCConfiguration(coefficientCount: 20),
                                        pitch: PitchConfiguration(minimumFrequency: 65.40639132514966,
                                                                  maximumFrequency: 1046.5022612023945, hopLength: 4 * hop))
        case .whisper, .whisperBlocks, .whisperBlocksWeighted:
            return FeatureConfiguration(sampleRate: sampleRate)
        case .whisperFunctionals, .whisperBlocksFunctionals, .whisperBlocksWeightedFunctionals:
            return FeaturePreset.functionals.configuration(sampleRate: sampleRate)
        case .rich, .richmel, .richLogmel:
            // rich+logmel: the vector's configuration; the image's is `logmel`'s.
            return FeatureConfiguration(sampleRate: sampleRate, mfcc: MFCCConfiguration(coefficientCount: 20),
                                        pitch: PitchConfiguration(minimumFrequency: 65.40639132514966,
                                                                  maximumFrequency: 1046.5022612023945))
        }
    }

    /// The frame-level parts, in vector order, each pooled as given.
    var parts: [(FeatureKind, Pooling)] {
        switch self {
        case .classic180: return [(.mfcc, .mean), (.chromaStft, .mean), (.melspectrogram, .mean)]
        case .x193: return FeaturePreset.classic180.parts + [(.spectralContrast, .mean), (.tonnetzHarmonic, .mean)]
        case .rich:
            return [(.mfcc, .meanStd), (.mfccDelta, .meanStd), (.mfccDelta2, .meanStd),
                    (.spectralCentroid, .meanStd), (.spectralBandwidth, .meanStd), (.spectralRolloff, .meanStd),
                    (.spectralFlatness, .meanStd), (.spectralContrast, .meanStd), (.zeroCrossingRate, .meanStd),
                    (.rms, .meanStd), (.pyin, .meanStd)]
        case .richmel: return FeaturePreset.rich.parts + [(.melspectrogram, .mean)]
        case .functionals:
            return FeaturePreset.rich.parts.map { ($0.0, .functionals) } + [(.melspectrogram, .functionals)]
        case .logmel: return [(.melspectrogram, .mean)]
        case .richLogmel: return FeaturePreset.rich.parts
        case .whisper, .whisperBlocks, .whisperBlocksWeighted: return []
        case .whisperFunctionals, .whisperBlocksFunctionals, .whisperBlocksWeightedFunctionals: return FeaturePreset.functionals.parts
        }
    }

    /// Column names of the vector.
    public func columnNames(sampleRate: Int = 22050) -> [String] {
        if let embedding {
            return embedding.columnNames + (fusesFunctionals ? FeaturePreset.functionals.columnNames(sampleRate: sampleRate) : [])
        }
        if self == .richLogmel {
            return FeaturePreset.rich.columnNames(sampleRate: sampleRate) + FeaturePreset.logmel.columnNames(sampleRate: sampleRate)
        }
        if let (frames, bands) = imageShape {
            return (0..<frames).flatMap { t in (0..<bands).map { "logmel_t\(t)_b\($0)" } }
        }
        let extractor = FeatureExtractor(configuration: configuration(sampleRate: sampleRate))
        let names = parts.flatMap { kind, pooling in
            pooling.names(extractor.rowNames(kind).map { pooledInDecibels(kind) ? "\($0)_db" : $0 })
        }
        // richmel's band means are in dB.
        return self == .richmel ? names.map { $0.hasPrefix("melspectrogram_") ? $0.replacingOccurrences(of: "_mean", with: "_mean_db") : $0 } : names
    }

    /// The vector for `samples` (already at `sampleRate`).
    /// With `concurrently`, pitch runs on a second thread (see `FeatureExtractor.frames(_:samples:concurrently:)`).
    /// Presets that read a learned encoder need `embedder`; without one they throw `FeatureError.encoderRequired`.
    public func vector(samples: [Float], sampleRate: Int = 22050, concurrently: Bool = false,
                       embedder: (any SpeechEmbedder)? = nil) throws -> [Float] {
        if let layout = embedding {
            guard let embedder else { throw FeatureError.encoderRequired(preset: rawValue) }
            guard fusesFunctionals else { return try embedder.embedding(of: samples, sampleRate: sampleRate, layout: layout) }
            guard concurrently else {
                return try embedder.embedding(of: samples, sampleRate: sampleRate, layout: layout)
                    + FeaturePreset.functionals.vector(samples: samples, sampleRate: sampleRate)
            }
            // One utterance at a time (live audio): the encoder on a second thread while this one does the rest.
            let outcome = EmbeddingOutcome()
            let group = DispatchGroup()
            DispatchQueue.global(qos: .userInitiated).async(group: group) {
                outcome.result = Result { try embedder.embedding(of: samples, sampleRate: sampleRate, layout: layout) }
            }
            let handcrafted = try FeaturePreset.functionals.vector(samples: samples, sampleRate: sampleRate)
            group.wait()
            guard let embedding = try outcome.result?.get() else { preconditionFailure("the group waited for the encoder") }
            return embedding + handcrafted
        }
        if self == .richLogmel {
            return try FeaturePreset.rich.vector(samples: samples, sampleRate: sampleRate, concurrently: concurrently)
                + FeaturePreset.logmel.vector(samples: samples, sampleRate: sampleRate)
        }
        let extractor = FeatureExtractor(configuration: configuration(sampleRate: sampleRate))
        if let (frames, bands) = imageShape { return try logMelImage(extractor, samples: samples, frames: frames, bands: bands) }
        let frames = try extractor.frames(parts.map(\.0), samples: samples, concurrently: concurrently)
        return parts.flatMap { kind, pooling in
            guard var matrix = frames[kind] else { preconditionFailure("FeatureExtractor.frames returns every kind it is asked for") }
            if pooledInDecibels(kind) {
                // dB re full scale, floored 100 dB under it, frame by frame (no dynamic-range clamp).
                matrix = kind == .melspectrogram
                    ? DecibelScaling(minimum: 1e-10, dynamicRange: nil).powerToDecibels(matrix)
                    : DecibelScaling(minimum: 1e-5, dynamicRange: nil).amplitudeToDecibels(matrix)
            }
            let pooled = pooling.pool(matrix)
            // richmel: each band's mean power in dB, floored 100 dB under full scale.
            guard self == .richmel, kind == .melspectrogram else { return pooled }
            return pooled.map { 10 * log10(max($0, 1e-10)) }
        }
    }

    /// Hands the encoder thread's result back; written once, read after the wait.
    private final class EmbeddingOutcome: @unchecked Sendable {
        var result: Result<[Float], any Error>?
    }

    /// Whether the preset reads a pretrained speech encoder (`SpeechEmbedder`).
    public var needsEncoder: Bool { embedding != nil }

    /// How the encoder's states are pooled, for presets that read one; nil for the others.
    public var embedding: SpeechEmbedding? {
        switch self {
        case .whisper, .whisperFunctionals: return .middleLayers
        case .whisperBlocks, .whisperBlocksFunctionals: return .everyBlock
        case .whisperBlocksWeighted, .whisperBlocksWeightedFunctionals: return .everyBlockPowerWeighted
        default: return nil
        }
    }

    /// The preset whose vector begins with this one's (the encoder's view followed
    /// by `functionals`), so a cached vector of it holds this one's as its first
    /// `dimension` values; nil when no other preset contains this one that way.
    public var containingPreset: FeaturePreset? {
        switch self {
        case .whisper: return .whisperFunctionals
        case .whisperBlocks: return .whisperBlocksFunctionals
        case .whisperBlocksWeighted: return .whisperBlocksWeightedFunctionals
        default: return nil
        }
    }

    /// Whether the encoder's view is followed by `functionals`.
    var fusesFunctionals: Bool { [.whisperFunctionals, .whisperBlocksFunctionals, .whisperBlocksWeightedFunctionals].contains(self) }

    /// Whether the preset pools `kind` frame by frame in dB (functionals' level and log-mel).
    private func pooledInDecibels(_ kind: FeatureKind) -> Bool {
        (self == .functionals || fusesFunctionals) && (kind == .melspectrogram || kind == .rms)
    }

    /// The `logmel` image: dB relative to the loudest value, floored, centred in `frames`;
    /// all floor for digital silence.
    private func logMelImage(_ extractor: FeatureExtractor, samples: [Float], frames: Int, bands: Int) throws -> [Float] {
        let range: Float = 80
        guard let mel = try extractor.frames([.melspectrogram], samples: samples)[.melspectrogram], mel.rows == bands, mel.columns > 0
        else { return [Float](repeating: -range, count: frames * bands) }
        // A tiny floor before the logarithm, so a quiet recording keeps its full range below its own peak.
        let decibels = DecibelScaling(reference: 1, minimum: 1e-20, dynamicRange: Double(range)).powerToDecibels(mel)
        let peak = decibels.values.max() ?? -200
        var image = [Float](repeating: -range, count: frames * bands)
        guard peak > -190 else { return image }   // digital silence: nothing above the floor
        let available = mel.columns
        let firstSource = max(0, (available - frames) / 2), firstTarget = max(0, (frames - available) / 2)
        for t in 0..<min(frames, available) {
            for band in 0..<bands {
                image[(firstTarget + t) * bands + band] = max(-range, decibels[band, firstSource + t] - peak)
            }
        }
        return image
    }

    /// Dimension of the vector.
    public var dimension: Int {
        if let embedding { return embedding.dimension + (fusesFunctionals ? FeaturePreset.functionals.dimension : 0) }
        return imageShape.map { imageOffset + $0.frames * $0.bands } ?? columnNames().count
    }
}
