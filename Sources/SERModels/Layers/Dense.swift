import Foundation
import SERNumerics
import SERSupport

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
