import Foundation
import TwinCore

/// The Cameca AP Suite `.apt` format (APT6): a 540-byte file header followed by self-describing sections, all
/// little-endian, strings UTF-16LE NUL-padded.
///
/// File header: `"APT\0"` | i32 header size (540) | i32 version (2) | 256 × u16 file name | u64 creation time
/// (Windows FILETIME) | u64 ion count. Section header (148 bytes; 172 for `Position`, which appends six float32
/// bounds): `"SEC\0"` | i32 header size | i32 header version | 32 × u16 name | i32 section version | u32 relationship
/// (1 = one record per ion) | u32 record type (1 = fixed size) | u32 data type (1 int, 2 uint, 3 float) | i32 element
/// size in bits | i32 record size in bytes | 16 × u16 unit | u64 record count | u64 byte count.
/// Data start at section start + header size; the next section starts byte count bytes later.
///
/// Sections mapped to ``Acquisition``: `Position` (x, y, z nm), `Mass` (Da), `tof` (ns; `tofc` only when `tof` is
/// absent, with a note), `Voltage` (V_DC, V), `Pulse Voltage` (V), `XDet_mm`/`YDet_mm` (or `Detector Coordinates`,
/// 2 × f32 mm, when those are absent), `Multiplicity`. Every other section (`pulse`, `freq`, `rTip`, …), and any
/// section whose relationship or record type is not 1, is skipped with a warning in ``Acquisition/notes``.
/// Errors (bad magic, truncated data, record counts that disagree with the file header, record sizes that do not
/// divide the byte count) name the section and its byte offset.
public enum APTFile {
    static let fileHeaderSize = 540
    static let sectionHeaderSize = 148

    /// Data type code of a section.
    public enum DataType: UInt32, Sendable { case int = 1, uint = 2, float = 3 }

    /// One section as laid out in a file.
    public struct Section: Sendable, Equatable {
        public var name: String
        public var unit: String
        /// Byte offset of the section header ("SEC\0").
        public var headerOffset: Int
        public var headerSize: Int
        /// Byte offset of the first record (`headerOffset + headerSize`).
        public var dataOffset: Int
        public var relationship: UInt32
        public var recordType: UInt32
        public var dataTypeCode: UInt32
        public var elementBits: Int
        public var recordSize: Int
        public var recordCount: Int
        public var byteCount: Int
        /// Elements per record (record size / element size).
        public var elementsPerRecord: Int { elementBits >= 8 ? recordSize / (elementBits / 8) : 0 }
    }

    /// The header and section table of a file.
    public struct Layout: Sendable, Equatable {
        public var fileName: String
        public var ionCount: Int
        public var sections: [Section]
        /// Warnings about skipped sections.
        public var warnings: [String]
        public func section(_ name: String) -> Section? { sections.first { $0.name == name } }
    }

    /// Reads the file header and walks the section headers.
    ///
    /// - Throws: `TwinError.invalidInput` naming the byte offset of a bad magic number, a truncated header or
    ///   section, a record count that disagrees with the file header's ion count, or inconsistent sizes.
    public static func layout(_ url: URL) throws -> Layout {
        let file = try InputFile(url)
        return try layout(file)
    }

