/// Small dense linear systems (least-squares normal equations of fits): Gaussian elimination with partial pivoting.
public enum DenseLinearSolve {
    /// Solves A x = b for a row-major n × n matrix A; nil if A is singular (a pivot below `tolerance`).
    public static func solve(_ a0: [Double], _ b0: [Double], n: Int, tolerance: Double = 1e-300) -> [Double]? {
        precondition(a0.count == n * n && b0.count == n)
        var a = a0, b = b0
        for col in 0..<n {
            var piv = col
            for r in col..<n where abs(a[r * n + col]) > abs(a[piv * n + col]) { piv = r }
            guard abs(a[piv * n + col]) > tolerance else { return nil }
            if piv != col { for j in 0..<n { a.swapAt(col * n + j, piv * n + j) }; b.swapAt(col, piv) }
            for r in (col + 1)..<n {
                let f = a[r * n + col] / a[col * n + col]
                if f == 0 { continue }
                for j in col..<n { a[r * n + j] -= f * a[col * n + j] }
                b[r] -= f * b[col]
            }
        }
        var x = [Double](repeating: 0, count: n)
        for r in stride(from: n - 1, through: 0, by: -1) {
            var s = b[r]
            for j in (r + 1)..<n { s -= a[r * n + j] * x[j] }
            x[r] = s / a[r * n + r]
        }
        return x
    }
}
