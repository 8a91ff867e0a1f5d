import Foundation
import SERNumerics
import SERSupport

/// A trainable parameter tensor and its gradient.
public final class Parameter: @unchecked Sendable {
    public var value: [Float]
    public var gradient: [Float]
    /// Whether weight decay applies (weights yes, biases no).
    public let decays: Bool
    /// Whether optimizers change it. Running statistics (batch normalization) are
    /// state, not trainable, but are saved and restored with the weights.
    public let isTrainable: Bool

    public init(_ value: [Float], decays: Bool, trainable: Bool = true) {
        self.value = value
        self.gradient = [Float](repeating: 0, count: trainable ? value.count : 0)
        self.decays = decays
        self.isTrainable = trainable
    }

    func zeroGradient() { for i in gradient.indices { gradient[i] = 0 } }
}

/// A network stage: `forward` keeps what `backward` needs; `infer` keeps
/// nothing, so a trained network can answer on several threads at once.
public protocol Layer: AnyObject {
    /// Computes the output for a batch (one row per example), remembering what `backward` needs.
    func forward(_ input: Matrix, training: Bool) -> Matrix
    /// The evaluation-mode output, without touching the layer's state (thread-safe).
    func infer(_ input: Matrix) -> Matrix
    /// Given ∂loss/∂output, accumulates parameter gradients and returns ∂loss/∂input.
    func backward(_ outputGradient: Matrix) -> Matrix
    var parameters: [Parameter] { get }
}

/// `y = x · W + b`, He-initialised.
public final class Dense: Layer {
    public let inputs: Int
    public let outputs: Int
    public let weight: Parameter   // inputs × outputs
    public let bias: Parameter
    private var lastInput = Matrix(rows: 0, columns: 0)

    public init(inputs: Int, outputs: Int, generator: inout SplitMix64) {
        self.inputs = inputs
        self.outputs = outputs
        let scale = (2 / Float(inputs)).squareRoot()
        weight = Parameter((0..<(inputs * outputs)).map { _ in scale * generator.nextStandardNormal() }, decays: true)
        bias = Parameter([Float](repeating: 0, count: outputs), decays: false)
    }

    /// A layer with given weights (`inputs × outputs`, row-major) and biases.
    public init(weight: [Float], bias: [Float], inputs: Int, outputs: Int) {
        precondition(weight.count == inputs * outputs && bias.count == outputs, "weights do not match \(inputs)×\(outputs)")
        self.inputs = inputs
        self.outputs = outputs
        self.weight = Parameter(weight, decays: true)
        self.bias = Parameter(bias, decays: false)
    }

    public var parameters: [Parameter] { [weight, bias] }

    public func forward(_ input: Matrix, training: Bool) -> Matrix {
        lastInput = input
        return infer(input)
    }

    public func infer(_ input: Matrix) -> Matrix {
        var output = Matrix(rows: input.rows, columns: outputs)
        for r in 0..<input.rows { for c in 0..<outputs { output.values[r * outputs + c] = bias.value[c] } }
        gemm(input, Matrix(rows: inputs, columns: outputs, values: weight.value), beta: 1, into: &output)
        return output
    }

    public func backward(_ outputGradient: Matrix) -> Matrix {
        // ∂W += xᵀ · g, ∂b += Σ rows of g, ∂x = g · Wᵀ.
        var weightGradient = Matrix(rows: inputs, columns: outputs, values: weight.gradient)
        gemm(lastInput, transposeA: true, outputGradient, beta: 1, into: &weightGradient)
        weight.gradient = weightGradient.values
        for r in 0..<outputGradient.rows { for c in 0..<outputs { bias.gradient[c] += outputGradient[r, c] } }
        var inputGradient = Matrix(rows: outputGradient.rows, columns: inputs)
        gemm(outputGradient, Matrix(rows: inputs, columns: outputs, values: weight.value), transposeB: true, into: &inputGradient)
        return inputGradient
    }
}

