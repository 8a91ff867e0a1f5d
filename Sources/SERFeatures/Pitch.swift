import SERNumerics
import Synchronization
import Foundation

/// Fundamental-frequency settings shared by YIN and pYIN (librosa's arguments).
public struct PitchConfiguration: Equatable, Hashable, Sendable, Codable {
    /// Lowest and highest f0 searched, in Hz (librosa needs both; C2–C7 is its documented range).
    public var minimumFrequency: Double = 65.40639132514966   // C2
    public var maximumFrequency: Double = 2093.004522404789   // C7
    public var frameLength: Int = 2048
    /// Samples between frames; `nil` means `frameLength / 4` (librosa's default).
    public var hopLength: Int?
    public var centered: Bool = true

    public init(minimumFrequency: Double = 65.40639132514966, maximumFrequency: Double = 2093.004522404789,
                frameLength: Int = 2048, hopLength: Int? = nil, centered: Bool = true) {
        self.minimumFrequency = minimumFrequency
        self.maximumFrequency = maximumFrequency
        self.frameLength = frameLength
        self.hopLength = hopLength
        self.centered = centered
    }

    var hop: Int { hopLength ?? frameLength / 4 }

    func validate(sampleRate: Double) throws {
        guard minimumFrequency > 0 else { throw FeatureError.invalidParameter("fmin must be positive (got \(minimumFrequency))") }
        guard minimumFrequency < maximumFrequency else {
            throw FeatureError.invalidParameter("fmin must be below fmax (got \(minimumFrequency), \(maximumFrequency))")
        }
        guard maximumFrequency <= sampleRate / 2 else {
            throw FeatureError.invalidParameter("fmax=\(maximumFrequency) exceeds the Nyquist frequency \(sampleRate / 2)")
        }
        guard sampleRate / minimumFrequency < Double(frameLength - 1) else {
            throw FeatureError.invalidParameter("frame_length=\(frameLength) is too short for fmin=\(minimumFrequency) Hz: it must exceed sr/fmin + 1")
        }
        guard hop >= 1 else { throw FeatureError.invalidParameter("hop_length must be positive") }
    }
}

/// YIN's cumulative mean normalised difference for every frame, as librosa computes it.
struct DifferenceFunction {
    let minimumPeriod: Int
    let maximumPeriod: Int
    let frameCount: Int
    /// `frameCount × (maximumPeriod − minimumPeriod + 1)`, frame-major.
    let values: [Double]
    /// Parabolic-interpolation offsets of `values`, same layout (0 at each frame's ends).
    let shifts: [Double]
    var lagCount: Int { maximumPeriod - minimumPeriod + 1 }

