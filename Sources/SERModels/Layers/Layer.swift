import Foundation
import SERNumerics

/// A network stage: `forward` keeps what `backward` needs; `infer` keeps
/// nothing, so a trained network can answer on several threads at once.
public protocol Layer: AnyObject {
    /// Computes the output for a batch (one row per example), remembering what `backward` needs.
    func forward(_ input: Matrix, training: Bool) -> Matrix
    /// The evaluation-mode output, without touching the layer's state (thread-safe).
    func infer(_ input: Matrix) -> Matrix
    /// Given ∂loss/∂output, accumulates parameter gradients and returns ∂loss/∂input.
    func backward(_ outputGradient: Matrix) -> Matrix
    /// The trainable (and running-statistics) arrays, in a fixed order that checkpoints and model files rely on.
    var parameters: [Parameter] { get }
}
