import Foundation

/// Peak and RMS level of a signal, accumulated block by block.
public struct AudioLevels: Sendable, Equatable {
    /// Largest absolute sample value seen.
    public private(set) var peak: Float = 0
    private var sumOfSquares: Double = 0
    /// Samples seen (all channels).
    public private(set) var sampleCount: Int64 = 0

    public init() {}

    /// Adds a block of samples.
    public mutating func add(_ samples: UnsafeBufferPointer<Float>) {
        var blockPeak: Float = peak
        var blockSum: Double = 0
        for x in samples {
            let magnitude = abs(x)
            if magnitude > blockPeak { blockPeak = magnitude }
            blockSum += Double(x * x)
        }
        peak = blockPeak
        sumOfSquares += blockSum
        sampleCount += Int64(samples.count)
    }

    /// Root mean square of all samples seen.
    public var rms: Double { sampleCount > 0 ? (sumOfSquares / Double(sampleCount)).squareRoot() : 0 }

    /// Peak level in dB relative to full scale; `nil` for digital silence.
    public var peakDBFS: Double? { peak > 0 ? 20 * log10(Double(peak)) : nil }

    /// RMS level in dB relative to full scale (a full-scale sine reads −3.01); `nil` for digital silence.
    public var rmsDBFS: Double? { rms > 0 ? 20 * log10(rms) : nil }
}
