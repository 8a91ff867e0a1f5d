import Foundation
import SERNumerics
import SERSupport

/// A long short-term memory layer over a sequence (`length` frames of `inputs`
/// values, frames outermost) that returns its hidden state at every frame
/// (`length × hidden`). With `reversed` it reads the frames last to first.
/// Gates are ordered input, forget, cell, output; the forget bias starts at 1.
public final class LSTM: Layer {
    public let length: Int
    public let inputs: Int
    public let hidden: Int
    public let reversed: Bool
    /// `inputs × 4·hidden`
    public let inputWeight: Parameter
    /// `hidden × 4·hidden`
    public let recurrentWeight: Parameter
    public let bias: Parameter
    private var cache = Trace()

    /// What backpropagation through time needs, step-major (`[step][example][…]`).
    private struct Trace {
        var input: [Float] = []
        var gates: [Float] = []
        var cells: [Float] = []
        var cellTanh: [Float] = []
        var states: [Float] = []
        var batch = 0
    }

    public init(length: Int, inputs: Int, hidden: Int, reversed: Bool = false, generator: inout SplitMix64) {
        self.length = length
        self.inputs = inputs
        self.hidden = hidden
        self.reversed = reversed
        let inputScale = (1 / Float(inputs)).squareRoot(), recurrentScale = (1 / Float(hidden)).squareRoot()
        inputWeight = Parameter((0..<(inputs * 4 * hidden)).map { _ in inputScale * generator.nextStandardNormal() }, decays: true)
        recurrentWeight = Parameter((0..<(hidden * 4 * hidden)).map { _ in recurrentScale * generator.nextStandardNormal() }, decays: true)
        var b = [Float](repeating: 0, count: 4 * hidden)
        for j in hidden..<(2 * hidden) { b[j] = 1 }
        bias = Parameter(b, decays: false)
    }

    public var parameters: [Parameter] { [inputWeight, recurrentWeight, bias] }
    public var outputCount: Int { length * hidden }

    public func forward(_ x: Matrix, training: Bool) -> Matrix {
        let (out, trace) = run(x, keepsTrace: true)
        cache = trace
        return out
    }

    public func infer(_ x: Matrix) -> Matrix { run(x, keepsTrace: false).output }

    /// The frame step `s` processes.
    private func frame(_ step: Int) -> Int { reversed ? length - 1 - step : step }

    private func run(_ x: Matrix, keepsTrace: Bool) -> (output: Matrix, trace: Trace) {
        precondition(x.columns == length * inputs, "LSTM expects \(length)×\(inputs) values, got \(x.columns)")
        let batch = x.rows, h = hidden, g4 = 4 * hidden
        // Input projections of every frame at once: (batch·length × inputs) · W_x + b.
        var projected = [Float](repeating: 0, count: batch * length * g4)
        projected.withUnsafeMutableBufferPointer { p in
            for row in 0..<(batch * length) { for j in 0..<g4 { p[row * g4 + j] = bias.value[j] } }
            x.values.withUnsafeBufferPointer { xs in
                inputWeight.value.withUnsafeBufferPointer { w in
                    gemm(m: batch * length, n: g4, k: inputs, xs.baseAddress!, lda: inputs, w.baseAddress!, ldb: g4,
                         beta: 1, into: p.baseAddress!, ldc: g4)
                }
            }
        }
        var trace = Trace()
        trace.batch = batch
        trace.input = keepsTrace ? x.values : []
        let stepCount = keepsTrace ? length : 1
        trace.gates = [Float](repeating: 0, count: stepCount * batch * g4)
        trace.cells = [Float](repeating: 0, count: stepCount * batch * h)
        trace.cellTanh = trace.cells
        trace.states = trace.cells
        var previousState = [Float](repeating: 0, count: batch * h), previousCell = previousState
        var output = [Float](repeating: 0, count: batch * length * h)
        var gates = [Float](repeating: 0, count: batch * g4)
        for step in 0..<length {
            let t = frame(step)
            for b in 0..<batch {
                let from = (b * length + t) * g4
                for j in 0..<g4 { gates[b * g4 + j] = projected[from + j] }
            }
            if step > 0 {
                previousState.withUnsafeBufferPointer { hp in
                    recurrentWeight.value.withUnsafeBufferPointer { w in
                        gates.withUnsafeMutableBufferPointer { gp in
                            gemm(m: batch, n: g4, k: h, hp.baseAddress!, lda: h, w.baseAddress!, ldb: g4, beta: 1,
                                 into: gp.baseAddress!, ldc: g4)
                        }
                    }
                }
            }
            let slot = keepsTrace ? step : 0
            for b in 0..<batch {
                let row = b * g4
                for j in 0..<h {
                    let i = sigmoid(gates[row + j]), f = sigmoid(gates[row + h + j])
                    let g = tanhf(gates[row + 2 * h + j]), o = sigmoid(gates[row + 3 * h + j])
                    gates[row + j] = i; gates[row + h + j] = f; gates[row + 2 * h + j] = g; gates[row + 3 * h + j] = o
                    let c = f * previousCell[b * h + j] + i * g
                    let ct = tanhf(c), state = o * ct
                    previousCell[b * h + j] = c
                    previousState[b * h + j] = state
                    output[(b * length + t) * h + j] = state
                    let cellIndex = (slot * batch + b) * h + j
                    trace.cells[cellIndex] = c
                    trace.cellTanh[cellIndex] = ct
                    trace.states[cellIndex] = state
                }
            }
            if keepsTrace {
                for k in 0..<(batch * g4) { trace.gates[step * batch * g4 + k] = gates[k] }
            }
        }
        return (Matrix(rows: batch, columns: length * h, values: output), trace)
    }

