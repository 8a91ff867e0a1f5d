import Dispatch
import Foundation
import SERAudio

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
