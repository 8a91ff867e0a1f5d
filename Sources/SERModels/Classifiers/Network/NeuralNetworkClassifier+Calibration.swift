import Foundation
import SERNumerics

// Calibration: softmax temperatures fitted on held-out speakers.
extension NeuralNetworkClassifier {
    /// Fits the softmax temperatures that minimise the negative log-likelihood on
    /// `validation` (temperature scaling; Guo et al. 2017). Accuracy is unchanged.
    public func calibrate(on validation: LabelledMatrix) {
        guard let standardizer, validation.features.rows > 0 else { return }
        let x = standardizer.apply(validation.features)
        let (emotion, gender) = logits(standardized: x)
        temperature = TemperatureScaling.fittedTemperature(logits: emotion, targets: validation.targets, labelMasks: validation.labelMasks)
        if let gender {
            let known = validation.genders.indices.filter { validation.genders[$0] != nil }
            if !known.isEmpty {
                genderTemperature = TemperatureScaling.fittedTemperature(logits: gender.rows(known), targets: known.map { validation.genders[$0]! })
            }
        }
    }

    /// Takes `other`'s temperatures, so a refit keeps the calibration held-out speakers gave.
    public func adoptCalibration(of other: any CalibratedClassifier) {
        (temperature, genderTemperature) = (other.temperature, other.genderTemperature)
    }
}
