import Foundation

/// Forward FFT of real input, in double precision.
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
final class RealFFT {
    /// The plan for `size` belonging to the calling thread: plans hold scratch
    /// buffers, so threads do not share them, and building one (tables of
    /// sines and cosines) is not repeated per file.
    static func forCurrentThread(size: Int) -> RealFFT {
        let key = "ser.RealFFT.\(size)"
        let storage = Thread.current.threadDictionary
        if let plan = storage[key] as? RealFFT { return plan }
        let plan = RealFFT(size: size)
        storage[key] = plan
        return plan
    }

    let size: Int
    /// Bins in the output: `size / 2 + 1`.
    var binCount: Int { size / 2 + 1 }

    private let plan: Plan
    private var real: [Double]
    private var imaginary: [Double]

    private enum Plan {
        /// size = 2·half, half a power of two.
        case packed(ComplexFFT, twiddleRe: [Double], twiddleIm: [Double])
        case bluestein(Bluestein)
    }

    init(size: Int) {
        precondition(size >= 2, "FFT size must be at least 2")
        self.size = size
        let half = size / 2
        if size % 2 == 0 && half & (half - 1) == 0 {
            var twiddleRe = [Double](repeating: 0, count: half + 1)
            var twiddleIm = [Double](repeating: 0, count: half + 1)
            for k in 0...half {
                let angle = -2 * Double.pi * Double(k) / Double(size)
                twiddleRe[k] = cos(angle)
                twiddleIm[k] = sin(angle)
            }
            plan = .packed(ComplexFFT(size: half), twiddleRe: twiddleRe, twiddleIm: twiddleIm)
            real = [Double](repeating: 0, count: half)
            imaginary = [Double](repeating: 0, count: half)
        } else {
            plan = .bluestein(Bluestein(size: size))
            real = [Double](repeating: 0, count: size)
            imaginary = [Double](repeating: 0, count: size)
        }
    }

    /// Transforms `input` (`size` samples) into the `binCount` bins of
    /// `outputReal` and `outputImaginary`.
    func transform(_ input: UnsafePointer<Double>, real outputReal: UnsafeMutablePointer<Double>,
                   imaginary outputImaginary: UnsafeMutablePointer<Double>) {
        switch plan {
        case .packed(let fft, let twiddleRe, let twiddleIm):
            let half = size / 2
            real.withUnsafeMutableBufferPointer { re in
                imaginary.withUnsafeMutableBufferPointer { im in
                    for m in 0..<half {
                        re[m] = input[2 * m]
                        im[m] = input[2 * m + 1]
                    }
                    fft.transform(re.baseAddress!, im.baseAddress!)
                    // Split Z = FFT(even + i·odd) into the spectra of the even and odd samples:
                    // X[k] = E[k] + W^k·O[k], E = (Z[k] + conj Z[h−k])/2, O = (Z[k] − conj Z[h−k])/(2i).
                    let z0r = re[0], z0i = im[0]
                    outputReal[0] = z0r + z0i; outputImaginary[0] = 0
                    outputReal[half] = z0r - z0i; outputImaginary[half] = 0
                    twiddleRe.withUnsafeBufferPointer { wrs in
                        twiddleIm.withUnsafeBufferPointer { wis in
                            for k in 1..<half {
                                let b = half &- k
                                let zr = re[k], zi = im[k], cr = re[b], ci = -im[b]
                                let evenRe = 0.5 * (zr + cr), evenIm = 0.5 * (zi + ci)
                                let oddRe = 0.5 * (zi - ci), oddIm = -0.5 * (zr - cr)
                                let wr = wrs[k], wi = wis[k]
                                outputReal[k] = evenRe + wr * oddRe - wi * oddIm
                                outputImaginary[k] = evenIm + wr * oddIm + wi * oddRe
                            }
                        }
                    }
                }
            }
        case .bluestein(let bluestein):
            real.withUnsafeMutableBufferPointer { re in
                imaginary.withUnsafeMutableBufferPointer { im in
                    for n in 0..<size { re[n] = input[n]; im[n] = 0 }
                    bluestein.transform(re.baseAddress!, im.baseAddress!)
                    for k in 0..<binCount { outputReal[k] = re[k]; outputImaginary[k] = im[k] }
                }
            }
        }
    }
}

/// In-place iterative radix-2 complex FFT (decimation in time) of a power-of-two size.
final class ComplexFFT {
    let size: Int
    private let bitReversed: [Int32]
    /// Twiddles of every stage laid out one after another (stage of length L
    /// contributes L/2 values), so each stage reads its table contiguously.
    private let stageCosines: [Double]
    private let stageSines: [Double]

