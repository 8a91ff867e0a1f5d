import Foundation

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
