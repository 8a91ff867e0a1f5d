import Foundation
import SERNumerics
import SERSupport

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
