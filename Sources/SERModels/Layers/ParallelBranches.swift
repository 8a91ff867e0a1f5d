import Foundation
import SERNumerics
import SERSupport

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
