import Dispatch
import Foundation
import SERAudio
import SERNumerics

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
