import SERNumerics
import Testing

@Suite struct MatrixTests {
    /// A small matrix of distinct values, so a misplaced entry shows.
    static func counting(_ rows: Int, _ columns: Int, offset: Float = 0) -> Matrix {
        Matrix(rows: rows, columns: columns, values: (0..<(rows * columns)).map { Float($0) * 0.5 + offset })
    }

    /// The product by its definition, one sum per entry.
    static func naiveProduct(_ a: Matrix, _ b: Matrix) -> Matrix {
        var c = Matrix(rows: a.rows, columns: b.columns)
        for i in 0..<a.rows { for j in 0..<b.columns { for k in 0..<a.columns { c[i, j] += a[i, k] * b[k, j] } } }
        return c
    }

    @Test func transposeSwapsEveryEntry() {
        let m = Self.counting(3, 5)
        let t = m.transposed()
        #expect(t.rows == 5 && t.columns == 3)
        for r in 0..<3 { for c in 0..<5 { #expect(t[c, r] == m[r, c]) } }
        #expect(t.transposed() == m)
        #expect(Array(m.row(1)) == [2.5, 3, 3.5, 4, 4.5])
    }

    @Test func gatheringAndJoining() {
        let m = Self.counting(4, 3)
        #expect(m.rows([2, 0]).values == [3, 3.5, 4, 0, 0.5, 1])
        #expect(m.columns(1..<3).values == [0.5, 1, 2, 2.5, 3.5, 4, 5, 5.5])
        let joined = Matrix.sideBySide(m.columns(0..<1), m.columns(1..<3))
        #expect(joined == m)
        #expect(m.divided(by: 0.5).values == m.values.map { $0 * 2 })
    }

    @Test(arguments: [false, true], [false, true])
    func blasProductMatchesTheDefinition(transposeA: Bool, transposeB: Bool) {
        let a = Self.counting(4, 6, offset: -3), b = Self.counting(6, 5, offset: 1)
        let expected = Self.naiveProduct(a, b)
        var c = Matrix(rows: 4, columns: 5)
        gemm(transposeA ? a.transposed() : a, transposeA: transposeA, transposeB ? b.transposed() : b, transposeB: transposeB, into: &c)
        for (x, y) in zip(c.values, expected.values) { #expect(abs(x - y) <= 1e-4 * max(1, abs(y))) }
        // beta = 1 accumulates onto what is there.
        gemm(a, b, alpha: 2, beta: 1, into: &c)
        for (x, y) in zip(c.values, expected.values) { #expect(abs(x - 3 * y) <= 1e-4 * max(1, abs(y))) }
        #expect(multiply(a, b) == { var d = Matrix(rows: 4, columns: 5); gemm(a, b, into: &d); return d }())
    }

    @Test func threadPolicyIsWhatWasSet() {
        let before = blasThreadCount()
        defer { useBLASThreads(before) }
        useBLASThreads(2)
        #expect(blasThreadCount() >= 1)
        useSingleThreadedBLAS()
        #expect(blasThreadCount() == 1)
    }
}
