import Foundation

/// The precisions the FFTs run in: `Double` where round-off matters (librosa
/// parity of spectral contrast), `Float` where it does not.
protocol FFTScalar: BinaryFloatingPoint, SIMDScalar {
    /// Audio samples in this precision.
    static func widened(_ samples: SIMD8<Float>) -> SIMD8<Self>
    /// |re + i·im| in single precision, as numpy takes the magnitude of librosa's
    /// complex64 STFT: the parts rounded to float32 first.
    static func magnitudes(_ re: SIMD4<Self>, _ im: SIMD4<Self>) -> SIMD4<Float>
}

extension Double: FFTScalar {
    @inline(__always) static func widened(_ samples: SIMD8<Float>) -> SIMD8<Double> { SIMD8<Double>(samples) }
    /// The squares summed in double precision, then rounded.
    @inline(__always) static func magnitudes(_ re: SIMD4<Double>, _ im: SIMD4<Double>) -> SIMD4<Float> {
        let r = SIMD4<Double>(SIMD4<Float>(re)), i = SIMD4<Double>(SIMD4<Float>(im))
        return SIMD4<Float>(r * r + i * i).squareRoot()
    }
}

extension Float: FFTScalar {
    @inline(__always) static func widened(_ samples: SIMD8<Float>) -> SIMD8<Float> { samples }
    /// All in single precision (within an ulp of the double-precision sum).
    @inline(__always) static func magnitudes(_ re: SIMD4<Float>, _ im: SIMD4<Float>) -> SIMD4<Float> {
        (re * re + im * im).squareRoot()
    }
}

/// The object stored under `key` for the calling thread, made by `make` (and
/// kept) on first use; nil when `make` gives nil. FFT plans hold scratch buffers,
/// so each thread keeps its own.
func threadCached<Object: AnyObject>(_ key: String, make: () -> Object?) -> Object? {
    let storage = Thread.current.threadDictionary
    if let cached = storage[key] as? Object { return cached }
    guard let made = make() else { return nil }
    storage[key] = made
    return made
}

/// Forward FFT of real input, in double precision (or single, see `FFTScalar`).
///
/// librosa's STFT runs numpy's FFT in float64 and rounds the result to
/// complex64. A float32 FFT (KissFFT, measured) puts its round-off floor about
/// 130 dB below the peak, which is exactly where spectral contrast's "valleys"
/// live in band-limited audio (a 16 kHz recording upsampled to 22.05 kHz is
/// empty above 8 kHz); its contrast then differs from librosa's by up to 4 dB.
/// FFTW would be precise but is GPL, so the transform is ours:
/// power-of-two sizes use an iterative radix-2 transform of half length on the
/// even/odd samples packed as complex numbers; other sizes use Bluestein's
/// chirp-z algorithm on a power-of-two convolution.
///
/// Not thread-safe: each thread needs its own instance (they are cheap to make).
final class RealFFT<Scalar: FFTScalar> {
    /// The plan for `size` belonging to the calling thread: plans hold scratch
    /// buffers, so threads do not share them, and building one (tables of
    /// sines and cosines) is not repeated per file.
    static func forCurrentThread(size: Int) -> RealFFT {
        threadCached("ser.RealFFT.\(Scalar.self).\(size)") { RealFFT(size: size) }!
    }

    let size: Int
    /// Bins in the output: `size / 2 + 1`.
    var binCount: Int { size / 2 + 1 }

    private let plan: Plan
    private var real: [Scalar]
    private var imaginary: [Scalar]
    /// The packed plan's complex spectrum before the even/odd split.
    private var packedRe: [Scalar] = []
    private var packedIm: [Scalar] = []

    private enum Plan {
        /// size = 2·half, half a power of two.
        case packed(ComplexFFT<Scalar>, twiddleRe: [Scalar], twiddleIm: [Scalar])
        case bluestein(Bluestein<Scalar>)
    }

