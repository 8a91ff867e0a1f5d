import SERNumerics
import Foundation
import SERFeatures

/// Whisper's input features: an 80-band log-mel spectrogram of 16 kHz audio.
///
/// A 400-point periodic Hann window every 160 samples (25 ms every 10 ms) over
/// the signal reflect-padded by 200 samples at each end; the power spectrum
/// through librosa's Slaney mel bank (0–8 kHz); the last frame dropped (as
/// Whisper's `log_mel_spectrogram` does); then `log10(max(power, 1e-10))`,
/// floored 8 (80 dB) below the input's maximum, and mapped by `(x + 4) / 4`.
/// The DFT is two GEMMs against a windowed cosine/sine basis, built once.
public struct WhisperLogMel: Sendable {
    /// The rate it reads (Whisper's).
    public static let sampleRate = 16000
    /// The FFT length, 25 ms.
    public static let fftSize = 400
    /// The hop between frames, 10 ms.
    public static let hopLength = 160
    /// Mel bands per frame.
    public let melBands: Int

    private let basis: [Float]       // fftSize × 2·bins: windowed cos | −sin
    private let melBank: [Float]     // melBands × bins
    private var bins: Int { Self.fftSize / 2 + 1 }

    /// A front end of `melBands` bands (80 for every Whisper before large-v3).
    public init(melBands: Int = 80) throws {
        self.melBands = melBands
        let n = Self.fftSize, bins = n / 2 + 1
        var basis = [Float](repeating: 0, count: n * 2 * bins)
        for i in 0..<n {
            let window = 0.5 - 0.5 * cos(2 * Double.pi * Double(i) / Double(n))   // periodic Hann
            for k in 0..<bins {
                let angle = 2 * Double.pi * Double((k * i) % n) / Double(n)
                basis[i * 2 * bins + k] = Float(window * cos(angle))
                basis[i * 2 * bins + bins + k] = Float(-window * sin(angle))
            }
        }
        self.basis = basis
        melBank = try MelConfiguration(melCount: melBands, maximumFrequency: 8000)
            .filterBank(sampleRate: Double(Self.sampleRate), fftSize: n).values
    }

    /// Mel frames for `sampleCount` samples: one per hop, the last STFT frame dropped.
    public static func frameCount(forSamples sampleCount: Int) -> Int { sampleCount / hopLength }

    /// The `melBands × frames` log-mel matrix (band-major) of 16 kHz `samples`.
    public func features(_ samples: [Float]) -> (values: [Float], frames: Int) {
        let frames = Self.frameCount(forSamples: samples.count)
        guard frames > 0 else { return ([], 0) }
        let n = Self.fftSize, half = n / 2, bins = self.bins, hop = Self.hopLength
        // Reflect padding (numpy's "reflect": the edge sample is not repeated).
        var padded = [Float](repeating: 0, count: samples.count + n)
        for i in 0..<samples.count { padded[half + i] = samples[i] }
        let last = samples.count - 1
        for i in 1...half {
            padded[half - i] = samples[Self.reflected(i, last: last)]
            padded[half + last + i] = samples[Self.reflected(last - i, last: last)]
        }
        var framed = [Float](repeating: 0, count: frames * n)
        for t in 0..<frames { framed.replaceSubrange((t * n)..<((t + 1) * n), with: padded[(t * hop)..<(t * hop + n)]) }
        var spectrum = [Float](repeating: 0, count: frames * 2 * bins)
        gemm(m: frames, n: 2 * bins, k: n, framed, lda: n, basis, ldb: 2 * bins, into: &spectrum, ldc: 2 * bins)
        var power = [Float](repeating: 0, count: frames * bins)
        for t in 0..<frames {
            for k in 0..<bins {
                let re = spectrum[t * 2 * bins + k], im = spectrum[t * 2 * bins + bins + k]
                power[t * bins + k] = re * re + im * im
            }
        }
        var mel = [Float](repeating: 0, count: melBands * frames)
        gemm(m: melBands, n: frames, k: bins, melBank, lda: bins, power, ldb: bins, transposeB: true, into: &mel, ldc: frames)
        var peak = -Float.infinity
        for i in mel.indices {
            mel[i] = log10f(max(mel[i], 1e-10))
            peak = max(peak, mel[i])
        }
        let floor = peak - 8
        for i in mel.indices { mel[i] = (max(mel[i], floor) + 4) / 4 }
        return (mel, frames)
    }

    /// Index `i` of a signal `0...last` reflected at its ends (any `i`, even for very short signals).
    private static func reflected(_ i: Int, last: Int) -> Int {
        guard last > 0 else { return 0 }
        let period = 2 * last
        var j = i % period
        if j < 0 { j += period }
        return j <= last ? j : period - j
    }
}
