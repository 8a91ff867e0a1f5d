import SERKernels
@testable import SERNumerics
import SERSupport
import Testing

/// `gemm` with at most 16 output columns runs on SERKernels' narrow products
/// (a linear classifier's logits and gradient): checked against the sums written
/// out in double precision, for both orientations, and for the same bits on one
/// thread and on two.
@Suite("narrow products")
struct NarrowProductTests {
    /// (rows of A, columns of A, output columns): large enough to take the narrow path, with tails of the 4- and 8-row blocks.
    static let shapes = [(4_099, 9, 8), (1_030, 37, 2), (515, 64, 10), (2_051, 21, 16), (1_003, 33, 1)]

    static func random(_ count: Int, seed: UInt64) -> [Float] {
        var generator = SplitMix64(seed: seed)
        return (0..<count).map { _ in Float(generator.nextStandardNormal()) }
    }

    @Test("A · B and Aᵀ · G match plain maths, with α and β", arguments: shapes)
    func matchesPlainMaths(rows: Int, inputs: Int, outputs: Int) {
        guard ser_narrow_gemm_available() == 1 else {
            print("skipped: this CPU has no AVX2 with FMA, so these products stay on sgemm")
            return
        }
        #expect(rows * inputs >= narrowMinimumSize && outputs <= narrowColumnLimit)
        let a = Matrix(rows: rows, columns: inputs, values: Self.random(rows * inputs, seed: 1))
        let b = Matrix(rows: inputs, columns: outputs, values: Self.random(inputs * outputs, seed: 2))
        let g = Matrix(rows: rows, columns: outputs, values: Self.random(rows * outputs, seed: 3))
        let startAB = Matrix(rows: rows, columns: outputs, values: Self.random(rows * outputs, seed: 4))
        let startATG = Matrix(rows: inputs, columns: outputs, values: Self.random(inputs * outputs, seed: 5))
        for (alpha, beta) in [(Float(1), Float(0)), (Float(0.5), Float(2))] {
            var ab = startAB
            gemm(a, b, alpha: alpha, beta: beta, into: &ab)
            let worstAB = Self.worstRelativeError(of: ab, left: a, right: b, start: startAB, alpha: alpha, beta: beta)
            #expect(worstAB < 1e-6, "A·B, α \(alpha) β \(beta): worst relative error \(worstAB)")

            var atg = startATG
            gemm(a, transposeA: true, g, alpha: alpha, beta: beta, into: &atg)
            let worstATG = Self.worstRelativeError(of: atg, left: a.transposed(), right: g, start: startATG, alpha: alpha, beta: beta)
            // Rows summed in order in float: the error grows with the number of rows.
            #expect(worstATG < Double(rows) * 1.2e-7, "Aᵀ·G, α \(alpha) β \(beta): worst relative error \(worstATG)")
        }
    }

    /// The largest error of `product` against `α · left · right + β · start` summed in
    /// double, relative to the magnitudes of the terms (rounding grows with them, not
    /// with their cancelling sum).
    static func worstRelativeError(of product: Matrix, left: Matrix, right: Matrix, start: Matrix, alpha: Float, beta: Float) -> Double {
        var worst = 0.0
        for r in 0..<left.rows {
            for c in 0..<right.columns {
                var sum = 0.0, magnitude = 0.0
                for k in 0..<left.columns {
                    let term = Double(left[r, k]) * Double(right[k, c])
                    sum += term
                    magnitude += abs(term)
                }
                let expected = Double(alpha) * sum + Double(beta) * Double(start[r, c])
                let scale = Double(abs(alpha)) * magnitude + abs(Double(beta) * Double(start[r, c])) + 1e-30
                worst = max(worst, abs(Double(product[r, c]) - expected) / scale)
            }
        }
        return worst
    }

    @Test("one thread and two give the same bits", arguments: shapes)
    func threadCountChangesNoBits(rows: Int, inputs: Int, outputs: Int) {
        let a = Matrix(rows: rows, columns: inputs, values: Self.random(rows * inputs, seed: 6))
        let b = Matrix(rows: inputs, columns: outputs, values: Self.random(inputs * outputs, seed: 7))
        let g = Matrix(rows: rows, columns: outputs, values: Self.random(rows * outputs, seed: 8))
        func products(threads: Int) -> (Matrix, Matrix) {
            withWorkThreads(threads) {
                var ab = Matrix(rows: rows, columns: outputs), atg = Matrix(rows: inputs, columns: outputs)
                gemm(a, b, into: &ab)
                gemm(a, transposeA: true, g, into: &atg)
                return (ab, atg)
            }
        }
        let (one, two) = (products(threads: 1), products(threads: 2))
        #expect(one.0.values.map(\.bitPattern) == two.0.values.map(\.bitPattern))
        #expect(one.1.values.map(\.bitPattern) == two.1.values.map(\.bitPattern))
    }
}