    init(size: Int) {
        precondition(size >= 2, "FFT size must be at least 2")
        self.size = size
        let half = size / 2
        if size % 2 == 0 && half & (half - 1) == 0 {
            var twiddleRe = [Scalar](repeating: 0, count: half + 1)
            var twiddleIm = [Scalar](repeating: 0, count: half + 1)
            for k in 0...half {
                let angle = -2 * Double.pi * Double(k) / Double(size)
                twiddleRe[k] = Scalar(cos(angle))
                twiddleIm[k] = Scalar(sin(angle))
            }
            plan = .packed(ComplexFFT(size: half), twiddleRe: twiddleRe, twiddleIm: twiddleIm)
            real = [Scalar](repeating: 0, count: half)
            imaginary = [Scalar](repeating: 0, count: half)
            packedRe = real
            packedIm = imaginary
        } else {
            plan = .bluestein(Bluestein(size: size))
            real = [Scalar](repeating: 0, count: size)
            imaginary = [Scalar](repeating: 0, count: size)
        }
    }

    /// Transforms `input` (`size` samples) into the `binCount` bins of
    /// `outputReal` and `outputImaginary`.
    func transform(_ input: UnsafePointer<Scalar>, real outputReal: UnsafeMutablePointer<Scalar>,
                   imaginary outputImaginary: UnsafeMutablePointer<Scalar>) {
        transform(real: outputReal, imaginary: outputImaginary) { evens, odds, half in
            let source = UnsafeRawPointer(input)
            let evenTarget = UnsafeMutableRawPointer(evens), oddTarget = UnsafeMutableRawPointer(odds)
            let width = MemoryLayout<Scalar>.stride
            var m = 0
            while m + 4 <= half {
                let pair = source.loadUnaligned(fromByteOffset: 2 * m * width, as: SIMD8<Scalar>.self)
                evenTarget.storeBytes(of: pair.evenHalf, toByteOffset: m * width, as: SIMD4<Scalar>.self)
                oddTarget.storeBytes(of: pair.oddHalf, toByteOffset: m * width, as: SIMD4<Scalar>.self)
                m += 4
            }
            while m < half { evens[m] = input[2 * m]; odds[m] = input[2 * m + 1]; m += 1 }
        } fillSignal: { signal in
            signal.update(from: input, count: size)
        }
    }

    /// Transforms `samples · window` (`size` values each; the product taken in
    /// double precision) without writing the windowed frame out first.
    func transform(windowing samples: UnsafePointer<Float>, by window: UnsafePointer<Scalar>,
                   real outputReal: UnsafeMutablePointer<Scalar>, imaginary outputImaginary: UnsafeMutablePointer<Scalar>) {
        transform(real: outputReal, imaginary: outputImaginary) { evens, odds, half in
            let source = UnsafeRawPointer(samples), weights = UnsafeRawPointer(window)
            let evenTarget = UnsafeMutableRawPointer(evens), oddTarget = UnsafeMutableRawPointer(odds)
            let width = MemoryLayout<Scalar>.stride
            var m = 0
            while m + 4 <= half {
                let pair = Scalar.widened(source.loadUnaligned(fromByteOffset: 2 * m * 4, as: SIMD8<Float>.self))
                    * weights.loadUnaligned(fromByteOffset: 2 * m * width, as: SIMD8<Scalar>.self)
                evenTarget.storeBytes(of: pair.evenHalf, toByteOffset: m * width, as: SIMD4<Scalar>.self)
                oddTarget.storeBytes(of: pair.oddHalf, toByteOffset: m * width, as: SIMD4<Scalar>.self)
                m += 4
            }
            while m < half {
                evens[m] = Scalar(samples[2 * m]) * window[2 * m]
                odds[m] = Scalar(samples[2 * m + 1]) * window[2 * m + 1]
                m += 1
            }
        } fillSignal: { signal in
            for i in 0..<size { signal[i] = Scalar(samples[i]) * window[i] }
        }
    }

