import Foundation
import SERNumerics

/// Features computed from one shared STFT (librosa's spectral features, with
/// librosa's defaults). Every method reads the same `Spectrogram`, so a file's
/// STFT is computed once however many features are asked for.
extension Spectrogram {
    /// `librosa.feature.melspectrogram` (power 2): `melCount × frames`.
    public func melSpectrogram(_ mel: MelConfiguration = .init()) throws -> Matrix {
        if let fusedMelPower, fusedMelPower.configuration == mel { return fusedMelPower.power }
        let bank = try FilterBankCache.shared.mel(mel, sampleRate: sampleRate, fftSize: configuration.fftSize)
        return bank.apply(squaresOf: frameMajorMagnitudes, frames: frameCount)
    }

    /// `librosa.feature.mfcc` on the power-to-dB mel spectrogram: `coefficientCount × frames`.
    public func mfcc(_ mfcc: MFCCConfiguration = .init(), mel: MelConfiguration = .init(),
                     decibels: DecibelScaling = .init()) throws -> Matrix {
        try mfcc.coefficients(ofMelPower: melSpectrogram(mel), decibels: decibels)
    }

    /// `librosa.feature.chroma_stft` (power spectrogram, ∞-norm per frame) and the tuning it used.
    public func chroma(_ chroma: ChromaConfiguration = .init()) throws -> (chroma: Matrix, tuning: Double) {
        let spectrum = chroma.usesMagnitude ? magnitudeFrames : powerFrames
        let tuning = chroma.tuning ?? estimateTuning(spectrum: spectrum, sampleRate: sampleRate, fftSize: configuration.fftSize,
                                                     binsPerOctave: chroma.chromaCount)
        let bank = try FilterBankCache.shared.chroma(chroma, tuning: tuning, sampleRate: sampleRate,
                                                     fftSize: configuration.fftSize)
        var raw = multiply(bank, frameMajor: spectrum.values, frames: frameCount)
        let (rows, columns) = (raw.rows, raw.columns)
        raw.values.withUnsafeMutableBufferPointer { values in
            for t in 0..<columns {
                var peak: Float = 0
                for c in 0..<rows { peak = max(peak, abs(values[c * columns + t])) }
                let divisor = peak < Float.leastNormalMagnitude ? 1 : peak
                for c in 0..<rows { values[c * columns + t] /= divisor }
            }
        }
        return (raw, tuning)
    }

    /// `librosa.feature.spectral_centroid`: the magnitude-weighted mean frequency, `1 × frames`.
    public func spectralCentroid() -> Matrix {
        let frequencies = binFrequencies
        return perFrame { magnitudes in
            let total = magnitudes.reduce(0.0) { $0 + Double($1) }
            guard total >= Double.leastNormalMagnitude else { return 0 }
            var sum = 0.0
            for k in magnitudes.indices { sum += frequencies[k] * Double(Float(Double(magnitudes[k]) / total)) }
            return sum
        }
    }

    /// `librosa.feature.spectral_bandwidth` (p = 2, normalised): `1 × frames`.
    public func spectralBandwidth(order p: Double = 2) -> Matrix {
        let frequencies = binFrequencies
        let centroids = spectralCentroid().values
        var frame = 0
        return perFrame { magnitudes in
            defer { frame += 1 }
            let total = magnitudes.reduce(0.0) { $0 + Double($1) }
            let divisor = total < Double.leastNormalMagnitude ? 1 : total
            let centroid = Double(centroids[frame])
            var sum = 0.0
            for k in magnitudes.indices {
                sum += Double(Float(Double(magnitudes[k]) / divisor)) * pow(abs(frequencies[k] - centroid), p)
            }
            return pow(sum, 1 / p)
        }
    }

