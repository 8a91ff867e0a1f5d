import Foundation
import SERAudio
import SERFeatures
import SERSupport

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
                let itemSeed = seed ^ UInt64(ContentHash.ofBytes(Array("\(item.path)#\(copy)".utf8)).prefix(16), radix: 16)!
                return AugmentedItem(source: item, perturbation: recipe[copy % recipe.count], seed: itemSeed)
            }
        }
    }

    /// SpecAugment: `frequencyMasks` bands of up to `maximumFrequencyWidth` rows and
    /// `timeMasks` spans of up to `maximumTimeWidth` frames set to the matrix mean.
    public static func specAugment(_ matrix: FeatureMatrix, frequencyMasks: Int = 2, maximumFrequencyWidth: Int = 8,
                                   timeMasks: Int = 2, maximumTimeWidth: Int = 10, seed: UInt64) -> FeatureMatrix {
        var out = matrix
        guard matrix.rows > 0, matrix.columns > 0 else { return out }
        var generator = SplitMix64(seed: seed)
        let mean = matrix.values.reduce(0, +) / Float(matrix.values.count)
        func draw(_ bound: Int) -> Int { bound <= 0 ? 0 : Int(generator.next() % UInt64(bound + 1)) }
        for _ in 0..<frequencyMasks {
            let width = draw(min(maximumFrequencyWidth, matrix.rows))
            let start = draw(matrix.rows - width)
            for r in start..<(start + width) { for c in 0..<matrix.columns { out[r, c] = mean } }
        }
        for _ in 0..<timeMasks {
            let width = draw(min(maximumTimeWidth, matrix.columns))
            let start = draw(matrix.columns - width)
            for c in start..<(start + width) { for r in 0..<matrix.rows { out[r, c] = mean } }
        }
        return out
    }
}
