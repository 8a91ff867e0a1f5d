import Foundation
import SERNumerics

/// The column of row `r`'s largest value among those `permitted` allows (all when nil).
func argmax(_ m: Matrix, row r: Int, permitted: [Bool]? = nil) -> Int {
    var best = -1
    for c in 0..<m.columns where (permitted?[c] ?? true) && (best < 0 || m[r, c] > m[r, best]) { best = c }
    return max(best, 0)
}
