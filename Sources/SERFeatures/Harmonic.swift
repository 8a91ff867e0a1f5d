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
        // Median filters with scipy's "reflect" edges: across time per bin, across bins per frame.
        var harmonic = [Float](repeating: 0, count: frames * bins)
        var percussive = [Float](repeating: 0, count: frames * bins)
        var line = [Float](repeating: 0, count: max(frames, bins))
        var medians = [Float](repeating: 0, count: max(frames, bins))
        let filter = SlidingMedian(size: kernelSize)
        for k in 0..<bins {
            for t in 0..<frames { line[t] = magnitude[t * bins + k] }
            filter.apply(line, count: frames, into: &medians)
            for t in 0..<frames { harmonic[t * bins + k] = medians[t] }
        }
        for t in 0..<frames {
            for k in 0..<bins { line[k] = magnitude[t * bins + k] }
            filter.apply(line, count: bins, into: &medians)
            for k in 0..<bins { percussive[t * bins + k] = medians[k] }
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
        let fft = ComplexFFT<Double>(size: n)
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

/// A running median over an odd-sized window with scipy.ndimage's "reflect"
/// edges (d c b a | a b c d | d c b a): one sorted window, updated by one
/// removal and one insertion per step, giving exactly the medians a full sort would.
final class SlidingMedian {
    let size: Int
    private var window: [Float]

    init(size: Int) {
        self.size = size
        window = [Float](repeating: 0, count: size)
    }

    /// The index `i` (possibly outside 0..<count) reflected into range.
    private func reflect(_ i: Int, _ count: Int) -> Int {
        let period = 2 * count
        var j = i % period
        if j < 0 { j += period }
        return j < count ? j : period - 1 - j
    }

    /// First position in the sorted window whose value is not below `value`.
    private func lowerBound(_ value: Float) -> Int {
        var low = 0, high = size
        while low < high {
            let mid = (low + high) / 2
            if window[mid] < value { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// Medians of `input[0..<count]` into `output[0..<count]`.
    func apply(_ input: [Float], count: Int, into output: inout [Float]) {
        guard count > 0 else { return }
        let half = size / 2
        for o in 0..<size { window[o] = input[reflect(o - half, count)] }
        window.sort()
        output[0] = window[half]
        guard count > 1 else { return }
        for p in 1..<count {
            let leaving = input[reflect(p - 1 - half, count)]
            let entering = input[reflect(p + half, count)]
            if leaving != entering {
                // Remove one copy of `leaving`, then insert `entering`, shifting in between.
                var index = lowerBound(leaving)
                let target = lowerBound(entering)
                if target > index {
                    // Shift the run (index, target) left by one; `entering` goes just before target.
                    while index < target - 1 { window[index] = window[index + 1]; index += 1 }
                    window[target - 1] = entering
                } else {
                    while index > target { window[index] = window[index - 1]; index -= 1 }
                    window[target] = entering
                }
            }
            output[p] = window[half]
        }
    }
}
