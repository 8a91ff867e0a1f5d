import Dispatch
import Foundation
import SERAudio
import SERNumerics

/// The frame-level features `ser features --feature` can compute, named as librosa names them.
public enum FeatureKind: String, CaseIterable, Sendable, Codable {
    case stft                   // |STFT| magnitude
    case melspectrogram
    case mfcc
    case mfccDelta = "mfcc_delta"
    case mfccDelta2 = "mfcc_delta2"
    case chromaStft = "chroma_stft"
    case zeroCrossingRate = "zero_crossing_rate"
    case rms
    case spectralCentroid = "spectral_centroid"
    case spectralBandwidth = "spectral_bandwidth"
    case spectralRolloff = "spectral_rolloff"
    case spectralFlatness = "spectral_flatness"
    case spectralContrast = "spectral_contrast"
    /// Constant-Q chroma (7 octaves from C1, 36 bins per octave folded to 12).
    case chromaCqt = "chroma_cqt"
    /// Tonal centroids of `chroma_cqt`.
    case tonnetz
    /// `tonnetz` of the harmonic part of the signal (HPSS), as the x193 vector uses it.
    case tonnetzHarmonic = "tonnetz_harmonic"
    /// f0 by YIN (Hz).
    case yin
    /// f0 by pYIN (Hz, NaN when unvoiced), voiced flag (0/1) and voiced probability.
    case pyin
}

/// Everything that decides a feature's numbers. Two equal configurations give
/// equal features, which is what a feature cache keys on.
public struct FeatureConfiguration: Equatable, Hashable, Sendable, Codable {
    /// Audio is resampled to this rate first (librosa's default 22050; the models use 16000).
    public var sampleRate: Int = 22050
    public var stft = STFTConfiguration()
    public var mel = MelConfiguration()
    public var mfcc = MFCCConfiguration()
    public var chroma = ChromaConfiguration()
    /// f0 range and framing for `yin`/`pyin`; a nil hop follows `stft.hopLength` so pitch frames line up with the STFT's.
    public var pitch = PitchConfiguration()

    public init(sampleRate: Int = 22050, stft: STFTConfiguration = .init(), mel: MelConfiguration = .init(),
                mfcc: MFCCConfiguration = .init(), chroma: ChromaConfiguration = .init(),
                pitch: PitchConfiguration = .init()) {
        self.sampleRate = sampleRate
        self.stft = stft
        self.mel = mel
        self.mfcc = mfcc
        self.chroma = chroma
        self.pitch = pitch
    }

    /// The pitch settings with the STFT's hop when none is given.
    var alignedPitch: PitchConfiguration {
        var aligned = pitch
        if aligned.hopLength == nil { aligned.hopLength = stft.hopLength }
        return aligned
    }
}

/// Computes features for a signal, sharing one STFT between all spectral features.
public struct FeatureExtractor: Sendable {
    public var configuration: FeatureConfiguration

    public init(configuration: FeatureConfiguration = .init()) {
        self.configuration = configuration
    }

    /// Decodes `path` at the configured rate (mono, like librosa.load).
    public func loadSamples(_ path: String) throws -> [Float] {
        try AudioSignal(contentsOf: path, sampleRate: configuration.sampleRate).samples
    }

    /// The frame matrix of one feature (librosa's `features × frames`).
    public func frames(_ kind: FeatureKind, samples: [Float]) throws -> Matrix {
        let analysis = try Analysis(samples: samples, configuration: configuration, kinds: [kind])
        return try analysis.frames(kind)
    }

    /// The frame matrices of several features from one STFT.
    public func frames(_ kinds: [FeatureKind], samples: [Float]) throws -> [FeatureKind: Matrix] {
        let analysis = try Analysis(samples: samples, configuration: configuration, kinds: kinds)
        var out: [FeatureKind: Matrix] = [:]
        for kind in kinds { out[kind] = try analysis.frames(kind) }
        return out
    }

    /// The frame matrices of several features, with pitch (`pyin`/`yin`, the
    /// costliest and independent of the STFT) computed on a second thread while
    /// this one does the rest: for one utterance at a time on an idle core (live
    /// audio), where latency matters more than throughput.
    public func frames(_ kinds: [FeatureKind], samples: [Float], concurrently: Bool) throws -> [FeatureKind: Matrix] {
        guard concurrently, let pitch = kinds.first(where: { $0 == .pyin || $0 == .yin }) else {
            return try frames(kinds, samples: samples)
        }
        let configuration = configuration
        let outcome = PitchOutcome()
        let group = DispatchGroup()
        DispatchQueue.global(qos: .userInitiated).async(group: group) {
            outcome.result = Result { try Analysis.pitchFrames(pitch, samples: samples, configuration: configuration) }
        }
        var out = try frames(kinds.filter { $0 != pitch }, samples: samples)
        group.wait()
        out[pitch] = try outcome.result?.get()
        return out
    }