    public func backward(_ outputGradient: Matrix) -> Matrix {
        let batch = cache.batch, h = hidden, g4 = 4 * hidden
        var projectedGradient = [Float](repeating: 0, count: batch * length * g4)
        var stepGradient = [Float](repeating: 0, count: batch * g4)
        var stateGradient = [Float](repeating: 0, count: batch * h), cellGradient = stateGradient
        for step in stride(from: length - 1, through: 0, by: -1) {
            let t = frame(step)
            for b in 0..<batch {
                for j in 0..<h {
                    let cell = (step * batch + b) * h + j, gate = (step * batch + b) * g4
                    let i = cache.gates[gate + j], f = cache.gates[gate + h + j]
                    let g = cache.gates[gate + 2 * h + j], o = cache.gates[gate + 3 * h + j]
                    let ct = cache.cellTanh[cell]
                    let previousCell = step > 0 ? cache.cells[cell - batch * h] : 0
                    let dh = outputGradient.values[(b * length + t) * h + j] + stateGradient[b * h + j]
                    let dc = dh * o * (1 - ct * ct) + cellGradient[b * h + j]
                    let row = b * g4
                    stepGradient[row + j] = dc * g * i * (1 - i)
                    stepGradient[row + h + j] = dc * previousCell * f * (1 - f)
                    stepGradient[row + 2 * h + j] = dc * i * (1 - g * g)
                    stepGradient[row + 3 * h + j] = dh * ct * o * (1 - o)
                    cellGradient[b * h + j] = dc * f
                }
                let to = (b * length + t) * g4
                for k in 0..<g4 { projectedGradient[to + k] = stepGradient[b * g4 + k] }
            }
            guard step > 0 else { continue }
            let previous = (step - 1) * batch * h
            cache.states.withUnsafeBufferPointer { states in
                stepGradient.withUnsafeBufferPointer { dg in
                    recurrentWeight.gradient.withUnsafeMutableBufferPointer { dw in
                        // ∂W_h += h_{s−1}ᵀ · ∂gates
                        gemm(m: h, n: g4, k: batch, states.baseAddress! + previous, lda: h, transposeA: true,
                             dg.baseAddress!, ldb: g4, beta: 1, into: dw.baseAddress!, ldc: g4)
                    }
                    recurrentWeight.value.withUnsafeBufferPointer { w in
                        stateGradient.withUnsafeMutableBufferPointer { dh in
                            // ∂h_{s−1} = ∂gates · W_hᵀ
                            gemm(m: batch, n: h, k: g4, dg.baseAddress!, lda: g4, w.baseAddress!, ldb: g4, transposeB: true,
                                 into: dh.baseAddress!, ldc: h)
                        }
                    }
                }
            }
        }
        for row in 0..<(batch * length) { for j in 0..<g4 { bias.gradient[j] += projectedGradient[row * g4 + j] } }
        var inputGradient = [Float](repeating: 0, count: batch * length * inputs)
        projectedGradient.withUnsafeBufferPointer { dp in
            cache.input.withUnsafeBufferPointer { xs in
                inputWeight.gradient.withUnsafeMutableBufferPointer { dw in
                    gemm(m: inputs, n: g4, k: batch * length, xs.baseAddress!, lda: inputs, transposeA: true,
                         dp.baseAddress!, ldb: g4, beta: 1, into: dw.baseAddress!, ldc: g4)
                }
            }
            inputWeight.value.withUnsafeBufferPointer { w in
                inputGradient.withUnsafeMutableBufferPointer { dx in
                    gemm(m: batch * length, n: inputs, k: g4, dp.baseAddress!, lda: g4, w.baseAddress!, ldb: g4, transposeB: true,
                         into: dx.baseAddress!, ldc: inputs)
                }
            }
        }
        return Matrix(rows: batch, columns: length * inputs, values: inputGradient)
    }
}

@inline(__always) func sigmoid(_ x: Float) -> Float { 1 / (1 + expf(-x)) }
