import Foundation
import SERNumerics
import SERSupport

/// Batch normalization over the last axis (channels): in training each channel is
/// normalized by its batch mean and variance over examples and positions, and
/// running averages are kept for inference (Ioffe & Szegedy 2015).
public final class BatchNormalization: Layer {
    public let channels: Int
    public let momentum: Float
    public let epsilon: Float
    public let scale: Parameter
    public let shift: Parameter
    /// Running mean and variance: saved with the weights, not trained.
    public let runningMean: Parameter
    public let runningVariance: Parameter
    private var lastNormalized: [Float] = []
    private var lastInverseDeviation: [Float] = []

    public init(channels: Int, momentum: Float = 0.1, epsilon: Float = 1e-5) {
        self.channels = channels
        self.momentum = momentum
        self.epsilon = epsilon
        scale = Parameter([Float](repeating: 1, count: channels), decays: false)
        shift = Parameter([Float](repeating: 0, count: channels), decays: false)
        runningMean = Parameter([Float](repeating: 0, count: channels), decays: false, trainable: false)
        runningVariance = Parameter([Float](repeating: 1, count: channels), decays: false, trainable: false)
    }

    public var parameters: [Parameter] { [scale, shift, runningMean, runningVariance] }

    public func forward(_ x: Matrix, training: Bool) -> Matrix {
        guard training else { return infer(x) }
        precondition(x.columns % channels == 0, "batch normalization over \(channels) channels got \(x.columns) values")
        let positions = x.values.count / channels
        var sum = [Double](repeating: 0, count: channels), squares = sum
        x.values.withUnsafeBufferPointer { v in
            var partial = [Float](repeating: 0, count: channels), partialSquares = partial
            for p in 0..<positions {
                let row = v.baseAddress! + p * channels
                for c in 0..<channels { let value = row[c]; partial[c] += value; partialSquares[c] += value * value }
                // Fold into doubles every 256 positions so float sums stay accurate.
                if p % 256 == 255 || p == positions - 1 {
                    for c in 0..<channels {
                        sum[c] += Double(partial[c]); squares[c] += Double(partialSquares[c])
                        partial[c] = 0; partialSquares[c] = 0
                    }
                }
            }
        }
        var mean = [Float](repeating: 0, count: channels), inverse = mean
        for c in 0..<channels {
            let m = sum[c] / Double(positions), variance = max(0, squares[c] / Double(positions) - m * m)
            mean[c] = Float(m)
            inverse[c] = Float(1 / (variance + Double(epsilon)).squareRoot())
            let unbiased = positions > 1 ? variance * Double(positions) / Double(positions - 1) : variance
            runningMean.value[c] = (1 - momentum) * runningMean.value[c] + momentum * Float(m)
            runningVariance.value[c] = (1 - momentum) * runningVariance.value[c] + momentum * Float(unbiased)
        }
        var normalized = [Float](repeating: 0, count: x.values.count), out = normalized
        x.values.withUnsafeBufferPointer { v in
            normalized.withUnsafeMutableBufferPointer { n in
                out.withUnsafeMutableBufferPointer { o in
                    for p in 0..<positions {
                        let base = p * channels
                        for c in 0..<channels {
                            let value = (v[base + c] - mean[c]) * inverse[c]
                            n[base + c] = value
                            o[base + c] = value * scale.value[c] + shift.value[c]
                        }
                    }
                }
            }
        }
        lastNormalized = normalized
        lastInverseDeviation = inverse
        return Matrix(rows: x.rows, columns: x.columns, values: out)
    }

    public func infer(_ x: Matrix) -> Matrix {
        var out = x.values
        let factor = (0..<channels).map { scale.value[$0] / (runningVariance.value[$0] + epsilon).squareRoot() }
        let offset = (0..<channels).map { shift.value[$0] - runningMean.value[$0] * factor[$0] }
        out.withUnsafeMutableBufferPointer { o in
            for p in 0..<(o.count / channels) {
                let base = p * channels
                for c in 0..<channels { o[base + c] = o[base + c] * factor[c] + offset[c] }
            }
        }
        return Matrix(rows: x.rows, columns: x.columns, values: out)
    }

    public func backward(_ outputGradient: Matrix) -> Matrix {
        // With x̂ the normalized input and N values per channel:
        // ∂x = γ/σ · (∂y − mean(∂y) − x̂ · mean(∂y · x̂)).
        let positions = outputGradient.values.count / channels, count = Float(positions)
        var sumGradient = [Float](repeating: 0, count: channels), sumProduct = sumGradient
        var inputGradient = [Float](repeating: 0, count: outputGradient.values.count)
        outputGradient.values.withUnsafeBufferPointer { g in
            lastNormalized.withUnsafeBufferPointer { n in
                for p in 0..<positions {
                    let base = p * channels
                    for c in 0..<channels { sumGradient[c] += g[base + c]; sumProduct[c] += g[base + c] * n[base + c] }
                }
                for c in 0..<channels {
                    shift.gradient[c] += sumGradient[c]
                    scale.gradient[c] += sumProduct[c]
                }
                let factor = (0..<channels).map { scale.value[$0] * lastInverseDeviation[$0] }
                let meanGradient = sumGradient.map { $0 / count }, meanProduct = sumProduct.map { $0 / count }
                inputGradient.withUnsafeMutableBufferPointer { dx in
                    for p in 0..<positions {
                        let base = p * channels
                        for c in 0..<channels {
                            dx[base + c] = factor[c] * (g[base + c] - meanGradient[c] - n[base + c] * meanProduct[c])
                        }
                    }
                }
            }
        }
        return Matrix(rows: outputGradient.rows, columns: outputGradient.columns, values: inputGradient)
    }
}
