import Foundation
import SERNumerics

/// Temperature scaling (Guo et al. 2017): one softmax temperature per head,
/// fitted on held-out speakers to minimise the negative log-likelihood. It
/// changes confidence, never the ranking, so accuracy is unchanged. Every
/// classifier family calibrates with it.
public enum TemperatureScaling {
    /// The temperature T that minimises the negative log-likelihood of
    /// softmax(`logits` / T) for `targets`, by golden-section search over log T
    /// in [0.05, 20]; with `labelMasks`, each row's likelihood is over the
    /// labels it can carry.
    public static func fittedTemperature(logits: Matrix, targets: [Int], labelMasks: [[Bool]]? = nil) -> Float {
        func nll(_ logT: Double) -> Double {
            let t = Float(exp(logT))
            let scaled = logits.divided(by: t)
            return Double(SoftmaxCrossEntropy().lossAndGradient(logits: scaled, targets: targets, labelMasks: labelMasks).loss)
        }
        var a = log(0.05), b = log(20.0)
        let ratio = (5.0.squareRoot() - 1) / 2
        var c = b - ratio * (b - a), d = a + ratio * (b - a)
        var fc = nll(c), fd = nll(d)
        for _ in 0..<60 where b - a > 1e-4 {
            if fc < fd { b = d; d = c; fd = fc; c = b - ratio * (b - a); fc = nll(c) } else { a = c; c = d; fc = fd; d = a + ratio * (b - a); fd = nll(d) }
        }
        return Float(exp((a + b) / 2))
    }
}
