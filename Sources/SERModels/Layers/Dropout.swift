import Foundation
import SERNumerics
import SERSupport

/// Inverted dropout: zeroes a share of activations in training and rescales the rest.
public final class Dropout: Layer {
    public let rate: Float
    private var keep: [Float] = []
    private var generator: SplitMix64
    public init(rate: Float, seed: UInt64) {
        self.rate = rate
        generator = SplitMix64(seed: seed)
    }
    /// Restarts the mask sequence, so an epoch's masks depend only on its seed (resumable training).
    public func reseed(_ seed: UInt64) { generator = SplitMix64(seed: seed) }
    public var parameters: [Parameter] { [] }
    public func forward(_ input: Matrix, training: Bool) -> Matrix {
        guard training, rate > 0 else { keep = []; return input }
        let scale = 1 / (1 - rate)
        keep = input.values.map { _ in Float(generator.next() >> 40) / Float(1 << 24) < rate ? 0 : scale }
        return Matrix(rows: input.rows, columns: input.columns, values: zip(input.values, keep).map(*))
    }
    public func infer(_ input: Matrix) -> Matrix { input }
    public func backward(_ outputGradient: Matrix) -> Matrix {
        guard !keep.isEmpty else { return outputGradient }
        return Matrix(rows: outputGradient.rows, columns: outputGradient.columns, values: zip(outputGradient.values, keep).map(*))
    }
}