    init(size: Int) {
        precondition(size >= 1 && size & (size - 1) == 0, "ComplexFFT needs a power-of-two size")
        self.size = size
        let bits = size.trailingZeroBitCount
        bitReversed = (0..<size).map { i in
            var reversed = 0, value = i
            for _ in 0..<bits { reversed = (reversed << 1) | (value & 1); value >>= 1 }
            return Int32(reversed)
        }
        var cosines: [Double] = [], sines: [Double] = []
        var length = 2
        while length <= size {
            for j in 0..<(length / 2) {
                let angle = -2 * Double.pi * Double(j) / Double(length)
                cosines.append(cos(angle))
                sines.append(sin(angle))
            }
            length *= 2
        }
        stageCosines = cosines
        stageSines = sines
    }

    func transform(_ re: UnsafeMutablePointer<Double>, _ im: UnsafeMutablePointer<Double>) {
        let n = size
        guard n > 1 else { return }
        bitReversed.withUnsafeBufferPointer { reversed in
            for i in 0..<n {
                let j = Int(reversed[i])
                if j > i {
                    swap(&re[i], &re[j])
                    swap(&im[i], &im[j])
                }
            }
        }
        // Length-2 butterflies need no twiddles.
        var i = 0
        while i < n {
            let ar = re[i], ai = im[i], br = re[i + 1], bi = im[i + 1]
            re[i] = ar + br; im[i] = ai + bi
            re[i + 1] = ar - br; im[i + 1] = ai - bi
            i += 2
        }
        stageCosines.withUnsafeBufferPointer { cosines in
            stageSines.withUnsafeBufferPointer { sines in
                var length = 4
                var tableOffset = 1  // the length-2 stage's single twiddle is skipped
                // Two radix-2 stages (lengths L and 2L) per pass over the data.
                while 2 * length <= n {
                    let half = length / 2
                    let nextOffset = tableOffset + half
                    if half >= 4 {
                        radix4Pass(re, im, length: length, cosL: cosines.baseAddress! + tableOffset,
                                   sinL: sines.baseAddress! + tableOffset,
                                   cos2L: cosines.baseAddress! + nextOffset, sin2L: sines.baseAddress! + nextOffset)
                    } else {
                        var start = 0
                        while start < n {
                            for j in 0..<half {
                                let w1r = cosines[tableOffset + j], w1i = sines[tableOffset + j]
                                let w2r = cosines[nextOffset + j], w2i = sines[nextOffset + j]
                                let a0 = start + j, a1 = a0 + half, a2 = a0 + length, a3 = a2 + half
                                var tr = w1r * re[a1] - w1i * im[a1], ti = w1r * im[a1] + w1i * re[a1]
                                let x1r = re[a0] - tr, x1i = im[a0] - ti
                                let x0r = re[a0] + tr, x0i = im[a0] + ti
                                tr = w1r * re[a3] - w1i * im[a3]; ti = w1r * im[a3] + w1i * re[a3]
                                let x3r = re[a2] - tr, x3i = im[a2] - ti
                                let x2r = re[a2] + tr, x2i = im[a2] + ti
                                // Second stage: (a0, a2) with w2, (a1, a3) with −i·w2.
                                tr = w2r * x2r - w2i * x2i; ti = w2r * x2i + w2i * x2r
                                re[a2] = x0r - tr; im[a2] = x0i - ti; re[a0] = x0r + tr; im[a0] = x0i + ti
                                let w3r = w2i, w3i = -w2r
                                tr = w3r * x3r - w3i * x3i; ti = w3r * x3i + w3i * x3r
                                re[a3] = x1r - tr; im[a3] = x1i - ti; re[a1] = x1r + tr; im[a1] = x1i + ti
                            }
                            start += 2 * length
                        }
                    }
                    tableOffset = nextOffset + length
                    length *= 4
                }
                // One radix-2 stage left when the number of stages is odd.
                if length <= n {
                    let half = length / 2
                    let cosineBase = UnsafeRawPointer(cosines.baseAddress! + tableOffset)
                    let sineBase = UnsafeRawPointer(sines.baseAddress! + tableOffset)
                    if half >= 4 {
                        var start = 0
                        while start < n {
                            let reA = UnsafeMutableRawPointer(re + start), imA = UnsafeMutableRawPointer(im + start)
                            let reB = UnsafeMutableRawPointer(re + start + half), imB = UnsafeMutableRawPointer(im + start + half)
                            var offset = 0
                            let end = half * MemoryLayout<Double>.stride
                            while offset < end {
                                let wr = cosineBase.loadUnaligned(fromByteOffset: offset, as: SIMD4<Double>.self)
                                let wi = sineBase.loadUnaligned(fromByteOffset: offset, as: SIMD4<Double>.self)
                                let br = reB.loadUnaligned(fromByteOffset: offset, as: SIMD4<Double>.self)
                                let bi = imB.loadUnaligned(fromByteOffset: offset, as: SIMD4<Double>.self)
                                let ar = reA.loadUnaligned(fromByteOffset: offset, as: SIMD4<Double>.self)
                                let ai = imA.loadUnaligned(fromByteOffset: offset, as: SIMD4<Double>.self)
                                let tr = wr * br - wi * bi
                                let ti = wr * bi + wi * br
                                reB.storeBytes(of: ar - tr, toByteOffset: offset, as: SIMD4<Double>.self)
                                imB.storeBytes(of: ai - ti, toByteOffset: offset, as: SIMD4<Double>.self)
                                reA.storeBytes(of: ar + tr, toByteOffset: offset, as: SIMD4<Double>.self)
                                imA.storeBytes(of: ai + ti, toByteOffset: offset, as: SIMD4<Double>.self)
                                offset += 4 * MemoryLayout<Double>.stride
                            }
                            start += length
                        }
                    } else {
                        for j in 0..<half {
                            let wr = cosines[tableOffset + j], wi = sines[tableOffset + j]
                            var a = j
                            while a < n {
                                let b = a + half
                                let tr = wr * re[b] - wi * im[b]
                                let ti = wr * im[b] + wi * re[b]
                                re[b] = re[a] - tr; im[b] = im[a] - ti
                                re[a] += tr; im[a] += ti
                                a += length
                            }
                        }
                    }
                }
            }
        }
    }