    /// `librosa.feature.spectral_rolloff`: the frequency below which `fraction` of the
    /// magnitude lies, `1 × frames`.
    public func spectralRolloff(fraction: Double = 0.85) throws -> Matrix {
        guard fraction > 0, fraction < 1 else { throw FeatureError.invalidParameter("roll_percent must be in (0, 1) (got \(fraction))") }
        let frequencies = binFrequencies
        return perFrame { magnitudes in
            // numpy's float32 cumulative sum, element by element.
            var cumulative = [Float](repeating: 0, count: magnitudes.count)
            var running: Float = 0
            for k in magnitudes.indices { running += magnitudes[k]; cumulative[k] = running }
            let threshold = Float(fraction) * running
            for k in magnitudes.indices where !(cumulative[k] < threshold) { return frequencies[k] }
            return frequencies[magnitudes.count - 1]
        }
    }

    /// `librosa.feature.spectral_flatness` (power 2, amin 1e-10): geometric over arithmetic mean, `1 × frames`.
    public func spectralFlatness(minimum: Float = 1e-10) -> Matrix {
        perFrame { magnitudes in
            var logSum = 0.0, sum = 0.0
            for m in magnitudes {
                let power = max(minimum, m * m)
                logSum += Double(logf(power))
                sum += Double(power)
            }
            let n = Double(magnitudes.count)
            return exp(logSum / n) / (sum / n)
        }
    }

    /// `librosa.feature.spectral_contrast`: peak-to-valley level in `bandCount + 1`
    /// octave bands from `minimumFrequency`, in dB, `(bandCount + 1) × frames`.
    public func spectralContrast(bandCount: Int = 6, minimumFrequency: Double = 200, quantile: Double = 0.02) throws -> Matrix {
        guard bandCount >= 1 else { throw FeatureError.invalidParameter("n_bands must be positive") }
        guard quantile > 0, quantile < 1 else { throw FeatureError.invalidParameter("quantile must be in (0, 1)") }
        guard minimumFrequency > 0 else { throw FeatureError.invalidParameter("fmin must be positive") }
        var edges = [0.0] + (0...bandCount).map { minimumFrequency * pow(2, Double($0)) }
        guard edges.dropLast().allSatisfy({ $0 < 0.5 * sampleRate }) else {
            throw FeatureError.invalidParameter("contrast bands exceed the Nyquist frequency: reduce fmin or n_bands")
        }
        edges = Array(edges)
        let frequencies = binFrequencies
        // Bin ranges per band, as librosa selects them.
        var bands: [(range: Range<Int>, count: Int)] = []
        for k in 0...bandCount {
            let low = edges[k], high = edges[k + 1]
            var member = frequencies.map { $0 >= low && $0 <= high }
            let indices = member.indices.filter { member[$0] }
            guard let first = indices.first, let last = indices.last else {
                throw FeatureError.invalidParameter("contrast band \(k) holds no FFT bin: increase n_fft")
            }
            if k > 0 { member[first - 1] = true }
            if k == bandCount { for i in (last + 1)..<member.count { member[i] = true } }
            let selected = member.indices.filter { member[$0] }
            let count = selected.count
            var upper = selected.last! + 1
            if k < bandCount { upper -= 1 }  // the band's last bin is left out below the top band
            bands.append((selected.first!..<upper, count))
        }
        var peaks = Matrix(rows: bandCount + 1, columns: frameCount)
        var valleys = Matrix(rows: bandCount + 1, columns: frameCount)
        var sorted: [Float] = []
        frameMajorMagnitudes.withUnsafeBufferPointer { s in
            for t in 0..<frameCount {
                for (k, band) in bands.enumerated() {
                    sorted.removeAll(keepingCapacity: true)
                    for i in band.range { sorted.append(s[t * binCount + i]) }
                    sorted.sort()
                    let take = max(1, Int((quantile * Double(band.count)).rounded(.toNearestOrEven)))
                    let n = min(take, sorted.count)
                    var low = 0.0, high = 0.0
                    for i in 0..<n { low += Double(sorted[i]); high += Double(sorted[sorted.count - 1 - i]) }
                    valleys[k, t] = Float(low / Double(n))
                    peaks[k, t] = Float(high / Double(n))
                }
            }
        }
        let db = DecibelScaling()
        let peakDB = db.powerToDecibels(peaks), valleyDB = db.powerToDecibels(valleys)
        return Matrix(rows: peaks.rows, columns: peaks.columns,
                             values: zip(peakDB.values, valleyDB.values).map { $0 - $1 })
    }