    /// The packed plan gets the even and odd samples from `fillHalves(evens, odds, size / 2)`;
    /// Bluestein's gets the whole signal from `fillSignal`.
    @inline(__always)
    private func transform(real outputReal: UnsafeMutablePointer<Scalar>, imaginary outputImaginary: UnsafeMutablePointer<Scalar>,
                           fillHalves: (UnsafeMutablePointer<Scalar>, UnsafeMutablePointer<Scalar>, Int) -> Void,
                           fillSignal: (UnsafeMutablePointer<Scalar>) -> Void) {
        switch plan {
        case .packed(let fft, let twiddleRe, let twiddleIm):
            real.withUnsafeMutableBufferPointer { evens in
                imaginary.withUnsafeMutableBufferPointer { odds in
                    packedRe.withUnsafeMutableBufferPointer { re in
                        packedIm.withUnsafeMutableBufferPointer { im in
                            // Even samples as the real parts, odd samples as the imaginary parts.
                            fillHalves(evens.baseAddress!, odds.baseAddress!, size / 2)
                            fft.transform(from: evens.baseAddress!, odds.baseAddress!, into: re.baseAddress!, im.baseAddress!)
                            splitPacked(re.baseAddress!, im.baseAddress!, twiddleRe: twiddleRe, twiddleIm: twiddleIm,
                                        real: outputReal, imaginary: outputImaginary)
                        }
                    }
                }
            }
        case .bluestein(let bluestein):
            real.withUnsafeMutableBufferPointer { re in
                imaginary.withUnsafeMutableBufferPointer { im in
                    fillSignal(re.baseAddress!)
                    for n in 0..<size { im[n] = 0 }
                    bluestein.transform(re.baseAddress!, im.baseAddress!)
                    for k in 0..<binCount { outputReal[k] = re[k]; outputImaginary[k] = im[k] }
                }
            }
        }
    }
}

extension RealFFT {
    /// Splits Z = FFT(even + i·odd) (`size / 2` values) into the spectrum of the real signal:
    /// X[k] = E[k] + W^k·O[k], E = (Z[k] + conj Z[h−k])/2, O = (Z[k] − conj Z[h−k])/(2i).
    fileprivate func splitPacked(_ re: UnsafePointer<Scalar>, _ im: UnsafePointer<Scalar>,
                                 twiddleRe: [Scalar], twiddleIm: [Scalar],
                                 real outputReal: UnsafeMutablePointer<Scalar>,
                                 imaginary outputImaginary: UnsafeMutablePointer<Scalar>) {
        let half = size / 2
        let z0r = re[0], z0i = im[0]
        outputReal[0] = z0r + z0i; outputImaginary[0] = 0
        outputReal[half] = z0r - z0i; outputImaginary[half] = 0
        twiddleRe.withUnsafeBufferPointer { wrs in
            twiddleIm.withUnsafeBufferPointer { wis in
                typealias V = SIMD4<Scalar>
                let reRaw = UnsafeRawPointer(re), imRaw = UnsafeRawPointer(im)
                let wrRaw = UnsafeRawPointer(wrs.baseAddress!), wiRaw = UnsafeRawPointer(wis.baseAddress!)
                let outRe = UnsafeMutableRawPointer(outputReal), outIm = UnsafeMutableRawPointer(outputImaginary)
                @inline(__always) func reversed(_ v: V) -> V { V(v[3], v[2], v[1], v[0]) }
                let width = MemoryLayout<Scalar>.stride
                var k = 1
                // Four bins at a time; their mirrors h−k−3 … h−k are loaded and reversed.
                while k + 4 <= half {
                    let o = k * width, mirror = (half - k - 3) * width
                    let zr = reRaw.loadUnaligned(fromByteOffset: o, as: V.self)
                    let zi = imRaw.loadUnaligned(fromByteOffset: o, as: V.self)
                    let cr = reversed(reRaw.loadUnaligned(fromByteOffset: mirror, as: V.self))
                    let ci = -reversed(imRaw.loadUnaligned(fromByteOffset: mirror, as: V.self))
                    let evenRe = 0.5 * (zr + cr), evenIm = 0.5 * (zi + ci)
                    let oddRe = 0.5 * (zi - ci), oddIm = -0.5 * (zr - cr)
                    let wr = wrRaw.loadUnaligned(fromByteOffset: o, as: V.self)
                    let wi = wiRaw.loadUnaligned(fromByteOffset: o, as: V.self)
                    outRe.storeBytes(of: evenRe + wr * oddRe - wi * oddIm, toByteOffset: o, as: V.self)
                    outIm.storeBytes(of: evenIm + wr * oddIm + wi * oddRe, toByteOffset: o, as: V.self)
                    k += 4
                }
                while k < half {
                    let b = half &- k
                    let zr = re[k], zi = im[k], cr = re[b], ci = -im[b]
                    let evenRe = 0.5 * (zr + cr), evenIm = 0.5 * (zi + ci)
                    let oddRe = 0.5 * (zi - ci), oddIm = -0.5 * (zr - cr)
                    let wr = wrs[k], wi = wis[k]
                    outputReal[k] = evenRe + wr * oddRe - wi * oddIm
                    outputImaginary[k] = evenIm + wr * oddIm + wi * oddRe
                    k += 1
                }
            }
        }
    }
}

