import Foundation

/// Stochastic gradient descent with momentum (heavy ball, or Nesterov's) and
/// decoupled weight decay.
public final class MomentumSGD: Optimizer {
    public var learningRate: Float
    /// The velocity's decay, the decoupled weight decay, and whether the step looks ahead (Nesterov).
    public let momentum: Float, weightDecay: Float, nesterov: Bool
    private var step = 0
    private var velocities: [ObjectIdentifier: [Float]] = [:]

    /// Momentum SGD with these settings.
    public init(learningRate: Float = 0.01, momentum: Float = 0.9, weightDecay: Float = 0, nesterov: Bool = false) {
        self.learningRate = learningRate
        self.momentum = momentum
        self.weightDecay = weightDecay
        self.nesterov = nesterov
    }

    public func update(_ parameters: [Parameter]) {
        step += 1
        for parameter in parameters where parameter.isTrainable {
            let id = ObjectIdentifier(parameter)
            var velocity = velocities[id] ?? [Float](repeating: 0, count: parameter.value.count)
            for i in parameter.value.indices {
                let g = parameter.gradient[i]
                velocity[i] = momentum * velocity[i] + g
                let direction = nesterov ? g + momentum * velocity[i] : velocity[i]
                parameter.value[i] -= learningRate * (direction + (parameter.decays ? weightDecay * parameter.value[i] : 0))
            }
            velocities[id] = velocity
            parameter.zeroGradient()
        }
    }

    /// The velocities in the first slot; the second slot is unused (empty tensors).
    public func state(for parameters: [Parameter]) -> (step: Int, first: [[Float]], second: [[Float]]) {
        let first = parameters.map { velocities[ObjectIdentifier($0)] ?? [Float](repeating: 0, count: $0.value.count) }
        return (step, first, parameters.map { _ in [] })
    }

    public func restore(step: Int, first: [[Float]], second: [[Float]], for parameters: [Parameter]) {
        self.step = step
        for (index, parameter) in parameters.enumerated() where index < first.count && first[index].count == parameter.value.count {
            velocities[ObjectIdentifier(parameter)] = first[index]
        }
    }
}
