import Foundation
import SERNumerics
import SERSupport

/// Pools a sequence (`length` frames of `channels` values, frames outermost) over
/// time: the mean of each channel (global average pooling), or the mean and
/// standard deviation (statistics pooling, as in x-vector speaker embeddings).
public final class TemporalPooling: Layer {
    public enum Kind: String, Codable, Sendable { case mean, meanAndDeviation }
    public let length: Int
    public let channels: Int
    public let kind: Kind
    private let epsilon: Float = 1e-5
    private var lastInput: [Float] = []
    private var lastMean: [Float] = []
    private var lastDeviation: [Float] = []

    public init(length: Int, channels: Int, kind: Kind) {
        self.length = length
        self.channels = channels
        self.kind = kind
    }

    public var outputCount: Int { kind == .mean ? channels : 2 * channels }
    public var parameters: [Parameter] { [] }

    public func forward(_ x: Matrix, training: Bool) -> Matrix {
        let (out, mean, deviation) = pooled(x)
        lastInput = x.values
        lastMean = mean
        lastDeviation = deviation
        return out
    }

    public func infer(_ x: Matrix) -> Matrix { pooled(x).output }

    private func pooled(_ x: Matrix) -> (output: Matrix, mean: [Float], deviation: [Float]) {
        precondition(x.columns == length * channels, "temporal pooling expects \(length)×\(channels) values, got \(x.columns)")
        var mean = [Float](repeating: 0, count: x.rows * channels)
        var deviation = kind == .mean ? [] : mean
        var out = Matrix(rows: x.rows, columns: outputCount)
        for example in 0..<x.rows {
            let base = example * x.columns
            for c in 0..<channels {
                var total: Double = 0
                for t in 0..<length { total += Double(x.values[base + t * channels + c]) }
                let m = total / Double(length)
                mean[example * channels + c] = Float(m)
                out[example, c] = Float(m)
                guard kind == .meanAndDeviation else { continue }
                var squares: Double = 0
                for t in 0..<length { let d = Double(x.values[base + t * channels + c]) - m; squares += d * d }
                let s = Float((squares / Double(length) + Double(epsilon)).squareRoot())
                deviation[example * channels + c] = s
                out[example, channels + c] = s
            }
        }
        return (out, mean, deviation)
    }

    public func backward(_ outputGradient: Matrix) -> Matrix {
        let rows = outputGradient.rows, scale = 1 / Float(length)
        var gradient = Matrix(rows: rows, columns: length * channels)
        for example in 0..<rows {
            let base = example * length * channels
            for c in 0..<channels {
                let gMean = outputGradient[example, c] * scale
                // ∂σ/∂x_t = (x_t − μ) / (T σ)
                let gDeviation = kind == .meanAndDeviation
                    ? outputGradient[example, channels + c] * scale / lastDeviation[example * channels + c] : 0
                let m = lastMean[example * channels + c]
                for t in 0..<length {
                    let i = base + t * channels + c
                    gradient.values[i] = gMean + gDeviation * (lastInput[i] - m)
                }
            }
        }
        return gradient
    }
}
