import Foundation
import TwinCore

/// The unit of the two voltage fields (V_DC, V_pulse) stored in an EPOS file.
///
/// Sources disagree: the APyT and pyccapt writers store volts, the ifes_apt_tc_data_modeling reader assumes
/// kilovolts. ``Acquisition`` always holds volts; this option only says how the file's numbers are scaled.
public enum EPOSVoltageUnit: String, Sendable, CaseIterable {
    /// The file stores volts (no scaling). The default.
    case volts
    /// The file stores kilovolts: multiplied by 1000 on read, divided by 1000 on write (in double precision,
    /// rounded once to Float).
    case kilovolts
}

/// The EPOS format: headerless 44-byte big-endian records — x, y, z (nm), m/n (Da), TOF (ns), V_DC, V_pulse,
/// detector x, y (mm) as float32, then pulses since the previous event and ions in this pulse as 32-bit integers.
///
/// Reading fills every column of ``Acquisition`` except ``Acquisition/instrument``. The two integer fields are
/// kept as raw 32-bit patterns (a signed −1 reads as `UInt32.max`), so read → write is byte-identical with
/// `.volts`. With `.kilovolts`, write → read → write is byte-identical (checked for every positive Float), but
/// read → write of an existing kilovolt file can change the last bit of about 6 % of voltage values, because
/// Float volts cannot represent every Float kilovolt value distinctly. An empty (0-byte) file is rejected, and so
/// is writing an acquisition with no ions.
public enum EPOSFile {
    static let recordSize = 44

    /// Reads an EPOS file. `voltageUnit` is the unit the file is assumed to store (default volts).
    ///
    /// - Throws: `TwinError.invalidInput` if the size is not a multiple of 44 bytes (naming the file and the byte
    ///   offset of the trailing partial record), `TwinError.io` if the file cannot be read.
    /// - Complexity: O(n), one pass over the file in 1 MiB chunks.
    public static func read(_ url: URL, voltageUnit: EPOSVoltageUnit = .volts) throws -> Acquisition {
        let file = try InputFile(url)
        let n = try recordCount(size: file.size, recordSize: recordSize, name: file.name)
        var acq = allocatedColumns(n)
        try forEachRecordChunk(of: file, recordSize: recordSize, count: n) { src, first, k in
            decodeChunk(src, first: first, count: k, unit: voltageUnit, into: &acq)
        }
        noteNonFinite(&acq, name: file.name)
        acq.notes.append("\(file.name): EPOS voltages read as \(voltageUnit.rawValue)")
        return acq
    }

    /// Number of ions in an EPOS file (size / 44), checked like ``read(_:voltageUnit:)``.
    public static func ionCount(_ url: URL) throws -> Int {
        let file = try InputFile(url)
        return try recordCount(size: file.size, recordSize: recordSize, name: file.name)
    }

