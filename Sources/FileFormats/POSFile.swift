import Foundation
import TwinCore

/// The POS format: headerless records of 4 × float32 big-endian — x, y, z (nm) and m/n (Da), 16 B per ion.
///
/// Reading fills ``Acquisition/xNM``, `yNM`, `zNM` and `massToChargeDa`; all other columns stay empty. Values are
/// kept bit for bit (NaN and infinities included), so read → write is byte-identical. Files are read in 1 MiB
/// chunks straight into the column arrays, so peak memory is the columns plus 1 MiB. An empty (0-byte) file is
/// rejected, and so is writing an acquisition with no ions.
public enum POSFile {
    static let recordSize = 16

    /// Reads a POS file.
    ///
    /// - Throws: `TwinError.invalidInput` if the size is not a multiple of 16 bytes (naming the file and the byte
    ///   offset of the trailing partial record), `TwinError.io` if the file cannot be read.
    /// - Complexity: O(n), one pass over the file.
    public static func read(_ url: URL) throws -> Acquisition {
        let file = try InputFile(url)
        let n = try recordCount(size: file.size, recordSize: recordSize, name: file.name)
        var acq = allocatedColumns(n)
        try forEachRecordChunk(of: file, recordSize: recordSize, count: n) { src, first, k in
            decodeChunk(src, first: first, count: k, into: &acq)
        }
        noteNonFinite(&acq, name: file.name)
        return acq
    }

    /// Decodes POS bytes held in memory; `name` is used in error messages.
    public static func decode(_ data: Data, name: String) throws -> Acquisition {
        let n = try recordCount(size: data.count, recordSize: recordSize, name: name)
        var acq = allocatedColumns(n)
        if n > 0 {
            data.withUnsafeBytes { decodeChunk($0.baseAddress!, first: 0, count: n, into: &acq) }
        }
        noteNonFinite(&acq, name: name)
        return acq
    }

    /// Writes `acq` as a POS file, atomically and in streamed chunks.
    ///
    /// - Throws: `TwinError.invalidInput` if positions or m/n are missing (the POS format has no other columns;
    ///   other columns are ignored), `TwinError.inconsistent` if columns differ in length, `TwinError.io`.
    public static func write(_ acq: Acquisition, to url: URL) throws {
        let n = try checkWritable(acq, name: displayName(url))
        try writeRecordFile(to: url, recordSize: recordSize, count: n) { dst, first, k in
            encodeChunk(acq, first: first, count: k, into: dst)
        }
    }

    /// Encodes `acq` as POS bytes in memory (see ``write(_:to:)``).
    public static func encode(_ acq: Acquisition) throws -> Data {
        let n = try checkWritable(acq, name: "POS output")
        return encodeRecords(recordSize: recordSize, count: n) { dst, first, k in
            encodeChunk(acq, first: first, count: k, into: dst)
        }
    }

    // MARK: internals

    private static func allocatedColumns(_ n: Int) -> Acquisition {
        var acq = Acquisition()
        acq.xNM = uninitializedColumn(n); acq.yNM = uninitializedColumn(n); acq.zNM = uninitializedColumn(n); acq.massToChargeDa = uninitializedColumn(n)
        return acq
    }

    private static func decodeChunk(_ src: UnsafeRawPointer, first: Int, count k: Int, into acq: inout Acquisition) {
        acq.xNM.withUnsafeMutableBufferPointer {
            decodeBEFloatField(src, recordSize: 16, fieldOffset: 0, count: k, into: $0.baseAddress! + first)
        }
        acq.yNM.withUnsafeMutableBufferPointer {
            decodeBEFloatField(src, recordSize: 16, fieldOffset: 4, count: k, into: $0.baseAddress! + first)
        }
        acq.zNM.withUnsafeMutableBufferPointer {
            decodeBEFloatField(src, recordSize: 16, fieldOffset: 8, count: k, into: $0.baseAddress! + first)
        }
        acq.massToChargeDa.withUnsafeMutableBufferPointer {
            decodeBEFloatField(src, recordSize: 16, fieldOffset: 12, count: k, into: $0.baseAddress! + first)
        }
    }

    private static func encodeChunk(_ acq: Acquisition, first: Int, count k: Int, into dst: UnsafeMutableRawPointer) {
        let cols = [acq.xNM, acq.yNM, acq.zNM, acq.massToChargeDa]
        for (c, col) in cols.enumerated() {
            col.withUnsafeBufferPointer {
                encodeBEFloatField($0.baseAddress! + first, count: k, into: dst, recordSize: 16, fieldOffset: 4 * c)
            }
        }
    }

    private static func checkWritable(_ acq: Acquisition, name: String) throws -> Int {
        try acq.validateColumns()
        let n = acq.count
        if n == 0 {
            throw TwinError.invalidInput("\(name): cannot write POS: the acquisition has no ions (an empty POS file "
                                         + "would be rejected by the reader)")
        }
        let missing = missingColumns(acq, required: [
            ("x_nm", acq.xNM.count), ("y_nm", acq.yNM.count), ("z_nm", acq.zNM.count),
            ("mass_to_charge_da", acq.massToChargeDa.count),
        ])
        if !missing.isEmpty {
            throw TwinError.invalidInput(
                "\(name): cannot write POS: the acquisition lacks \(missing.joined(separator: ", ")) "
                + "(POS needs reconstructed positions and mass-to-charge; present: "
                + "\(acq.presentColumns.joined(separator: ", ")))")
        }
        return n
    }
}
