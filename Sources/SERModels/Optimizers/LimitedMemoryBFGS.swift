import Foundation

/// Minimises a smooth function of many variables by limited-memory BFGS
/// (Nocedal & Wright, *Numerical Optimization*, algorithms 7.4 and 7.5): the
/// search direction comes from the last `memory` steps and gradient changes
/// through the two-loop recursion, and each step length from a backtracking
/// line search that asks for sufficient decrease (the Armijo condition).
///
/// Used for convex objectives (L2-regularized logistic regression), which it
/// fits to convergence in a few hundred full-batch evaluations, where a
/// stochastic optimizer stops at some distance from the optimum. Deterministic.
struct LimitedMemoryBFGS {
    /// How many past steps shape the curvature estimate.
    var memory = 10
    var maximumIterations: Int
    /// Stop when the largest gradient component falls below this.
    var gradientTolerance = 1e-5
    /// Stop when an iteration lowers the objective by less than this share of it.
    var relativeDecreaseTolerance = 1e-10

    /// A point's objective value and gradient.
    typealias Objective = ([Double]) -> (value: Double, gradient: [Double])

    /// The minimiser reached from `start`; `onIteration` hears each iteration's
    /// number (from 1), the point its step reached and the objective value there.
    func minimize(from start: [Double], objective: Objective,
                  onIteration: (_ iteration: Int, _ point: [Double], _ value: Double) -> Void = { _, _, _ in }) -> [Double] {
        var x = start
        var (value, gradient) = objective(x)
        var steps: [[Double]] = [], changes: [[Double]] = [], curvatures: [Double] = []
        guard maximumIterations > 0 else { return x }
        for iteration in 1...maximumIterations {
            if Self.largestMagnitude(gradient) <= gradientTolerance { break }
            var direction = Self.twoLoopDirection(gradient: gradient, steps: steps, changes: changes, curvatures: curvatures)
            var slope = Self.dot(direction, gradient)
            if !(slope < 0) {
                // The curvature pairs no longer give a descent direction: start over from steepest descent.
                steps.removeAll(); changes.removeAll(); curvatures.removeAll()
                direction = gradient.map { -$0 }
                slope = -Self.dot(gradient, gradient)
            }
            // The first step has no curvature to scale it: keep it short.
            var length = steps.isEmpty ? min(1, 1 / max(1e-12, Self.largestMagnitude(gradient))) : 1
            var candidate = x, candidateValue = value, candidateGradient = gradient
            var accepted = false
            for _ in 0..<40 {
                for i in x.indices { candidate[i] = x[i] + length * direction[i] }
                (candidateValue, candidateGradient) = objective(candidate)
                if candidateValue.isFinite && candidateValue <= value + 1e-4 * length * slope { accepted = true; break }
                length *= 0.5
            }
            guard accepted else { break }
            let step = zip(candidate, x).map { $0 - $1 }
            let change = zip(candidateGradient, gradient).map { $0 - $1 }
            let curvature = Self.dot(step, change)
            if curvature > 1e-12 {
                steps.append(step); changes.append(change); curvatures.append(curvature)
                if steps.count > memory { steps.removeFirst(); changes.removeFirst(); curvatures.removeFirst() }
            }
            let decrease = value - candidateValue
            x = candidate
            (value, gradient) = (candidateValue, candidateGradient)
            onIteration(iteration, x, value)
            if decrease <= relativeDecreaseTolerance * max(1, abs(value)) { break }
        }
        return x
    }

    /// −H·g, with H the inverse Hessian estimate the stored pairs give.
    private static func twoLoopDirection(gradient: [Double], steps: [[Double]], changes: [[Double]],
                                         curvatures: [Double]) -> [Double] {
        var q = gradient
        var alphas = [Double](repeating: 0, count: steps.count)
        for k in steps.indices.reversed() {
            alphas[k] = dot(steps[k], q) / curvatures[k]
            for i in q.indices { q[i] -= alphas[k] * changes[k][i] }
        }
        if let last = changes.last, let curvature = curvatures.last {
            let scale = curvature / max(1e-300, dot(last, last))
            for i in q.indices { q[i] *= scale }
        }
        for k in steps.indices {
            let beta = dot(changes[k], q) / curvatures[k]
            for i in q.indices { q[i] += (alphas[k] - beta) * steps[k][i] }
        }
        return q.map { -$0 }
    }

    private static func dot(_ a: [Double], _ b: [Double]) -> Double {
        var sum = 0.0
        for i in a.indices { sum += a[i] * b[i] }
        return sum
    }

    private static func largestMagnitude(_ a: [Double]) -> Double { a.reduce(0) { max($0, abs($1)) } }
}
