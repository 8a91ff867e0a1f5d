import Foundation

/// Updates parameters from their accumulated gradients, then zeroes the gradients.
/// Parameters that are not trainable (running statistics) are left alone.
public protocol Optimizer: AnyObject {
    /// The step size; a schedule changes it between epochs.
    var learningRate: Float { get set }
    /// One step: moves every trainable parameter against its gradient, then zeroes the gradients.
    func update(_ parameters: [Parameter])
    /// The step count and the per-parameter state (two slots), in the parameters' order (for checkpoints).
    func state(for parameters: [Parameter]) -> (step: Int, first: [[Float]], second: [[Float]])
    /// Restores what `state(for:)` returned for the same parameters.
    func restore(step: Int, first: [[Float]], second: [[Float]], for parameters: [Parameter])
}
