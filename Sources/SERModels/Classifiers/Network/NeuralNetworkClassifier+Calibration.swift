import Foundation
import SERNumerics
import SERSupport

// Calibration: softmax temperatures fitted on held-out speakers.
extension NeuralNetworkClassifier {
    /// Fits the softmax temperatures that minimise the negative log-likelihood on
    /// `validation` (temperature scaling; Guo et al. 2017). Accuracy is unchanged.
    public func calibrate(on validation: LabelledMatrix) {
        guard let standardizer, validation.features.rows > 0 else { return }
        let x = standardizer.apply(validation.features)
        let (emotion, gender) = logits(standardized: x)
        temperature = Self.fittedTemperature(logits: emotion, targets: validation.targets, labelMasks: validation.labelMasks)
        if let gender {
            let known = validation.genders.indices.filter { validation.genders[$0] != nil }
            if !known.isEmpty {
                genderTemperature = Self.fittedTemperature(logits: gender.rows(known), targets: known.map { validation.genders[$0]! })
            }
        }
    }

    public func adoptCalibration(of other: any CalibratedClassifier) {
        (temperature, genderTemperature) = (other.temperature, other.genderTemperature)
    }

    /// Golden-section search over log T in [0.05, 20]; with `labelMasks`, each
    /// row's likelihood is over the labels it can carry.
    static func fittedTemperature(logits: Matrix, targets: [Int], labelMasks: [[Bool]]? = nil) -> Float {
        func nll(_ logT: Double) -> Double {
            let t = Float(exp(logT))
            let scaled = logits.divided(by: t)
            return Double(SoftmaxCrossEntropy().lossAndGradient(logits: scaled, targets: targets, labelMasks: labelMasks).loss)
        }
        var a = log(0.05), b = log(20.0)
        let ratio = (5.0.squareRoot() - 1) / 2
        var c = b - ratio * (b - a), d = a + ratio * (b - a)
        var fc = nll(c), fd = nll(d)
        for _ in 0..<60 where b - a > 1e-4 {
            if fc < fd { b = d; d = c; fd = fc; c = b - ratio * (b - a); fc = nll(c) } else { a = c; c = d; fc = fd; d = a + ratio * (b - a); fd = nll(d) }
        }
        return Float(exp((a + b) / 2))
    }
}