    /// Hands the pitch thread's result back; written once, read after the wait.
    private final class PitchOutcome: @unchecked Sendable {
        var result: Result<Matrix, any Error>?
    }

    /// Row names of a feature's frame matrix, e.g. `mfcc_0 … mfcc_19`.
    public func rowNames(_ kind: FeatureKind) -> [String] {
        let count: Int
        switch kind {
        case .stft: count = configuration.stft.binCount
        case .melspectrogram: count = configuration.mel.melCount
        case .mfcc, .mfccDelta, .mfccDelta2: count = configuration.mfcc.coefficientCount
        case .chromaStft, .chromaCqt: count = configuration.chroma.chromaCount
        case .tonnetz, .tonnetzHarmonic: count = 6
        case .spectralContrast: count = 7
        case .zeroCrossingRate, .rms, .spectralCentroid, .spectralBandwidth, .spectralRolloff, .spectralFlatness, .yin: count = 1
        case .pyin: return ["pyin_f0", "pyin_voiced", "pyin_voiced_probability"]
        }
        return count == 1 ? [kind.rawValue] : (0..<count).map { "\(kind.rawValue)_\($0)" }
    }

    /// One file's analysis: the samples and, computed once each, their
    /// spectrogram, mel spectrogram and MFCC (which the deltas reuse).
    final class Analysis {
        let samples: [Float]
        let configuration: FeatureConfiguration
        let spectrogram: Spectrogram
        private var mfccMatrix: Matrix?
        private var melMatrix: Matrix?

        /// The STFT runs in single precision when every feature asked for reads
        /// it only through energy sums or a floored dB scale (mel, MFCC and deltas,
        /// chroma), where float32 round-off stays far inside librosa parity
        /// (the parity tests run those features both ways). Anything that reads
        /// the spectrum's quietest bins (contrast, flatness, the other spectral
        /// shape features, the raw STFT) gets the double-precision FFT.
        init(samples: [Float], configuration: FeatureConfiguration, kinds: [FeatureKind]) throws {
            self.samples = samples
            self.configuration = configuration
            let reading = kinds.filter(Self.readingTheSpectrogram.contains)
            let precision: Spectrogram.Precision =
                !reading.isEmpty && reading.allSatisfy(Self.servedBySinglePrecision.contains) ? .single : .double
            // The mel bank rides along with the vector STFT kernel when a feature needs it.
            let needsMel = kinds.contains { Self.readingTheMelSpectrogram.contains($0) }
            self.spectrogram = try Spectrogram(samples: samples, sampleRate: Double(configuration.sampleRate),
                                               configuration: configuration.stft, precision: precision,
                                               allowingVectorKernel: true, fusedMel: needsMel ? configuration.mel : nil)
        }

        /// Features computed from the STFT.
        private static let readingTheSpectrogram: Set<FeatureKind> = [
            .stft, .melspectrogram, .mfcc, .mfccDelta, .mfccDelta2, .chromaStft,
            .spectralCentroid, .spectralBandwidth, .spectralRolloff, .spectralFlatness, .spectralContrast,
        ]
        /// Those of them that read the mel spectrogram.
        private static let readingTheMelSpectrogram: Set<FeatureKind> = [.melspectrogram, .mfcc, .mfccDelta, .mfccDelta2]
        /// Those of them that float32 round-off leaves inside librosa parity.
        private static let servedBySinglePrecision: Set<FeatureKind> = [.melspectrogram, .mfcc, .mfccDelta, .mfccDelta2, .chromaStft]

