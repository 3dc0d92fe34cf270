import Foundation
import TwinCore

/// Byte order of an ATO file's records: detected from the data (``auto``) or forced.
public enum ATOByteOrder: String, Sendable, CaseIterable {
    case auto, little, big
}

/// The GPM Rouen / LAWATAP `.ato` format, versions 3 and 5 (read only).
///
/// No maintained specification exists; the layouts below were gathered from public readers (read for the layout
/// only; none of their code is used): `ifes_apt_tc_data_modeling` `ato/ato_reader.py` (Apache-2.0; v3 and v5,
/// little-endian, v5 x/y as int16 × 0.01 and z as float32 × 0.1), its `ato/matlab/ato.m` (v5 x/y read
/// big-endian), 3Depict's `LoadATOFile` in `APTFileIO.cpp` (GPL; v3 fields, byte order detected by sampling for
/// NaN/Inf and implausible magnitudes, little-endian when undecidable) and the project's `formats.md`.
///
/// **Header.** Bytes 4–7 hold the version (3 or 5) as a 32-bit integer in either byte order (v4 exists but its
/// layout is unpublished and is rejected). v3 has an 8-byte header, v5 a 5000-byte one; the record count must be
/// exactly (size − header) / record size, else the error names the byte offset of the trailing partial record.
///
/// **v3** (56-byte records, 14 × float32): x, y, z (Å → nm ×0.1), m/n (Da), cluster id (not kept), pulse number
/// (float; loses precision above 2²⁴: not kept), V_DC (kV → V), TOF, detector x, y (cm → mm ×10), V_pulse
/// (kV → V), virtual voltage, Fourier re/im (not kept). TOF unit: 3Depict says µs, other sources give none. Rule:
/// if the median |TOF| of the sampled records is below 50 the column is taken as µs (×1000), else as ns; the
/// choice is in `notes`.
///
/// **v5** (40-byte records): x, y int16 × 0.01 (nm), z float32 × 0.1 (nm) at byte 4, m/n float32 (Da) at byte 8.
/// The remaining 28 bytes have no public description and are not read.
///
/// **Byte order rule** (``ATOByteOrder/auto``): up to 512 records, evenly spaced, are decoded in both byte orders;
/// each float field that is NaN/Inf, subnormal, or implausible (|x|,|y|,|z| > 10⁷ Å; m/n outside −1…10⁴ Da;
/// |V_DC|, |V_pulse| > 1000 kV; |detector| > 100 cm; v5: |z| > 10⁷, m/n as for v3) counts as a miss, and the order
/// with fewer misses wins. Equal counts: little-endian (3Depict's and ifes' default). The choice and both miss
/// counts are in `notes`; `byteOrder` overrides the detection.
///
/// Non-finite values are kept as read and counted in a note.
public enum ATOFile {
    static let v3Header = 8, v3Record = 56
    static let v5Header = 5000, v5Record = 40

    /// Reads an ATO file.
    /// - Throws: `TwinError.invalidInput` naming the file and byte offset (unknown version, size not matching
    ///   header + whole records, no records), `TwinError.io`.
    public static func read(_ url: URL, byteOrder: ATOByteOrder = .auto) throws -> Acquisition {
        try decode(try readWholeFile(url), name: displayName(url), byteOrder: byteOrder)
    }

    /// Decodes ATO bytes held in memory; `name` is used in messages.
    public static func decode(_ data: Data, name: String, byteOrder: ATOByteOrder = .auto) throws -> Acquisition {
        try data.withUnsafeBytes { raw in try decode(raw, name: name, byteOrder: byteOrder) }
    }

