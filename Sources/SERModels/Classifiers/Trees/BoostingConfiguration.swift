import Foundation
import SERNumerics
import SERSupport

/// Settings of gradient-boosted trees (multiclass softmax, Newton steps).
public struct BoostingConfiguration: Codable, Sendable, Equatable {
    /// Boosting rounds; each adds one regression tree per class.
    public var rounds = 200
    /// Shrinkage of each tree's contribution.
    public var learningRate: Float = 0.1
    /// Deepest split level of each tree.
    public var maximumDepth = 4
    /// Fewest examples a leaf may hold.
    public var minimumLeafSize = 8
    /// L2 penalty on leaf values (λ in the Newton step −G/(H+λ)).
    public var leafPenalty: Double = 1
    /// Share of the examples each round sees (stochastic gradient boosting).
    public var subsample = 0.8
    /// Quantile bins per feature for split finding.
    public var bins = 32
    /// Weights classes by inverse frequency so rare emotions count as much as common ones.
    public var balanceClasses = true
    /// Seed of the row subsampling.
    public var seed: UInt64 = 1
    /// The defaults: 200 rounds of depth-4 trees at rate 0.1.
    public init() {}
}