    static func layout(_ file: borrowing InputFile) throws -> Layout {
        let name = file.name
        func bytes(_ n: Int, at off: Int, _ what: String) throws -> [UInt8] {
            guard off + n <= file.size else {
                throw TwinError.invalidInput("\(name): \(what) at byte offset \(off) needs \(n) bytes but the file ends at byte offset \(file.size)")
            }
            var b = [UInt8](repeating: 0, count: n)
            try b.withUnsafeMutableBytes { try file.readExactly(into: $0, at: off) }
            return b
        }
        let h = try bytes(fileHeaderSize, at: 0, "the APT file header")
        guard h[0] == 0x41, h[1] == 0x50, h[2] == 0x54, h[3] == 0 else {
            throw TwinError.invalidInput("\(name): not a Cameca APT file: magic at byte offset 0 is \(h[0..<4].map { String(format: "%02x", $0) }.joined()), expected 41505400 (\"APT\\0\")")
        }
        let hs = Int(le32(h, 4))
        guard hs >= fileHeaderSize, hs <= file.size else {
            throw TwinError.invalidInput("\(name): file header size \(hs) at byte offset 4 is not in [\(fileHeaderSize), file size \(file.size)]")
        }
        let fname = utf16(h, 12, 256)
        let ionCount = Int(le64(h, 532))
        var sections: [Section] = []
        var warnings: [String] = []
        var off = hs
        while off < file.size {
            let s = try bytes(sectionHeaderSize, at: off, "a section header")
            guard s[0] == 0x53, s[1] == 0x45, s[2] == 0x43, s[3] == 0 else {
                throw TwinError.invalidInput("\(name): expected a section (\"SEC\\0\") at byte offset \(off), found \(s[0..<4].map { String(format: "%02x", $0) }.joined())")
            }
            let shs = Int(Int32(bitPattern: le32(s, 4)))
            let secName = utf16(s, 12, 32)
            guard shs >= sectionHeaderSize else {
                throw TwinError.invalidInput("\(name): section '\(secName)' at byte offset \(off) has header size \(shs) < \(sectionHeaderSize)")
            }
            let sec = Section(name: secName, unit: utf16(s, 100, 16), headerOffset: off, headerSize: shs, dataOffset: off + shs,
                              relationship: le32(s, 80), recordType: le32(s, 84), dataTypeCode: le32(s, 88),
                              elementBits: Int(Int32(bitPattern: le32(s, 92))), recordSize: Int(Int32(bitPattern: le32(s, 96))),
                              recordCount: Int(le64(s, 132)), byteCount: Int(le64(s, 140)))
            guard sec.byteCount >= 0, sec.dataOffset + sec.byteCount <= file.size else {
                throw TwinError.invalidInput("\(name): section '\(secName)' at byte offset \(off) declares \(sec.byteCount) data bytes from byte offset \(sec.dataOffset), but the file ends at byte offset \(file.size) (truncated?)")
            }
            if sec.relationship != 1 || sec.recordType != 1 {
                warnings.append("\(name): section '\(secName)' at byte offset \(off) skipped: relationship \(sec.relationship), record type \(sec.recordType) (only one-to-one fixed-size records are read)")
            } else {
                guard sec.recordSize > 0, sec.recordCount * sec.recordSize == sec.byteCount else {
                    throw TwinError.invalidInput("\(name): section '\(secName)' at byte offset \(off): \(sec.recordCount) records × \(sec.recordSize) bytes ≠ byte count \(sec.byteCount)")
                }
                guard sec.recordCount == ionCount else {
                    throw TwinError.invalidInput("\(name): section '\(secName)' at byte offset \(off) has \(sec.recordCount) records but the file header (byte offset 532) says \(ionCount) ions")
                }
                sections.append(sec)
            }
            off = sec.dataOffset + sec.byteCount
        }
        return Layout(fileName: fname, ionCount: ionCount, sections: sections, warnings: warnings)
    }

    /// Reads every mapped section into an ``Acquisition``.
    public static func read(_ url: URL) throws -> Acquisition {
        let file = try InputFile(url)
        let lay = try layout(file)
        var acq = Acquisition()
        acq.notes = lay.warnings
        let plan = columnPlan(lay, name: file.name)
        acq.notes += plan.notes
        for (column, sec, element) in plan.columns {
            try readColumn(file, sec, element: element, range: 0..<lay.ionCount, into: &acq, column: column)
        }
        if acq.count != lay.ionCount && lay.ionCount > 0 && plan.columns.isEmpty {
            acq.notes.append("\(file.name): no section maps to an acquisition column")
        }
        return acq
    }

    /// Reads the mapped columns of ions `range` only (for streaming files larger than memory).
    public static func readChunk(_ url: URL, layout lay: Layout, range: Range<Int>) throws -> Acquisition {
        let file = try InputFile(url)
        var acq = Acquisition()
        for (column, sec, element) in columnPlan(lay, name: file.name).columns {
            try readColumn(file, sec, element: element, range: range, into: &acq, column: column)
        }
        return acq
    }

    /// Acquisition columns the reader fills.
    enum Column { case x, y, z, mass, tof, vdc, vpulse, detX, detY, multiplicity }

