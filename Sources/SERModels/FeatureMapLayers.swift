import Foundation
import SERNumerics
import SERSupport

/// The shape of one example's feature map. A batch is a `Matrix` with one row per
/// example holding `height × width × channels` values, channels fastest
/// ("channels last"). For a log-mel image, height is time and width is the mel band;
/// a sequence of frame vectors is a map of width 1 whose channels are the features.
public struct FeatureMapShape: Codable, Sendable, Hashable {
    public var height: Int
    public var width: Int
    public var channels: Int

    public init(height: Int, width: Int, channels: Int) {
        self.height = height
        self.width = width
        self.channels = channels
    }

    /// A sequence of `length` frames of `features` values each.
    public static func sequence(length: Int, features: Int) -> FeatureMapShape {
        FeatureMapShape(height: length, width: 1, channels: features)
    }

    /// Values per example.
    public var count: Int { height * width * channels }
}

/// A 2-D convolution with "same" zero padding and stride 1, computed as one
/// matrix product per batch: the batch's receptive fields are unrolled into rows
/// (im2col) and multiplied by the `kernel × inputChannels → outputChannels`
/// weight matrix with BLAS. A 1-D convolution over time is the case of width 1
/// (see `Convolution.overTime`).
public final class Convolution: Layer {
    public let input: FeatureMapShape
    public let outputChannels: Int
    public let kernelHeight: Int
    public let kernelWidth: Int
    /// `(kernelHeight · kernelWidth · inputChannels) × outputChannels`, row-major.
    public let weight: Parameter
    public let bias: Parameter
    private var lastColumns: [Float] = []
    private var lastBatch = 0

    /// He-initialised weights; kernel sides must be odd so "same" padding is symmetric.
    public init(input: FeatureMapShape, outputChannels: Int, kernelHeight: Int, kernelWidth: Int, generator: inout SplitMix64) {
        precondition(kernelHeight % 2 == 1 && kernelWidth % 2 == 1, "kernel sides must be odd")
        self.input = input
        self.outputChannels = outputChannels
        self.kernelHeight = kernelHeight
        self.kernelWidth = kernelWidth
        let fanIn = kernelHeight * kernelWidth * input.channels
        let scale = (2 / Float(fanIn)).squareRoot()
        weight = Parameter((0..<(fanIn * outputChannels)).map { _ in scale * generator.nextStandardNormal() }, decays: true)
        bias = Parameter([Float](repeating: 0, count: outputChannels), decays: false)
    }

    /// A 1-D convolution over the frames of a sequence (`kernel` frames wide).
    public static func overTime(length: Int, inputChannels: Int, outputChannels: Int, kernel: Int,
                                generator: inout SplitMix64) -> Convolution {
        Convolution(input: .sequence(length: length, features: inputChannels), outputChannels: outputChannels,
                    kernelHeight: kernel, kernelWidth: 1, generator: &generator)
    }

    public var output: FeatureMapShape { FeatureMapShape(height: input.height, width: input.width, channels: outputChannels) }
    public var parameters: [Parameter] { [weight, bias] }
    private var fieldSize: Int { kernelHeight * kernelWidth * input.channels }

    public func forward(_ x: Matrix, training: Bool) -> Matrix {
        lastColumns = unrolled(x)
        lastBatch = x.rows
        return product(columns: lastColumns, batch: x.rows)
    }

    public func infer(_ x: Matrix) -> Matrix { product(columns: unrolled(x), batch: x.rows) }

    private func product(columns: [Float], batch: Int) -> Matrix {
        let positions = batch * input.height * input.width
        var out = [Float](repeating: 0, count: positions * outputChannels)
        out.withUnsafeMutableBufferPointer { o in
            bias.value.withUnsafeBufferPointer { b in
                for p in 0..<positions { (o.baseAddress! + p * outputChannels).update(from: b.baseAddress!, count: outputChannels) }
            }
            columns.withUnsafeBufferPointer { c in
                weight.value.withUnsafeBufferPointer { w in
                    gemm(m: positions, n: outputChannels, k: fieldSize, c.baseAddress!, lda: fieldSize,
                         w.baseAddress!, ldb: outputChannels, beta: 1, into: o.baseAddress!, ldc: outputChannels)
                }
            }
        }
        return Matrix(rows: batch, columns: output.count, values: out)
    }

