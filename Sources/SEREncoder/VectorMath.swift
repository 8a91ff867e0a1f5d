/// Elementwise functions the encoder applies to whole activations, eight
/// lanes at a time (the compiler maps `SIMD8<Float>` to AVX registers).
enum VectorMath {
    /// GELU with the error function, `x · (1 + erf(x / √2)) / 2`, in place.
    static func gelu(_ values: UnsafeMutableBufferPointer<Float>) {
        guard let base = values.baseAddress else { return }
        let raw = UnsafeMutableRawPointer(base)
        var i = 0
        while i + 8 <= values.count {
            let x = raw.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
            raw.storeBytes(of: 0.5 * x * (1 + erf(x * 0.70710678118654752)), toByteOffset: 4 * i, as: SIMD8<Float>.self)
            i += 8
        }
        while i < values.count {
            let x = SIMD8<Float>(repeating: values[i])
            values[i] = (0.5 * x * (1 + erf(x * 0.70710678118654752)))[0]
            i += 1
        }
    }

    /// The error function by a rational approximation on [−4, 4] (odd degree-13
    /// numerator over an even degree-8 denominator in x; beyond ±4 erf is ±1 to
    /// float precision). Absolute error below 1e-6 (tested against `erf`).
    @inline(__always)
    static func erf(_ input: SIMD8<Float>) -> SIMD8<Float> {
        let x = clamp(input, -4, 4)
        let x2 = x * x
        var p = x2 * SIMD8(repeating: -2.72614225801306e-10) + SIMD8(repeating: 2.77068142495902e-08)
        p = x2 * p + SIMD8(repeating: -2.10102402082508e-06)
        p = x2 * p + SIMD8(repeating: -5.69250639462346e-05)
        p = x2 * p + SIMD8(repeating: -7.34990630326855e-04)
        p = x2 * p + SIMD8(repeating: -2.95459980854025e-03)
        p = x2 * p + SIMD8(repeating: -1.60960333262415e-02)
        p = x * p
        var q = x2 * SIMD8(repeating: -1.45660718464996e-05) + SIMD8(repeating: -2.13374055278905e-04)
        q = x2 * q + SIMD8(repeating: -1.68282697438203e-03)
        q = x2 * q + SIMD8(repeating: -7.37332916720468e-03)
        q = x2 * q + SIMD8(repeating: -1.42647390514189e-02)
        return p / q
    }

    /// `e^x` by range reduction to `2^k · e^r` with |r| ≤ ln 2 / 2 and a
    /// degree-6 polynomial for `e^r`; relative error near float round-off.
    /// Inputs below −87 give 0 (softmax's masked or far-below-peak scores).
    @inline(__always)
    static func exp(_ input: SIMD8<Float>) -> SIMD8<Float> {
        let x = clamp(input, -87, 88)
        // Round x·log2(e) to the nearest integer k by adding 1.5·2^23: the sum's
        // low mantissa bits then hold k (two's complement), read as an integer.
        let magic = SIMD8<Float>(repeating: 12582912)
        let shifted = x * 1.44269504088896341 + magic
        let k = shifted - magic
        let kBits = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- unsafeBitCast(magic, to: SIMD8<Int32>.self)
        // r = x − k·ln2, with ln2 split in two for precision.
        let r = x - k * 0.693145751953125 - k * 1.42860682030941723212e-6
        var poly = SIMD8<Float>(repeating: 1.0 / 720)
        poly = poly * r + 1.0 / 120
        poly = poly * r + 1.0 / 24
        poly = poly * r + 1.0 / 6
        poly = poly * r + 0.5
        poly = poly * r + 1
        poly = poly * r + 1
        let scale = unsafeBitCast((kBits &+ 127) &<< 23, to: SIMD8<Float>.self)
        return (poly * scale).replacing(with: 0, where: input .< -87)
    }

    /// Lane-wise clamp by comparisons (the generic `clamped` is not vectorized).
    @inline(__always)
    static func clamp(_ x: SIMD8<Float>, _ low: Float, _ high: Float) -> SIMD8<Float> {
        let lower = SIMD8<Float>(repeating: low), upper = SIMD8<Float>(repeating: high)
        return x.replacing(with: lower, where: x .< lower).replacing(with: upper, where: x .> upper)
    }

    /// Softmax of each row of a `rows × columns` block times `scale`, in place
    /// (`softmax(scale · row)`, so attention's 1/√d can ride along).
    static func softmaxRows(_ values: UnsafeMutablePointer<Float>, rows: Int, columns: Int, scale: Float = 1) {
        let vectorEnd = columns - columns % 8
        for r in 0..<rows {
            let row = values + r * columns
            let raw = UnsafeMutableRawPointer(row)
            var peakLanes = SIMD8<Float>(repeating: -.infinity)
            var c = 0
            while c < vectorEnd {
                let v = raw.loadUnaligned(fromByteOffset: 4 * c, as: SIMD8<Float>.self)
                peakLanes = peakLanes.replacing(with: v, where: v .> peakLanes)
                c += 8
            }
            var peak = peakLanes.max()
            while c < columns { peak = max(peak, row[c]); c += 1 }
            var sumLanes = SIMD8<Float>()
            c = 0
            while c < vectorEnd {
                let e = exp((raw.loadUnaligned(fromByteOffset: 4 * c, as: SIMD8<Float>.self) - peak) * scale)
                raw.storeBytes(of: e, toByteOffset: 4 * c, as: SIMD8<Float>.self)
                sumLanes += e
                c += 8
            }
            var sum = sumLanes.sum()
            while c < columns { let e = exp(SIMD8(repeating: (row[c] - peak) * scale))[0]; row[c] = e; sum += e; c += 1 }
            let inverse = 1 / sum
            for c in 0..<columns { row[c] *= inverse }
        }
    }
}