    init(samples: [Float], sampleRate: Double, configuration c: PitchConfiguration) {
        let n = c.frameLength, hop = c.hop
        minimumPeriod = Int((sampleRate / c.maximumFrequency).rounded(.down))
        maximumPeriod = min(Int((sampleRate / c.minimumFrequency).rounded(.up)), n - 1)
        let pad = c.centered ? n / 2 : 0
        let padded = samples.count + 2 * pad
        frameCount = padded < n ? 0 : 1 + (padded - n) / hop
        let lags = maximumPeriod - minimumPeriod + 1
        var values = [Double](repeating: 0, count: frameCount * lags)
        var shifts = [Double](repeating: 0, count: frameCount * lags)

        // Autocorrelation through the FFT (power spectrum of the zero-padded frame, transformed back).
        var fftSize = 1
        while fftSize < 2 * n - 1 { fftSize <<= 1 }
        let fft = RealFFT<Double>.forCurrentThread(size: fftSize)
        var frame = [Double](repeating: 0, count: fftSize)
        var spectrumRe = [Double](repeating: 0, count: fftSize / 2 + 1), spectrumIm = spectrumRe
        var power = [Double](repeating: 0, count: fftSize)
        var autocorrelation = [Double](repeating: 0, count: fftSize / 2 + 1), unusedIm = autocorrelation
        var difference = [Double](repeating: 0, count: maximumPeriod + 1)
        var energy = [Float](repeating: 0, count: n)

        for t in 0..<frameCount {
            let start = t * hop - pad
            var running: Float = 0
            for i in 0..<n {
                let index = start + i
                let x: Float = (index >= 0 && index < samples.count) ? samples[index] : 0
                frame[i] = Double(x)
                running += x * x          // numpy's float32 cumulative sum of squares
                energy[i] = running
            }
            for i in n..<fftSize { frame[i] = 0 }
            frame.withUnsafeBufferPointer { f in
                spectrumRe.withUnsafeMutableBufferPointer { re in
                    spectrumIm.withUnsafeMutableBufferPointer { im in
                        fft.transform(f.baseAddress!, real: re.baseAddress!, imaginary: im.baseAddress!)
                    }
                }
            }
            // |X|² is real and even; its forward transform is the (unnormalised) autocorrelation.
            for k in 0...(fftSize / 2) {
                let p = spectrumRe[k] * spectrumRe[k] + spectrumIm[k] * spectrumIm[k]
                power[k] = p
                if k > 0 && k < fftSize / 2 { power[fftSize - k] = p }
            }
            power.withUnsafeBufferPointer { p in
                autocorrelation.withUnsafeMutableBufferPointer { ac in
                    unusedIm.withUnsafeMutableBufferPointer { im in
                        fft.transform(p.baseAddress!, real: ac.baseAddress!, imaginary: im.baseAddress!)
                    }
                }
            }
            let scale = 1 / Double(fftSize)
            let r0 = autocorrelation[0] * scale
            // d(τ) = 2·(r(0) − r(τ)) − E(τ−1), with librosa's E(0) := 0.
            difference[0] = 0
            for lag in 1...maximumPeriod {
                let previousEnergy = lag == 1 ? 0 : Double(energy[lag - 1])
                difference[lag] = 2 * (r0 - autocorrelation[lag] * scale) - previousEnergy
            }
            // Normalise by the running mean of d(1…τ).
            var cumulative = 0.0
            let base = t * lags
            for lag in 1...maximumPeriod {
                cumulative += difference[lag]
                if lag >= minimumPeriod {
                    let mean = cumulative / Double(lag)
                    values[base + lag - minimumPeriod] = difference[lag] / (mean + Double.leastNormalMagnitude)
                }
            }
            for j in 1..<max(1, lags - 1) {
                let a = values[base + j + 1] + values[base + j - 1] - 2 * values[base + j]
                let b = (values[base + j + 1] - values[base + j - 1]) / 2
                shifts[base + j] = abs(b) >= abs(a) ? 0 : -b / a
            }
        }
        self.values = values
        self.shifts = shifts
    }

    /// Indices of local minima in frame `t` (librosa's `localmin`, with the first
    /// lag a trough when it is below the second).
    func troughs(inFrame t: Int) -> [Int] {
        let base = t * lagCount
        var result: [Int] = []
        guard lagCount >= 2 else { return lagCount == 1 ? [] : [] }
        if values[base] < values[base + 1] { result.append(0) }
        for j in 1..<(lagCount - 1) where values[base + j] < values[base + j - 1] && values[base + j] <= values[base + j + 1] {
            result.append(j)
        }
        if values[base + lagCount - 1] < values[base + lagCount - 2] { result.append(lagCount - 1) }
        return result
    }
}

extension WaveformFeatures {
    /// `librosa.yin`: f0 in Hz per frame (`1 × frames`), from the first trough of the
    /// normalised difference below `troughThreshold`, else its global minimum.
    public static func yin(_ samples: [Float], sampleRate: Double, configuration: PitchConfiguration = .init(),
                           troughThreshold: Double = 0.1) throws -> Matrix {
        try configuration.validate(sampleRate: sampleRate)
        let d = DifferenceFunction(samples: samples, sampleRate: sampleRate, configuration: configuration)
        var f0 = Matrix(rows: 1, columns: d.frameCount)
        for t in 0..<d.frameCount {
            let base = t * d.lagCount
            var chosen: Int?
            for j in d.troughs(inFrame: t) where d.values[base + j] < troughThreshold { chosen = j; break }
            if chosen == nil {
                var best = 0
                for j in 1..<d.lagCount where d.values[base + j] < d.values[base + best] { best = j }
                chosen = best
            }
            let period = Double(d.minimumPeriod + chosen!) + d.shifts[base + chosen!]
            f0.values[t] = Float(sampleRate / period)
        }
        return f0
    }

    /// YIN aperiodicity per frame: the minimum of the cumulative mean normalised
    /// difference over the lags of the f0 range. Near 0 for periodic (voiced)
    /// frames, near 1 or above for noise and silence.
    public static func aperiodicity(_ samples: [Float], sampleRate: Double, configuration: PitchConfiguration) throws -> [Float] {
        try configuration.validate(sampleRate: sampleRate)
        let d = DifferenceFunction(samples: samples, sampleRate: sampleRate, configuration: configuration)
        return (0..<d.frameCount).map { t in
            let base = t * d.lagCount
            var lowest = Double.infinity
            for j in 0..<d.lagCount where d.values[base + j] < lowest { lowest = d.values[base + j] }
            return Float(lowest)
        }
    }

