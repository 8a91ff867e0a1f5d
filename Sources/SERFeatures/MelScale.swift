import Foundation
import SERNumerics

/// Hz ↔ mel conversions: Slaney's scale (librosa's default, linear below 1 kHz
/// and logarithmic above) or HTK's `2595 · log10(1 + f/700)`.
public enum MelScale: String, Sendable, Codable, Hashable {
    case slaney
    case htk

    private static let linearStep = 200.0 / 3   // Hz per mel below 1 kHz
    private static let logStartHz = 1000.0
    private static var logStartMel: Double { logStartHz / linearStep }
    private static let logStep = log(6.4) / 27  // log-Hz per mel above 1 kHz

    /// The mel value of `hertz`.
    public func mel(fromHertz hertz: Double) -> Double {
        switch self {
        case .htk:
            return 2595 * log10(1 + hertz / 700)
        case .slaney:
            if hertz >= Self.logStartHz { return Self.logStartMel + log(hertz / Self.logStartHz) / Self.logStep }
            return hertz / Self.linearStep
        }
    }

    /// The frequency in Hz of `mel`.
    public func hertz(fromMel mel: Double) -> Double {
        switch self {
        case .htk:
            return 700 * (pow(10, mel / 2595) - 1)
        case .slaney:
            if mel >= Self.logStartMel { return Self.logStartHz * exp(Self.logStep * (mel - Self.logStartMel)) }
            return Self.linearStep * mel
        }
    }

    /// `count` frequencies evenly spaced in mel between `minimum` and `maximum` Hz
    /// (`librosa.mel_frequencies`).
    public func frequencies(count: Int, minimum: Double, maximum: Double) -> [Double] {
        let low = mel(fromHertz: minimum), high = mel(fromHertz: maximum)
        guard count > 1 else { return count == 1 ? [hertz(fromMel: low)] : [] }
        return (0..<count).map { i in
            // numpy.linspace: start + i·step, with the end point exact.
            let m = i == count - 1 ? high : low + Double(i) * (high - low) / Double(count - 1)
            return hertz(fromMel: m)
        }
    }
}

/// Mel filter bank settings (`librosa.filters.mel` arguments).
public struct MelConfiguration: Equatable, Hashable, Sendable, Codable {
    public var melCount: Int = 128
    public var minimumFrequency: Double = 0
    /// Upper edge in Hz; `nil` means the Nyquist frequency.
    public var maximumFrequency: Double?
    public var scale: MelScale = .slaney
    /// Slaney area normalisation (librosa's `norm="slaney"`); false for none.
    public var slaneyNormalized: Bool = true

    public init(melCount: Int = 128, minimumFrequency: Double = 0, maximumFrequency: Double? = nil,
                scale: MelScale = .slaney, slaneyNormalized: Bool = true) {
        self.melCount = melCount
        self.minimumFrequency = minimumFrequency
        self.maximumFrequency = maximumFrequency
        self.scale = scale
        self.slaneyNormalized = slaneyNormalized
    }

    /// The `melCount × (1 + fftSize/2)` triangular filter weights.
    public func filterBank(sampleRate: Double, fftSize: Int) throws -> Matrix {
        guard melCount >= 1 else { throw FeatureError.invalidParameter("n_mels must be positive (got \(melCount))") }
        let fmax = maximumFrequency ?? sampleRate / 2
        guard minimumFrequency >= 0, fmax > minimumFrequency else {
            throw FeatureError.invalidParameter("need 0 ≤ fmin < fmax (got \(minimumFrequency), \(fmax))")
        }
        let bins = fftSize / 2 + 1
        let fftFrequencies = (0..<bins).map { Double($0) * sampleRate / Double(fftSize) }
        let edges = scale.frequencies(count: melCount + 2, minimum: minimumFrequency, maximum: fmax)
        var weights = Matrix(rows: melCount, columns: bins)
        for m in 0..<melCount {
            let lowerWidth = edges[m + 1] - edges[m]
            let upperWidth = edges[m + 2] - edges[m + 1]
            // librosa stores the triangle in float32, then scales it in float64.
            let areaScale = slaneyNormalized ? 2 / (edges[m + 2] - edges[m]) : 1
            for k in 0..<bins {
                let rising = (fftFrequencies[k] - edges[m]) / lowerWidth
                let falling = (edges[m + 2] - fftFrequencies[k]) / upperWidth
                let triangle = Float(max(0, min(rising, falling)))
                weights[m, k] = slaneyNormalized ? Float(Double(triangle) * areaScale) : triangle
            }
        }
        return weights
    }
}