    /// Calls `body(unrolled, map)` for every kernel tap that falls inside the map:
    /// where the tap's `channels` values sit in the unrolled rows (im2col layout)
    /// and in the batch's maps. Unrolling copies along these pairs; the backward
    /// pass adds along them the other way.
    @inline(__always)
    private func forEachTap(batch: Int, _ body: (_ unrolled: Int, _ map: Int) -> Void) {
        let (h, w, c) = (input.height, input.width, input.channels)
        let padTop = kernelHeight / 2, padLeft = kernelWidth / 2, field = fieldSize
        for example in 0..<batch {
            let image = example * input.count
            for y in 0..<h {
                for xPosition in 0..<w {
                    let row = ((example * h + y) * w + xPosition) * field
                    for ky in 0..<kernelHeight {
                        let sy = y + ky - padTop
                        guard sy >= 0 && sy < h else { continue }
                        for kx in 0..<kernelWidth {
                            let sx = xPosition + kx - padLeft
                            guard sx >= 0 && sx < w else { continue }
                            body(row + (ky * kernelWidth + kx) * c, image + (sy * w + sx) * c)
                        }
                    }
                }
            }
        }
    }

    /// im2col: one row of `fieldSize` values per output position, zeros outside the map.
    private func unrolled(_ x: Matrix) -> [Float] {
        precondition(x.columns == input.count, "convolution expects \(input.count) values per example, got \(x.columns)")
        let c = input.channels
        var columns = [Float](repeating: 0, count: x.rows * input.height * input.width * fieldSize)
        columns.withUnsafeMutableBufferPointer { out in
            x.values.withUnsafeBufferPointer { source in
                forEachTap(batch: x.rows) { unrolled, map in
                    (out.baseAddress! + unrolled).update(from: source.baseAddress! + map, count: c)
                }
            }
        }
        return columns
    }

    public func backward(_ outputGradient: Matrix) -> Matrix {
        let positions = lastBatch * input.height * input.width, field = fieldSize
        var fieldGradient = [Float](repeating: 0, count: positions * field)
        outputGradient.values.withUnsafeBufferPointer { g in
            lastColumns.withUnsafeBufferPointer { columns in
                weight.gradient.withUnsafeMutableBufferPointer { dw in
                    // ∂W += columnsᵀ · g
                    gemm(m: field, n: outputChannels, k: positions, columns.baseAddress!, lda: field, transposeA: true,
                         g.baseAddress!, ldb: outputChannels, beta: 1, into: dw.baseAddress!, ldc: outputChannels)
                }
            }
            bias.gradient.withUnsafeMutableBufferPointer { db in
                for p in 0..<positions { for o in 0..<outputChannels { db[o] += g[p * outputChannels + o] } }
            }
            weight.value.withUnsafeBufferPointer { w in
                fieldGradient.withUnsafeMutableBufferPointer { dc in
                    // ∂columns = g · Wᵀ
                    gemm(m: positions, n: field, k: outputChannels, g.baseAddress!, lda: outputChannels,
                         w.baseAddress!, ldb: outputChannels, transposeB: true, into: dc.baseAddress!, ldc: field)
                }
            }
        }
        // col2im: every unrolled value adds back to the input position it was copied from.
        let c = input.channels
        var inputGradient = [Float](repeating: 0, count: lastBatch * input.count)
        inputGradient.withUnsafeMutableBufferPointer { dx in
            fieldGradient.withUnsafeBufferPointer { dc in
                forEachTap(batch: lastBatch) { unrolled, map in
                    for channel in 0..<c { dx[map + channel] += dc[unrolled + channel] }
                }
            }
        }
        return Matrix(rows: lastBatch, columns: input.count, values: inputGradient)
    }
}