    static func decode(_ raw: UnsafeRawBufferPointer, name: String, byteOrder: ATOByteOrder) throws -> Acquisition {
        let size = raw.count
        guard size >= 8 else {
            throw TwinError.invalidInput("\(name): file ended at byte offset \(size) inside the 8-byte ATO header")
        }
        let vLE = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        let vBE = UInt32(bigEndian: raw.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        let version: Int
        if vLE == 3 || vBE == 3 { version = 3 } else if vLE == 5 || vBE == 5 { version = 5 }
        else if vLE == 4 || vBE == 4 {
            throw TwinError.invalidInput("\(name): ATO version 4 at byte offset 4 is not supported (its layout is unpublished); versions 3 and 5 are")
        } else {
            throw TwinError.invalidInput("\(name): not an ATO file: version field at byte offset 4 is \(vLE) (little-endian) / \(vBE) (big-endian); expected 3 or 5")
        }
        let header = version == 3 ? v3Header : v5Header, record = version == 3 ? v3Record : v5Record
        guard size >= header else {
            throw TwinError.invalidInput("\(name): ATO v\(version): file ended at byte offset \(size) inside the \(header)-byte header")
        }
        let body = size - header
        if body % record != 0 {
            let rest = body % record
            throw TwinError.invalidInput("\(name): ATO v\(version): size \(size) is not the \(header)-byte header plus whole \(record)-byte records; trailing \(rest) bytes at byte offset \(size - rest)")
        }
        let n = body / record
        guard n > 0 else { throw TwinError.invalidInput("\(name): ATO v\(version): no records after the \(header)-byte header (byte offset \(header))") }
        let base = raw.baseAddress! + header
        var notes: [String] = []

        // Byte order.
        let little: Bool
        let (missLE, missBE, sampled) = sampleMisses(base, count: n, version: version)
        switch byteOrder {
        case .little: little = true; notes.append("\(name): ATO v\(version), little-endian (forced)")
        case .big: little = false; notes.append("\(name): ATO v\(version), big-endian (forced)")
        case .auto:
            little = missLE <= missBE
            if missLE == missBE {
                notes.append("\(name): ATO v\(version), byte order undecidable (\(missLE) of \(sampled) sampled fields implausible either way): little-endian assumed")
            } else {
                notes.append("\(name): ATO v\(version), \(little ? "little" : "big")-endian detected: of \(sampled) sampled fields \(missLE) implausible as little-endian, \(missBE) as big-endian")
            }
        }

        var acq = Acquisition()
        @inline(__always) func f32(_ p: UnsafeRawPointer) -> Float {
            let u = p.loadUnaligned(as: UInt32.self)
            return Float(bitPattern: little ? UInt32(littleEndian: u) : UInt32(bigEndian: u))
        }
        @inline(__always) func i16(_ p: UnsafeRawPointer) -> Int16 {
            let u = p.loadUnaligned(as: Int16.self)
            return little ? Int16(littleEndian: u) : Int16(bigEndian: u)
        }
        func column(_ offset: Int, _ scale: Float) -> [Float] {
            [Float](unsafeUninitializedCapacity: n) { b, k in
                var p = UnsafeRawPointer(base) + offset
                for i in 0..<n { b[i] = f32(p) * scale; p += record }
                k = n
            }
        }
        if version == 3 {
            acq.xNM = column(0, 0.1); acq.yNM = column(4, 0.1); acq.zNM = column(8, 0.1)
            acq.massToChargeDa = column(12, 1)
            acq.vDCV = column(24, 1000)
            var tof = column(28, 1)
            acq.detectorXMM = column(32, 10); acq.detectorYMM = column(36, 10)
            acq.vPulseV = column(40, 1000)
            // TOF unit rule (see the type's documentation).
            var sample: [Float] = []
            let step = max(1, n / 512)
            var i = 0
            while i < n { if tof[i].isFinite { sample.append(abs(tof[i])) }; i += step }
            sample.sort()
            let median = sample.isEmpty ? 0 : sample[sample.count / 2]
            if median < 50 {
                for j in 0..<n { tof[j] *= 1000 }
                notes.append("\(name): TOF median \(median) < 50: read as µs and converted to ns")
            } else {
                notes.append("\(name): TOF median \(median) ≥ 50: read as ns")
            }
            acq.tofNS = tof
            notes.append("\(name): x, y, z read as Å, V_DC and V_pulse as kV, detector x/y as cm; cluster id, pulse number, virtual voltage and Fourier columns not kept")
        } else {
            acq.xNM = [Float](unsafeUninitializedCapacity: n) { b, k in
                var p = UnsafeRawPointer(base)
                for i in 0..<n { b[i] = Float(i16(p)) * 0.01; p += record }
                k = n
            }
            acq.yNM = [Float](unsafeUninitializedCapacity: n) { b, k in
                var p = UnsafeRawPointer(base) + 2
                for i in 0..<n { b[i] = Float(i16(p)) * 0.01; p += record }
                k = n
            }
            acq.zNM = column(4, 0.1)
            acq.massToChargeDa = column(8, 1)
            notes.append("\(name): ATO v5: x, y as int16 × 0.01 nm, z as float32 × 0.1 nm, m/n; bytes 12–39 of each record not read (undocumented)")
        }
        var nonFinite = 0
        for c in [acq.xNM, acq.yNM, acq.zNM, acq.massToChargeDa, acq.vDCV, acq.tofNS, acq.detectorXMM, acq.detectorYMM, acq.vPulseV] {
            for v in c where !v.isFinite { nonFinite += 1 }
        }
        if nonFinite > 0 { notes.append("\(name): \(nonFinite) non-finite values (NaN or infinite) kept as read") }
        acq.notes = notes
        return acq
    }

    /// Misses (implausible fields) in both byte orders over up to 512 evenly spaced records.
    static func sampleMisses(_ base: UnsafeRawPointer, count n: Int, version: Int) -> (little: Int, big: Int, fields: Int) {
        // (byte offset, max |value|, min value) per checked field
        let fields: [(Int, Float, Float)] = version == 3
            ? [(0, 1e7, -1e7), (4, 1e7, -1e7), (8, 1e7, -1e7), (12, 1e4, -1), (24, 1000, -1000), (32, 100, -100),
               (36, 100, -100), (40, 1000, -1000)]
            : [(4, 1e7, -1e7), (8, 1e4, -1)]
        let record = version == 3 ? v3Record : v5Record
        let samples = min(n, 512)
        var missLE = 0, missBE = 0
        for s in 0..<samples {
            let r = samples == 1 ? 0 : s * (n - 1) / (samples - 1)
            let p = base + r * record
            for (off, hi, lo) in fields {
                let u = p.loadUnaligned(fromByteOffset: off, as: UInt32.self)
                for (le, v) in [(true, Float(bitPattern: UInt32(littleEndian: u))), (false, Float(bitPattern: UInt32(bigEndian: u)))] {
                    let bad = !v.isFinite || v.isSubnormal || v > hi || v < lo
                    if bad { if le { missLE += 1 } else { missBE += 1 } }
                }
            }
        }
        return (missLE, missBE, samples * fields.count)
    }
}