        func frames(_ kind: FeatureKind) throws -> Matrix {
            let n = configuration.stft.fftSize, hop = configuration.stft.hopLength
            switch kind {
            case .stft: return spectrogram.magnitudes
            case .melspectrogram: return try melSpectrogram()
            case .mfcc: return try mfcc()
            case .mfccDelta: return try delta(mfcc(), order: 1)
            case .mfccDelta2: return try delta(mfcc(), order: 2)
            case .chromaStft: return try spectrogram.chroma(configuration.chroma).chroma
            case .zeroCrossingRate:
                return try WaveformFeatures.zeroCrossingRate(samples, frameLength: n, hopLength: hop, centered: configuration.stft.centered)
            case .rms: return try WaveformFeatures.rms(samples, frameLength: n, hopLength: hop, centered: configuration.stft.centered)
            case .spectralCentroid: return spectrogram.spectralCentroid()
            case .spectralBandwidth: return spectrogram.spectralBandwidth()
            case .spectralRolloff: return try spectrogram.spectralRolloff()
            case .spectralFlatness: return spectrogram.spectralFlatness()
            case .spectralContrast: return try spectrogram.spectralContrast()
            case .chromaCqt:
                return try WaveformFeatures.chromaCQT(samples, sampleRate: Double(configuration.sampleRate),
                                                      configuration: constantQ, chromaCount: configuration.chroma.chromaCount)
            case .tonnetz:
                return try WaveformFeatures.tonnetz(samples, sampleRate: Double(configuration.sampleRate), configuration: constantQ)
            case .tonnetzHarmonic:
                let harmonic = try WaveformFeatures.harmonicComponent(samples, stft: configuration.stft)
                return try WaveformFeatures.tonnetz(harmonic, sampleRate: Double(configuration.sampleRate), configuration: constantQ)
            case .yin, .pyin:
                return try Self.pitchFrames(kind, samples: samples, configuration: configuration)
            }
        }

        /// `yin` or `pyin` frames: from the samples alone, no spectrogram.
        static func pitchFrames(_ kind: FeatureKind, samples: [Float], configuration: FeatureConfiguration) throws -> Matrix {
            if kind == .yin {
                return try WaveformFeatures.yin(samples, sampleRate: Double(configuration.sampleRate), configuration: configuration.alignedPitch)
            }
            let track = try WaveformFeatures.pyin(samples, sampleRate: Double(configuration.sampleRate), configuration: configuration.alignedPitch)
            return Matrix(rows: 3, columns: track.f0.count, values: track.f0 + track.voiced.map { $0 ? 1 : 0 } + track.voicedProbability)
        }

        private var constantQ: ConstantQConfiguration {
            var c = ConstantQConfiguration(hopLength: configuration.stft.hopLength)
            c.binsPerOctave = 3 * configuration.chroma.chromaCount
            c.binCount = 7 * c.binsPerOctave
            return c
        }

        private func mfcc() throws -> Matrix {
            if let mfccMatrix { return mfccMatrix }
            let computed = try configuration.mfcc.coefficients(ofMelPower: melSpectrogram())
            mfccMatrix = computed
            return computed
        }

        private func melSpectrogram() throws -> Matrix {
            if let melMatrix { return melMatrix }
            let computed = try spectrogram.melSpectrogram(configuration.mel)
            melMatrix = computed
            return computed
        }
    }
}

/// How frame-level features become one utterance-level vector.
public enum Pooling: String, CaseIterable, Sendable, Codable {
    /// Mean of each row over frames (the seed projects' choice).
    case mean
    /// Standard deviation of each row (population, like numpy's default).
    case std
    /// Mean then standard deviation.
    case meanStd = "mean+std"
    /// Eleven statistics of each row, the kind openSMILE's functionals compute:
    /// see `FunctionalStatistic` for the list and their order.
    case functionals

    /// Pools each row of `matrix`. NaN values (pYIN's unvoiced frames) are
    /// left out; a row with no finite value pools to 0, so tables stay finite.
    /// Values are statistic-major: every row's first statistic, then every row's second, and so on.
    public func pool(_ matrix: Matrix) -> [Float] {
        switch self {
        case .mean: return Self.moments(matrix, withDeviations: false).means
        case .std: return Self.moments(matrix, withDeviations: true).deviations
        case .meanStd:
            let (means, deviations) = Self.moments(matrix, withDeviations: true)
            return means + deviations
        case .functionals: return FunctionalStatistic.pool(matrix)
        }
    }