/// Iterative complex FFT (decimation in time) of a power-of-two size.
///
/// The first pass reads the input in bit-reversed order and does the first two
/// stages as 4-point DFTs (no multiplications); every later pair of stages is
/// one radix-4 pass over the data, four butterflies per SIMD operation.
final class ComplexFFT<Scalar: FFTScalar> {
    let size: Int
    /// For sizes of at least 4: the bit reversal of each group index over
    /// log2(size) − 2 bits, i.e. which quarter-offset feeds each 4-point DFT.
    private let quarterReversed: [Int32]
    /// Twiddles of every stage laid out one after another (stage of length L
    /// contributes L/2 values from offset L/2 − 1), so each stage reads its table contiguously.
    private let stageCosines: [Scalar]
    private let stageSines: [Scalar]
    /// Scratch for the in-place entry point.
    private var scratchRe: [Scalar]
    private var scratchIm: [Scalar]

    init(size: Int) {
        precondition(size >= 1 && size & (size - 1) == 0, "ComplexFFT needs a power-of-two size")
        self.size = size
        let groups = size / 4
        let groupBits = groups > 0 ? groups.trailingZeroBitCount : 0
        quarterReversed = (0..<groups).map { g in
            var reversed = 0, value = g
            for _ in 0..<groupBits { reversed = (reversed << 1) | (value & 1); value >>= 1 }
            return Int32(reversed)
        }
        var cosines: [Scalar] = [], sines: [Scalar] = []
        var length = 2
        while length <= size {
            for j in 0..<(length / 2) {
                let angle = -2 * Double.pi * Double(j) / Double(length)
                cosines.append(Scalar(cos(angle)))
                sines.append(Scalar(sin(angle)))
            }
            length *= 2
        }
        stageCosines = cosines
        stageSines = sines
        scratchRe = [Scalar](repeating: 0, count: size)
        scratchIm = [Scalar](repeating: 0, count: size)
    }

    /// Replaces `re`/`im` (`size` values each) by their DFT.
    func transform(_ re: UnsafeMutablePointer<Scalar>, _ im: UnsafeMutablePointer<Scalar>) {
        let n = size
        scratchRe.withUnsafeMutableBufferPointer { sr in
            scratchIm.withUnsafeMutableBufferPointer { si in
                sr.baseAddress!.update(from: re, count: n)
                si.baseAddress!.update(from: im, count: n)
                transform(from: sr.baseAddress!, si.baseAddress!, into: re, im)
            }
        }
    }

