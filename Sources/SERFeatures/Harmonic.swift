import Foundation

extension WaveformFeatures {
    /// `librosa.effects.harmonic`: the harmonic part of a harmonic/percussive
    /// split. Median filters of `kernelSize` across time (harmonic) and
    /// frequency (percussive) give soft masks (power 2); the masked STFT is
    /// inverted with `istft` to the input's length.
    public static func harmonicComponent(_ samples: [Float], stft: STFTConfiguration = .init(),
                                         kernelSize: Int = 31) throws -> [Float] {
        try stft.validate()
        guard kernelSize >= 1 else { throw FeatureError.invalidParameter("HPSS kernel size must be positive") }
        let n = stft.fftSize, hop = stft.hopLength, bins = stft.binCount
        let frames = stft.frameCount(forSamples: samples.count)
        guard frames > 0 else { return samples }
        let window = stft.window()
        // Complex STFT rounded to complex64, as librosa stores it; magnitude and phase.
        var magnitude = [Float](repeating: 0, count: frames * bins)
        var phaseRe = [Float](repeating: 1, count: frames * bins), phaseIm = [Float](repeating: 0, count: frames * bins)
        forEachSTFTFrame(samples, fftSize: n, hopLength: hop, centered: stft.centered, window: window) { t, re, im in
            for k in 0..<bins {
                let r = Float(re[k]), i = Float(im[k])
                let m = Float(Double(r) * Double(r) + Double(i) * Double(i)).squareRoot()
                magnitude[t * bins + k] = m
                let angle = atan2(Double(i), Double(r))
                phaseRe[t * bins + k] = Float(cos(angle)); phaseIm[t * bins + k] = Float(sin(angle))
            }
        }
        // Median filters with scipy's "reflect" edges.
        let half = kernelSize / 2
        var harmonic = [Float](repeating: 0, count: frames * bins)
        var percussive = [Float](repeating: 0, count: frames * bins)
        var window31 = [Float](repeating: 0, count: kernelSize)
        func reflect(_ i: Int, _ count: Int) -> Int {
            let period = 2 * count
            var j = i % period
            if j < 0 { j += period }
            return j < count ? j : period - 1 - j
        }
        for k in 0..<bins {
            for t in 0..<frames {
                for o in 0..<kernelSize { window31[o] = magnitude[reflect(t + o - half, frames) * bins + k] }
                window31.sort()
                harmonic[t * bins + k] = window31[half]
            }
        }
        for t in 0..<frames {
            for k in 0..<bins {
                for o in 0..<kernelSize { window31[o] = magnitude[t * bins + reflect(k + o - half, bins)] }
                window31.sort()
                percussive[t * bins + k] = window31[half]
            }
        }
        // Soft mask (power 2, margin 1: zeros split evenly), applied with the original phase.
        var spectrumRe = [Double](repeating: 0, count: frames * bins), spectrumIm = spectrumRe
        for i in 0..<(frames * bins) {
            let x = harmonic[i], reference = percussive[i]
            var z = max(x, reference)
            let bad = z < Float.leastNormalMagnitude
            if bad { z = 1 }
            var mask: Float
            if bad {
                mask = 0.5
            } else {
                let a = (x / z) * (x / z), b = (reference / z) * (reference / z)
                mask = a / (a + b)
            }
            let value = magnitude[i] * mask
            spectrumRe[i] = Double(value * phaseRe[i])
            spectrumIm[i] = Double(value * phaseIm[i])
        }
        return inverseSTFT(re: spectrumRe, im: spectrumIm, frames: frames, configuration: stft, window: window,
                           length: samples.count)
    }

    /// `librosa.istft`: inverse FFT of each frame, windowed, overlap-added and
    /// divided by the window's summed square, trimmed to `length`.
    static func inverseSTFT(re: [Double], im: [Double], frames: Int, configuration: STFTConfiguration,
                            window: [Double], length: Int) -> [Float] {
        let n = configuration.fftSize, hop = configuration.hopLength, bins = configuration.binCount
        let total = n + hop * (frames - 1)
        var output = [Float](repeating: 0, count: total)
        var windowSum = [Float](repeating: 0, count: total)
        let fft = ComplexFFT(size: n)
        var bufferRe = [Double](repeating: 0, count: n), bufferIm = bufferRe
        for t in 0..<frames {
            // x = Re(FFT(conj(X_full))) / n for the Hermitian extension of the half spectrum.
            for k in 0..<bins {
                let r = re[t * bins + k], i = (k == 0 || k == n / 2) ? 0 : im[t * bins + k]
                bufferRe[k] = r; bufferIm[k] = -i
                if k > 0 && k < n - k { bufferRe[n - k] = r; bufferIm[n - k] = i }
            }
            bufferRe.withUnsafeMutableBufferPointer { r in bufferIm.withUnsafeMutableBufferPointer { i in fft.transform(r.baseAddress!, i.baseAddress!) } }
            let start = t * hop
            for m in 0..<n {
                let sample = Float(Float(bufferRe[m] / Double(n)))  // irfft of complex64 gives float32
                output[start + m] += Float(window[m] * Double(sample))
                windowSum[start + m] += Float(window[m] * window[m])
            }
        }
        for i in 0..<total where windowSum[i] > Float.leastNormalMagnitude { output[i] /= windowSum[i] }
        let offset = configuration.centered ? n / 2 : 0
        var trimmed = [Float](repeating: 0, count: length)
        for i in 0..<length where offset + i < total { trimmed[i] = output[offset + i] }
        return trimmed
    }
}
