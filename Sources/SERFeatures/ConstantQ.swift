import Foundation
import SERAudio
import SERNumerics

/// Constant-Q transform settings (`librosa.cqt` arguments; the defaults are
/// `chroma_cqt`'s: 7 octaves from C1 at 36 bins per octave).
public struct ConstantQConfiguration: Equatable, Hashable, Sendable, Codable {
    public var hopLength: Int = 512
    /// Lowest bin's frequency before tuning, in Hz (C1).
    public var minimumFrequency: Double = 32.70319566257483
    public var binCount: Int = 252
    public var binsPerOctave: Int = 36
    /// Deviation from A440 in fractions of a bin; `nil` estimates it as librosa does.
    public var tuning: Double?
    /// Coefficients dropped per filter: the smallest whose magnitudes sum to this share of its L1 norm.
    public var sparsity: Double = 0.01

    public init(hopLength: Int = 512, minimumFrequency: Double = 32.70319566257483, binCount: Int = 252,
                binsPerOctave: Int = 36, tuning: Double? = nil, sparsity: Double = 0.01) {
        self.hopLength = hopLength
        self.minimumFrequency = minimumFrequency
        self.binCount = binCount
        self.binsPerOctave = binsPerOctave
        self.tuning = tuning
        self.sparsity = sparsity
    }
}

/// `librosa.cqt` magnitudes: Hann-windowed complex wavelets applied per octave
/// through a rectangular-window STFT, the signal halved (soxr HQ) between octaves.
public func constantQMagnitudes(_ samples: [Float], sampleRate: Double,
                                configuration c: ConstantQConfiguration = .init()) throws -> Matrix {
    guard c.binCount >= 2, c.binsPerOctave >= 1, c.hopLength >= 1, c.minimumFrequency > 0 else {
        throw FeatureError.invalidParameter("CQT needs ≥ 2 bins, positive bins per octave, hop and fmin")
    }
    let bpo = c.binsPerOctave
    let tuning = try c.tuning ?? {
        let spectrogram = try Spectrogram(samples: samples, sampleRate: sampleRate)
        return estimateTuning(spectrum: spectrogram.magnitudeFrames, sampleRate: sampleRate, fftSize: 2048, binsPerOctave: bpo)
    }()
    let fmin = c.minimumFrequency * pow(2, tuning / Double(bpo))
    let frequencies = (0..<c.binCount).map { fmin * pow(2, Double($0) / Double(bpo)) }
    let alpha = relativeBandwidths(frequencies)
    let hannBandwidth = 1.50018310546875
    let cutoff = zip(frequencies, alpha).map { $0 * (1 + 0.5 * hannBandwidth * $1) }.max()!
    let nyquist = sampleRate / 2
    guard cutoff <= nyquist else {
        throw FeatureError.invalidParameter("the CQT's top bin (\(Int(frequencies.last!)) Hz) reaches past the Nyquist frequency \(nyquist) Hz: use fewer bins or a higher sample rate")
    }
    let octaves = Int((Double(c.binCount) / Double(bpo)).rounded(.up))
    let filtersPerOctave = min(bpo, c.binCount)

    // Early downsampling when the top octave sits far below Nyquist and the hop allows it.
    var hop = c.hopLength
    var rate = sampleRate
    var signal = samples
    let twos = hop.trailingZeroBitCount
    let byBandwidth = max(0, Int(log2(nyquist / cutoff).rounded(.up)) - 1 - 1)
    let byHop = max(0, twos - octaves + 1)
    let early = min(byBandwidth, byHop)
    if early > 0 {
        let factor = 1 << early
        guard signal.count >= factor else { throw FeatureError.signalTooShort(frames: signal.count, needed: factor, what: "a \(octaves)-octave CQT") }
        hop /= factor
        signal = try Resampler.resample(signal, from: Double(factor), to: 1, scale: true)
        rate /= Double(factor)
    }
    let baseRate = rate

    var responses: [Matrix] = []
    for octave in 0..<octaves {
        let upper = c.binCount - filtersPerOctave * octave
        let lower = max(0, upper - filtersPerOctave)
        let bank = WaveletBank(frequencies: Array(frequencies[lower..<upper]), alpha: Array(alpha[lower..<upper]),
                               sampleRate: rate, sparsity: c.sparsity, gain: (baseRate / rate).squareRoot())
        responses.append(bank.response(signal, hop: hop))
        if hop % 2 == 0 && octave < octaves - 1 {
            hop /= 2
            rate /= 2
            signal = try Resampler.resample(signal, from: 2, to: 1, scale: true)
        }
    }
    // Stack octaves bottom-up, trimmed to the shortest, then undo the wavelet lengths' gain.
    let frames = responses.map(\.columns).min() ?? 0
    var out = Matrix(rows: c.binCount, columns: frames)
    var end = c.binCount
    for response in responses {
        let rows = min(response.rows, end)
        for r in 0..<rows {
            let sourceRow = response.rows - rows + r
            let targetRow = end - rows + r
            let length = baseRate / (alpha[targetRow] * frequencies[targetRow])
            let scale = 1 / length.squareRoot()
            for t in 0..<frames { out[targetRow, t] = Float(Double(response[sourceRow, t]) * scale) }
        }
        end -= rows
    }
    return out
}

