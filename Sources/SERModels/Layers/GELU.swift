import Foundation
import SERNumerics
import SERSupport

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
