import Foundation
import SERSupport
import SERKernels
import SERNumerics

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
    public func filterBank(sampleRate: Double, fftSize: Int, tuning: Double) throws -> Matrix {
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
        var bank = Matrix(rows: n, columns: bins)
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
    let peaks = pitchPeaks(spectrum, sampleRate: sampleRate, fftSize: fftSize,
                           minimumFrequency: 150, maximumFrequency: 4000, threshold: 0.1)
    guard !peaks.positions.isEmpty else { return 0 }
    let threshold = median(peaks.magnitudes)
    var selected: [Double] = []
    selected.reserveCapacity(peaks.positions.count / 2 + 1)
    for (position, magnitude) in zip(peaks.positions, peaks.magnitudes) where magnitude >= threshold {
        // piptrack's arithmetic: (bin + shift) · sr / n_fft.
        selected.append(position * sampleRate / Double(fftSize))
    }
    return pitchTuning(selected, resolution: resolution, binsPerOctave: binsPerOctave)
}

/// The most common deviation of `frequencies` from the equal-tempered grid, in bins.
func pitchTuning(_ frequencies: [Double], resolution: Double, binsPerOctave: Int) -> Double {
    let edgeCount = Int((1 / resolution).rounded(.up)) + 1
    let step = 1.0 / Double(edgeCount - 1)
    let edges = (0..<edgeCount).map { Double($0) * step + -0.5 }  // numpy.linspace's arithmetic
    let bins = edgeCount - 1
    var counts = [Int](repeating: 0, count: bins)
    var counted = 0
    let reference = 440.0 / 16, perOctave = Double(binsPerOctave)
    edges.withUnsafeBufferPointer { edges in
        counts.withUnsafeMutableBufferPointer { counts in
            let low = edges[0], high = edges[bins], binsPerUnit = Double(bins) / (high - low)
            for f in frequencies where f > 0 {
                let position = perOctave * log2(f / reference)
                // numpy.mod(·, 1), exactly: position minus its floor (floor by
                // truncation, as positions here are far inside Int64's range).
                guard abs(position) < 1e15 else { continue }
                let truncated = Double(Int64(position))
                var residual = position - (truncated > position ? truncated - 1 : truncated)
                if residual >= 0.5 { residual -= 1 }
                // numpy.histogram: the bin is estimated, then corrected against the
                // actual edges; bins are half-open except the last, which is closed.
                guard residual >= low, residual <= high else { continue }
                var index = min(bins - 1, Int((residual - low) * binsPerUnit))
                if residual < edges[index] { index -= 1 }
                else if index + 1 < bins && residual >= edges[index + 1] { index += 1 }
                counts[index] += 1
                counted += 1
            }
        }
    }
    guard counted > 0 else { return 0 }
    var best = 0  // numpy.argmax: the first of equal maxima
    for i in counts.indices where counts[i] > counts[best] { best = i }
    return edges[best]
}

/// Spectral peaks as `piptrack` finds them: the interpolated position of each
/// peak in bins (`bin + shift`; times `sr / n_fft` it is piptrack's pitch) and
/// its interpolated magnitude, frame after frame.
struct SpectralPeaks {
    var positions: [Double]
    var magnitudes: [Float]
}

/// `piptrack` on a frame-major spectrogram: for every frame, the bins that are
/// local maxima above `threshold` × the frame's maximum within the band, with
/// their interpolated position and magnitude.
/// The AVX2 scan (`ser_spectral_peaks`) runs where the CPU has it unless
/// `allowingVectorKernel` is false (tests compare the two).
func pitchPeaks(_ spectrum: Spectrogram.FrameMajor, sampleRate: Double, fftSize: Int,
                minimumFrequency: Double, maximumFrequency: Double, threshold: Float,
                allowingVectorKernel: Bool = true) -> SpectralPeaks {
    let bins = spectrum.binCount
    let fmax = min(maximumFrequency, sampleRate / 2)
    let binHz = sampleRate / Double(fftSize)
    // Bins inside [fmin, fmax); bin 0 is never a local maximum.
    var firstBin = max(1, Int((minimumFrequency / binHz).rounded(.up)))
    while firstBin > 1 && Double(firstBin - 1) * binHz >= minimumFrequency { firstBin -= 1 }
    var endBin = min(bins, Int((fmax / binHz).rounded(.up)))
    while endBin > 0 && Double(endBin - 1) * binHz >= fmax { endBin -= 1 }
    guard firstBin < endBin, spectrum.frameCount > 0 else { return SpectralPeaks(positions: [], magnitudes: []) }
    // Peaks are at least two bins apart, so a frame holds at most this many; the
    // vector kernel's stores need 8 more slots.
    let capacity = spectrum.frameCount * ((endBin - firstBin) / 2 + 1) + 8
    var magnitudes: [Float] = []
    let positions = [Double](unsafeUninitializedCapacity: capacity) { positionOut, positionCount in
        magnitudes = [Float](unsafeUninitializedCapacity: capacity) { magnitudeOut, magnitudeCount in
            let found = spectrum.values.withUnsafeBufferPointer { all in
                spectrum.maxima.withUnsafeBufferPointer { maxima in
                    let vectorCount = allowingVectorKernel && VectorSTFTPlan.isSupported
                        ? ser_spectral_peaks(all.baseAddress!, Int32(spectrum.frameCount), Int32(bins), Int32(firstBin),
                                             Int32(endBin), threshold, maxima.baseAddress!,
                                             positionOut.baseAddress!, magnitudeOut.baseAddress!)
                        : -1
                    guard vectorCount < 0 else { return vectorCount }
                    return scanPeaks(all.baseAddress!, frames: spectrum.frameCount, bins: bins, firstBin: firstBin, endBin: endBin,
                                     threshold: threshold, frameMaxima: maxima.baseAddress!,
                                     positions: positionOut.baseAddress!, magnitudes: magnitudeOut.baseAddress!)
                }
            }
            magnitudeCount = found
        }
        positionCount = magnitudes.count
    }
    return SpectralPeaks(positions: positions, magnitudes: magnitudes)
}

