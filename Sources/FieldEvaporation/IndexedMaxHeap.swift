/// A binary max-heap of atom indices keyed by a per-atom score, with O(log n) key updates.
///
/// Ties are broken by the smaller atom index, so the order of events never depends on insertion history.
struct IndexedMaxHeap {
    private(set) var items: [Int32] = []
    private var position: [Int32]
    private(set) var score: [Double]

    init(atomCount: Int) {
        position = Array(repeating: -1, count: atomCount)
        score = Array(repeating: 0, count: atomCount)
    }

    var isEmpty: Bool { items.isEmpty }
    var count: Int { items.count }
    func contains(_ atom: Int) -> Bool { position[atom] >= 0 }
    var top: Int? { items.first.map(Int.init) }

    @inline(__always)
    private func above(_ a: Int32, _ b: Int32) -> Bool {
        let sa = score[Int(a)], sb = score[Int(b)]
        return sa > sb || (sa == sb && a < b)
    }

    /// Atoms whose score is at least `threshold` (at most `limit` of them), found by a pruned depth-first walk
    /// (a child never scores above its parent), in walk order.
    func atoms(withScoreAtLeast threshold: Double, limit: Int) -> [Int] {
        var out: [Int] = []
        guard !items.isEmpty else { return out }
        var stack = [0]
        while let k = stack.popLast(), out.count < limit {
            let a = Int(items[k])
            if score[a] < threshold { continue }
            out.append(a)
            let l = 2 * k + 1
            if l + 1 < items.count { stack.append(l + 1) }
            if l < items.count { stack.append(l) }
        }
        return out
    }

    /// Inserts `atom` or updates its score.
    mutating func set(_ atom: Int, score s: Double) {
        let old = score[atom]
        score[atom] = s
        if position[atom] < 0 {
            items.append(Int32(atom))
            position[atom] = Int32(items.count - 1)
            siftUp(items.count - 1)
        } else if s > old {
            siftUp(Int(position[atom]))
        } else {
            siftDown(Int(position[atom]))
        }
    }

    mutating func remove(_ atom: Int) {
        let p = Int(position[atom])
        guard p >= 0 else { return }
        let last = items.count - 1
        if p != last {
            items.swapAt(p, last)
            position[Int(items[p])] = Int32(p)
        }
        items.removeLast()
        position[atom] = -1
        if p < items.count {
            let moved = items[p]
            siftUp(p)
            siftDown(Int(position[Int(moved)]))
        }
    }

    private mutating func siftUp(_ i0: Int) {
        var i = i0
        while i > 0 {
            let parent = (i - 1) / 2
            if above(items[i], items[parent]) {
                items.swapAt(i, parent)
                position[Int(items[i])] = Int32(i); position[Int(items[parent])] = Int32(parent)
                i = parent
            } else { break }
        }
    }

    private mutating func siftDown(_ i0: Int) {
        var i = i0
        let n = items.count
        while true {
            let l = 2 * i + 1, r = l + 1
            var best = i
            if l < n, above(items[l], items[best]) { best = l }
            if r < n, above(items[r], items[best]) { best = r }
            if best == i { break }
            items.swapAt(i, best)
            position[Int(items[i])] = Int32(i); position[Int(items[best])] = Int32(best)
            i = best
        }
    }
}
