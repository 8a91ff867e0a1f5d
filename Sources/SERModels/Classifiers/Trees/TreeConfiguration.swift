import Foundation

/// Settings of the tree models: one CART decision tree, or a random forest of them.
public struct TreeConfiguration: Codable, Sendable, Equatable {
    /// Trees in the ensemble (1 for a single decision tree).
    public var trees = 300
    /// Deepest split level; nil grows until leaves are pure or too small.
    public var maximumDepth: Int? = nil
    /// Fewest training examples a leaf may hold.
    public var minimumLeafSize = 1
    /// Features tried at each split: all (CART) or about √features (random forest).
    public var featuresPerSplit: FeatureSampling = .squareRoot
    /// Each tree sees a bootstrap sample of the examples (random forest) or all of them.
    public var bootstrap = true
    /// Weights classes by inverse frequency so rare emotions count as much as common ones.
    public var balanceClasses = true
    /// Seed of the bootstrap samples and feature draws.
    public var seed: UInt64 = 1

    /// Which features a split may try.
    public enum FeatureSampling: String, Codable, Sendable { case all, squareRoot }

    /// The random-forest defaults: 300 bootstrapped trees, √features per split.
    public init() {}

    /// A single CART tree (Gini, all features, no bootstrap), as sklearn's DecisionTreeClassifier grows it.
    public static func decisionTree(seed: UInt64) -> TreeConfiguration {
        var c = TreeConfiguration()
        c.trees = 1
        c.featuresPerSplit = .all
        c.bootstrap = false
        c.minimumLeafSize = 2
        c.seed = seed
        return c
    }

    /// A random forest: 300 trees on bootstrap samples, √features per split.
    public static func randomForest(seed: UInt64) -> TreeConfiguration {
        var c = TreeConfiguration()
        c.seed = seed
        return c
    }
}