    /// Writes the DFT of `sourceRe`/`sourceIm` into `re`/`im` (distinct buffers of `size` values).
    func transform(from sourceRe: UnsafePointer<Scalar>, _ sourceIm: UnsafePointer<Scalar>,
                   into re: UnsafeMutablePointer<Scalar>, _ im: UnsafeMutablePointer<Scalar>) {
        let n = size
        guard n >= 4 else {
            if n == 2 {
                let ar = sourceRe[0], ai = sourceIm[0], br = sourceRe[1], bi = sourceIm[1]
                re[0] = ar + br; im[0] = ai + bi; re[1] = ar - br; im[1] = ai - bi
            } else if n == 1 {
                re[0] = sourceRe[0]; im[0] = sourceIm[0]
            }
            return
        }
        let quarter = n / 4
        // Stages of lengths 2 and 4: output group g is the 4-point DFT of the
        // inputs r, r + n/2, r + n/4, r + 3n/4 with r the bit reversal of g.
        quarterReversed.withUnsafeBufferPointer { reversed in
            for g in 0..<quarter {
                let r = Int(reversed[g])
                let a0r = sourceRe[r], a0i = sourceIm[r]
                let a1r = sourceRe[r + 2 * quarter], a1i = sourceIm[r + 2 * quarter]
                let a2r = sourceRe[r + quarter], a2i = sourceIm[r + quarter]
                let a3r = sourceRe[r + 3 * quarter], a3i = sourceIm[r + 3 * quarter]
                let x0r = a0r + a1r, x0i = a0i + a1i, x1r = a0r - a1r, x1i = a0i - a1i
                let x2r = a2r + a3r, x2i = a2i + a3i, x3r = a2r - a3r, x3i = a2i - a3i
                let o = 4 * g
                re[o] = x0r + x2r; im[o] = x0i + x2i
                re[o + 2] = x0r - x2r; im[o + 2] = x0i - x2i
                // The length-4 twiddle of the second butterfly is −i.
                re[o + 1] = x1r + x3i; im[o + 1] = x1i - x3r
                re[o + 3] = x1r - x3i; im[o + 3] = x1i + x3r
            }
        }
        stageCosines.withUnsafeBufferPointer { cosines in
            stageSines.withUnsafeBufferPointer { sines in
                var length = 8
                // An odd number of remaining stages: one radix-2 stage of length 8 first.
                if (n.trailingZeroBitCount - 2) % 2 == 1 {
                    radix2Pass(re, im, length: 8, cos: cosines.baseAddress! + 3, sin: sines.baseAddress! + 3)
                    length = 16
                }
                // Two radix-2 stages (lengths L and 2L) per pass over the data.
                while length < n {
                    let offset = length / 2 - 1, nextOffset = length - 1
                    radix4Pass(re, im, length: length, cosL: cosines.baseAddress! + offset, sinL: sines.baseAddress! + offset,
                               cos2L: cosines.baseAddress! + nextOffset, sin2L: sines.baseAddress! + nextOffset)
                    length *= 4
                }
            }
        }
    }

    /// One radix-2 stage of `length` (at least 8), four butterflies at a time.
    private func radix2Pass(_ re: UnsafeMutablePointer<Scalar>, _ im: UnsafeMutablePointer<Scalar>, length: Int,
                            cos: UnsafePointer<Scalar>, sin: UnsafePointer<Scalar>) {
        typealias V = SIMD4<Scalar>
        let half = length / 2, step = MemoryLayout<Scalar>.stride
        let cosines = UnsafeRawPointer(cos), sines = UnsafeRawPointer(sin)
        var start = 0
        while start < size {
            let reA = UnsafeMutableRawPointer(re + start), imA = UnsafeMutableRawPointer(im + start)
            let reB = UnsafeMutableRawPointer(re + start + half), imB = UnsafeMutableRawPointer(im + start + half)
            var j = 0
            while j < half {
                let o = j * step
                let wr = cosines.loadUnaligned(fromByteOffset: o, as: V.self)
                let wi = sines.loadUnaligned(fromByteOffset: o, as: V.self)
                let br = reB.loadUnaligned(fromByteOffset: o, as: V.self), bi = imB.loadUnaligned(fromByteOffset: o, as: V.self)
                let ar = reA.loadUnaligned(fromByteOffset: o, as: V.self), ai = imA.loadUnaligned(fromByteOffset: o, as: V.self)
                let tr = wr * br - wi * bi, ti = wr * bi + wi * br
                reB.storeBytes(of: ar - tr, toByteOffset: o, as: V.self); imB.storeBytes(of: ai - ti, toByteOffset: o, as: V.self)
                reA.storeBytes(of: ar + tr, toByteOffset: o, as: V.self); imA.storeBytes(of: ai + ti, toByteOffset: o, as: V.self)
                j += 4
            }
            start += length
        }
    }

