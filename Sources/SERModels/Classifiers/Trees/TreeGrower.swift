import Foundation
import SERNumerics
import SERSupport

/// Grows CART trees: Gini impurity with class weights, best threshold over the
/// tried features (midpoints between distinct sorted values).
struct TreeGrower {
    let features: Matrix
    let targets: [Int]
    let classes: Int
    let weights: [Double]            // per class
    let configuration: TreeConfiguration

    func grow(sample: [Int], generator: inout SplitMix64) -> DecisionTree {
        var tree = DecisionTree()
        var order = [Int](repeating: 0, count: sample.count)
        var stack: [(indices: [Int], depth: Int, node: Int)] = []
        tree.append(leafOf: sample, targets: targets, weights: weights, classes: classes)
        stack.append((sample, 0, 0))
        let featureCount = features.columns
        let tried = configuration.featuresPerSplit == .all ? featureCount : max(1, Int(Double(featureCount).squareRoot().rounded()))
        var candidates = Array(0..<featureCount)
        while let (indices, depth, node) = stack.popLast() {
            guard indices.count >= 2 * configuration.minimumLeafSize, depth < (configuration.maximumDepth ?? .max) else { continue }
            var counts = [Double](repeating: 0, count: classes)
            for i in indices { counts[targets[i]] += weights[targets[i]] }
            let total = counts.reduce(0, +)
            let parentImpurity = gini(counts, total)
            guard parentImpurity > 1e-12 else { continue }
            // Draw the features to try (a partial Fisher–Yates shuffle).
            for k in 0..<tried {
                let j = k + Int(generator.next() % UInt64(featureCount - k))
                candidates.swapAt(k, j)
            }
            var best: (gain: Double, feature: Int, threshold: Float) = (1e-12, -1, 0)
            var leftCounts = [Double](repeating: 0, count: classes)
            for f in candidates.prefix(tried) {
                order.removeAll(keepingCapacity: true)
                order.append(contentsOf: indices)
                order.sort { features[$0, f] < features[$1, f] }
                for c in 0..<classes { leftCounts[c] = 0 }
                var leftTotal = 0.0
                for position in 0..<(order.count - 1) {
                    let i = order[position]
                    leftCounts[targets[i]] += weights[targets[i]]
                    leftTotal += weights[targets[i]]
                    let value = features[i, f], nextValue = features[order[position + 1], f]
                    guard value < nextValue, position + 1 >= configuration.minimumLeafSize,
                          order.count - position - 1 >= configuration.minimumLeafSize else { continue }
                    var impurityLeft = 1.0, impurityRight = 1.0
                    let rightTotal = total - leftTotal
                    for c in 0..<classes {
                        let l = leftCounts[c] / leftTotal, r = (counts[c] - leftCounts[c]) / rightTotal
                        impurityLeft -= l * l
                        impurityRight -= r * r
                    }
                    let gain = parentImpurity - (leftTotal * impurityLeft + rightTotal * impurityRight) / total
                    if gain > best.gain {
                        let midpoint = value + (nextValue - value) / 2
                        best = (gain, f, midpoint < nextValue ? midpoint : value)
                    }
                }
            }
            guard best.feature >= 0 else { continue }
            let leftIndices = indices.filter { features[$0, best.feature] <= best.threshold }
            let rightIndices = indices.filter { features[$0, best.feature] > best.threshold }
            guard !leftIndices.isEmpty, !rightIndices.isEmpty else { continue }
            tree.feature[node] = Int32(best.feature)
            tree.threshold[node] = best.threshold
            tree.left[node] = Int32(tree.nodeCount)
            tree.append(leafOf: leftIndices, targets: targets, weights: weights, classes: classes)
            tree.right[node] = Int32(tree.nodeCount)
            tree.append(leafOf: rightIndices, targets: targets, weights: weights, classes: classes)
            stack.append((rightIndices, depth + 1, Int(tree.right[node])))
            stack.append((leftIndices, depth + 1, Int(tree.left[node])))
        }
        return tree
    }

    private func gini(_ counts: [Double], _ total: Double) -> Double {
        guard total > 0 else { return 0 }
        return 1 - counts.reduce(0) { $0 + ($1 / total) * ($1 / total) }
    }
}

/// Per-class example weights: n / (classes · count) when `balanced` (every class
/// weighs as much in total), otherwise 1.
func classWeights(_ targets: [Int], classes: Int, balanced: Bool) -> [Double] {
    var counts = [Double](repeating: 0, count: classes)
    for t in targets { counts[t] += 1 }
    return counts.map { balanced && $0 > 0 ? Double(targets.count) / (Double(classes) * $0) : 1 }
}
