import Foundation

/// A second-order Butterworth low- or high-pass section (the biquad of R.
/// Bristow-Johnson's audio EQ cookbook, Q = 1/√2). Two in cascade make a
/// fourth-order filter. Used where a band matters more than phase: the
/// telephone line's band edges, the band the voice activity detector hears
/// voicing in.
public struct ButterworthSection: Sendable, Equatable {
    let b0, b1, b2, a1, a2: Double

    /// A low-pass section with its −3 dB point at `cutoff` Hz.
    public static func lowPass(cutoff: Double, sampleRate: Double) -> ButterworthSection {
        ButterworthSection(cutoff: cutoff, sampleRate: sampleRate, highPass: false)
    }

    /// A high-pass section with its −3 dB point at `cutoff` Hz.
    public static func highPass(cutoff: Double, sampleRate: Double) -> ButterworthSection {
        ButterworthSection(cutoff: cutoff, sampleRate: sampleRate, highPass: true)
    }

    private init(cutoff: Double, sampleRate: Double, highPass: Bool) {
        let w = 2 * Double.pi * min(max(cutoff, 1e-3), 0.499 * sampleRate) / sampleRate
        let alpha = sin(w) / 2.0.squareRoot(), c = cos(w)   // sin(w) / (2Q) with Q = 1/√2
        let a0 = 1 + alpha
        let gain = (highPass ? 1 + c : 1 - c) / 2
        b0 = gain / a0
        b1 = (highPass ? -2 * gain : 2 * gain) / a0
        b2 = gain / a0
        a1 = -2 * c / a0
        a2 = (1 - alpha) / a0
    }

    /// Runs the section over `samples` in place, from rest.
    public func filter(_ samples: inout [Float]) {
        var x1 = 0.0, x2 = 0.0, y1 = 0.0, y2 = 0.0
        for i in samples.indices {
            let x0 = Double(samples[i])
            let y0 = b0 * x0 + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2
            x2 = x1; x1 = x0; y2 = y1; y1 = y0
            samples[i] = Float(y0)
        }
    }
}
