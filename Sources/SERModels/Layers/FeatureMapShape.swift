import Foundation
import SERNumerics
import SERSupport

/// The shape of one example's feature map. A batch is a `Matrix` with one row per
/// example holding `height × width × channels` values, channels fastest
/// ("channels last"). For a log-mel image, height is time and width is the mel band;
/// a sequence of frame vectors is a map of width 1 whose channels are the features.
public struct FeatureMapShape: Codable, Sendable, Hashable {
    public var height: Int
    public var width: Int
    public var channels: Int

    public init(height: Int, width: Int, channels: Int) {
        self.height = height
        self.width = width
        self.channels = channels
    }

    /// A sequence of `length` frames of `features` values each.
    public static func sequence(length: Int, features: Int) -> FeatureMapShape {
        FeatureMapShape(height: length, width: 1, channels: features)
    }

    /// Values per example.
    public var count: Int { height * width * channels }
}
