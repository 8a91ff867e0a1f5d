import Foundation
import SERSupport

/// The active level of a recording, and the gain that brings it to a reference.
///
/// A microphone's gain, a phone's automatic level control or an editor's peak
/// normalization multiply the samples by a constant; the voice is the same. A
/// model that reads absolute levels (log-mel bands, RMS in dBFS) hears that
/// constant as emotion: quiet takes sound sad, hot ones angry. Bringing every
/// input to one active level before its features are computed removes it, and
/// the recording's own level stays a measurement (`activeLevelDBFS`), not a feature.
///
/// The active level is the mean power of the louder half of 20 ms frames, in dB
/// relative to full scale (a full-scale square wave reads 0). Pauses and the
/// noise floor sit in the quieter half, so the figure follows the voice, and it
/// is exactly proportional to any gain: `level(g·x) = level(x) + 20·log10(g)`.
public struct LevelNormalization: Codable, Sendable, Equatable, Hashable {
    /// The active level every input is brought to, in dBFS.
    public var referenceDBFS: Double

    enum CodingKeys: String, CodingKey { case referenceDBFS = "reference_dbfs" }

    public init(referenceDBFS: Double) {
        self.referenceDBFS = referenceDBFS
    }

    /// −26 dBFS, the usual active speech level of telephone and broadcast
    /// practice (ITU-T P.56): speech peaks stay below full scale.
    public static let standard = LevelNormalization(referenceDBFS: -26)

    /// Below this active level a signal holds no sound (16-bit audio's quietest
    /// step is −90 dBFS): it is left as it is, not raised to the reference.
    public static let digitalSilenceDBFS = -100.0

    /// Frames of this many seconds measure the level.
    public static let frameSeconds = 0.02

    /// The active level of `samples` (mono at `sampleRate`) in dBFS, or nil for
    /// digital silence and empty input.
    public static func activeLevelDBFS(of samples: UnsafeBufferPointer<Float>, sampleRate: Int) -> Double? {
        guard !samples.isEmpty else { return nil }
        let frame = max(1, Int(frameSeconds * Double(max(1, sampleRate))))
        let frames = max(1, samples.count / frame)
        var powers = [Double](repeating: 0, count: frames)
        for f in 0..<frames {
            let lo = f * frame, hi = f == frames - 1 ? samples.count : lo + frame
            var sum: Double = 0
            for i in lo..<hi { let x = Double(samples[i]); sum += x * x }
            powers[f] = sum / Double(hi - lo)
        }
        // The louder half: everything at or above the median frame.
        let louder = frames - frames / 2
        let median = frames / 2
        _ = powers.withUnsafeMutableBufferPointer { selectKthSmallest(median, in: $0) }
        var total: Double = 0
        for f in median..<frames { total += powers[f] }
        let power = total / Double(louder)
        guard power > 0, power.isFinite else { return nil }
        let level = 10 * log10(power)
        return level > digitalSilenceDBFS ? level : nil
    }

    /// The active level of `samples`, in dBFS (see `activeLevelDBFS(of:sampleRate:)`).
    public static func activeLevelDBFS(of samples: [Float], sampleRate: Int) -> Double? {
        samples.withUnsafeBufferPointer { activeLevelDBFS(of: $0, sampleRate: sampleRate) }
    }

    /// The factor that brings a signal at `levelDBFS` to the reference; 1 for
    /// digital silence (nil level).
    public func gain(forLevel levelDBFS: Double?) -> Float {
        guard let levelDBFS else { return 1 }
        return Float(pow(10, (referenceDBFS - levelDBFS) / 20))
    }

    /// `samples` scaled so that their active level is the reference (digital
    /// silence is returned unchanged). The result may exceed full scale: features
    /// read floats, and clipping is the recording's, not ours.
    public func normalized(_ samples: [Float], sampleRate: Int) -> [Float] {
        let factor = gain(forLevel: Self.activeLevelDBFS(of: samples, sampleRate: sampleRate))
        guard factor != 1 else { return samples }
        return samples.map { $0 * factor }
    }
}
