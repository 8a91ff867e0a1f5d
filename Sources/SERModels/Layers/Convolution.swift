import Foundation
import SERNumerics
import SERSupport

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
