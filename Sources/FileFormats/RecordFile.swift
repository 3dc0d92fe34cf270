import Foundation
import TwinCore

// Internal machinery shared by the fixed-record binary formats (POS, EPOS): size checks with precise messages,
// chunked reads into an L2-sized buffer, chunked atomic writes.

/// Records per chunk for about 1 MiB of file data.
@inline(__always)
func recordsPerChunk(_ recordSize: Int) -> Int { max(1, (1 << 20) / recordSize) }

/// Number of records in a file of `size` bytes, or a clear error if the size does not divide.
///
/// An empty file is an error too: a zero-ion POS/EPOS is far more often a failed export than a real result.
func recordCount(size: Int, recordSize: Int, name: String, what: String = "ion") throws -> Int {
    if size == 0 {
        throw TwinError.invalidInput("\(name): empty file (0 bytes); expected \(recordSize)-byte records, one per \(what)")
    }
    let rest = size % recordSize
    if rest != 0 {
        throw TwinError.invalidInput(
            "\(name): size \(size) is not a multiple of \(recordSize) bytes (\(recordSize) B per \(what)); "
            + "trailing \(rest) bytes at byte offset \(size - rest)")
    }
    return size / recordSize
}

/// Calls `body(chunkBase, firstRecord, recordCount)` for consecutive chunks of a record file.
func forEachRecordChunk(of file: borrowing InputFile, recordSize: Int, count: Int,
                        _ body: (UnsafeRawPointer, Int, Int) throws -> Void) throws {
    if count == 0 { return }
    let per = min(count, recordsPerChunk(recordSize))
    let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: per * recordSize, alignment: 64)
    defer { buf.deallocate() }
    var first = 0
    while first < count {
        let n = min(per, count - first)
        let slice = UnsafeMutableRawBufferPointer(rebasing: buf[0..<(n * recordSize)])
        try file.readExactly(into: slice, at: first * recordSize)
        try body(UnsafeRawPointer(buf.baseAddress!), first, n)
        first += n
    }
}

/// Streams `count` records to `url` atomically; `fill(chunkBase, firstRecord, recordCount)` encodes a chunk.
func writeRecordFile(to url: URL, recordSize: Int, count: Int,
                     _ fill: (UnsafeMutableRawPointer, Int, Int) -> Void) throws {
    try AtomicFile.write(to: url) { out in
        if count == 0 { return }
        let per = min(count, recordsPerChunk(recordSize))
        let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: per * recordSize, alignment: 64)
        defer { buf.deallocate() }
        var first = 0
        while first < count {
            let n = min(per, count - first)
            fill(buf.baseAddress!, first, n)
            try out.write(UnsafeRawBufferPointer(rebasing: buf[0..<(n * recordSize)]))
            first += n
        }
    }
}

/// Encodes `count` records into memory.
func encodeRecords(recordSize: Int, count: Int, _ fill: (UnsafeMutableRawPointer, Int, Int) -> Void) -> Data {
    var data = Data(count: count * recordSize)
    if count > 0 {
        data.withUnsafeMutableBytes { fill($0.baseAddress!, 0, count) }
    }
    return data
}

/// A column of `n` rows whose contents the caller overwrites completely before anyone reads them.
///
/// The memory is not zero-filled: for 1 M-ion files that saves a full write pass over every column (POS reads go
/// from ~300 to ~450 M ions/s). Only for trivial scalar types, where any bit pattern is a valid value. The record
/// readers write every row of every column before returning and drop the columns unread if they throw.
@inline(__always)
func uninitializedColumn<T: BitwiseCopyable & Numeric>(_ n: Int, _: T.Type = T.self) -> [T] {
    [T](unsafeUninitializedCapacity: n) { _, initialized in initialized = n }
}

/// Describes which required columns are missing or of the wrong length, or returns nil if all are fine.
func missingColumns(_ acq: Acquisition, required: [(String, Int)]) -> [String] {
    let n = acq.count
    return required.filter { $0.1 != n }.map { $0.0 }
}