    /// `librosa.pyin`: f0 (NaN when unvoiced), voiced flag and voiced probability per frame.
    public static func pyin(_ samples: [Float], sampleRate: Double, configuration: PitchConfiguration = .init())
        throws -> (f0: [Float], voiced: [Bool], voicedProbability: [Float]) {
        try configuration.validate(sampleRate: sampleRate)
        return ProbabilisticYIN(sampleRate: sampleRate, configuration: configuration).track(samples)
    }
}

/// pYIN (Mauch & Dixon 2014) with librosa 0.11's defaults: 100 thresholds under a
/// Beta(2, 18) prior, Boltzmann(2) trough priors, 0.1-semitone pitch states, and
/// Viterbi decoding over voiced and unvoiced copies of every pitch state.
struct ProbabilisticYIN {
    let sampleRate: Double
    let configuration: PitchConfiguration
    let thresholdCount = 100
    let boltzmann = 2.0
    let binsPerSemitone = 10
    let maximumTransitionRate = 35.92
    let switchProbability = 0.01
    let noTroughProbability = 0.01

    var pitchBinCount: Int {
        Int((12 * Double(binsPerSemitone) * log2(configuration.maximumFrequency / configuration.minimumFrequency)).rounded(.down)) + 1
    }

    /// P(threshold interval j) under Beta(2, 18): differences of its CDF, 1 − (1−x)¹⁹ − 19x(1−x)¹⁸.
    var betaProbabilities: [Double] {
        let thresholds = (0...thresholdCount).map { Double($0) / Double(thresholdCount) }
        let cdf = thresholds.map { x in 1 - pow(1 - x, 19) - 19 * x * pow(1 - x, 18) }
        return (0..<thresholdCount).map { cdf[$0 + 1] - cdf[$0] }
    }

    func track(_ samples: [Float]) -> (f0: [Float], voiced: [Bool], voicedProbability: [Float]) {
        let d = DifferenceFunction(samples: samples, sampleRate: sampleRate, configuration: configuration)
        let frames = d.frameCount
        let n = pitchBinCount
        let thresholds = (0...thresholdCount).map { Double($0) / Double(thresholdCount) }
        let beta = betaProbabilities
        var observations = [Double](repeating: 0, count: frames * 2 * n)   // frame-major
        var voicedProbability = [Float](repeating: 0, count: frames)

        for t in 0..<frames {
            let base = t * d.lagCount
            let troughs = d.troughs(inFrame: t)
            var probabilities = [Double](repeating: 0, count: troughs.count)
            if !troughs.isEmpty {
                let heights = troughs.map { d.values[base + $0] }
                // For threshold j, troughs below it are ranked in order; the i-th gets a Boltzmann prior.
                for j in 0..<thresholdCount {
                    let threshold = thresholds[j + 1]
                    let below = heights.filter { $0 < threshold }.count
                    guard below > 0 else { continue }
                    let normaliser = (1 - exp(-boltzmann)) / (1 - exp(-boltzmann * Double(below)))
                    var rank = 0
                    for (i, h) in heights.enumerated() where h < threshold {
                        probabilities[i] += normaliser * exp(-boltzmann * Double(rank)) * beta[j]
                        rank += 1
                    }
                }
                var globalMinimum = 0
                for i in 1..<heights.count where heights[i] < heights[globalMinimum] { globalMinimum = i }
                let notBelow = (0..<thresholdCount).filter { !(heights[globalMinimum] < thresholds[$0 + 1]) }.count
                probabilities[globalMinimum] += noTroughProbability * beta[0..<notBelow].reduce(0, +)
            }
            let row = t * 2 * n
            for (i, lag) in troughs.enumerated() where probabilities[i] != 0 {
                let period = Double(d.minimumPeriod + lag) + d.shifts[base + lag]
                let f0 = sampleRate / period
                let bin = (12 * Double(binsPerSemitone) * log2(f0 / configuration.minimumFrequency)).rounded(.toNearestOrEven)
                let index = Int(min(max(bin, 0), Double(n)))
                observations[row + index] = probabilities[i]   // later (longer) periods overwrite, as numpy's assignment does
            }
            var voiced = 0.0
            for k in 0..<n { voiced += observations[row + k] }
            voiced = min(max(voiced, 0), 1)
            voicedProbability[t] = Float(voiced)
            for k in n..<(2 * n) { observations[row + k] = (1 - voiced) / Double(n) }
        }

        let states = viterbi(observations: observations, frames: frames, pitchBins: n)
        var f0 = [Float](repeating: .nan, count: frames)
        var voiced = [Bool](repeating: false, count: frames)
        for t in 0..<frames {
            let state = states[t]
            voiced[t] = state < n
            if voiced[t] {
                f0[t] = Float(configuration.minimumFrequency * pow(2, Double(state % n) / Double(12 * binsPerSemitone)))
            }
        }
        return (f0, voiced, voicedProbability)
    }