    /// Reads ions `range` of an EPOS file only (streaming of files larger than memory).
    public static func readChunk(_ url: URL, range: Range<Int>, voltageUnit: EPOSVoltageUnit = .volts) throws -> Acquisition {
        let file = try InputFile(url)
        let n = try recordCount(size: file.size, recordSize: recordSize, name: file.name)
        guard range.lowerBound >= 0, range.upperBound <= n else {
            throw TwinError.invalidInput("\(file.name): ions \(range) requested, the file holds \(n)")
        }
        var acq = allocatedColumns(range.count)
        if range.isEmpty { return acq }
        let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: range.count * recordSize, alignment: 64)
        defer { buf.deallocate() }
        try file.readExactly(into: buf, at: range.lowerBound * recordSize)
        decodeChunk(UnsafeRawPointer(buf.baseAddress!), first: 0, count: range.count, unit: voltageUnit, into: &acq)
        return acq
    }

    /// Decodes EPOS bytes held in memory; `name` is used in error messages.
    public static func decode(_ data: Data, name: String, voltageUnit: EPOSVoltageUnit = .volts) throws -> Acquisition {
        let n = try recordCount(size: data.count, recordSize: recordSize, name: name)
        var acq = allocatedColumns(n)
        if n > 0 {
            data.withUnsafeBytes { decodeChunk($0.baseAddress!, first: 0, count: n, unit: voltageUnit, into: &acq) }
        }
        noteNonFinite(&acq, name: name)
        acq.notes.append("\(name): EPOS voltages read as \(voltageUnit.rawValue)")
        return acq
    }

    /// Writes `acq` as an EPOS file, atomically and in streamed chunks.
    ///
    /// - Parameters:
    ///   - voltageUnit: the unit to store V_DC and V_pulse in (default volts).
    ///   - fillMissingWithZeros: if true, absent columns (e.g. TOF and detector coordinates of a POS-derived
    ///     acquisition) are written as zeros; if false (default), an absent column is an error.
    /// - Throws: `TwinError.invalidInput` naming the missing columns, `TwinError.inconsistent` if columns differ
    ///   in length, `TwinError.io`.
    public static func write(_ acq: Acquisition, to url: URL, voltageUnit: EPOSVoltageUnit = .volts,
                             fillMissingWithZeros: Bool = false) throws {
        let n = try checkWritable(acq, name: displayName(url), fill: fillMissingWithZeros)
        try writeRecordFile(to: url, recordSize: recordSize, count: n) { dst, first, k in
            encodeChunk(acq, first: first, count: k, unit: voltageUnit, into: dst)
        }
    }

    /// Encodes `acq` as EPOS bytes in memory (see ``write(_:to:voltageUnit:fillMissingWithZeros:)``).
    public static func encode(_ acq: Acquisition, voltageUnit: EPOSVoltageUnit = .volts,
                              fillMissingWithZeros: Bool = false) throws -> Data {
        let n = try checkWritable(acq, name: "EPOS output", fill: fillMissingWithZeros)
        return encodeRecords(recordSize: recordSize, count: n) { dst, first, k in
            encodeChunk(acq, first: first, count: k, unit: voltageUnit, into: dst)
        }
    }

    // MARK: internals

    private static func allocatedColumns(_ n: Int) -> Acquisition {
        var a = Acquisition()
        a.xNM = uninitializedColumn(n); a.yNM = uninitializedColumn(n); a.zNM = uninitializedColumn(n); a.massToChargeDa = uninitializedColumn(n)
        a.tofNS = uninitializedColumn(n); a.vDCV = uninitializedColumn(n); a.vPulseV = uninitializedColumn(n)
        a.detectorXMM = uninitializedColumn(n); a.detectorYMM = uninitializedColumn(n)
        a.pulsesSincePrevious = uninitializedColumn(n); a.multiplicity = uninitializedColumn(n)
        return a
    }

    private static func decodeChunk(_ src: UnsafeRawPointer, first: Int, count k: Int, unit: EPOSVoltageUnit,
                                    into a: inout Acquisition) {
        @inline(__always) func f(_ col: inout [Float], _ off: Int) {
            col.withUnsafeMutableBufferPointer {
                decodeBEFloatField(src, recordSize: 44, fieldOffset: off, count: k, into: $0.baseAddress! + first)
            }
        }
        @inline(__always) func v(_ col: inout [Float], _ off: Int) {
            if unit == .volts { return f(&col, off) }
            col.withUnsafeMutableBufferPointer {
                decodeBEFloatFieldScaled(src, recordSize: 44, fieldOffset: off, count: k, scale: 1000,
                                         into: $0.baseAddress! + first)
            }
        }
        @inline(__always) func u(_ col: inout [UInt32], _ off: Int) {
            col.withUnsafeMutableBufferPointer {
                decodeBEUInt32Field(src, recordSize: 44, fieldOffset: off, count: k, into: $0.baseAddress! + first)
            }
        }
        f(&a.xNM, 0); f(&a.yNM, 4); f(&a.zNM, 8); f(&a.massToChargeDa, 12); f(&a.tofNS, 16)
        v(&a.vDCV, 20); v(&a.vPulseV, 24)
        f(&a.detectorXMM, 28); f(&a.detectorYMM, 32)
        u(&a.pulsesSincePrevious, 36); u(&a.multiplicity, 40)
    }

    private static func encodeChunk(_ a: Acquisition, first: Int, count k: Int, unit: EPOSVoltageUnit,
                                    into dst: UnsafeMutableRawPointer) {
        @inline(__always) func f(_ col: [Float], _ off: Int) {
            if col.isEmpty { return encodeBEFloatField(nil, count: k, into: dst, recordSize: 44, fieldOffset: off) }
            col.withUnsafeBufferPointer {
                encodeBEFloatField($0.baseAddress! + first, count: k, into: dst, recordSize: 44, fieldOffset: off)
            }
        }
        @inline(__always) func v(_ col: [Float], _ off: Int) {
            if unit == .volts || col.isEmpty { return f(col, off) }
            col.withUnsafeBufferPointer {
                encodeBEFloatFieldScaled($0.baseAddress! + first, count: k, divisor: 1000, into: dst,
                                         recordSize: 44, fieldOffset: off)
            }
        }
        @inline(__always) func u(_ col: [UInt32], _ off: Int) {
            if col.isEmpty { return encodeBEUInt32Field(nil, count: k, into: dst, recordSize: 44, fieldOffset: off) }
            col.withUnsafeBufferPointer {
                encodeBEUInt32Field($0.baseAddress! + first, count: k, into: dst, recordSize: 44, fieldOffset: off)
            }
        }
        f(a.xNM, 0); f(a.yNM, 4); f(a.zNM, 8); f(a.massToChargeDa, 12); f(a.tofNS, 16)
        v(a.vDCV, 20); v(a.vPulseV, 24)
        f(a.detectorXMM, 28); f(a.detectorYMM, 32)
        u(a.pulsesSincePrevious, 36); u(a.multiplicity, 40)
    }

    private static func checkWritable(_ a: Acquisition, name: String, fill: Bool) throws -> Int {
        try a.validateColumns()
        let n = a.count
        if n == 0 {
            throw TwinError.invalidInput("\(name): cannot write EPOS: the acquisition has no ions (an empty EPOS file "
                                         + "would be rejected by the reader)")
        }
        if fill { return n }
        let missing = missingColumns(a, required: [
            ("x_nm", a.xNM.count), ("y_nm", a.yNM.count), ("z_nm", a.zNM.count),
            ("mass_to_charge_da", a.massToChargeDa.count), ("tof_ns", a.tofNS.count), ("v_dc_v", a.vDCV.count),
            ("v_pulse_v", a.vPulseV.count), ("detector_x_mm", a.detectorXMM.count),
            ("detector_y_mm", a.detectorYMM.count), ("pulses_since_previous", a.pulsesSincePrevious.count),
            ("multiplicity", a.multiplicity.count),
        ])
        if !missing.isEmpty {
            throw TwinError.invalidInput(
                "\(name): cannot write EPOS: the acquisition lacks \(missing.joined(separator: ", ")) "
                + "(pass fillMissingWithZeros: true to write zeros for them)")
        }
        return n
    }
}