/// Max or average pooling over non-overlapping `poolHeight × poolWidth` windows
/// of each channel; rows or columns that do not fill a window are dropped.
public final class MapPooling: Layer {
    public enum Kind: String, Codable, Sendable { case max, average }
    public let input: FeatureMapShape
    public let kind: Kind
    public let poolHeight: Int
    public let poolWidth: Int
    /// For max pooling, the input index each output value came from.
    private var lastSources: [Int32] = []
    private var lastBatch = 0

    public init(input: FeatureMapShape, kind: Kind, poolHeight: Int, poolWidth: Int) {
        precondition(poolHeight >= 1 && poolWidth >= 1 && input.height >= poolHeight && input.width >= poolWidth, "pool larger than the map")
        self.input = input
        self.kind = kind
        self.poolHeight = poolHeight
        self.poolWidth = poolWidth
    }

    public var output: FeatureMapShape {
        FeatureMapShape(height: input.height / poolHeight, width: input.width / poolWidth, channels: input.channels)
    }
    public var parameters: [Parameter] { [] }

    public func forward(_ x: Matrix, training: Bool) -> Matrix {
        lastBatch = x.rows
        return pooled(x, sources: &lastSources)
    }

    public func infer(_ x: Matrix) -> Matrix {
        var ignored: [Int32] = []
        return pooled(x, sources: &ignored)
    }

    private func pooled(_ x: Matrix, sources: inout [Int32]) -> Matrix {
        let out = output, c = input.channels
        var values = [Float](repeating: kind == .max ? -Float.infinity : 0, count: x.rows * out.count)
        var origins = [Int32](repeating: 0, count: kind == .max ? values.count : 0)
        let scale = 1 / Float(poolHeight * poolWidth)
        x.values.withUnsafeBufferPointer { source in
            values.withUnsafeMutableBufferPointer { target in
                origins.withUnsafeMutableBufferPointer { origin in
                    for example in 0..<x.rows {
                        let base = example * input.count, outBase = example * out.count
                        for y in 0..<out.height {
                            for xPosition in 0..<out.width {
                                let o = outBase + (y * out.width + xPosition) * c
                                for dy in 0..<poolHeight {
                                    for dx in 0..<poolWidth {
                                        let from = base + ((y * poolHeight + dy) * input.width + xPosition * poolWidth + dx) * c
                                        if kind == .max {
                                            for channel in 0..<c where source[from + channel] > target[o + channel] {
                                                target[o + channel] = source[from + channel]
                                                origin[o + channel] = Int32(from + channel)
                                            }
                                        } else {
                                            for channel in 0..<c { target[o + channel] += source[from + channel] * scale }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        if kind == .max { sources = origins }
        return Matrix(rows: x.rows, columns: out.count, values: values)
    }

    public func backward(_ outputGradient: Matrix) -> Matrix {
        var gradient = [Float](repeating: 0, count: lastBatch * input.count)
        switch kind {
        case .max:
            for (o, source) in lastSources.enumerated() { gradient[Int(source)] += outputGradient.values[o] }
        case .average:
            let out = output, c = input.channels, scale = 1 / Float(poolHeight * poolWidth)
            for example in 0..<lastBatch {
                for y in 0..<out.height {
                    for xPosition in 0..<out.width {
                        for channel in 0..<c {
                            let g = outputGradient.values[example * out.count + (y * out.width + xPosition) * c + channel] * scale
                            for dy in 0..<poolHeight {
                                for dx in 0..<poolWidth {
                                    gradient[example * input.count + ((y * poolHeight + dy) * input.width + xPosition * poolWidth + dx) * c + channel] += g
                                }
                            }
                        }
                    }
                }
            }
        }
        return Matrix(rows: lastBatch, columns: input.count, values: gradient)
    }
}

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
