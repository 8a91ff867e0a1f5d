import Foundation

/// A trainable parameter tensor and its gradient.
public final class Parameter: @unchecked Sendable {
    public var value: [Float]
    public var gradient: [Float]
    /// Whether weight decay applies (weights yes, biases no).
    public let decays: Bool
    /// Whether optimizers change it. Running statistics (batch normalization) are
    /// state, not trainable, but are saved and restored with the weights.
    public let isTrainable: Bool

    public init(_ value: [Float], decays: Bool, trainable: Bool = true) {
        self.value = value
        self.gradient = [Float](repeating: 0, count: trainable ? value.count : 0)
        self.decays = decays
        self.isTrainable = trainable
    }

    func zeroGradient() { for i in gradient.indices { gradient[i] = 0 } }
}
