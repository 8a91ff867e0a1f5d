import Foundation
import SERAudio
import SERFeatures
import SERSupport

/// One way of perturbing a training recording.
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

/// An augmented copy of a training item: it inherits the source's speaker, gender
/// and label, so it lands on the same side of every speaker split.
public struct AugmentedItem: Codable, Sendable, Equatable {
    public var source: CorpusItem
    public var perturbation: Perturbation
    /// Drawn from the augmentation seed and the source path: the same copy every run.
    public var seed: UInt64
}

/// Deterministic data augmentation for training.
public enum Augmenter {
    /// `copies` perturbed versions of each training item, cycling through `recipe`.
    /// Pass only the training side of a split: copies never cross it.
    public static func plan(training items: [CorpusItem], recipe: [Perturbation], copies: Int, seed: UInt64) -> [AugmentedItem] {
        guard !recipe.isEmpty, copies > 0 else { return [] }
        return items.flatMap { item in
            (0..<copies).map { copy in
                let itemSeed = seed ^ UInt64(ContentHash.ofBytes(Array("\(item.path)#\(copy)".utf8)).prefix(16), radix: 16)!
                return AugmentedItem(source: item, perturbation: recipe[copy % recipe.count], seed: itemSeed)
            }
        }
    }

    /// Applies a perturbation to mono samples at `sampleRate`.
    public static func apply(_ perturbation: Perturbation, to samples: [Float], sampleRate: Int, seed: UInt64) throws -> [Float] {
        var generator = SplitMix64(seed: seed)
        switch perturbation {
        case .noise(let snr):
            let power = samples.reduce(0.0) { $0 + Double($1 * $1) } / Double(max(1, samples.count))
            let scale = Float((power / pow(10, snr / 10)).squareRoot())
            return samples.map { $0 + scale * gaussian(&generator) }
        case .gain(let decibels):
            let factor = Float(pow(10, decibels / 20))
            return samples.map { $0 * factor }
        case .speed(let factor):
            guard factor > 0 else { throw CorpusError.invalidOption("speed factor must be positive") }
            // Read the signal as if recorded at rate·factor, then bring it back to rate.
            return try Resampler.resample(samples, from: Double(sampleRate) * factor, to: Double(sampleRate))
        case .pitch(let semitones):
            let ratio = pow(2, semitones / 12)
            let shifted = try Resampler.resample(samples, from: Double(sampleRate) * ratio, to: Double(sampleRate))
            return timeStretch(shifted, toLength: samples.count, sampleRate: sampleRate)
        case .timeShift(let maximumSeconds):
            let limit = Int(maximumSeconds * Double(sampleRate))
            guard limit > 0 else { return samples }
            let shift = Int(generator.next() % UInt64(2 * limit + 1)) - limit
            var out = [Float](repeating: 0, count: samples.count)
            for i in samples.indices where i + shift >= 0 && i + shift < samples.count { out[i + shift] = samples[i] }
            return out
        }
    }

    /// SpecAugment: `frequencyMasks` bands of up to `maximumFrequencyWidth` rows and
    /// `timeMasks` spans of up to `maximumTimeWidth` frames set to the matrix mean.
    public static func specAugment(_ matrix: FeatureMatrix, frequencyMasks: Int = 2, maximumFrequencyWidth: Int = 8,
                                   timeMasks: Int = 2, maximumTimeWidth: Int = 10, seed: UInt64) -> FeatureMatrix {
        var out = matrix
        guard matrix.rows > 0, matrix.columns > 0 else { return out }
        var generator = SplitMix64(seed: seed)
        let mean = matrix.values.reduce(0, +) / Float(matrix.values.count)
        func draw(_ bound: Int) -> Int { bound <= 0 ? 0 : Int(generator.next() % UInt64(bound + 1)) }
        for _ in 0..<frequencyMasks {
            let width = draw(min(maximumFrequencyWidth, matrix.rows))
            let start = draw(matrix.rows - width)
            for r in start..<(start + width) { for c in 0..<matrix.columns { out[r, c] = mean } }
        }
        for _ in 0..<timeMasks {
            let width = draw(min(maximumTimeWidth, matrix.columns))
            let start = draw(matrix.columns - width)
            for c in start..<(start + width) { for r in 0..<matrix.rows { out[r, c] = mean } }
        }
        return out
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

    private static func gaussian(_ generator: inout SplitMix64) -> Float {
        // Box–Muller on two uniforms in (0, 1].
        let u1 = (Double(generator.next() >> 11) + 1) / Double(1 << 53)
        let u2 = Double(generator.next() >> 11) / Double(1 << 53)
        return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    }
}
