import Foundation
import SERNumerics

/// What one epoch looked like, for curves and logs.
public struct EpochRecord: Codable, Sendable, Equatable {
    /// The epoch's number, from 1.
    public var epoch: Int
    /// Mean training loss over the epoch's batches.
    public var trainLoss: Double
    /// Share of training rows classified correctly during the epoch.
    public var trainAccuracy: Double
    /// Loss on the validation speakers after the epoch, when some were held out.
    public var validationLoss: Double?
    /// Accuracy on the validation speakers after the epoch.
    public var validationAccuracy: Double?
    /// Unweighted average recall on the validation speakers after the epoch (what early stopping follows).
    public var validationUAR: Double?

    /// One epoch's figures (a family that trains in epochs reports these in `FittedClassifier.history`).
    public init(epoch: Int, trainLoss: Double, trainAccuracy: Double, validationLoss: Double? = nil,
                validationAccuracy: Double? = nil, validationUAR: Double? = nil) {
        self.epoch = epoch
        self.trainLoss = trainLoss
        self.trainAccuracy = trainAccuracy
        self.validationLoss = validationLoss
        self.validationAccuracy = validationAccuracy
        self.validationUAR = validationUAR
    }

    enum CodingKeys: String, CodingKey {
        case epoch
        case trainLoss = "train_loss", trainAccuracy = "train_accuracy"
        case validationLoss = "validation_loss", validationAccuracy = "validation_accuracy", validationUAR = "validation_uar"
    }
}
