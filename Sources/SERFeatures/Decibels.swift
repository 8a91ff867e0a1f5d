import Foundation
import SERKernels
import SERNumerics

/// Conversion to decibels as `librosa.power_to_db` / `amplitude_to_db` do it.
public struct DecibelScaling: Equatable, Hashable, Sendable, Codable {
    /// Reference power (`ref`); 1.0 means dB relative to full scale power 1.
    public var reference: Double = 1.0
    /// Floor applied before the logarithm (`amin`).
    public var minimum: Double = 1e-10
    /// Values more than this many dB below the matrix's maximum are raised to it (`top_db`); nil for no floor.
    public var dynamicRange: Double? = 80

    public init(reference: Double = 1.0, minimum: Double = 1e-10, dynamicRange: Double? = 80) {
        self.reference = reference
        self.minimum = minimum
        self.dynamicRange = dynamicRange
    }

    /// `10 · log10(max(minimum, S) / max(minimum, reference))`, floored `dynamicRange` dB
    /// below the maximum of the whole matrix.
    public func powerToDecibels(_ power: Matrix) -> Matrix {
        var out = power
        let floor = Float(minimum)
        let referenceDB = Float(10 * log10(max(minimum, abs(reference))))
        var peak = -Float.infinity
        out.values.withUnsafeMutableBufferPointer { values in
            let count = values.count
            // The AVX2 kernel where the CPU has it (it declines non-finite input,
            // which the portable path below handles).
            if let base = values.baseAddress, ser_power_to_db(base, count, floor, referenceDB, &peak) != 0 {
                if let dynamicRange { ser_raise_to(base, count, peak - Float(dynamicRange)) }
                return
            }
            var allNormal = floor >= Float.leastNormalMagnitude
            for i in 0..<count {
                let x = max(floor, values[i])
                values[i] = x
                if !x.isFinite { allNormal = false }
            }
            var i = 0
            if allNormal {
                // Eight at a time: every value is a positive normal number.
                let raw = UnsafeMutableRawPointer(values.baseAddress!)
                let reference = SIMD8<Float>(repeating: referenceDB)
                while i + 8 <= count {
                    let x = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
                    raw.storeBytes(of: decibelsPerNeper * naturalLogarithm(x) - reference, toByteOffset: i * 4, as: SIMD8<Float>.self)
                    i += 8
                }
            }
            while i < count {
                values[i] = 10 * log10f(values[i]) - referenceDB
                i += 1
            }
            for db in values where db > peak { peak = db }
            if let dynamicRange {
                let lowest = peak - Float(dynamicRange)
                for i in values.indices where values[i] < lowest { values[i] = lowest }
            }
        }
        return out
    }

    /// `amplitude_to_db`: the power conversion of |S|² with the reference and floor squared.
    public func amplitudeToDecibels(_ amplitude: Matrix) -> Matrix {
        var squared = amplitude
        squared.values = amplitude.values.map { $0 * $0 }
        let powerScaling = DecibelScaling(reference: reference * reference, minimum: minimum * minimum,
                                          dynamicRange: dynamicRange)
        return powerScaling.powerToDecibels(squared)
    }
}

/// 10 / ln 10: decibels of power per neper.
private let decibelsPerNeper: Float = 4.342944819032518

/// ln x for positive normal floats, eight at a time, to within about an ulp:
/// x = m · 2^e with m in [√½, √2), then ln(1 + (m − 1)) by Cephes' minimax
/// polynomial for `logf`, and e · ln 2 added in two parts for accuracy.
@inline(__always)
private func naturalLogarithm(_ x: SIMD8<Float>) -> SIMD8<Float> {
    // Shifting the bits by those of √½ first puts the mantissa's range at
    // [√½, √2) without a comparison (musl's logf does the same).
    let shifted = unsafeBitCast(x, to: SIMD8<Int32>.self) &+ (0x3F80_0000 &- 0x3F35_04F3)
    let exponent = SIMD8<Float>((shifted &>> 23) &- 127)
    let m = unsafeBitCast((shifted & 0x007F_FFFF) &+ 0x3F35_04F3, to: SIMD8<Float>.self)
    let z = m - 1
    let z2 = z * z
    var p: SIMD8<Float> = SIMD8(repeating: 7.0376836292e-2)
    p = p * z - 1.1514610310e-1
    p = p * z + 1.1676998740e-1
    p = p * z - 1.2420140846e-1
    p = p * z + 1.4249322787e-1
    p = p * z - 1.6668057665e-1
    p = p * z + 2.0000714765e-1
    p = p * z - 2.4999993993e-1
    p = p * z + 3.3333331174e-1
    var y = z * z2 * p
    y += -2.12194440e-4 * exponent
    y += -0.5 * z2
    return z + y + 0.693359375 * exponent
}
