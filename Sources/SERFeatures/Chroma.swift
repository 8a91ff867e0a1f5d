import Foundation

/// Chroma settings (`librosa.feature.chroma_stft` arguments).
public struct ChromaConfiguration: Equatable, Hashable, Sendable, Codable {
    public var chromaCount: Int = 12
    /// Deviation from A440 in fractions of a chroma bin; `nil` estimates it from
    /// the spectrogram as librosa does (`estimate_tuning`).
    public var tuning: Double?
    /// Which spectrogram the filter bank is applied to: librosa's default power,
    /// or magnitude (what the seed projects passed as `S=np.abs(stft)`).
    public var usesMagnitude: Bool = false

    public init(chromaCount: Int = 12, tuning: Double? = nil, usesMagnitude: Bool = false) {
        self.chromaCount = chromaCount
        self.tuning = tuning
        self.usesMagnitude = usesMagnitude
    }

    /// The `chromaCount × (1 + fftSize/2)` filter bank (`librosa.filters.chroma`
    /// with its defaults: Gaussian bumps per bin, L2-normalised per FFT bin,
    /// weighted by a Gaussian over octaves centred on octave 5, starting at C).
    public func filterBank(sampleRate: Double, fftSize: Int, tuning: Double) throws -> FeatureMatrix {
        let n = chromaCount
        guard n >= 1 else { throw FeatureError.invalidParameter("n_chroma must be positive (got \(n))") }
        let centerOctave = 5.0, octaveWidth = 2.0
        // Fractional chroma bin of every FFT bin but DC; DC sits 1.5 octaves below bin 1.
        let a440 = 440 * pow(2, tuning / Double(n))
        var binPositions = [Double](repeating: 0, count: fftSize)
        for k in 1..<fftSize {
            let hz = Double(k) * (sampleRate / Double(fftSize))
            binPositions[k] = Double(n) * log2(hz / (a440 / 16))
        }
        binPositions[0] = binPositions[1] - 1.5 * Double(n)
        var binWidths = [Double](repeating: 1, count: fftSize)
        for k in 0..<(fftSize - 1) { binWidths[k] = max(binPositions[k + 1] - binPositions[k], 1) }

        let half = (Double(n) / 2).rounded(.toNearestOrEven)
        var weights = [Double](repeating: 0, count: n * fftSize)
        for c in 0..<n {
            for k in 0..<fftSize {
                var distance = binPositions[k] - Double(c) + half + 10 * Double(n)
                distance = distance - Double(n) * (distance / Double(n)).rounded(.down) - half
                let z = 2 * distance / binWidths[k]
                weights[c * fftSize + k] = exp(-0.5 * z * z)
            }
        }
        // L2-normalise each FFT bin's column (librosa.util.normalize, norm=2, axis=0).
        for k in 0..<fftSize {
            var sumSquares = 0.0
            for c in 0..<n { sumSquares += weights[c * fftSize + k] * weights[c * fftSize + k] }
            let length = sumSquares.squareRoot()
            let divisor = length < Double.leastNormalMagnitude ? 1 : length
            for c in 0..<n { weights[c * fftSize + k] /= divisor }
        }
        // Octave weighting, then rotate so that row 0 is C (base_c).
        let shift = 3 * (n / 12)
        let bins = fftSize / 2 + 1
        var bank = FeatureMatrix(rows: n, columns: bins)
        for c in 0..<n {
            let source = (c + shift) % n
            for k in 0..<bins {
                let octave = (binPositions[k] / Double(n) - centerOctave) / octaveWidth
                bank[c, k] = Float(weights[source * fftSize + k] * exp(-0.5 * octave * octave))
            }
        }
        return bank
    }
}