    /// Stages of lengths `length` and `2·length` in one pass, four butterflies at a time.
    private func radix4Pass(_ re: UnsafeMutablePointer<Scalar>, _ im: UnsafeMutablePointer<Scalar>, length: Int,
                            cosL: UnsafePointer<Scalar>, sinL: UnsafePointer<Scalar>,
                            cos2L: UnsafePointer<Scalar>, sin2L: UnsafePointer<Scalar>) {
        let n = size, half = length / 2
        typealias V = SIMD4<Scalar>
        let step = MemoryLayout<Scalar>.stride
        var start = 0
        while start < n {
            let r0 = UnsafeMutableRawPointer(re + start), i0 = UnsafeMutableRawPointer(im + start)
            let r1 = UnsafeMutableRawPointer(re + start + half), i1 = UnsafeMutableRawPointer(im + start + half)
            let r2 = UnsafeMutableRawPointer(re + start + length), i2 = UnsafeMutableRawPointer(im + start + length)
            let r3 = UnsafeMutableRawPointer(re + start + length + half), i3 = UnsafeMutableRawPointer(im + start + length + half)
            var j = 0
            while j < half {
                let o = j * step
                let w1r = UnsafeRawPointer(cosL).loadUnaligned(fromByteOffset: o, as: V.self)
                let w1i = UnsafeRawPointer(sinL).loadUnaligned(fromByteOffset: o, as: V.self)
                let w2r = UnsafeRawPointer(cos2L).loadUnaligned(fromByteOffset: o, as: V.self)
                let w2i = UnsafeRawPointer(sin2L).loadUnaligned(fromByteOffset: o, as: V.self)
                let a0r = r0.loadUnaligned(fromByteOffset: o, as: V.self), a0i = i0.loadUnaligned(fromByteOffset: o, as: V.self)
                let a1r = r1.loadUnaligned(fromByteOffset: o, as: V.self), a1i = i1.loadUnaligned(fromByteOffset: o, as: V.self)
                let a2r = r2.loadUnaligned(fromByteOffset: o, as: V.self), a2i = i2.loadUnaligned(fromByteOffset: o, as: V.self)
                let a3r = r3.loadUnaligned(fromByteOffset: o, as: V.self), a3i = i3.loadUnaligned(fromByteOffset: o, as: V.self)
                // First stage: (a0, a1) and (a2, a3) with w1.
                var tr = w1r * a1r - w1i * a1i, ti = w1r * a1i + w1i * a1r
                let x0r = a0r + tr, x0i = a0i + ti, x1r = a0r - tr, x1i = a0i - ti
                tr = w1r * a3r - w1i * a3i; ti = w1r * a3i + w1i * a3r
                let x2r = a2r + tr, x2i = a2i + ti, x3r = a2r - tr, x3i = a2i - ti
                // Second stage: (x0, x2) with w2, (x1, x3) with −i·w2.
                tr = w2r * x2r - w2i * x2i; ti = w2r * x2i + w2i * x2r
                r0.storeBytes(of: x0r + tr, toByteOffset: o, as: V.self); i0.storeBytes(of: x0i + ti, toByteOffset: o, as: V.self)
                r2.storeBytes(of: x0r - tr, toByteOffset: o, as: V.self); i2.storeBytes(of: x0i - ti, toByteOffset: o, as: V.self)
                tr = w2i * x3r + w2r * x3i; ti = w2i * x3i - w2r * x3r
                r1.storeBytes(of: x1r + tr, toByteOffset: o, as: V.self); i1.storeBytes(of: x1i + ti, toByteOffset: o, as: V.self)
                r3.storeBytes(of: x1r - tr, toByteOffset: o, as: V.self); i3.storeBytes(of: x1i - ti, toByteOffset: o, as: V.self)
                j += 4
            }
            start += 2 * length
        }
    }
}

