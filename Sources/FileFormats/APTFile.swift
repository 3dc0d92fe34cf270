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
/// Sections mapped to ``Acquisition``: `Position` (x, y, z nm), `Mass` (Da), `tof` (ns) or `tofc` (corrected TOF,
/// ns; ``Acquisition/tofIsCorrected`` set, used only when `tof` is absent), `Voltage` (V_DC, V), `Pulse Voltage` (V),
/// `XDet_mm`/`YDet_mm` (or `Detector Coordinates`, 2 × f32 mm, when those are absent), `Multiplicity`, `pulseDelta`
/// (pulses since the previous ion). Every other section (`pulse`, `freq`, `rTip`, vendor sections, and sections of
/// another relationship or record type) is kept verbatim in ``Acquisition/extraColumns``, so that writing the
/// acquisition as APT again reproduces it byte for byte, in the source's section order
/// (``Acquisition/sourceColumnOrder``), with the source's file name and creation time.
///
/// Writing follows AP Suite's conventions, read off its exports (the `apav` wheel's `Si.apt`) and the section table
/// of the NOMAD `ifes_apt_tc_data_modeling` APT6 reader: header version 2, section version 1, float32 columns
/// (`tof`/`tofc` ns, `Mass` Da, `XDet_mm`/`YDet_mm` mm, `Position` nm with its six bounds x/y/z min, max),
/// `Multiplicity` as INT32 and `pulseDelta` as INT16 (INT32 when a gap exceeds 32,767 pulses), `Voltage` float32
/// with an empty unit as AP Suite writes it (the values are volts). `Pulse Voltage` (V) is not an AP Suite section;
/// it is the name APAV maps to its `pulse_voltage`. New files get creation time 0 (reproducible output).
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
        /// One fixed-size record per ion (relationship 1, record type 1): the only sections read into columns.
        public var isPerIonFixed: Bool { relationship == 1 && recordType == 1 }
    }

    /// The header and section table of a file.
    public struct Layout: Sendable, Equatable {
        public var fileName: String
        public var ionCount: Int
        public var sections: [Section]
        /// Notes about sections that are not per-ion columns (carried through unread).
        public var warnings: [String]
        /// Creation time of the file header (Windows FILETIME, 100 ns since 1601), byte offset 524.
        public var creationFILETIME: UInt64 = 0
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
        let ionCount64 = le64(h, 532)
        guard ionCount64 <= UInt64(file.size) else {
            throw TwinError.invalidInput("\(name): ion count \(ionCount64) at byte offset 532 exceeds the file size \(file.size) bytes")
        }
        let ionCount = Int(ionCount64)
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
            let rc64 = le64(s, 132), bc64 = le64(s, 140)
            guard shs <= file.size - off, rc64 <= UInt64(file.size), bc64 <= UInt64(file.size) else {
                throw TwinError.invalidInput("\(name): section '\(secName)' at byte offset \(off): header size \(shs), record count \(rc64) (byte offset \(off + 132)) or byte count \(bc64) (byte offset \(off + 140)) exceeds the file size \(file.size)")
            }
            let sec = Section(name: secName, unit: utf16(s, 100, 16), headerOffset: off, headerSize: shs, dataOffset: off + shs,
                              relationship: le32(s, 80), recordType: le32(s, 84), dataTypeCode: le32(s, 88),
                              elementBits: Int(Int32(bitPattern: le32(s, 92))), recordSize: Int(Int32(bitPattern: le32(s, 96))),
                              recordCount: Int(rc64), byteCount: Int(bc64))
            guard sec.dataOffset + sec.byteCount <= file.size else {
                throw TwinError.invalidInput("\(name): section '\(secName)' at byte offset \(off) declares \(sec.byteCount) data bytes from byte offset \(sec.dataOffset), but the file ends at byte offset \(file.size) (truncated?)")
            }
            if !sec.isPerIonFixed {
                warnings.append("\(name): section '\(secName)' at byte offset \(off) (relationship \(sec.relationship), record type \(sec.recordType)) is not one fixed-size record per ion: carried through unread")
            } else {
                guard sec.recordSize > 0, sec.recordCount.multipliedReportingOverflow(by: sec.recordSize) == (sec.byteCount, false) else {
                    throw TwinError.invalidInput("\(name): section '\(secName)' at byte offset \(off): \(sec.recordCount) records × \(sec.recordSize) bytes ≠ byte count \(sec.byteCount)")
                }
                guard sec.recordCount == ionCount else {
                    throw TwinError.invalidInput("\(name): section '\(secName)' at byte offset \(off) has \(sec.recordCount) records but the file header (byte offset 532) says \(ionCount) ions")
                }
            }
            sections.append(sec)
            off = sec.dataOffset + sec.byteCount
        }
        var lay = Layout(fileName: fname, ionCount: ionCount, sections: sections, warnings: warnings)
        lay.creationFILETIME = le64(h, 524)
        return lay
    }

    /// Reads every mapped section into an ``Acquisition``; the other sections go verbatim into
    /// ``Acquisition/extraColumns``, the section order into ``Acquisition/sourceColumnOrder`` and the file header's
    /// name and creation time into ``Acquisition/sourceMetadata`` (`apt.file_name`, `apt.creation_filetime`).
    ///
    /// - Throws: `TwinError.invalidInput` for the layout errors of ``layout(_:)``, and for a section of a mapped
    ///   name whose shape cannot be that column (e.g. a `Position` that is not three elements per record).
    public static func read(_ url: URL) throws -> Acquisition {
        let file = try InputFile(url)
        let lay = try layout(file)
        var acq = Acquisition()
        acq.notes = lay.warnings
        let plan = try columnPlan(lay, name: file.name)
        acq.notes += plan.notes
        var nonFinite: [String: Int] = [:]
        for (column, sec, element) in plan.columns {
            let bad = try readColumn(file, sec, element: element, range: 0..<lay.ionCount, into: &acq, column: column)
            if bad > 0 { nonFinite[sec.name, default: 0] += bad }
        }
        for (name, n) in nonFinite.sorted(by: { $0.key < $1.key }) {
            acq.notes.append("\(file.name): section '\(name)' holds \(n) non-finite values (NaN or ±inf)")
        }
        acq.tofIsCorrected = plan.tofIsCorrected
        acq.sourceColumnOrder = lay.sections.map(\.name)
        acq.sourceMetadata = ["apt.file_name": lay.fileName, "apt.creation_filetime": String(lay.creationFILETIME)]
        for sec in lay.sections where !plan.mapped.contains(sec.headerOffset) {
            var header = [UInt8](repeating: 0, count: sec.headerSize), data = [UInt8](repeating: 0, count: sec.byteCount)
            try header.withUnsafeMutableBytes { try file.readExactly(into: $0, at: sec.headerOffset) }
            try data.withUnsafeMutableBytes { try file.readExactly(into: $0, at: sec.dataOffset) }
            acq.extraColumns.append(ExtraColumn(name: sec.name, format: "apt", header: header, data: data,
                                                perIonRecords: sec.isPerIonFixed ? sec.recordCount : nil))
        }
        if !acq.extraColumns.isEmpty {
            acq.notes.append("\(file.name): sections \(acq.extraColumns.map { "'\($0.name)'" }.joined(separator: ", ")) carried through unread (kept when written as APT)")
        }
        if acq.count == 0 && lay.ionCount > 0 {
            acq.notes.append("\(file.name): no section maps to an acquisition column")
        }
        return acq
    }

    /// Reads the mapped columns of ions `range` only (for streaming files larger than memory).
    public static func readChunk(_ url: URL, layout lay: Layout, range: Range<Int>) throws -> Acquisition {
        let file = try InputFile(url)
        guard range.lowerBound >= 0, range.upperBound <= lay.ionCount else {
            throw TwinError.invalidInput("\(file.name): ions \(range) outside the file's \(lay.ionCount) ions")
        }
        var acq = Acquisition()
        let plan = try columnPlan(lay, name: file.name)
        for (column, sec, element) in plan.columns {
            _ = try readColumn(file, sec, element: element, range: range, into: &acq, column: column)
        }
        acq.tofIsCorrected = plan.tofIsCorrected
        return acq
    }

    /// Acquisition columns the reader fills.
    enum Column { case x, y, z, mass, tof, vdc, vpulse, detX, detY, multiplicity, pulseDelta }

    /// Which section (and element within its record) fills which column, the header offsets of the sections used,
    /// and notes.
    static func columnPlan(_ lay: Layout, name: String) throws -> (columns: [(Column, Section, Int)], mapped: Set<Int>,
                                                                    tofIsCorrected: Bool, notes: [String]) {
        var cols: [(Column, Section, Int)] = []
        var notes: [String] = []
        var mapped = Set<Int>()
        var tofIsCorrected = false
        var taken = Set<String>()
        let names = Set(lay.sections.filter(\.isPerIonFixed).map(\.name))
        func need(_ s: Section, _ k: Int) throws {
            guard s.elementsPerRecord == k, s.elementBits >= 8, s.recordSize == k * (s.elementBits / 8) else {
                throw TwinError.invalidInput("\(name): section '\(s.name)' at byte offset \(s.headerOffset) has \(s.recordSize)-byte records of \(s.elementBits)-bit elements; expected \(k) element\(k == 1 ? "" : "s") per record")
            }
        }
        for s in lay.sections where s.isPerIonFixed && !taken.contains(s.name) {
            var use: [(Column, Int)] = []
            switch s.name {
            case "Position": try need(s, 3); use = [(.x, 0), (.y, 1), (.z, 2)]
            case "Mass": try need(s, 1); use = [(.mass, 0)]
            case "tof": try need(s, 1); use = [(.tof, 0)]
            case "tofc" where !names.contains("tof"):
                try need(s, 1); use = [(.tof, 0)]; tofIsCorrected = true
                notes.append("\(name): tof_ns holds the corrected TOF section 'tofc'")
            case "Voltage": try need(s, 1); use = [(.vdc, 0)]
            case "Pulse Voltage": try need(s, 1); use = [(.vpulse, 0)]
            case "XDet_mm": try need(s, 1); use = [(.detX, 0)]
            case "YDet_mm": try need(s, 1); use = [(.detY, 0)]
            case "Detector Coordinates" where !names.contains("XDet_mm") && !names.contains("YDet_mm"):
                try need(s, 2); use = [(.detX, 0), (.detY, 1)]
            case "Multiplicity": try need(s, 1); use = [(.multiplicity, 0)]
            case "pulseDelta": try need(s, 1); use = [(.pulseDelta, 0)]
            default: break
            }
            guard !use.isEmpty else { continue }
            taken.insert(s.name)
            mapped.insert(s.headerOffset)
            for (c, e) in use { cols.append((c, s, e)) }
        }
        return (cols, mapped, tofIsCorrected, notes)
    }

    /// Reads one element of every record of `s` in `range` into `column`; returns the count of non-finite values
    /// (float columns) or of values outside UInt32 (count columns, stored as 0).
    @discardableResult
    static func readColumn(_ file: borrowing InputFile, _ s: Section, element: Int, range: Range<Int>,
                           into acq: inout Acquisition, column: Column) throws -> Int {
        let bytesPerElement = s.elementBits / 8
        guard [1, 2, 4, 8].contains(bytesPerElement), let dt = DataType(rawValue: s.dataTypeCode),
              !(dt == .float && bytesPerElement < 4) else {
            throw TwinError.invalidInput("\(file.name): section '\(s.name)' at byte offset \(s.headerOffset) has unsupported data type \(s.dataTypeCode) of \(s.elementBits) bits")
        }
        let n = range.count
        let isCount = column == .multiplicity || column == .pulseDelta
        var vals = [Float](repeating: 0, count: isCount ? 0 : n)
        var ints = [UInt32](repeating: 0, count: isCount ? n : 0)
        var bad = 0
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
                if isCount {
                    if d >= 0 && d <= Double(UInt32.max) { ints[done + i] = UInt32(d) } else { bad += 1 }
                } else {
                    let f = Float(d)
                    if !f.isFinite { bad += 1 }
                    vals[done + i] = f
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
        case .pulseDelta: acq.pulsesSincePrevious = ints
        }
        return bad
    }

    // MARK: writing

    /// A section to write: its header fields and where its records come from. The records are produced while the
    /// file is written (columns are not copied into an intermediate buffer first), so writing runs near memory speed.
    /// `recordCount` may be set to a wrong value on purpose (tests of the reader's checks).
    public struct RawSection: Sendable {
        public var name: String
        public var unit: String
        public var dataType: DataType
        public var elementBits: Int
        public var elementsPerRecord: Int
        public var recordCount: Int
        public var relationship: UInt32 = 1
        public var recordType: UInt32 = 1
        var body: Body
        /// A section header to write verbatim instead of one built from the fields (carried-through sections).
        var verbatimHeader: [UInt8]?

        enum Body: Sendable {
            /// float32 columns interleaved per record (Position: x, y, z).
            case floats([[Float]])
            /// Counts written as INT32 (clamped at Int32.max).
            case int32([UInt32])
            /// Counts written as INT16 (the caller checked that they fit).
            case int16([UInt32])
            /// Counts written as UINT32.
            case uint32([UInt32])
            /// Little-endian record bytes as they are.
            case bytes([UInt8])
        }

        /// Byte count of the records.
        var byteCount: Int {
            switch body {
            case .floats(let c): return 4 * c.count * (c.first?.count ?? 0)
            case .int32(let v), .uint32(let v): return 4 * v.count
            case .int16(let v): return 2 * v.count
            case .bytes(let b): return b.count
            }
        }

        /// Float32 columns interleaved per record (Position: x, y, z); all columns must have the same length.
        public init(name: String, unit: String, floats: [[Float]]) {
            self.name = name; self.unit = unit; dataType = .float; elementBits = 32; elementsPerRecord = floats.count
            body = .floats(floats); recordCount = floats.first?.count ?? 0
        }
        /// A 32-bit integer column written as AP Suite writes counts such as `Multiplicity`: data type INT (1), not
        /// UINT — APAV and other readers reject UINT sections. Values above Int32.max are clamped.
        public init(name: String, unit: String, int32s values: [UInt32]) {
            self.name = name; self.unit = unit; dataType = .int; elementBits = 32; elementsPerRecord = 1
            body = .int32(values); recordCount = values.count
        }
        /// A 16-bit INT column (AP Suite's `pulseDelta`); values must be ≤ 32,767.
        init(name: String, unit: String, int16s values: [UInt32]) {
            self.name = name; self.unit = unit; dataType = .int; elementBits = 16; elementsPerRecord = 1
            body = .int16(values); recordCount = values.count
        }
        public init(name: String, unit: String, uints: [UInt32]) {
            self.name = name; self.unit = unit; dataType = .uint; elementBits = 32; elementsPerRecord = 1
            body = .uint32(uints); recordCount = uints.count
        }
        /// A section carried through from a read file: header and records exactly as they were.
        init(carried c: ExtraColumn) {
            name = c.name; unit = ""; dataType = .float; elementBits = 0; elementsPerRecord = 0
            recordCount = c.perIonRecords ?? 0; body = .bytes(c.data); verbatimHeader = c.header
        }

        /// The section header: 148 bytes, 172 for `Position` (which appends the six float32 bounds).
        func header() -> [UInt8] {
            if let h = verbatimHeader { return h }
            let isPos = name == "Position"
            var d: [UInt8] = []
            d.reserveCapacity(172)
            func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
            func i32(_ v: Int) { u32(UInt32(bitPattern: Int32(truncatingIfNeeded: v))) }
            func u64(_ v: Int) { withUnsafeBytes(of: UInt64(v).littleEndian) { d.append(contentsOf: $0) } }
            d += [0x53, 0x45, 0x43, 0]; i32(isPos ? 172 : sectionHeaderSize); i32(2); d += utf16z(name, 32)
            i32(1); u32(relationship); u32(recordType); u32(dataType.rawValue); i32(elementBits)
            i32(elementBits / 8 * elementsPerRecord); d += utf16z(unit, 16); u64(recordCount); u64(byteCount)
            if isPos {
                var bounds: [Float] = []
                if case .floats(let cols) = body {
                    for c in cols.prefix(3) {
                        var lo = Float.infinity, hi = -Float.infinity
                        c.withUnsafeBufferPointer { v in for x in v where x.isFinite { lo = Swift.min(lo, x); hi = Swift.max(hi, x) } }
                        bounds += lo <= hi ? [lo, hi] : [0, 0]
                    }
                }
                bounds += [Float](repeating: 0, count: 6 - bounds.count)
                for f in bounds { u32(f.bitPattern) }
            }
            return d
        }

        /// Streams the records to `sink` in chunks of at most 1 MiB (single float32 columns in one write).
        func writeRecords(to sink: some ByteSink) throws {
            let littleEndianHost = UInt32(1).littleEndian == 1
            switch body {
            case .bytes(let b): try b.withUnsafeBytes { try sink.write($0) }
            case .floats(let cols) where cols.count == 1 && littleEndianHost:
                try cols[0].withUnsafeBytes { try sink.write($0) }
            case .floats(let cols):
                try chunked(count: recordCount, recordSize: 4 * cols.count, sink: sink) { first, k, out in
                    let o = out.bindMemory(to: UInt32.self)
                    for (c, col) in cols.enumerated() {
                        col.withUnsafeBufferPointer { v in
                            for i in 0..<k { o[i * cols.count + c] = v[first + i].bitPattern.littleEndian }
                        }
                    }
                }
            case .int32(let v):
                try chunked(count: v.count, recordSize: 4, sink: sink) { first, k, out in
                    let o = out.bindMemory(to: Int32.self)
                    v.withUnsafeBufferPointer { s in for i in 0..<k { o[i] = Int32(clamping: s[first + i]).littleEndian } }
                }
            case .uint32(let v):
                try chunked(count: v.count, recordSize: 4, sink: sink) { first, k, out in
                    let o = out.bindMemory(to: UInt32.self)
                    v.withUnsafeBufferPointer { s in for i in 0..<k { o[i] = s[first + i].littleEndian } }
                }
            case .int16(let v):
                try chunked(count: v.count, recordSize: 2, sink: sink) { first, k, out in
                    let o = out.bindMemory(to: Int16.self)
                    v.withUnsafeBufferPointer { s in for i in 0..<k { o[i] = Int16(clamping: s[first + i]).littleEndian } }
                }
            }
        }

        private func chunked(count n: Int, recordSize: Int, sink: some ByteSink,
                             _ fill: (Int, Int, UnsafeMutableRawBufferPointer) -> Void) throws {
            let per = Swift.max(1, (1 << 20) / recordSize)
            let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: Swift.min(n, per) * recordSize + 16, alignment: 16)
            defer { buf.deallocate() }
            var done = 0
            while done < n {
                let k = Swift.min(per, n - done)
                fill(done, k, buf)
                try sink.write(UnsafeRawBufferPointer(rebasing: buf[0..<(k * recordSize)]))
                done += k
            }
        }
    }

    /// The 540-byte file header.
    static func fileHeader(fileName: String, creationFILETIME: UInt64, ionCount: Int) -> [UInt8] {
        var d: [UInt8] = [0x41, 0x50, 0x54, 0]
        withUnsafeBytes(of: Int32(fileHeaderSize).littleEndian) { d.append(contentsOf: $0) }
        withUnsafeBytes(of: Int32(2).littleEndian) { d.append(contentsOf: $0) }
        d += utf16z(fileName, 256)
        withUnsafeBytes(of: creationFILETIME.littleEndian) { d.append(contentsOf: $0) }
        withUnsafeBytes(of: UInt64(ionCount).littleEndian) { d.append(contentsOf: $0) }
        return d
    }

    /// `s` as UTF-16LE in exactly `units` code units, NUL-padded (at most `units` − 1 characters kept).
    static func utf16z(_ s: String, _ units: Int) -> [UInt8] {
        var u = Array(s.utf16.prefix(units - 1))
        u += [UInt16](repeating: 0, count: units - u.count)
        var d: [UInt8] = []
        d.reserveCapacity(2 * units)
        for c in u { d.append(UInt8(c & 0xff)); d.append(UInt8(c >> 8)) }
        return d
    }

    /// Encodes an APT6 file from sections in memory (tests, in-memory benchmark). `creationFILETIME` 0 by default.
    public static func encode(sections: [RawSection], ionCount: Int, fileName: String = "aptwin.apt",
                              creationFILETIME: UInt64 = 0) -> Data {
        let sink = MemorySink(capacity: fileHeaderSize + sections.reduce(0) { $0 + 172 + $1.byteCount })
        try? emit(sections, ionCount: ionCount, fileName: fileName, creationFILETIME: creationFILETIME, to: sink)
        return sink.data
    }

    static func emit(_ sections: [RawSection], ionCount: Int, fileName: String, creationFILETIME: UInt64,
                     to sink: some ByteSink) throws {
        try fileHeader(fileName: fileName, creationFILETIME: creationFILETIME, ionCount: ionCount).withUnsafeBytes { try sink.write($0) }
        for s in sections {
            try s.header().withUnsafeBytes { try sink.write($0) }
            try s.writeRecords(to: sink)
        }
    }

    /// The order of sections in files aptwin writes from scratch: AP Suite's export order as in `Si.apt`, with the
    /// columns that file lacks placed before `Position`.
    static let writeOrder = ["tof", "tofc", "Mass", "XDet_mm", "YDet_mm", "Multiplicity", "pulseDelta", "Voltage",
                             "Pulse Voltage", "Detector Coordinates", "Position"]

    /// The sections an acquisition maps to: its non-empty columns under AP Suite's names and types, then the
    /// sections carried through from a read APT file, all in the source's order when there was one.
    ///
    /// - Returns: the sections and notes on carried sections that were dropped (their record count no longer
    ///   matches the ions, e.g. after filtering).
    public static func sections(of acq: Acquisition) -> (sections: [RawSection], notes: [String]) {
        let n = acq.count
        var mapped: [String: RawSection] = [:]
        let order = acq.sourceColumnOrder
        if !acq.xNM.isEmpty { mapped["Position"] = RawSection(name: "Position", unit: "nm", floats: [acq.xNM, acq.yNM, acq.zNM]) }
        if !acq.massToChargeDa.isEmpty { mapped["Mass"] = RawSection(name: "Mass", unit: "Da", floats: [acq.massToChargeDa]) }
        if !acq.tofNS.isEmpty {
            let name = acq.tofIsCorrected ? "tofc" : "tof"
            mapped[name] = RawSection(name: name, unit: "ns", floats: [acq.tofNS])
        }
        if !acq.vDCV.isEmpty { mapped["Voltage"] = RawSection(name: "Voltage", unit: "", floats: [acq.vDCV]) }
        if !acq.vPulseV.isEmpty { mapped["Pulse Voltage"] = RawSection(name: "Pulse Voltage", unit: "V", floats: [acq.vPulseV]) }
        if !acq.detectorXMM.isEmpty {
            let combined = order.contains("Detector Coordinates") && !order.contains("XDet_mm") && !order.contains("YDet_mm")
            if combined {
                mapped["Detector Coordinates"] = RawSection(name: "Detector Coordinates", unit: "mm", floats: [acq.detectorXMM, acq.detectorYMM])
            } else {
                mapped["XDet_mm"] = RawSection(name: "XDet_mm", unit: "mm", floats: [acq.detectorXMM])
                mapped["YDet_mm"] = RawSection(name: "YDet_mm", unit: "mm", floats: [acq.detectorYMM])
            }
        }
        if !acq.multiplicity.isEmpty { mapped["Multiplicity"] = RawSection(name: "Multiplicity", unit: "", int32s: acq.multiplicity) }
        if !acq.pulsesSincePrevious.isEmpty {
            let fits = acq.pulsesSincePrevious.allSatisfy { $0 <= UInt32(Int16.max) }
            mapped["pulseDelta"] = fits ? RawSection(name: "pulseDelta", unit: "", int16s: acq.pulsesSincePrevious)
                                        : RawSection(name: "pulseDelta", unit: "", int32s: acq.pulsesSincePrevious)
        }
        var notes: [String] = []
        var carried: [RawSection] = []
        for c in acq.extraColumns where c.format == "apt" {
            if let k = c.perIonRecords, k != n {
                notes.append("section '\(c.name)' of the source dropped: it has \(k) records, the acquisition \(n) ions")
            } else if mapped[c.name] != nil {
                notes.append("section '\(c.name)' of the source dropped: the acquisition's own column of that name is written")
            } else {
                carried.append(RawSection(carried: c))
            }
        }
        var out: [RawSection] = []
        var emitted = Set<String>()
        for name in order {
            if let m = mapped[name], !emitted.contains(name) { out.append(m); emitted.insert(name); continue }
            if let i = carried.firstIndex(where: { $0.name == name }) { out.append(carried.remove(at: i)) }
        }
        for name in writeOrder where !emitted.contains(name) { if let m = mapped[name] { out.append(m); emitted.insert(name) } }
        out += carried
        return (out, notes)
    }

    /// Writes `acq` as an APT6 file, streamed to a temporary file and renamed into place. A file read by
    /// ``read(_:)`` is written back with its sections, order, file name and creation time.
    ///
    /// - Returns: notes on carried sections that could not be kept.
    /// - Throws: `TwinError.invalidInput` for an empty acquisition or columns of different lengths, `TwinError.io`.
    @discardableResult
    public static func write(_ acq: Acquisition, to url: URL) throws -> [String] {
        try acq.validateColumns()
        guard acq.count > 0 else { throw TwinError.invalidInput("\(displayName(url)): cannot write APT: the acquisition has no ions") }
        let (secs, notes) = sections(of: acq)
        let fileName = acq.sourceMetadata["apt.file_name"] ?? displayName(url)
        let created = acq.sourceMetadata["apt.creation_filetime"].flatMap { UInt64($0) } ?? 0
        try AtomicFile.write(to: url) { w in
            try emit(secs, ionCount: acq.count, fileName: fileName, creationFILETIME: created, to: w)
        }
        return notes.map { "\(displayName(url)): \($0)" }
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