/// Tuning estimation as `librosa.estimate_tuning` does it on a spectrogram (power
/// for `chroma_stft`, magnitude for the seeds' recipe and for the CQT):
/// parabolic-interpolated peaks (`piptrack`, 150–4000 Hz, peaks above 0.1 × the
/// frame maximum), the stronger half of them, and the most common deviation
/// from equal temperament in a 0.01-bin histogram.
public func estimateTuning(spectrum: Spectrogram.FrameMajor, sampleRate: Double, fftSize: Int,
                           binsPerOctave: Int = 12, resolution: Double = 0.01) -> Double {
    let (pitches, magnitudes) = pitchPeaks(spectrum, sampleRate: sampleRate, fftSize: fftSize,
                                           minimumFrequency: 150, maximumFrequency: 4000, threshold: 0.1)
    guard !pitches.isEmpty else { return 0 }
    let threshold = median(magnitudes)
    let selected = zip(pitches, magnitudes).filter { $0.1 >= threshold }.map(\.0)
    return pitchTuning(selected, resolution: resolution, binsPerOctave: binsPerOctave)
}

/// The most common deviation of `frequencies` from the equal-tempered grid, in bins.
func pitchTuning(_ frequencies: [Double], resolution: Double, binsPerOctave: Int) -> Double {
    let positive = frequencies.filter { $0 > 0 }
    guard !positive.isEmpty else { return 0 }
    let edgeCount = Int((1 / resolution).rounded(.up)) + 1
    let step = 1.0 / Double(edgeCount - 1)
    let edges = (0..<edgeCount).map { Double($0) * step + -0.5 }  // numpy.linspace's arithmetic
    var counts = [Int](repeating: 0, count: edgeCount - 1)
    for f in positive {
        let octaves = log2(f / (440.0 / 16))
        let position = Double(binsPerOctave) * octaves
        var residual = position - position.rounded(.down)  // numpy.mod(·, 1), exactly
        if residual >= 0.5 { residual -= 1 }
        // numpy.histogram: the bin is computed, then corrected against the actual
        // edges; bins are half-open except the last, which is closed.
        let bins = edgeCount - 1
        guard residual >= edges[0], residual <= edges[bins] else { continue }
        var index = min(bins - 1, Int((residual - edges[0]) / (edges[bins] - edges[0]) * Double(bins)))
        if residual < edges[index] { index -= 1 }
        else if index + 1 < bins && residual >= edges[index + 1] { index += 1 }
        counts[index] += 1
    }
    var best = 0  // numpy.argmax: the first of equal maxima
    for i in counts.indices where counts[i] > counts[best] { best = i }
    return edges[best]
}

