import Foundation
import SERNumerics
import SERSupport

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
