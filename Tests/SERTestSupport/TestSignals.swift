import Foundation

/// The plain test signals every test target makes for itself: tones, sweeps,
/// noise and silence, defined once so that "a 440 Hz tone" means the same
/// samples everywhere. (Voice-like sound is `SyntheticSpeech`.)
public enum TestSignals {
    /// A sine of `hertz` Hz starting at phase 0, computed in double precision.
    public static func tone(_ hertz: Double, sampleRate: Int, seconds: Double, amplitude: Double = 0.5) -> [Float] {
        let count = Int(Double(sampleRate) * seconds)
        return (0..<count).map { Float(amplitude * sin(2 * .pi * hertz * Double($0) / Double(sampleRate))) }
    }

    /// A linear sweep from `start` to `end` Hz over `seconds`.
    public static func chirp(from start: Double, to end: Double, sampleRate: Int, seconds: Double, amplitude: Double = 0.5) -> [Float] {
        let count = Int(Double(sampleRate) * seconds)
        let slope = (end - start) / seconds
        return (0..<count).map { i in
            let t = Double(i) / Double(sampleRate)
            return Float(amplitude * sin(2 * .pi * (start * t + 0.5 * slope * t * t)))
        }
    }

    /// Deterministic uniform noise in [-amplitude, amplitude] (a 64-bit LCG seeded by `seed`).
    public static func noise(count: Int, amplitude: Float = 0.3, seed: UInt64 = 42) -> [Float] {
        var state = seed &* 6364136223846793005 &+ 1442695040888963407
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let unit = Float(Double(state >> 11) / Double(1 << 53))
            return (unit * 2 - 1) * amplitude
        }
    }

    /// `count` zeros.
    public static func silence(count: Int) -> [Float] { [Float](repeating: 0, count: count) }
}