    /// Each row's mean and (when asked) population standard deviation, NaN skipped.
    private static func moments(_ matrix: Matrix, withDeviations: Bool) -> (means: [Float], deviations: [Float]) {
        var means = [Float](repeating: 0, count: matrix.rows)
        var deviations = [Float](repeating: 0, count: matrix.rows)
        matrix.values.withUnsafeBufferPointer { all in
            for r in 0..<matrix.rows {
                let row = UnsafeBufferPointer(rebasing: all[(r * matrix.columns)..<((r + 1) * matrix.columns)])
                let (sum, count) = sumIgnoringNaN(row)
                guard count > 0 else { continue }
                let n = Double(count)
                let mean = sum / n
                means[r] = Float(mean)
                if withDeviations {
                    var squares = 0.0
                    for value in row where !value.isNaN { squares += (Double(value) - mean) * (Double(value) - mean) }
                    deviations[r] = Float((squares / n).squareRoot())
                }
            }
        }
        return (means, deviations)
    }

    /// The sum (in double precision) and count of the values that are not NaN,
    /// eight at a time in independent accumulators.
    private static func sumIgnoringNaN(_ row: UnsafeBufferPointer<Float>) -> (sum: Double, count: Int) {
        guard let base = row.baseAddress else { return (0, 0) }
        let raw = UnsafeRawPointer(base)
        var low = SIMD4<Double>(), high = SIMD4<Double>(), missing = SIMD8<Int32>()
        var i = 0
        while i + 8 <= row.count {
            let values = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            let isNaN = values .!= values
            missing &+= SIMD8<Int32>(repeating: 0).replacing(with: 1, where: isNaN)
            let clean = values.replacing(with: 0, where: isNaN)
            low += SIMD4<Double>(clean.lowHalf)
            high += SIMD4<Double>(clean.highHalf)
            i += 8
        }
        var sum = (low + high).sum()
        var count = i - Int(missing.wrappedSum())
        while i < row.count {
            if !row[i].isNaN { sum += Double(row[i]); count += 1 }
            i += 1
        }
        return (sum, count)
    }

    /// Names of the pooled values for rows named `names`.
    public func names(_ names: [String]) -> [String] {
        switch self {
        case .mean: return names.map { "\($0)_mean" }
        case .std: return names.map { "\($0)_std" }
        case .meanStd: return names.map { "\($0)_mean" } + names.map { "\($0)_std" }
        case .functionals: return FunctionalStatistic.allCases.flatMap { statistic in names.map { "\($0)_\(statistic.rawValue)" } }
        }
    }
}

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
    /// recording's frames of the hidden states of the layers in
    /// `SpeechEmbedding.whisperLayers`. Needs a `SpeechEmbedder`.
    case whisper
    /// `whisper` followed by `functionals`: the encoder's view and the
    /// handcrafted one side by side.
    case whisperFunctionals = "whisper+functionals"

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
        case .whisper:
            return FeatureConfiguration(sampleRate: sampleRate)
        case .whisperFunctionals:
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
        case .whisper: return []
        case .whisperFunctionals: return FeaturePreset.functionals.parts
        }
    }

    /// Column names of the vector.
    public func columnNames(sampleRate: Int = 22050) -> [String] {
        if self == .whisper { return SpeechEmbedding.columnNames }
        if self == .whisperFunctionals {
            return SpeechEmbedding.columnNames + FeaturePreset.functionals.columnNames(sampleRate: sampleRate)
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
        if needsEncoder {
            guard let embedder else { throw FeatureError.encoderRequired(preset: rawValue) }
            guard self == .whisperFunctionals else { return try embedder.embedding(of: samples, sampleRate: sampleRate) }
            guard concurrently else {
                return try embedder.embedding(of: samples, sampleRate: sampleRate)
                    + FeaturePreset.functionals.vector(samples: samples, sampleRate: sampleRate)
            }
            // One utterance at a time (live audio): the encoder on a second thread while this one does the rest.
            let outcome = EmbeddingOutcome()
            let group = DispatchGroup()
            DispatchQueue.global(qos: .userInitiated).async(group: group) {
                outcome.result = Result { try embedder.embedding(of: samples, sampleRate: sampleRate) }
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
    public var needsEncoder: Bool { self == .whisper || self == .whisperFunctionals }

    /// Whether the preset pools `kind` frame by frame in dB (functionals' level and log-mel).
    private func pooledInDecibels(_ kind: FeatureKind) -> Bool {
        (self == .functionals || self == .whisperFunctionals) && (kind == .melspectrogram || kind == .rms)
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
        if self == .whisper { return SpeechEmbedding.dimension }
        if self == .whisperFunctionals { return SpeechEmbedding.dimension + FeaturePreset.functionals.dimension }
        return imageShape.map { imageOffset + $0.frames * $0.bands } ?? columnNames().count
    }
}
