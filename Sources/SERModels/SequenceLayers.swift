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

@inline(__always) func sigmoid(_ x: Float) -> Float { 1 / (1 + expf(-x)) }
