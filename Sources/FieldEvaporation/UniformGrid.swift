/// A uniform cell grid over a fixed set of points (compressed-row storage), for neighbour queries within
/// a radius not larger than the cell size.
struct UniformGrid: Sendable {
    let cellNM: Double
    let origin: (Double, Double, Double)
    let dims: (Int, Int, Int)
    /// Atom indices sorted by cell; `cellStart[c] ..< cellStart[c+1]` are the atoms of cell c.
    let cellStart: [Int32]
    let atoms: [Int32]

    init(x: [Float], y: [Float], z: [Float], cellNM: Double) {
        self.cellNM = cellNM
        let n = x.count
        var lo = (Double.infinity, Double.infinity, Double.infinity)
        var hi = (-Double.infinity, -Double.infinity, -Double.infinity)
        for i in 0..<n {
            lo.0 = min(lo.0, Double(x[i])); lo.1 = min(lo.1, Double(y[i])); lo.2 = min(lo.2, Double(z[i]))
            hi.0 = max(hi.0, Double(x[i])); hi.1 = max(hi.1, Double(y[i])); hi.2 = max(hi.2, Double(z[i]))
        }
        if n == 0 { lo = (0, 0, 0); hi = (0, 0, 0) }
        origin = (lo.0 - 1e-6, lo.1 - 1e-6, lo.2 - 1e-6)
        dims = (Int((hi.0 - lo.0) / cellNM) + 1, Int((hi.1 - lo.1) / cellNM) + 1, Int((hi.2 - lo.2) / cellNM) + 1)
        let cells = dims.0 * dims.1 * dims.2
        var counts = [Int32](repeating: 0, count: cells + 1)
        var cellOf = [Int32](repeating: 0, count: n)
        for i in 0..<n {
            let c = UniformGrid.cellIndex(Double(x[i]), Double(y[i]), Double(z[i]), origin, cellNM, dims)
            cellOf[i] = Int32(c)
            counts[c + 1] += 1
        }
        for c in 0..<cells { counts[c + 1] += counts[c] }
        var fill = counts
        var list = [Int32](repeating: 0, count: n)
        for i in 0..<n {
            let c = Int(cellOf[i])
            list[Int(fill[c])] = Int32(i)
            fill[c] += 1
        }
        cellStart = counts
        atoms = list
    }

    @inline(__always)
    static func cellIndex(_ x: Double, _ y: Double, _ z: Double, _ o: (Double, Double, Double), _ h: Double,
                          _ d: (Int, Int, Int)) -> Int {
        let i = min(d.0 - 1, max(0, Int((x - o.0) / h)))
        let j = min(d.1 - 1, max(0, Int((y - o.1) / h)))
        let k = min(d.2 - 1, max(0, Int((z - o.2) / h)))
        return (k * d.1 + j) * d.0 + i
    }

    /// Calls `body` with every atom index in the 27 cells around the point (a superset of the atoms within one
    /// cell size of it), in a fixed order.
    @inline(__always)
    func forEachCandidate(nearX x: Double, y: Double, z: Double, _ body: (Int) -> Void) {
        let ci = Int((x - origin.0) / cellNM), cj = Int((y - origin.1) / cellNM), ck = Int((z - origin.2) / cellNM)
        for k in max(0, ck - 1)...min(dims.2 - 1, ck + 1) {
            for j in max(0, cj - 1)...min(dims.1 - 1, cj + 1) {
                let row = (k * dims.1 + j) * dims.0
                let i0 = max(0, ci - 1), i1 = min(dims.0 - 1, ci + 1)
                if i0 > i1 { continue }
                let s = Int(cellStart[row + i0]), e = Int(cellStart[row + i1 + 1])
                var p = s
                while p < e { body(Int(atoms[p])); p += 1 }
            }
        }
    }
}