    /// Applies `body` to each frame's magnitudes (indexed from 0), giving a `1 × frames` matrix.
    private func perFrame(_ body: (UnsafeBufferPointer<Float>) -> Double) -> Matrix {
        var out = Matrix(rows: 1, columns: frameCount)
        frameMajorMagnitudes.withUnsafeBufferPointer { all in
            for t in 0..<frameCount {
                out.values[t] = Float(body(UnsafeBufferPointer(rebasing: all[(t * binCount)..<((t + 1) * binCount)])))
            }
        }
        return out
    }
}

/// Features computed on the waveform, framed like the STFT.
public enum WaveformFeatures {
    /// `librosa.feature.zero_crossing_rate`: the fraction of sign changes per frame
    /// (edge-padded when centred; |x| ≤ 1e-10 counts as 0, which is positive), `1 × frames`.
    public static func zeroCrossingRate(_ samples: [Float], frameLength: Int = 2048, hopLength: Int = 512,
                                        centered: Bool = true, threshold: Float = 1e-10) throws -> Matrix {
        try validateFraming(frameLength: frameLength, hopLength: hopLength)
        return framed(samples, frameLength: frameLength, hopLength: hopLength, centered: centered, padding: .edge) { frame in
            var crossings = 0
            func clean(_ x: Float) -> Float { (-threshold...threshold).contains(x) ? 0 : x }
            var previous = clean(frame(0))
            for i in 1..<frameLength {
                let current = clean(frame(i))
                if previous.sign != current.sign { crossings += 1 }
                previous = current
            }
            return Double(crossings) / Double(frameLength)
        }
    }

    /// `librosa.feature.rms`: root mean square per frame (zero-padded when centred), `1 × frames`.
    public static func rms(_ samples: [Float], frameLength: Int = 2048, hopLength: Int = 512,
                           centered: Bool = true) throws -> Matrix {
        try validateFraming(frameLength: frameLength, hopLength: hopLength)
        return framed(samples, frameLength: frameLength, hopLength: hopLength, centered: centered, padding: .zero) { frame in
            var sum = 0.0
            for i in 0..<frameLength { let x = frame(i); sum += Double(x * x) }
            return (sum / Double(frameLength)).squareRoot()
        }
    }

    enum Padding { case zero, edge }

    private static func validateFraming(frameLength: Int, hopLength: Int) throws {
        guard frameLength >= 2 else { throw FeatureError.invalidParameter("frame_length must be at least 2") }
        guard hopLength >= 1 else { throw FeatureError.invalidParameter("hop_length must be positive") }
    }

    private static func framed(_ samples: [Float], frameLength: Int, hopLength: Int, centered: Bool, padding: Padding,
                               _ body: ((Int) -> Float) -> Double) -> Matrix {
        let pad = centered ? frameLength / 2 : 0
        let padded = samples.count + 2 * pad
        let frames = padded < frameLength ? 0 : 1 + (padded - frameLength) / hopLength
        var out = Matrix(rows: 1, columns: frames)
        guard !samples.isEmpty else { return out }
        samples.withUnsafeBufferPointer { x in
            for t in 0..<frames {
                let start = t * hopLength - pad
                out.values[t] = Float(body { i in
                    let index = start + i
                    if index < 0 { return padding == .edge ? x[0] : 0 }
                    if index >= x.count { return padding == .edge ? x[x.count - 1] : 0 }
                    return x[index]
                })
            }
        }
        return out
    }
}