/// librosa's `_relative_bandwidth`: each bin's bandwidth relative to its frequency.
func relativeBandwidths(_ frequencies: [Double]) -> [Double] {
    let n = frequencies.count
    let logs = frequencies.map(log2)
    var binsPerOctave = [Double](repeating: 0, count: n)
    binsPerOctave[0] = 1 / (logs[1] - logs[0])
    binsPerOctave[n - 1] = 1 / (logs[n - 1] - logs[n - 2])
    for i in 1..<(n - 1) { binsPerOctave[i] = 2 / (logs[i + 1] - logs[i - 1]) }
    return binsPerOctave.map { b in (pow(2, 2 / b) - 1) / (pow(2, 2 / b) + 1) }
}

/// One octave's filters in the frequency domain, sparsified.
struct WaveletBank {
    let fftSize: Int
    /// Per filter: the kept (bin, real, imaginary) coefficients.
    let filters: [[(bin: Int, re: Double, im: Double)]]

    init(frequencies: [Double], alpha: [Double], sampleRate: Double, sparsity: Double, gain: Double) {
        let lengths = zip(frequencies, alpha).map { sampleRate / ($1 * $0) }
        let longest = lengths.max()!
        let n = 1 << Int(log2(longest).rounded(.up))
        fftSize = n
        let fft = ComplexFFT<Double>(size: n)
        var re = [Double](repeating: 0, count: n), im = re
        var kept: [[(bin: Int, re: Double, im: Double)]] = []
        for (length, frequency) in zip(lengths, frequencies) {
            // Samples floor(−L/2) … floor(L/2) − 1, a Hann window over them, L1-normalised, centred in n.
            let first = Int((-length / 2).rounded(.down)), last = Int((length / 2).rounded(.down))
            let count = last - first
            var wave = [(Double, Double)](repeating: (0, 0), count: count)
            var total = 0.0
            for (index, position) in (first..<last).enumerated() {
                let angle = Double(position) * 2 * Double.pi * frequency / sampleRate
                let window = 0.5 - 0.5 * cos(2 * Double.pi * Double(index) / Double(count))
                wave[index] = (cos(angle) * window, sin(angle) * window)
                total += hypot(wave[index].0, wave[index].1)
            }
            let normaliser = total < Double.leastNormalMagnitude ? 1 : total
            for i in 0..<n { re[i] = 0; im[i] = 0 }
            let offset = (n - count) / 2
            let scale = length / Double(n)
            for i in 0..<count {
                // librosa keeps filters as complex64: round to float before scaling and transforming.
                re[offset + i] = Double(Float(wave[i].0 / normaliser)) * scale
                im[offset + i] = Double(Float(wave[i].1 / normaliser)) * scale
            }
            re.withUnsafeMutableBufferPointer { r in im.withUnsafeMutableBufferPointer { i in fft.transform(r.baseAddress!, i.baseAddress!) } }
            // Keep bins 0…n/2; drop the smallest coefficients holding < `sparsity` of the L1 norm.
            let bins = n / 2 + 1
            let magnitudes = (0..<bins).map { hypot(re[$0], im[$0]) }
            let sum = magnitudes.reduce(0, +)
            let sorted = magnitudes.sorted()
            var cumulative = 0.0, thresholdIndex = 0
            for (k, m) in sorted.enumerated() {
                cumulative += m / sum
                if !(cumulative < sparsity) { thresholdIndex = k; break }
            }
            let threshold = sorted[thresholdIndex]
            kept.append((0..<bins).filter { magnitudes[$0] >= threshold }.map { ($0, re[$0] * gain, im[$0] * gain) })
        }
        filters = kept
    }