/// max(0, x).
public final class ReLU: Layer {
    private var lastOutput: [Float] = []
    public init() {}
    public var parameters: [Parameter] { [] }
    public func forward(_ input: Matrix, training: Bool) -> Matrix {
        let output = infer(input)
        lastOutput = output.values
        return output
    }
    public func infer(_ input: Matrix) -> Matrix {
        var values = input.values
        values.withUnsafeMutableBufferPointer { v in for i in v.indices where v[i] < 0 { v[i] = 0 } }
        return Matrix(rows: input.rows, columns: input.columns, values: values)
    }
    public func backward(_ outputGradient: Matrix) -> Matrix {
        var values = outputGradient.values
        values.withUnsafeMutableBufferPointer { g in
            lastOutput.withUnsafeBufferPointer { y in for i in g.indices where y[i] <= 0 { g[i] = 0 } }
        }
        return Matrix(rows: outputGradient.rows, columns: outputGradient.columns, values: values)
    }
}

/// The Gaussian error linear unit, x · Φ(x) with the exact normal CDF.
public final class GELU: Layer {
    private var lastInput: [Float] = []
    public init() {}
    public var parameters: [Parameter] { [] }
    public func forward(_ input: Matrix, training: Bool) -> Matrix {
        lastInput = input.values
        return infer(input)
    }
    public func infer(_ input: Matrix) -> Matrix {
        Matrix(rows: input.rows, columns: input.columns, values: input.values.map { 0.5 * $0 * (1 + erff($0 * 0.70710678)) })
    }
    public func backward(_ outputGradient: Matrix) -> Matrix {
        // d/dx x·Φ(x) = Φ(x) + x·φ(x)
        Matrix(rows: outputGradient.rows, columns: outputGradient.columns, values: zip(outputGradient.values, lastInput).map { g, x in
            g * (0.5 * (1 + erff(x * 0.70710678)) + x * expf(-0.5 * x * x) * 0.39894228)
        })
    }
}

/// Two stacks of layers over two parts of each row: the first `leading` values
/// go through `first`, the rest through `second`, and their outputs are joined
/// side by side (e.g. a feature vector and a log-mel image in one model).
public final class ParallelBranches: Layer {
    public let leading: Int
    public let first: [Layer]
    public let second: [Layer]
    private var lastFirstWidth = 0

    public init(leading: Int, first: [Layer], second: [Layer]) {
        self.leading = leading
        self.first = first
        self.second = second
    }

    public var parameters: [Parameter] { first.flatMap(\.parameters) + second.flatMap(\.parameters) }

    public func forward(_ input: Matrix, training: Bool) -> Matrix {
        var a = input.columns(0..<leading), b = input.columns(leading..<input.columns)
        for layer in first { a = layer.forward(a, training: training) }
        for layer in second { b = layer.forward(b, training: training) }
        lastFirstWidth = a.columns
        return .sideBySide(a, b)
    }

    public func infer(_ input: Matrix) -> Matrix {
        var a = input.columns(0..<leading), b = input.columns(leading..<input.columns)
        for layer in first { a = layer.infer(a) }
        for layer in second { b = layer.infer(b) }
        return .sideBySide(a, b)
    }

    public func backward(_ outputGradient: Matrix) -> Matrix {
        var a = outputGradient.columns(0..<lastFirstWidth), b = outputGradient.columns(lastFirstWidth..<outputGradient.columns)
        for layer in first.reversed() { a = layer.backward(a) }
        for layer in second.reversed() { b = layer.backward(b) }
        return .sideBySide(a, b)
    }
}

/// Inverted dropout: zeroes a share of activations in training and rescales the rest.
public final class Dropout: Layer {
    public let rate: Float
    private var keep: [Float] = []
    private var generator: SplitMix64
    public init(rate: Float, seed: UInt64) {
        self.rate = rate
        generator = SplitMix64(seed: seed)
    }
    /// Restarts the mask sequence, so an epoch's masks depend only on its seed (resumable training).
    public func reseed(_ seed: UInt64) { generator = SplitMix64(seed: seed) }
    public var parameters: [Parameter] { [] }
    public func forward(_ input: Matrix, training: Bool) -> Matrix {
        guard training, rate > 0 else { keep = []; return input }
        let scale = 1 / (1 - rate)
        keep = input.values.map { _ in Float(generator.next() >> 40) / Float(1 << 24) < rate ? 0 : scale }
        return Matrix(rows: input.rows, columns: input.columns, values: zip(input.values, keep).map(*))
    }
    public func infer(_ input: Matrix) -> Matrix { input }
    public func backward(_ outputGradient: Matrix) -> Matrix {
        guard !keep.isEmpty else { return outputGradient }
        return Matrix(rows: outputGradient.rows, columns: outputGradient.columns, values: zip(outputGradient.values, keep).map(*))
    }
}

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