    /// Stages of lengths `length` and `2·length` in one pass, four butterflies at a time.
    private func radix4Pass(_ re: UnsafeMutablePointer<Double>, _ im: UnsafeMutablePointer<Double>, length: Int,
                            cosL: UnsafePointer<Double>, sinL: UnsafePointer<Double>,
                            cos2L: UnsafePointer<Double>, sin2L: UnsafePointer<Double>) {
        let n = size, half = length / 2
        typealias V = SIMD4<Double>
        let step = MemoryLayout<Double>.stride
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
final class Bluestein {
    let size: Int
    private let fft: ComplexFFT
    private let chirpRe: [Double], chirpIm: [Double]           // e^{-iπn²/N}
    private let filterRe: [Double], filterIm: [Double]         // FFT of the conjugate chirp, wrapped
    private var workRe: [Double], workIm: [Double]

    init(size: Int) {
        self.size = size
        var padded = 1
        while padded < 2 * size - 1 { padded <<= 1 }
        let fft = ComplexFFT(size: padded)
        var cr = [Double](repeating: 0, count: size), ci = [Double](repeating: 0, count: size)
        for n in 0..<size {
            // n² mod 2N keeps the angle small and exact for large n.
            let angle = Double.pi * Double((n * n) % (2 * size)) / Double(size)
            cr[n] = cos(angle); ci[n] = -sin(angle)
        }
        var fr = [Double](repeating: 0, count: padded), fi = [Double](repeating: 0, count: padded)
        for n in 0..<size {
            fr[n] = cr[n]; fi[n] = -ci[n]
            if n > 0 { fr[padded - n] = cr[n]; fi[padded - n] = -ci[n] }
        }
        fr.withUnsafeMutableBufferPointer { r in
            fi.withUnsafeMutableBufferPointer { i in fft.transform(r.baseAddress!, i.baseAddress!) }
        }
        self.fft = fft
        chirpRe = cr; chirpIm = ci; filterRe = fr; filterIm = fi
        workRe = [Double](repeating: 0, count: padded)
        workIm = [Double](repeating: 0, count: padded)
    }

    /// Replaces `re`/`im` (`size` values) by their DFT.
    func transform(_ re: UnsafeMutablePointer<Double>, _ im: UnsafeMutablePointer<Double>) {
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
                let scale = 1 / Double(padded)
                for k in 0..<size {
                    let r = wr[k] * scale, i = -wi[k] * scale
                    re[k] = r * chirpRe[k] - i * chirpIm[k]
                    im[k] = r * chirpIm[k] + i * chirpRe[k]
                }
            }
        }
    }
}
