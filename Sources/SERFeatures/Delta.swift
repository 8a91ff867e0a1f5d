import Foundation
import SERNumerics

/// Local derivatives of features over time (`librosa.feature.delta`): a
/// Savitzky–Golay filter of polynomial order `order` over `width` frames, with
/// scipy's `mode="interp"` edges (a polynomial fitted to the first and last
/// `width` frames).
public func delta(_ features: Matrix, width: Int = 9, order: Int = 1) throws -> Matrix {
    guard width >= 3, width % 2 == 1 else { throw FeatureError.invalidParameter("delta width must be an odd integer ≥ 3 (got \(width))") }
    guard order >= 1 else { throw FeatureError.invalidParameter("delta order must be ≥ 1 (got \(order))") }
    guard features.columns >= width else {
        throw FeatureError.signalTooShort(frames: features.columns, needed: width, what: "deltas of width \(width)")
    }
    let half = width / 2
    let polynomialOrder = order
    // Weights giving the order-th derivative at each position of a width-long window.
    let positions = (0..<width).map(Double.init)
    let weightsAt: [[Double]] = (0..<width).map { position in
        derivativeWeights(positions: positions, at: Double(position), polynomialOrder: polynomialOrder, derivative: order)
    }
    let center = weightsAt[half]
    var out = Matrix(rows: features.rows, columns: features.columns)
    let frames = features.columns
    for r in 0..<features.rows {
        let base = r * frames
        for t in 0..<frames {
            let weights: [Double]
            let start: Int
            if t < half {
                weights = weightsAt[t]; start = 0
            } else if t >= frames - half {
                weights = weightsAt[width - (frames - t)]; start = frames - width
            } else {
                weights = center; start = t - half
            }
            var sum = 0.0
            for j in 0..<width { sum += weights[j] * Double(features.values[base + start + j]) }
            out.values[base + t] = Float(sum)
        }
    }
    return out
}

/// Least-squares polynomial fit over `positions`, differentiated `derivative`
/// times and evaluated at `point`, written as weights on the samples.
private func derivativeWeights(positions: [Double], at point: Double, polynomialOrder p: Int, derivative d: Int) -> [Double] {
    let n = positions.count
    let center = positions.reduce(0, +) / Double(n)  // centring keeps the normal equations well conditioned
    let x = positions.map { $0 - center }
    let t = point - center
    // Normal equations G = VᵀV, with V[i][j] = x_i^j.
    var gram = [[Double]](repeating: [Double](repeating: 0, count: p + 1), count: p + 1)
    for i in 0...p { for j in 0...p { gram[i][j] = x.reduce(0) { $0 + pow($1, Double(i + j)) } } }
    // Row vector of the d-th derivative of [1, t, t², …] at t.
    var basis = [Double](repeating: 0, count: p + 1)
    for j in d...p {
        var coefficient = 1.0
        for m in 0..<d { coefficient *= Double(j - m) }
        basis[j] = coefficient * pow(t, Double(j - d))
    }
    // Weights w = V · G⁻¹ · basis.
    let solved = solve(gram, basis)
    return x.map { xi in (0...p).reduce(0) { $0 + solved[$1] * pow(xi, Double($1)) } }
}

/// Solves a small symmetric positive definite system by Gaussian elimination.
private func solve(_ matrix: [[Double]], _ rhs: [Double]) -> [Double] {
    var a = matrix, b = rhs
    let n = b.count
    for col in 0..<n {
        let pivot = (col..<n).max { abs(a[$0][col]) < abs(a[$1][col]) }!
        a.swapAt(col, pivot); b.swapAt(col, pivot)
        for row in (col + 1)..<n where a[col][col] != 0 {
            let factor = a[row][col] / a[col][col]
            for k in col..<n { a[row][k] -= factor * a[col][k] }
            b[row] -= factor * b[col]
        }
    }
    var x = [Double](repeating: 0, count: n)
    for row in stride(from: n - 1, through: 0, by: -1) {
        var sum = b[row]
        for k in (row + 1)..<n { sum -= a[row][k] * x[k] }
        x[row] = sum / a[row][row]
    }
    return x
}