/// `piptrack` on a frame-major spectrogram: for every frame, the bins that are
/// local maxima above `threshold` × the frame's maximum within the band, with
/// their interpolated frequency and magnitude.
func pitchPeaks(_ spectrum: Spectrogram.FrameMajor, sampleRate: Double, fftSize: Int,
                minimumFrequency: Double, maximumFrequency: Double, threshold: Float) -> ([Double], [Float]) {
    let bins = spectrum.binCount
    let fmax = min(maximumFrequency, sampleRate / 2)
    let binHz = sampleRate / Double(fftSize)
    // Bins inside [fmin, fmax); bin 0 is never a local maximum.
    var firstBin = max(1, Int((minimumFrequency / binHz).rounded(.up)))
    while firstBin > 1 && Double(firstBin - 1) * binHz >= minimumFrequency { firstBin -= 1 }
    var endBin = min(bins, Int((fmax / binHz).rounded(.up)))
    while endBin > 0 && Double(endBin - 1) * binHz >= fmax { endBin -= 1 }
    var pitches: [Double] = [], magnitudes: [Float] = []
    guard firstBin < endBin else { return (pitches, magnitudes) }
    pitches.reserveCapacity(spectrum.frameCount * 32)
    magnitudes.reserveCapacity(spectrum.frameCount * 32)
    spectrum.values.withUnsafeBufferPointer { all in
        for t in 0..<spectrum.frameCount {
            let s = all.baseAddress! + t * bins
            let frame = UnsafeRawPointer(s)
            var maxima = SIMD4<Float>(repeating: 0)
            var k = 0
            while k + 4 <= bins {
                let values = frame.loadUnaligned(fromByteOffset: k * 4, as: SIMD4<Float>.self)
                maxima.replace(with: values, where: values .> maxima)
                k += 4
            }
            var frameMax = max(maxima.max(), 0)
            while k < bins { if s[k] > frameMax { frameMax = s[k] }; k += 1 }
            let reference = threshold * frameMax
            @inline(__always) func gated(_ k: Int) -> Float { s[k] > reference ? s[k] : 0 }
            @inline(__always) func record(_ k: Int) {
                // Parabolic interpolation on the ungated spectrum (no shift at the last bin).
                var shift: Float = 0, slope: Float = 0
                if k < bins - 1 {
                    let a = s[k + 1] + s[k - 1] - 2 * s[k]
                    let b = (s[k + 1] - s[k - 1]) / 2
                    if abs(b) < abs(a) { shift = -b / a }
                    slope = b
                }
                pitches.append((Double(k) + Double(shift)) * sampleRate / Double(fftSize))
                magnitudes.append(s[k] + 0.5 * slope * shift)
            }
            // A peak clears the threshold, beats its gated left neighbour and is
            // not below its gated right one; four bins are tested at a time.
            let interiorEnd = min(endBin, bins - 1)
            let level = SIMD4<Float>(repeating: reference)
            k = firstBin
            while k + 4 <= interiorEnd {
                let left = frame.loadUnaligned(fromByteOffset: (k - 1) * 4, as: SIMD4<Float>.self)
                let centre = frame.loadUnaligned(fromByteOffset: k * 4, as: SIMD4<Float>.self)
                let right = frame.loadUnaligned(fromByteOffset: (k + 1) * 4, as: SIMD4<Float>.self)
                let peaks = (centre .> level) .& ((centre .> left) .| (left .<= level)) .& ((centre .>= right) .| (right .<= level))
                if any(peaks) {
                    for lane in 0..<4 where peaks[lane] { record(k + lane) }
                }
                k += 4
            }
            while k < endBin {
                let value = gated(k)
                if value > 0 {
                    let isPeak = k == bins - 1 ? value > gated(k - 1) : (value > gated(k - 1) && value >= gated(k + 1))
                    if isPeak { record(k) }
                }
                k += 1
            }
        }
    }
    return (pitches, magnitudes)
}

/// numpy's median: the middle value, or the mean of the two middle values.
/// Found by selection (expected linear time), not a full sort.
func median(_ values: [Float]) -> Float {
    let n = values.count
    guard n > 0 else { return .nan }
    var work = values
    let upper = select(&work, n / 2)
    guard n % 2 == 0 else { return upper }
    // The largest value below the upper middle sits in the left part after selection.
    var lower = work[0]
    for i in 1..<(n / 2) where work[i] > lower { lower = work[i] }
    return (lower + upper) / 2
}

/// Rearranges `values` so that index `k` holds the k-th smallest, smaller values
/// before it and larger after it (Hoare's selection with median-of-three pivots).
private func select(_ values: inout [Float], _ k: Int) -> Float {
    var low = 0, high = values.count - 1
    while high > low {
        let mid = low + (high - low) / 2
        if values[mid] < values[low] { values.swapAt(mid, low) }
        if values[high] < values[low] { values.swapAt(high, low) }
        if values[high] < values[mid] { values.swapAt(high, mid) }
        let pivot = values[mid]
        var i = low, j = high
        while i <= j {
            while values[i] < pivot { i += 1 }
            while values[j] > pivot { j -= 1 }
            if i <= j { values.swapAt(i, j); i += 1; j -= 1 }
        }
        if k <= j { high = j } else if k >= i { low = i } else { return values[k] }
    }
    return values[k]
}
