import Foundation

/// Which optimizer trains a network.
public enum OptimizerChoice: String, Codable, Sendable, CaseIterable {
    /// Adam with decoupled weight decay.
    case adamw
    /// Stochastic gradient descent with Nesterov momentum 0.9.
    case sgd
}