    /// Which section (and element within its record) fills which column, plus notes on what was skipped.
    static func columnPlan(_ lay: Layout, name: String) -> (columns: [(Column, Section, Int)], notes: [String]) {
        var cols: [(Column, Section, Int)] = []
        var notes: [String] = []
        let names = Set(lay.sections.map(\.name))
        for s in lay.sections {
            switch s.name {
            case "Position" where s.elementsPerRecord == 3: cols += [(.x, s, 0), (.y, s, 1), (.z, s, 2)]
            case "Mass": cols.append((.mass, s, 0))
            case "tof": cols.append((.tof, s, 0))
            case "tofc" where !names.contains("tof"):
                cols.append((.tof, s, 0)); notes.append("\(name): tof_ns holds the corrected TOF section 'tofc'")
            case "Voltage": cols.append((.vdc, s, 0))
            case "Pulse Voltage": cols.append((.vpulse, s, 0))
            case "XDet_mm": cols.append((.detX, s, 0))
            case "YDet_mm": cols.append((.detY, s, 0))
            case "Detector Coordinates" where s.elementsPerRecord == 2 && !names.contains("XDet_mm"):
                cols += [(.detX, s, 0), (.detY, s, 1)]
            case "Multiplicity": cols.append((.multiplicity, s, 0))
            default: notes.append("\(name): section '\(s.name)' (\(s.unit.isEmpty ? "no unit" : s.unit)) not mapped to an acquisition column")
            }
        }
        return (cols, notes)
    }

