import Foundation

/// Conversion to decibels as `librosa.power_to_db` / `amplitude_to_db` do it.
public struct DecibelScaling: Equatable, Hashable, Sendable, Codable {
    /// Reference power (`ref`); 1.0 means dB relative to full scale power 1.
    public var reference: Double = 1.0
    /// Floor applied before the logarithm (`amin`).
    public var minimum: Double = 1e-10
    /// Values more than this many dB below the matrix's maximum are raised to it (`top_db`); nil for no floor.
    public var dynamicRange: Double? = 80

    public init(reference: Double = 1.0, minimum: Double = 1e-10, dynamicRange: Double? = 80) {
        self.reference = reference
        self.minimum = minimum
        self.dynamicRange = dynamicRange
    }

    /// `10 · log10(max(minimum, S) / max(minimum, reference))`, floored `dynamicRange` dB
    /// below the maximum of the whole matrix.
    public func powerToDecibels(_ power: FeatureMatrix) -> FeatureMatrix {
        var out = power
        let floor = Float(minimum)
        let referenceDB = Float(10 * log10(max(minimum, abs(reference))))
        var peak = -Float.infinity
        out.values.withUnsafeMutableBufferPointer { values in
            for i in values.indices {
                let db = 10 * log10f(max(floor, values[i])) - referenceDB
                values[i] = db
                peak = max(peak, db)
            }
            if let dynamicRange {
                let lowest = peak - Float(dynamicRange)
                for i in values.indices where values[i] < lowest { values[i] = lowest }
            }
        }
        return out
    }

    /// `amplitude_to_db`: the power conversion of |S|² with the reference and floor squared.
    public func amplitudeToDecibels(_ amplitude: FeatureMatrix) -> FeatureMatrix {
        var squared = amplitude
        squared.values = amplitude.values.map { $0 * $0 }
        let powerScaling = DecibelScaling(reference: reference * reference, minimum: minimum * minimum,
                                          dynamicRange: dynamicRange)
        return powerScaling.powerToDecibels(squared)
    }
}
