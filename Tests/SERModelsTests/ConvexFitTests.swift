import Foundation
import SERNumerics
import SERSupport
import Testing
@testable import SERModels

/// L-BFGS, and logistic regression fitted with it to the optimum of its
/// L2-regularized objective (`NeuralNetworkConfiguration.l2Penalty`).
@Suite struct ConvexFitTests {
    /// A quadratic whose curvatures span three decades, where steepest descent
    /// crawls: L-BFGS lands on the centre.
    @Test func limitedMemoryBFGSFindsTheMinimumOfAnIllConditionedQuadratic() {
        let curvatures = (0..<30).map { pow(10, 3 * Double($0) / 29) }
        let centre = (0..<30).map { sin(Double($0)) * 5 }
        var iterations = 0
        let solver = LimitedMemoryBFGS(maximumIterations: 500, gradientTolerance: 1e-9)
        let x = solver.minimize(from: [Double](repeating: 0, count: 30), objective: { x in
            let value = zip(zip(x, centre), curvatures).reduce(0) { $0 + 0.5 * $1.1 * ($1.0.0 - $1.0.1) * ($1.0.0 - $1.0.1) }
            return (value, x.indices.map { curvatures[$0] * (x[$0] - centre[$0]) })
        }, onIteration: { iteration, _, _ in iterations = iteration })
        for i in x.indices { #expect(abs(x[i] - centre[i]) < 1e-4, "x[\(i)] = \(x[i]), centre \(centre[i])") }
        #expect(iterations > 0 && iterations < 200, "\(iterations) iterations")
    }

    /// Rosenbrock's valley: not convex, curved; the minimum is (1, 1).
    @Test func limitedMemoryBFGSFollowsRosenbrocksValley() {
        let x = LimitedMemoryBFGS(maximumIterations: 1000, gradientTolerance: 1e-10).minimize(from: [-1.2, 1]) { p in
            let (a, b) = (p[0], p[1])
            let value = (1 - a) * (1 - a) + 100 * (b - a * a) * (b - a * a)
            return (value, [-2 * (1 - a) - 400 * a * (b - a * a), 200 * (b - a * a)])
        }
        #expect(abs(x[0] - 1) < 1e-4 && abs(x[1] - 1) < 1e-4, "\(x)")
    }

    /// Three overlapping Gaussian classes in 6 dimensions.
    func overlappingClasses(_ count: Int, seed: UInt64) -> LabelledMatrix {
        var generator = SplitMix64(seed: seed)
        var values: [Float] = [], targets: [Int] = []
        for i in 0..<count {
            let c = i % 3
            values += (0..<6).map { d in Float(d == c ? 1.2 : 0) + 10 * Float(d) + generator.nextStandardNormal() * Float(1 + d) }
            targets.append(c)
        }
        return LabelledMatrix(features: Matrix(rows: count, columns: 6, values: values), targets: targets)
    }

    /// The fitted weights are where the objective's gradient vanishes, computed
    /// here from its definition: (1/n) Xᵀ(P − Y) + λW for the weights and
    /// (1/n) Σ (P − Y) for the biases, on the standardized features. The answer
    /// does not depend on the seed (a convex fit from zero), and a stronger
    /// penalty gives smaller weights.
    @Test func logisticRegressionReachesTheStationaryPointOfItsObjective() throws {
        let data = overlappingClasses(240, seed: 3)
        func fitted(penalty: Float, seed: UInt64) -> NeuralNetworkClassifier {
            var configuration = NeuralNetworkConfiguration()
            configuration.hiddenLayers = []
            configuration.dropout = 0
            configuration.labelSmoothing = 0
            configuration.balanceClasses = false
            configuration.l2Penalty = penalty
            configuration.maximumEpochs = 500
            configuration.seed = seed
            let model = NeuralNetworkClassifier(labels: ["a", "b", "c"], configuration: configuration)
            model.fit(data)
            return model
        }
        func weights(_ model: NeuralNetworkClassifier) throws -> (w: [Float], b: [Float]) {
            let file = model.modelFile()
            return (try #require(file.tensors["dense.0.weight"]).values, try #require(file.tensors["dense.0.bias"]).values)
        }
        let lambda = 0.05
        let model = fitted(penalty: Float(lambda), seed: 1)
        #expect(model.history.count > 0 && model.history.count < 500, "converged in \(model.history.count) iterations")
        let (w, b) = try weights(model)
        let x = try #require(model.standardizer).apply(data.features)
        let n = x.rows, d = x.columns, k = 3
        var weightGradient = [Double](repeating: 0, count: d * k), biasGradient = [Double](repeating: 0, count: k)
        for r in 0..<n {
            var logits = (0..<k).map { c in Double(b[c]) + (0..<d).reduce(0) { $0 + Double(x[r, $1]) * Double(w[$1 * k + c]) } }
            let peak = logits.max() ?? 0
            logits = logits.map { exp($0 - peak) }
            let total = logits.reduce(0, +)
            for c in 0..<k {
                let residual = (logits[c] / total - (data.targets[r] == c ? 1 : 0)) / Double(n)
                biasGradient[c] += residual
                for j in 0..<d { weightGradient[j * k + c] += Double(x[r, j]) * residual }
            }
        }
        for i in weightGradient.indices { weightGradient[i] += lambda * Double(w[i]) }
        let largest = (weightGradient + biasGradient).map(abs).max() ?? .infinity
        #expect(largest < 1e-4, "largest gradient component at the fit: \(largest)")

        #expect(try weights(fitted(penalty: Float(lambda), seed: 99)).w == w, "a convex fit from zero ignores the seed")
        let strong = try weights(fitted(penalty: 1, seed: 1)).w
        let strongNorm: Float = strong.reduce(0) { $0 + $1 * $1 }, norm: Float = w.reduce(0) { $0 + $1 * $1 }
        #expect(strongNorm < norm)
    }
}