/// A DFT of any size as a convolution with a chirp, done with power-of-two FFTs.
final class Bluestein<Scalar: FFTScalar> {
    let size: Int
    private let fft: ComplexFFT<Scalar>
    private let chirpRe: [Scalar], chirpIm: [Scalar]           // e^{-iπn²/N}
    private let filterRe: [Scalar], filterIm: [Scalar]         // FFT of the conjugate chirp, wrapped
    private var workRe: [Scalar], workIm: [Scalar]

    init(size: Int) {
        self.size = size
        var padded = 1
        while padded < 2 * size - 1 { padded <<= 1 }
        let fft = ComplexFFT<Scalar>(size: padded)
        var cr = [Scalar](repeating: 0, count: size), ci = [Scalar](repeating: 0, count: size)
        for n in 0..<size {
            // n² mod 2N keeps the angle small and exact for large n.
            let angle = Double.pi * Double((n * n) % (2 * size)) / Double(size)
            cr[n] = Scalar(cos(angle)); ci[n] = Scalar(-sin(angle))
        }
        var fr = [Scalar](repeating: 0, count: padded), fi = [Scalar](repeating: 0, count: padded)
        for n in 0..<size {
            fr[n] = cr[n]; fi[n] = -ci[n]
            if n > 0 { fr[padded - n] = cr[n]; fi[padded - n] = -ci[n] }
        }
        fr.withUnsafeMutableBufferPointer { r in
            fi.withUnsafeMutableBufferPointer { i in fft.transform(r.baseAddress!, i.baseAddress!) }
        }
        self.fft = fft
        chirpRe = cr; chirpIm = ci; filterRe = fr; filterIm = fi
        workRe = [Scalar](repeating: 0, count: padded)
        workIm = [Scalar](repeating: 0, count: padded)
    }

    /// Replaces `re`/`im` (`size` values) by their DFT.
    func transform(_ re: UnsafeMutablePointer<Scalar>, _ im: UnsafeMutablePointer<Scalar>) {
        let padded = workRe.count
        workRe.withUnsafeMutableBufferPointer { wr in
            workIm.withUnsafeMutableBufferPointer { wi in
                for n in 0..<padded { wr[n] = 0; wi[n] = 0 }
                for n in 0..<size {
                    wr[n] = re[n] * chirpRe[n] - im[n] * chirpIm[n]
                    wi[n] = re[n] * chirpIm[n] + im[n] * chirpRe[n]
                }
                fft.transform(wr.baseAddress!, wi.baseAddress!)
                for k in 0..<padded {
                    let r = wr[k] * filterRe[k] - wi[k] * filterIm[k]
                    let i = wr[k] * filterIm[k] + wi[k] * filterRe[k]
                    // Conjugate now and after the forward FFT: an inverse FFT without a second plan.
                    wr[k] = r; wi[k] = -i
                }
                fft.transform(wr.baseAddress!, wi.baseAddress!)
                let scale = 1 / Scalar(padded)
                for k in 0..<size {
                    let r = wr[k] * scale, i = -wi[k] * scale
                    re[k] = r * chirpRe[k] - i * chirpIm[k]
                    im[k] = r * chirpIm[k] + i * chirpRe[k]
                }
            }
        }
    }
}