    static func readColumn(_ file: borrowing InputFile, _ s: Section, element: Int, range: Range<Int>,
                           into acq: inout Acquisition, column: Column) throws {
        let bytesPerElement = s.elementBits / 8
        guard [1, 2, 4, 8].contains(bytesPerElement), let dt = DataType(rawValue: s.dataTypeCode),
              !(dt == .float && bytesPerElement < 4) else {
            throw TwinError.invalidInput("\(file.name): section '\(s.name)' at byte offset \(s.headerOffset) has unsupported data type \(s.dataTypeCode) of \(s.elementBits) bits")
        }
        let n = range.count
        var vals = [Float](repeating: 0, count: column == .multiplicity ? 0 : n)
        var ints = [UInt32](repeating: 0, count: column == .multiplicity ? n : 0)
        let per = max(1, (1 << 20) / s.recordSize)
        let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: min(n, per) * s.recordSize + 8, alignment: 16)
        defer { buf.deallocate() }
        var done = 0
        while done < n {
            let k = min(per, n - done)
            try file.readExactly(into: UnsafeMutableRawBufferPointer(rebasing: buf[0..<(k * s.recordSize)]),
                                 at: s.dataOffset + (range.lowerBound + done) * s.recordSize)
            let base = UnsafeRawPointer(buf.baseAddress!) + element * bytesPerElement
            for i in 0..<k {
                let p = base + i * s.recordSize
                let d: Double
                switch (dt, bytesPerElement) {
                case (.float, 4): d = Double(Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(as: UInt32.self))))
                case (.float, _): d = Double(bitPattern: UInt64(littleEndian: p.loadUnaligned(as: UInt64.self)))
                case (.int, 1): d = Double(p.loadUnaligned(as: Int8.self))
                case (.int, 2): d = Double(Int16(littleEndian: p.loadUnaligned(as: Int16.self)))
                case (.int, 4): d = Double(Int32(littleEndian: p.loadUnaligned(as: Int32.self)))
                case (.int, _): d = Double(Int64(littleEndian: p.loadUnaligned(as: Int64.self)))
                case (_, 1): d = Double(p.loadUnaligned(as: UInt8.self))
                case (_, 2): d = Double(UInt16(littleEndian: p.loadUnaligned(as: UInt16.self)))
                case (_, 4): d = Double(UInt32(littleEndian: p.loadUnaligned(as: UInt32.self)))
                default: d = Double(UInt64(littleEndian: p.loadUnaligned(as: UInt64.self)))
                }
                if column == .multiplicity {
                    ints[done + i] = d >= 0 && d <= Double(UInt32.max) ? UInt32(d) : 0
                } else {
                    vals[done + i] = Float(d)
                }
            }
            done += k
        }
        switch column {
        case .x: acq.xNM = vals
        case .y: acq.yNM = vals
        case .z: acq.zNM = vals
        case .mass: acq.massToChargeDa = vals
        case .tof: acq.tofNS = vals
        case .vdc: acq.vDCV = vals
        case .vpulse: acq.vPulseV = vals
        case .detX: acq.detectorXMM = vals
        case .detY: acq.detectorYMM = vals
        case .multiplicity: acq.multiplicity = ints
        }
    }

    // MARK: writing

    /// A section to write: name, unit, data type, element bits, elements per record, and the raw little-endian
    /// record bytes. `recordCount` may be set to a wrong value on purpose (tests of the reader's checks).
    public struct RawSection: Sendable {
        public var name: String
        public var unit: String
        public var dataType: DataType
        public var elementBits: Int
        public var elementsPerRecord: Int
        public var data: Data
        public var recordCount: Int
        public var relationship: UInt32 = 1
        public var recordType: UInt32 = 1
        /// Float32 columns interleaved per record (Position: x, y, z). The bytes are copied in bulk on little-endian
        /// hosts (APT is little-endian), so writing runs at memory speed.
        public init(name: String, unit: String, floats: [[Float]]) {
            self.name = name; self.unit = unit; dataType = .float; elementBits = 32; elementsPerRecord = floats.count
            let n = floats.first?.count ?? 0, k = floats.count
            if k == 1 {
                data = floats[0].withUnsafeBytes { Data($0) }
                if UInt32(1).littleEndian != 1 { data = RawSection.swapped32(data) }
            } else {
                var inter = [Float](repeating: 0, count: n * k)
                for (c, col) in floats.enumerated() { for i in 0..<n { inter[i * k + c] = col[i] } }
                data = inter.withUnsafeBytes { Data($0) }
                if UInt32(1).littleEndian != 1 { data = RawSection.swapped32(data) }
            }
            recordCount = n
        }
        /// A 32-bit integer column written as AP Suite writes counts such as `Multiplicity`: data type INT (1), not
        /// UINT — APAV and other readers reject UINT sections. Values above Int32.max are clamped.
        public init(name: String, unit: String, int32s values: [UInt32]) {
            self.name = name; self.unit = unit; dataType = .int; elementBits = 32; elementsPerRecord = 1
            let v = values.map { Int32(clamping: $0) }
            data = v.withUnsafeBytes { Data($0) }
            if UInt32(1).littleEndian != 1 { data = RawSection.swapped32(data) }
            recordCount = values.count
        }
        public init(name: String, unit: String, uints: [UInt32]) {
            self.name = name; self.unit = unit; dataType = .uint; elementBits = 32; elementsPerRecord = 1
            data = uints.withUnsafeBytes { Data($0) }
            if UInt32(1).littleEndian != 1 { data = RawSection.swapped32(data) }
            recordCount = uints.count
        }
        static func swapped32(_ d: Data) -> Data {
            var b = [UInt8](d)
            var i = 0
            while i + 3 < b.count { b.swapAt(i, i + 3); b.swapAt(i + 1, i + 2); i += 4 }
            return Data(b)
        }
    }

    /// Encodes an APT6 file from raw sections (`Position` gets the 172-byte header with bounds).
    public static func encode(sections: [RawSection], ionCount: Int, fileName: String = "aptwin.apt") -> Data {
        var d = Data(capacity: fileHeaderSize + sections.reduce(0) { $0 + 172 + $1.data.count })
        func i32(_ v: Int32) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        func f32(_ v: Float) { withUnsafeBytes(of: v.bitPattern.littleEndian) { d.append(contentsOf: $0) } }
        func str(_ s: String, _ units: Int) {
            var u = Array(s.utf16.prefix(units - 1))
            u += [UInt16](repeating: 0, count: units - u.count)
            for c in u { withUnsafeBytes(of: c.littleEndian) { d.append(contentsOf: $0) } }
        }
        d.append(contentsOf: [0x41, 0x50, 0x54, 0]); i32(Int32(fileHeaderSize)); i32(2); str(fileName, 256)
        u64(0); u64(UInt64(ionCount))
        for s in sections {
            let isPos = s.name == "Position"
            d.append(contentsOf: [0x53, 0x45, 0x43, 0]); i32(Int32(isPos ? 172 : sectionHeaderSize)); i32(2); str(s.name, 32)
            i32(1); u32(s.relationship); u32(s.recordType); u32(s.dataType.rawValue); i32(Int32(s.elementBits))
            i32(Int32(s.elementBits / 8 * s.elementsPerRecord)); str(s.unit, 16); u64(UInt64(s.recordCount)); u64(UInt64(s.data.count))
            if isPos {
                var lo = [Float](repeating: .infinity, count: 3), hi = [Float](repeating: -.infinity, count: 3)
                // Bounds per axis: a copy into [Float] (aligned, host order) and one pass per axis.
                var vals = [Float](repeating: 0, count: s.data.count / 4)
                vals.withUnsafeMutableBytes { dst in _ = s.data.copyBytes(to: dst) }
                if UInt32(1).littleEndian != 1 { vals = vals.map { Float(bitPattern: UInt32(littleEndian: $0.bitPattern)) } }
                vals.withUnsafeBufferPointer { v in
                    for k in 0..<3 {
                        var a = Float.infinity, b = -Float.infinity
                        var i = k
                        while i < v.count { let x = v[i]; if x.isFinite { a = Swift.min(a, x); b = Swift.max(b, x) }; i += 3 }
                        lo[k] = a; hi[k] = b
                    }
                }
                for k in 0..<3 { f32(lo[k].isFinite ? lo[k] : 0); f32(hi[k].isFinite ? hi[k] : 0) }
            }
            d.append(s.data)
        }
        return d
    }

    /// The sections an acquisition maps to (only its non-empty columns).
    public static func sections(of acq: Acquisition) -> [RawSection] {
        var s: [RawSection] = []
        if !acq.xNM.isEmpty { s.append(RawSection(name: "Position", unit: "nm", floats: [acq.xNM, acq.yNM, acq.zNM])) }
        if !acq.massToChargeDa.isEmpty { s.append(RawSection(name: "Mass", unit: "Da", floats: [acq.massToChargeDa])) }
        if !acq.tofNS.isEmpty { s.append(RawSection(name: "tof", unit: "ns", floats: [acq.tofNS])) }
        if !acq.vDCV.isEmpty { s.append(RawSection(name: "Voltage", unit: "V", floats: [acq.vDCV])) }
        if !acq.vPulseV.isEmpty { s.append(RawSection(name: "Pulse Voltage", unit: "V", floats: [acq.vPulseV])) }
        if !acq.detectorXMM.isEmpty { s.append(RawSection(name: "XDet_mm", unit: "mm", floats: [acq.detectorXMM])) }
        if !acq.detectorYMM.isEmpty { s.append(RawSection(name: "YDet_mm", unit: "mm", floats: [acq.detectorYMM])) }
        if !acq.multiplicity.isEmpty { s.append(RawSection(name: "Multiplicity", unit: "", int32s: acq.multiplicity)) }
        return s
    }

    /// Writes the non-empty columns of `acq` as an APT6 file (in memory, then atomically).
    public static func write(_ acq: Acquisition, to url: URL) throws {
        try acq.validateColumns()
        guard acq.count > 0 else { throw TwinError.invalidInput("\(displayName(url)): cannot write APT: the acquisition has no ions") }
        try AtomicFile.write(encode(sections: sections(of: acq), ionCount: acq.count, fileName: displayName(url)), to: url)
    }

    // MARK: little-endian helpers

    static func le32(_ b: [UInt8], _ o: Int) -> UInt32 {
        UInt32(b[o]) | UInt32(b[o + 1]) << 8 | UInt32(b[o + 2]) << 16 | UInt32(b[o + 3]) << 24
    }
    static func le64(_ b: [UInt8], _ o: Int) -> UInt64 { UInt64(le32(b, o)) | UInt64(le32(b, o + 4)) << 32 }
    static func utf16(_ b: [UInt8], _ o: Int, _ units: Int) -> String {
        var u: [UInt16] = []
        for k in 0..<units {
            let c = UInt16(b[o + 2 * k]) | UInt16(b[o + 2 * k + 1]) << 8
            if c == 0 { break }
            u.append(c)
        }
        return String(decoding: u, as: UTF16.self)
    }
}
