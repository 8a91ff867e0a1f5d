import Foundation
import SERAudio
import SERFeatures

/// An augmented copy of a training item: it inherits the source's speaker, gender
/// and label, so it lands on the same side of every speaker split.
public struct AugmentedItem: Codable, Sendable, Equatable {
    public var source: CorpusItem
    public var perturbation: Perturbation
    /// Drawn from the augmentation seed and the source path: the same copy every run.
    public var seed: UInt64
}

/// Deterministic data augmentation for training.
public enum Augmenter {
    /// `copies` perturbed versions of each training item, cycling through `recipe`.
    /// Pass only the training side of a split: copies never cross it.
    public static func plan(training items: [CorpusItem], recipe: [Perturbation], copies: Int, seed: UInt64) -> [AugmentedItem] {
        guard !recipe.isEmpty, copies > 0 else { return [] }
        return items.flatMap { item in
            (0..<copies).map { copy in
                let itemSeed = seed ^ ContentHash.seed(of: "\(item.path)#\(copy)")
                return AugmentedItem(source: item, perturbation: recipe[copy % recipe.count], seed: itemSeed)
            }
        }
    }
}