    /// Viterbi over `2·pitchBins` states whose transitions are a triangle of
    /// half-width `h` around the current pitch, kept (0.99) or switched (0.01)
    /// between voiced and unvoiced. Entries outside the band are zero, which
    /// librosa scores as log(tiny); the best of those is found from prefix and
    /// suffix maxima, so the search costs O(states · band) instead of O(states²).
    ///
    /// The band is walked diagonal by diagonal (source = target + d) so the
    /// inner loop runs over contiguous targets, four at a time. Candidates are
    /// visited in increasing source index and replace the best only when
    /// strictly better, so ties go to the lowest source, as numpy's argmax does.
    private func viterbi(observations: [Double], frames: Int, pitchBins n: Int) -> [Int] {
        guard frames > 0 else { return [] }
        let states = 2 * n
        let maxSemitonesPerFrame = (maximumTransitionRate * 12 * Double(configuration.hop) / sampleRate).rounded(.toNearestOrEven)
        let width = Int(maxSemitonesPerFrame) * binsPerSemitone + 1
        let h = width / 2
        let epsilon = Double.leastNormalMagnitude
        let logEpsilon = log(epsilon)
        let table = PitchTransitionTable.shared(pitchBins: n, halfWidth: h, switchProbability: switchProbability)
        let logInitial = log(1 / Double(states) + epsilon)
        var value = (0..<states).map { log(observations[$0] + epsilon) + logInitial }
        var next = [Double](repeating: 0, count: states)
        var pointers = [Int32](repeating: 0, count: frames * states)
        var prefixValue = [Double](repeating: 0, count: states), prefixIndex = [Int32](repeating: 0, count: states)
        var suffixValue = [Double](repeating: 0, count: states), suffixIndex = [Int32](repeating: 0, count: states)
        var best = [Double](repeating: 0, count: n), source = [Int64](repeating: 0, count: n)
        let lanes = SIMD4<Int64>(0, 1, 2, 3)

        for t in 1..<frames {
            // Best source (lowest index on ties) in each block's prefix [0, i] and suffix [i, n).
            for block in 0..<2 {
                let offset = block * n
                var runningValue = value[offset], runningIndex = offset
                for i in 0..<n {
                    if value[offset + i] > runningValue { runningValue = value[offset + i]; runningIndex = offset + i }
                    prefixValue[offset + i] = runningValue; prefixIndex[offset + i] = Int32(runningIndex)
                }
                runningValue = value[offset + n - 1]; runningIndex = offset + n - 1
                for i in Swift.stride(from: n - 1, through: 0, by: -1) {
                    if value[offset + i] >= runningValue { runningValue = value[offset + i]; runningIndex = offset + i }
                    suffixValue[offset + i] = runningValue; suffixIndex[offset + i] = Int32(runningIndex)
                }
            }
            value.withUnsafeBufferPointer { value in
            best.withUnsafeMutableBufferPointer { best in
            source.withUnsafeMutableBufferPointer { source in
                let bestBase = best.baseAddress!, sourceBase = source.baseAddress!
                for targetBlock in 0..<2 {
                    for j in 0..<n { best[j] = -.infinity; source[j] = Int64(Int32.max) }
                    for sourceBlock in 0..<2 {
                        let offset = sourceBlock * n
                        // Sources below the band [j−h, j+h]: transition exactly zero.
                        if h + 1 < n {
                            for j in (h + 1)..<n {
                                let candidate = prefixValue[offset + j - h - 1] + logEpsilon
                                if candidate > best[j] { best[j] = candidate; source[j] = Int64(prefixIndex[offset + j - h - 1]) }
                            }
                        }
                        // In-band sources i = j + d, by increasing d (so increasing i for each target).
                        let weights = sourceBlock == targetBlock ? table.stay : table.change
                        weights.withUnsafeBufferPointer { weights in
                            for d in -h...h {
                                let low = max(0, -d), high = min(n, n - d)
                                guard low < high else { continue }
                                let diagonal = weights.baseAddress! + (d + h) * table.stride
                                let values = value.baseAddress! + offset + d
                                let sourceIndex = Int64(offset + d)
                                var j = low
                                while j + 4 <= high {
                                    let candidate = UnsafeRawPointer(values + j).loadUnaligned(as: SIMD4<Double>.self)
                                        + UnsafeRawPointer(diagonal + j).loadUnaligned(as: SIMD4<Double>.self)
                                    let current = UnsafeRawPointer(bestBase + j).loadUnaligned(as: SIMD4<Double>.self)
                                    let wins = candidate .> current
                                    let indices = UnsafeRawPointer(sourceBase + j).loadUnaligned(as: SIMD4<Int64>.self)
                                    UnsafeMutableRawPointer(bestBase + j).storeBytes(of: current.replacing(with: candidate, where: wins), as: SIMD4<Double>.self)
                                    let sources = SIMD4<Int64>(repeating: sourceIndex + Int64(j)) &+ lanes
                                    UnsafeMutableRawPointer(sourceBase + j).storeBytes(of: indices.replacing(with: sources, where: wins), as: SIMD4<Int64>.self)
                                    j += 4
                                }
                                while j < high {
                                    let candidate = values[j] + diagonal[j]
                                    if candidate > best[j] { best[j] = candidate; source[j] = sourceIndex + Int64(j) }
                                    j += 1
                                }
                            }
                        }
                        // Sources above the band.
                        if n - h - 1 > 0 {
                            for j in 0..<(n - h - 1) {
                                let candidate = suffixValue[offset + j + h + 1] + logEpsilon
                                if candidate > best[j] { best[j] = candidate; source[j] = Int64(suffixIndex[offset + j + h + 1]) }
                            }
                        }
                    }
                    let base = targetBlock * n
                    // Most voiced observations are zero and every unvoiced one in a frame is equal: reuse their logs.
                    var lastObservation = 0.0, lastLog = logEpsilon
                    for j in 0..<n {
                        let observation = observations[t * states + base + j]
                        if observation != lastObservation { lastObservation = observation; lastLog = log(observation + epsilon) }
                        next[base + j] = lastLog + best[j]
                        pointers[t * states + base + j] = Int32(truncatingIfNeeded: source[j])
                    }
                }
            }
            }
            }
            swap(&value, &next)
        }
        var path = [Int](repeating: 0, count: frames)
        var last = 0
        for s in 1..<states where value[s] > value[last] { last = s }
        path[frames - 1] = last
        for t in Swift.stride(from: frames - 2, through: 0, by: -1) { path[t] = Int(pointers[(t + 1) * states + path[t + 1]]) }
        return path
    }
}