    /// |filters · STFT(signal)| with a rectangular window of `fftSize`, centred, zero-padded.
    func response(_ signal: [Float], hop: Int) -> Matrix {
        let n = fftSize
        let frames = STFTConfiguration(fftSize: n, hopLength: hop).frameCount(forSamples: signal.count)
        var out = Matrix(rows: filters.count, columns: frames)
        let rectangular = [Double](repeating: 1, count: n)
        forEachSTFTFrame(signal, fftSize: n, hopLength: hop, centered: true, window: rectangular) { t, re, im in
            for (row, filter) in filters.enumerated() {
                var sumRe = 0.0, sumIm = 0.0
                for coefficient in filter {
                    // complex64 spectra in librosa: round the STFT bin to float.
                    let xr = Double(Float(re[coefficient.bin])), xi = Double(Float(im[coefficient.bin]))
                    sumRe += coefficient.re * xr - coefficient.im * xi
                    sumIm += coefficient.re * xi + coefficient.im * xr
                }
                out[row, t] = Float(hypot(sumRe, sumIm))
            }
        }
        return out
    }
}

extension WaveformFeatures {
    /// `librosa.feature.chroma_cqt`: constant-Q bins folded into pitch classes,
    /// ∞-normalised per frame, `chromaCount × frames`.
    public static func chromaCQT(_ samples: [Float], sampleRate: Double, configuration: ConstantQConfiguration = .init(),
                                 chromaCount: Int = 12) throws -> Matrix {
        guard configuration.binsPerOctave % chromaCount == 0 else {
            throw FeatureError.invalidParameter("bins per octave (\(configuration.binsPerOctave)) must be a multiple of n_chroma (\(chromaCount))")
        }
        let cqt = try constantQMagnitudes(samples, sampleRate: sampleRate, configuration: configuration)
        let merge = configuration.binsPerOctave / chromaCount
        // Bin b belongs to pitch class ((b + merge/2) / merge) mod n, shifted so C comes first.
        let midiOfFirst = (12 * log2(configuration.minimumFrequency / 440) + 69).truncatingRemainder(dividingBy: 12)
        let roll = Int((midiOfFirst * Double(chromaCount) / 12).rounded(.toNearestOrEven))
        var chroma = Matrix(rows: chromaCount, columns: cqt.columns)
        for b in 0..<cqt.rows {
            let pitchClass = (((b + merge / 2) / merge) % chromaCount + roll + chromaCount) % chromaCount
            for t in 0..<cqt.columns { chroma[pitchClass, t] += cqt[b, t] }
        }
        for t in 0..<chroma.columns {
            var peak: Float = 0
            for c in 0..<chromaCount { peak = max(peak, abs(chroma[c, t])) }
            let divisor = peak < Float.leastNormalMagnitude ? 1 : peak
            for c in 0..<chromaCount { chroma[c, t] /= divisor }
        }
        return chroma
    }

    /// `librosa.feature.tonnetz`: tonal centroids (fifths, minor and major thirds
    /// as x/y pairs) of the L1-normalised `chroma_cqt`, `6 × frames`.
    public static func tonnetz(_ samples: [Float], sampleRate: Double,
                               configuration: ConstantQConfiguration = .init()) throws -> Matrix {
        let chroma = try chromaCQT(samples, sampleRate: sampleRate, configuration: configuration)
        let n = chroma.rows
        let fifths: Double = 7.0 / 6, minorThirds: Double = 3.0 / 2, majorThirds: Double = 2.0 / 3
        let scales: [Double] = [fifths, fifths, minorThirds, minorThirds, majorThirds, majorThirds]
        let radii: [Double] = [1, 1, 1, 1, 0.5, 0.5]
        var out = Matrix(rows: 6, columns: chroma.columns)
        for t in 0..<chroma.columns {
            var total = 0.0
            for c in 0..<n { total += Double(abs(chroma[c, t])) }
            let divisor = total < Double.leastNormalMagnitude ? 1 : total
            for p in 0..<6 {
                var sum = 0.0
                for c in 0..<n {
                    let position: Double = 12 * Double(c) / Double(n)
                    var angle: Double = scales[p] * position
                    if p % 2 == 0 { angle -= 0.5 }
                    let weight: Double = radii[p] * cos(Double.pi * angle)
                    sum += weight * Double(chroma[c, t]) / divisor
                }
                out[p, t] = Float(sum)
            }
        }
        return out
    }
}
