import Dispatch
import Foundation


/// Fixed-chunk parallel loops whose results do not depend on the thread count.
///
/// Work is cut into chunks of a size chosen by the caller (never by the thread count); each chunk writes only its
/// own output slot, and the caller merges slots in chunk order. `threads` only decides how many chunks run at once.
public enum ParallelChunks {
    /// Runs `body(chunkIndex, range)` for every chunk of `0..<count`, at most `threads` at a time.
    public static func forEach(count: Int, chunkSize: Int, threads: Int,
                               _ body: @Sendable (Int, Range<Int>) -> Void) {
        precondition(chunkSize > 0)
        let chunks = (count + chunkSize - 1) / chunkSize
        if chunks == 0 { return }
        let workers = max(1, min(threads, chunks))
        if workers == 1 {
            for c in 0..<chunks { body(c, c * chunkSize..<min(count, c * chunkSize + chunkSize)) }
            return
        }
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            var c = w
            while c < chunks {
                body(c, c * chunkSize..<min(count, c * chunkSize + chunkSize))
                c += workers
            }
        }
    }

    /// Maps every chunk to a value and returns the values in chunk order.
    public static func map<T: Sendable>(count: Int, chunkSize: Int, threads: Int,
                                        _ body: @Sendable (Int, Range<Int>) -> T) -> [T] {
        let chunks = (count + chunkSize - 1) / chunkSize
        let box = ResultSlots<T>(count: chunks)
        forEach(count: count, chunkSize: chunkSize, threads: threads) { c, r in box.set(c, body(c, r)) }
        return box.values()
    }
}

/// Per-chunk output slots written from several threads, each slot by exactly one chunk.
final class ResultSlots<T>: @unchecked Sendable {
    private var slots: [T?]
    private let lock = NSLock()
    init(count: Int) { slots = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ v: T) { lock.lock(); slots[i] = v; lock.unlock() }
    func values() -> [T] { slots.map { $0! } }
}