/// pYIN's log transition weights, by diagonal: `stay[(d + h)·stride + j]` is the log
/// probability of moving from pitch bin `j + d` to bin `j` while keeping the
/// voicing, `change` while switching it. Each source row is the triangle
/// normalised over its in-range part, as librosa builds it. Built once per
/// (bins, half-width, switch probability) and shared.
struct PitchTransitionTable: Sendable {
    let stay: [Double]
    let change: [Double]
    /// Row length: the bins rounded up to a multiple of 4, padded with −∞.
    let stride: Int

    private struct Key: Hashable { var bins: Int; var halfWidth: Int; var switchProbability: Double }
    private static let cache = Mutex<[Key: PitchTransitionTable]>([:])

    static func shared(pitchBins n: Int, halfWidth h: Int, switchProbability: Double) -> PitchTransitionTable {
        let key = Key(bins: n, halfWidth: h, switchProbability: switchProbability)
        if let table = cache.withLock({ $0[key] }) { return table }
        let table = PitchTransitionTable(pitchBins: n, halfWidth: h, switchProbability: switchProbability)
        cache.withLock { $0[key] = table }
        return table
    }

    init(pitchBins n: Int, halfWidth h: Int, switchProbability: Double) {
        let width = 2 * h + 1
        let epsilon = Double.leastNormalMagnitude
        let center = Double(width - 1) / 2, halfSpan = Double(width + 1) / 2
        let triangle: [Double] = (0..<width).map { k in 1 - abs(Double(k) - center) / halfSpan }
        let stride = (n + 3) / 4 * 4
        var stay = [Double](repeating: -.infinity, count: width * stride)
        var change = [Double](repeating: -.infinity, count: width * stride)
        for i in 0..<n {
            let low = max(0, i - h), high = min(n - 1, i + h)
            let total = (low...high).reduce(0.0) { $0 + triangle[$1 - i + h] }
            for j in low...high {
                let weight = triangle[j - i + h] / total
                let slot = (i - j + h) * stride + j   // diagonal d = i − j
                stay[slot] = log((1 - switchProbability) * weight + epsilon)
                change[slot] = log(switchProbability * weight + epsilon)
            }
        }
        self.stay = stay
        self.change = change
        self.stride = stride
    }
}
