import Foundation
import SERNumerics
import SERSupport

/// Two LSTMs over the same sequence, one forwards and one backwards, whose hidden
/// states are concatenated at every frame (`length × 2·hidden`).
public final class BidirectionalLSTM: Layer {
    public let forwards: LSTM
    public let backwards: LSTM

    public init(length: Int, inputs: Int, hidden: Int, generator: inout SplitMix64) {
        forwards = LSTM(length: length, inputs: inputs, hidden: hidden, generator: &generator)
        backwards = LSTM(length: length, inputs: inputs, hidden: hidden, reversed: true, generator: &generator)
    }

    public var parameters: [Parameter] { forwards.parameters + backwards.parameters }
    public var outputCount: Int { forwards.outputCount * 2 }

    public func forward(_ x: Matrix, training: Bool) -> Matrix {
        interleave(forwards.forward(x, training: training), backwards.forward(x, training: training))
    }

    public func infer(_ x: Matrix) -> Matrix { interleave(forwards.infer(x), backwards.infer(x)) }

    private func interleave(_ a: Matrix, _ b: Matrix) -> Matrix {
        let h = forwards.hidden, length = forwards.length
        var out = Matrix(rows: a.rows, columns: 2 * length * h)
        for example in 0..<a.rows {
            for t in 0..<length {
                let to = example * out.columns + t * 2 * h, from = example * a.columns + t * h
                for j in 0..<h {
                    out.values[to + j] = a.values[from + j]
                    out.values[to + h + j] = b.values[from + j]
                }
            }
        }
        return out
    }

    public func backward(_ outputGradient: Matrix) -> Matrix {
        let h = forwards.hidden, length = forwards.length
        var a = Matrix(rows: outputGradient.rows, columns: length * h), b = a
        for example in 0..<outputGradient.rows {
            for t in 0..<length {
                let from = example * outputGradient.columns + t * 2 * h, to = example * a.columns + t * h
                for j in 0..<h {
                    a.values[to + j] = outputGradient.values[from + j]
                    b.values[to + j] = outputGradient.values[from + h + j]
                }
            }
        }
        var gradient = forwards.backward(a)
        let other = backwards.backward(b)
        for i in gradient.values.indices { gradient.values[i] += other.values[i] }
        return gradient
    }
}
