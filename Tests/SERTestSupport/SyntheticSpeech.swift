import Foundation
import SERSupport

/// Test signals made in the test: a voice-like sound (glottal pulses with a
/// gliding pitch through three formant resonators, rising and falling in
/// syllables), and the things that are not speech.
public enum SyntheticSpeech {
    /// `seconds` of audio at `rate` with voice in each `(start, end)` span over a
    /// faint noise floor. Everything is defined in continuous time and kept below
    /// 7 kHz (the noise is a sum of random sinusoids), so every rate from 16 kHz
    /// up renders the same sound.
    public static func recording(seconds: Double, rate: Int, voiceSpans: [(Double, Double)], seed: UInt64 = 1,
                          pitch: Double = 140, noiseLevel: Float = 0.0005) -> [Float] {
        let count = Int(seconds * Double(rate))
        var out = [Float](repeating: 0, count: count)
        var generator = SplitMix64(seed: seed)
        let dt = 1 / Double(rate)
        if noiseLevel > 0 {
            let components = (0..<60).map { _ in
                (50 + 6950 * Double(generator.next() >> 11) / Double(1 << 53), 2 * Double.pi * Double(generator.next() >> 11) / Double(1 << 53))
            }
            let amplitude = Double(noiseLevel) * (2 / Double(components.count)).squareRoot()
            for i in 0..<count {
                var v = 0.0
                for (frequency, phase) in components { v += sin(2 * .pi * frequency * Double(i) * dt + phase) }
                out[i] = Float(amplitude * v)
            }
        }
        for (start, end) in voiceSpans {
            // A sum of harmonics shaped by formant resonances: a band-limited pulse train.
            let formants: [(Double, Double)] = [(700, 110), (1200, 120), (2600, 160)]
            var phase = 0.0
            var i = Int(start * Double(rate))
            while i < min(count, Int(end * Double(rate))) {
                let t = Double(i) * dt - start
                let f0 = pitch * (1 + 0.15 * sin(2 * .pi * 0.7 * t)) + 20 * t
                phase += 2 * .pi * f0 * dt
                var sample = 0.0
                var h = 1
                while Double(h) * f0 < min(7000, 0.45 * Double(rate)) {
                    let f = Double(h) * f0
                    var gain = 0.0
                    for (centre, bandwidth) in formants { gain += 1 / (1 + pow((f - centre) / bandwidth, 2)) }
                    sample += gain / Double(h).squareRoot() * sin(Double(h) * phase)
                    h += 1
                }
                let syllable = 0.55 - 0.45 * cos(2 * .pi * 4 * t)           // ~4 syllables per second
                let edge = min(1, t / 0.02, (end - start - t) / 0.02)
                out[i] += Float(0.08 * syllable * edge * sample)
                i += 1
            }
        }
        return out
    }

    public static func whiteNoise(seconds: Double, rate: Int, level: Float = 0.1, seed: UInt64 = 3) -> [Float] {
        var generator = SplitMix64(seed: seed)
        return (0..<Int(seconds * Double(rate))).map { _ in level * (Float(generator.next() >> 40) / Float(1 << 24) * 2 - 1) }
    }

    /// Integrated (brown) noise, high-passed lightly so it does not drift: most energy at low frequencies.
    public static func brownNoise(seconds: Double, rate: Int, seed: UInt64 = 4) -> [Float] {
        var generator = SplitMix64(seed: seed)
        var value: Float = 0
        return (0..<Int(seconds * Double(rate))).map { _ in
            value = 0.995 * value + 0.02 * (Float(generator.next() >> 40) / Float(1 << 24) * 2 - 1)
            return value
        }
    }
}
