import Foundation

/// Adam with decoupled weight decay (AdamW when `weightDecay` > 0).
public final class Adam: Optimizer {
    public var learningRate: Float
    /// The moment decay rates, the denominator's guard and the decoupled weight decay.
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

    /// Adam with these settings (AdamW when `weightDecay` > 0).
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
