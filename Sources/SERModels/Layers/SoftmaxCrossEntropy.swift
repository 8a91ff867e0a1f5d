import Foundation
import SERNumerics
import SERSupport

/// Softmax cross-entropy with optional class weights and label smoothing.
public struct SoftmaxCrossEntropy: Sendable {
    public var classWeights: [Float]?
    public var labelSmoothing: Float

    public init(classWeights: [Float]? = nil, labelSmoothing: Float = 0) {
        self.classWeights = classWeights
        self.labelSmoothing = labelSmoothing
    }

    /// Row-wise softmax.
    public static func probabilities(_ logits: Matrix) -> Matrix {
        var out = logits
        for r in 0..<logits.rows {
            let row = r * logits.columns
            var peak = -Float.infinity
            for c in 0..<logits.columns { peak = max(peak, logits.values[row + c]) }
            var total: Float = 0
            for c in 0..<logits.columns { let e = expf(logits.values[row + c] - peak); out.values[row + c] = e; total += e }
            for c in 0..<logits.columns { out.values[row + c] /= total }
        }
        return out
    }

    /// Mean loss over the batch (weighted by class weights, and by `rowWeights`
    /// when given) and ∂loss/∂logits.
    ///
    /// With `labelMasks`, row r's softmax runs over the labels `labelMasks[r]`
    /// permits only (the labels its corpus can carry): the others get probability
    /// 0 and no gradient, and label smoothing spreads over the permitted ones.
    public func lossAndGradient(logits: Matrix, targets: [Int], rowWeights: [Float]? = nil,
                                labelMasks: [[Bool]]? = nil) -> (loss: Float, gradient: Matrix) {
        let p = labelMasks.map { Self.probabilities(logits, masks: $0) } ?? Self.probabilities(logits)
        let k = logits.columns
        var gradient = Matrix(rows: logits.rows, columns: k)
        var loss: Float = 0, totalWeight: Float = 0
        for r in 0..<logits.rows {
            let weight = (classWeights?[targets[r]] ?? 1) * (rowWeights?[r] ?? 1)
            totalWeight += weight
            let mask = labelMasks?[r]
            let permitted = mask.map { Float($0.lazy.filter { $0 }.count) } ?? Float(k)
            for c in 0..<k where mask?[c] ?? true {
                let target = (c == targets[r] ? 1 - labelSmoothing : 0) + labelSmoothing / permitted
                loss -= weight * target * logf(max(p[r, c], 1e-12))
                gradient[r, c] = weight * (p[r, c] - target)
            }
        }
        let scale = 1 / max(totalWeight, 1e-12)
        return (loss * scale, Matrix(rows: gradient.rows, columns: k, values: gradient.values.map { $0 * scale }))
    }

    /// Row-wise softmax over the columns each row's mask permits; the others are 0.
    public static func probabilities(_ logits: Matrix, masks: [[Bool]]) -> Matrix {
        precondition(masks.count == logits.rows, "one label mask per row")
        var out = Matrix(rows: logits.rows, columns: logits.columns)
        for r in 0..<logits.rows {
            let row = r * logits.columns
            var peak = -Float.infinity
            for c in 0..<logits.columns where masks[r][c] { peak = max(peak, logits.values[row + c]) }
            var total: Float = 0
            for c in 0..<logits.columns where masks[r][c] { let e = expf(logits.values[row + c] - peak); out.values[row + c] = e; total += e }
            if total > 0 { for c in 0..<logits.columns { out.values[row + c] /= total } }
        }
        return out
    }
}

/// The most probable label of `probabilities` among those `permitted` allows
/// (all when nil), and its probability renormalized over the permitted labels:
/// how a corpus that cannot carry some labels is scored (CREMA-D has no calm).
/// Index -1 when nothing is permitted.
public func permittedDecision<P: RandomAccessCollection>(_ probabilities: P, permitted: [Bool]?) -> (index: Int, confidence: Double)
where P.Element: BinaryFloatingPoint, P.Index == Int {
    var total = 0.0, best = -1, bestP = -1.0
    for (offset, value) in probabilities.enumerated() where permitted?[offset] ?? true {
        let p = Double(value)
        total += p
        if p > bestP { bestP = p; best = offset }
    }
    return (best, best >= 0 && total > 0 ? bestP / total : 0)
}
