import Foundation
import SERNumerics

/// One fitted tree, as flat arrays: node `i` splits on `feature[i] <= threshold[i]`
/// into `left[i]`/`right[i]`, or is a leaf (`feature[i] == -1`) whose class
/// distribution is `distribution[i·classes ..< (i+1)·classes]`.
struct DecisionTree: Sendable, Equatable {
    var feature: [Int32] = []
    var threshold: [Float] = []
    var left: [Int32] = []
    var right: [Int32] = []
    var distribution: [Float] = []

    var nodeCount: Int { feature.count }

    /// The leaf distribution reached by `row`.
    func leaf(for row: UnsafeBufferPointer<Float>, classes: Int) -> Int {
        var node = 0
        while feature[node] >= 0 {
            node = Int(row[Int(feature[node])] <= threshold[node] ? left[node] : right[node])
        }
        return node * classes
    }
}

extension DecisionTree {
    /// Adds a leaf holding the weighted class distribution of `indices`.
    mutating func append(leafOf indices: [Int], targets: [Int], weights: [Double], classes: Int) {
        var counts = [Double](repeating: 0, count: classes)
        for i in indices { counts[targets[i]] += weights[targets[i]] }
        let total = max(counts.reduce(0, +), 1e-12)
        feature.append(-1)
        threshold.append(0)
        left.append(-1)
        right.append(-1)
        distribution.append(contentsOf: counts.map { Float($0 / total) })
    }
}
