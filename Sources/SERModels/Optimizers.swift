import Foundation

/// Updates parameters from their accumulated gradients, then zeroes the gradients.
/// Parameters that are not trainable (running statistics) are left alone.
public protocol Optimizer: AnyObject {
    /// The step size; a schedule changes it between epochs.
    var learningRate: Float { get set }
    func update(_ parameters: [Parameter])
    /// The step count and the per-parameter state (two slots), in the parameters' order (for checkpoints).
    func state(for parameters: [Parameter]) -> (step: Int, first: [[Float]], second: [[Float]])
    /// Restores what `state(for:)` returned for the same parameters.
    func restore(step: Int, first: [[Float]], second: [[Float]], for parameters: [Parameter])
}

/// Adam with decoupled weight decay (AdamW when `weightDecay` > 0).
public final class Adam: Optimizer {
    public var learningRate: Float
    public let beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float
    private var step = 0
    private var moments: [ObjectIdentifier: ([Float], [Float])] = [:]

    public func state(for parameters: [Parameter]) -> (step: Int, first: [[Float]], second: [[Float]]) {
        let pairs = parameters.map { moments[ObjectIdentifier($0)] ?? ([Float](repeating: 0, count: $0.value.count), [Float](repeating: 0, count: $0.value.count)) }
        return (step, pairs.map(\.0), pairs.map(\.1))
    }

    public func restore(step: Int, first: [[Float]], second: [[Float]], for parameters: [Parameter]) {
        self.step = step
        for (index, parameter) in parameters.enumerated() where index < first.count && index < second.count {
            moments[ObjectIdentifier(parameter)] = (first[index], second[index])
        }
    }

    public init(learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8, weightDecay: Float = 0) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
    }

    public func update(_ parameters: [Parameter]) {
        step += 1
        let correction1 = 1 - powf(beta1, Float(step)), correction2 = 1 - powf(beta2, Float(step))
        for parameter in parameters where parameter.isTrainable {
            let id = ObjectIdentifier(parameter)
            var (m, v) = moments[id] ?? ([Float](repeating: 0, count: parameter.value.count), [Float](repeating: 0, count: parameter.value.count))
            for i in parameter.value.indices {
                let g = parameter.gradient[i]
                m[i] = beta1 * m[i] + (1 - beta1) * g
                v[i] = beta2 * v[i] + (1 - beta2) * g * g
                let update = (m[i] / correction1) / ((v[i] / correction2).squareRoot() + epsilon)
                parameter.value[i] -= learningRate * (update + (parameter.decays ? weightDecay * parameter.value[i] : 0))
            }
            moments[id] = (m, v)
            parameter.zeroGradient()
        }
    }
}


/// Stochastic gradient descent with momentum (heavy ball, or Nesterov's) and
/// decoupled weight decay.
public final class MomentumSGD: Optimizer {
    public var learningRate: Float
    public let momentum: Float, weightDecay: Float, nesterov: Bool
    private var step = 0
    private var velocities: [ObjectIdentifier: [Float]] = [:]

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

/// How the learning rate changes over the epochs of a run: a factor on the base rate.
public enum LearningRateSchedule: String, Codable, CaseIterable, Sendable {
    /// The base rate throughout.
    case constant
    /// A linear warm-up over the first 5% of epochs (at least one), then a cosine decay to 1% of the base rate.
    case cosine
    /// Halved after every quarter of the epochs.
    case step

    /// The factor for `epoch` (1-based) of a run of `epochs`.
    public func factor(epoch: Int, of epochs: Int) -> Float {
        let total = max(1, epochs), e = min(max(1, epoch), total)
        switch self {
        case .constant:
            return 1
        case .cosine:
            let warmup = max(1, total / 20)
            if e <= warmup { return Float(e) / Float(warmup + 1) }
            let progress = Double(e - warmup - 1) / Double(max(1, total - warmup - 1))
            return Float(0.01 + 0.99 * 0.5 * (1 + cos(Double.pi * progress)))
        case .step:
            let quarter = max(1, total / 4)
            return powf(0.5, Float((e - 1) / quarter))
        }
    }
}
