import Foundation

/// A small, fast, seedable generator (SplitMix64): splits, augmentation and model
/// initialisation give the same results on every machine.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension SplitMix64 {
    /// A standard normal draw (Box–Muller on two uniforms, the first in (0, 1]).
    public mutating func nextStandardNormal() -> Float {
        let u1 = (Double(next() >> 11) + 1) / Double(1 << 53)
        let u2 = Double(next() >> 11) / Double(1 << 53)
        return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    }
}

extension SplitMix64 {
    /// `values` in an order drawn from this generator (Fisher–Yates from the
    /// end), the same order for the same seed on every machine.
    public mutating func permuted<Value>(_ values: [Value]) -> [Value] {
        var out = values
        for i in out.indices.reversed() where i > 0 { out.swapAt(i, Int(next() % UInt64(i + 1))) }
        return out
    }
}