/// The scan behind `pitchPeaks` over raw storage (no captured state, so the
/// recording of a peak costs no exclusivity checks); returns the number of peaks.
private func scanPeaks(_ spectrum: UnsafePointer<Float>, frames: Int, bins: Int, firstBin: Int, endBin: Int, threshold: Float,
                       frameMaxima: UnsafePointer<Float>, positions: UnsafeMutablePointer<Double>, magnitudes: UnsafeMutablePointer<Float>) -> Int {
    var count = 0
    let interiorEnd = min(endBin, bins - 1)
    for t in 0..<frames {
        let s = spectrum + t * bins
        let frame = UnsafeRawPointer(s)
        let reference = threshold * frameMaxima[t]
        let level = SIMD4<Float>(repeating: reference)
        // A peak clears the threshold, beats its gated left neighbour and is
        // not below its gated right one. Bins are tested four at a time into a
        // 64-bit mask, then the set bits are recorded in order: the branches
        // follow the number of peaks, not their pattern.
        var k = firstBin
        while k + 4 <= interiorEnd {
            var bits: UInt64 = 0
            var group = 0
            while group < 16 && k + 4 * group + 4 <= interiorEnd {
                let offset = (k + 4 * group) * 4
                let left = frame.loadUnaligned(fromByteOffset: offset - 4, as: SIMD4<Float>.self)
                let centre = frame.loadUnaligned(fromByteOffset: offset, as: SIMD4<Float>.self)
                let right = frame.loadUnaligned(fromByteOffset: offset + 4, as: SIMD4<Float>.self)
                let peaks = (centre .> level) .& ((centre .> left) .| (left .<= level)) .& ((centre .>= right) .| (right .<= level))
                let lanes = SIMD4<UInt32>(repeating: 0).replacing(with: SIMD4(1, 2, 4, 8), where: peaks)
                bits |= UInt64(lanes.wrappedSum()) << UInt64(4 * group)
                group += 1
            }
            while bits != 0 {
                recordPeak(s, bin: k + bits.trailingZeroBitCount, bins: bins, positions: positions, magnitudes: magnitudes, count: &count)
                bits &= bits &- 1
            }
            k += 4 * group
        }
        @inline(__always) func gated(_ k: Int) -> Float { s[k] > reference ? s[k] : 0 }
        while k < endBin {
            let value = gated(k)
            if value > 0 {
                let isPeak = k == bins - 1 ? value > gated(k - 1) : (value > gated(k - 1) && value >= gated(k + 1))
                if isPeak { recordPeak(s, bin: k, bins: bins, positions: positions, magnitudes: magnitudes, count: &count) }
            }
            k += 1
        }
    }
    return count
}

/// Appends the peak at `bin` of frame `s`: piptrack's parabolic interpolation
/// on the ungated spectrum (no shift at the last bin).
@inline(__always)
private func recordPeak(_ s: UnsafePointer<Float>, bin k: Int, bins: Int, positions: UnsafeMutablePointer<Double>,
                        magnitudes: UnsafeMutablePointer<Float>, count: inout Int) {
    var shift: Float = 0, slope: Float = 0
    if k < bins - 1 {
        let a = s[k + 1] + s[k - 1] - 2 * s[k]
        let b = (s[k + 1] - s[k - 1]) / 2
        if abs(b) < abs(a) { shift = -b / a }
        slope = b
    }
    (positions + count).initialize(to: Double(k) + Double(shift))
    (magnitudes + count).initialize(to: s[k] + 0.5 * slope * shift)
    count &+= 1
}

/// numpy's median: the middle value, or the mean of the two middle values.
/// Found by selection (expected linear time), not a full sort.
func median(_ values: [Float]) -> Float {
    let n = values.count
    guard n > 0 else { return .nan }
    var work = values
    return work.withUnsafeMutableBufferPointer { work in
        let upper = select(work, n / 2)
        guard n % 2 == 0 else { return upper }
        // The largest value below the upper middle sits in the left part after selection.
        var lower = work[0]
        for i in 1..<(n / 2) where work[i] > lower { lower = work[i] }
        return (lower + upper) / 2
    }
}

/// The k-th smallest of `values` (rearranging them), NaN when there are none.
private func select(_ values: UnsafeMutableBufferPointer<Float>, _ k: Int) -> Float {
    values.isEmpty ? .nan : selectKthSmallest(k, in: values)
}
