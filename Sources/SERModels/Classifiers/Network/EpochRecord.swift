import Foundation
import SERNumerics
import SERSupport

/// What one epoch looked like, for curves and logs.
public struct EpochRecord: Codable, Sendable, Equatable {
    public var epoch: Int
    public var trainLoss: Double
    public var trainAccuracy: Double
    public var validationLoss: Double?
    public var validationAccuracy: Double?
    public var validationUAR: Double?

    enum CodingKeys: String, CodingKey {
        case epoch
        case trainLoss = "train_loss", trainAccuracy = "train_accuracy"
        case validationLoss = "validation_loss", validationAccuracy = "validation_accuracy", validationUAR = "validation_uar"
    }
}
