import Foundation
import SERSupport

/// One way of perturbing a recording: training's data augmentation, and the
/// copies a model with test-time augmentation also classifies.
public enum Perturbation: Codable, Sendable, Equatable {
    /// Gaussian white noise at this signal-to-noise ratio (dB).
    case noise(snr: Double)
    /// Level change in dB.
    case gain(decibels: Double)
    /// Faster (factor > 1) or slower playback, pitch moving with it (Kaldi's speed perturbation).
    case speed(factor: Double)
    /// Pitch moved by semitones, duration kept (resampling, then WSOLA time-stretch back).
    case pitch(semitones: Double)
    /// Start moved by up to ± this many seconds (zero-filled, length kept).
    case timeShift(maximumSeconds: Double)
}

extension Perturbation {
    /// Parses `noise:SNR_DB`, `gain:DB`, `speed:FACTOR`, `pitch:SEMITONES` or
    /// `shift:SECONDS` (the command line's `--augment` entries).
    public init?(argument: String) {
        let parts = argument.split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2, let value = Double(parts[1]), value.isFinite else { return nil }
        switch parts[0] {
        case "noise" where value > -10 && value < 80: self = .noise(snr: value)
        case "gain" where abs(value) <= 40: self = .gain(decibels: value)
        case "speed" where value >= 0.5 && value <= 2: self = .speed(factor: value)
        case "pitch" where abs(value) <= 12: self = .pitch(semitones: value)
        case "shift" where value > 0 && value <= 5: self = .timeShift(maximumSeconds: value)
        default: return nil
        }
    }

    /// The argument form, also used in cache keys.
    public var argument: String {
        switch self {
        case .noise(let snr): return "noise:\(snr)"
        case .gain(let decibels): return "gain:\(decibels)"
        case .speed(let factor): return "speed:\(factor)"
        case .pitch(let semitones): return "pitch:\(semitones)"
        case .timeShift(let seconds): return "shift:\(seconds)"
        }
    }
}

extension Perturbation {
    /// The seed of the copies a model with test-time augmentation classifies:
    /// one fixed draw, so the same recording always gets the same answer.
    public static let testTimeSeed: UInt64 = 0x7E57_71DE

    /// This perturbation of mono `samples` at `sampleRate`; `seed` draws the noise
    /// and the shift, so the same seed gives the same copy.
    public func applied(to samples: [Float], sampleRate: Int, seed: UInt64) throws -> [Float] {
        var generator = SplitMix64(seed: seed)
        switch self {
        case .noise(let snr):
            let power = samples.reduce(0.0) { $0 + Double($1 * $1) } / Double(max(1, samples.count))
            let scale = Float((power / pow(10, snr / 10)).squareRoot())
            return samples.map { $0 + scale * generator.nextStandardNormal() }
        case .gain(let decibels):
            let factor = Float(pow(10, decibels / 20))
            return samples.map { $0 * factor }
        case .speed(let factor):
            guard factor > 0 else { throw AudioError.invalidParameter("speed factor must be positive") }
            // Read the signal as if recorded at rate·factor, then bring it back to rate.
            return try Resampler.resample(samples, from: Double(sampleRate) * factor, to: Double(sampleRate))
        case .pitch(let semitones):
            let ratio = pow(2, semitones / 12)
            let shifted = try Resampler.resample(samples, from: Double(sampleRate) * ratio, to: Double(sampleRate))
            return Self.timeStretch(shifted, toLength: samples.count, sampleRate: sampleRate)
        case .timeShift(let maximumSeconds):
            let limit = Int(maximumSeconds * Double(sampleRate))
            guard limit > 0 else { return samples }
            let shift = Int(generator.next() % UInt64(2 * limit + 1)) - limit
            var out = [Float](repeating: 0, count: samples.count)
            for i in samples.indices where i + shift >= 0 && i + shift < samples.count { out[i + shift] = samples[i] }
            return out
        }
    }

    /// WSOLA: overlap-adds 40 ms Hann frames taken from `samples` at the stretched
    /// positions, each nudged by up to ±10 ms to continue the previous frame's waveform.
    static func timeStretch(_ samples: [Float], toLength length: Int, sampleRate: Int) -> [Float] {
        guard samples.count > 1, length > 0 else { return [Float](repeating: 0, count: length) }
        let frame = max(16, sampleRate * 40 / 1000 / 2 * 2), hop = frame / 2, tolerance = sampleRate / 100
        let window = (0..<frame).map { Float(0.5 - 0.5 * cos(2 * Double.pi * Double($0) / Double(frame))) }
        var out = [Float](repeating: 0, count: length + frame)
        var weight = [Float](repeating: 0, count: length + frame)
        let rate = Double(samples.count) / Double(length)
        var previousEnd = 0  // where the natural continuation of the last frame starts in `samples`
        var outputPosition = 0
        func sample(_ i: Int) -> Float { i >= 0 && i < samples.count ? samples[i] : 0 }
        while outputPosition < length {
            let nominal = Int(Double(outputPosition) * rate)
            var best = nominal
            if outputPosition > 0 {
                var bestScore = -Float.infinity
                for candidate in (nominal - tolerance)...(nominal + tolerance) {
                    var score: Float = 0
                    for i in stride(from: 0, to: hop, by: 4) { score += sample(candidate + i) * sample(previousEnd + i) }
                    if score > bestScore { bestScore = score; best = candidate }
                }
            }
            for i in 0..<frame where outputPosition + i < out.count {
                out[outputPosition + i] += window[i] * sample(best + i)
                weight[outputPosition + i] += window[i]
            }
            previousEnd = best + hop
            outputPosition += hop
        }
        return (0..<length).map { weight[$0] > 1e-3 ? out[$0] / weight[$0] : out[$0] }
    }
}
