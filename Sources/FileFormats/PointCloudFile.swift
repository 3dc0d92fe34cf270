import Foundation
import TwinCore

/// Ions as a labelled point cloud for visualisation tools: positions, m/n, a species per point (from a range
/// table) with its colour, and optional integer columns such as the truth ids of a simulated run.
///
/// Species index 0 is `unranged`; index k ≥ 1 is ion k − 1 of the range table (``RangeTable/ions`` order), so the
/// index is never negative and colour maps start at the unranged points.
public struct PointCloud: Sendable {
    /// Positions, nm.
    public var xNM: [Float]
    public var yNM: [Float]
    public var zNM: [Float]
    /// Mass-to-charge ratio, Da.
    public var massToChargeDa: [Float]
    /// Species index per point (0 = unranged, k = `speciesNames[k]`).
    public var species: [Int32]
    /// Names of the species, index 0 is `"unranged"`.
    public var speciesNames: [String]
    /// RGB colour of each species.
    public var speciesColors: [PointCloudColor]
    /// Further integer columns (e.g. `truth_atom_id`, `event_index`), written as Int64 (VTP) or int32 (PLY, XYZ).
    public var integerColumns: [(name: String, values: [Int64])]

    /// Number of points.
    public var count: Int { xNM.count }

    public init(xNM: [Float], yNM: [Float], zNM: [Float], massToChargeDa: [Float], species: [Int32],
                speciesNames: [String], speciesColors: [PointCloudColor], integerColumns: [(name: String, values: [Int64])] = []) {
        self.xNM = xNM; self.yNM = yNM; self.zNM = zNM; self.massToChargeDa = massToChargeDa; self.species = species
        self.speciesNames = speciesNames; self.speciesColors = speciesColors; self.integerColumns = integerColumns
    }

    /// Labels the ions of `acq` (positions and m/n required) with the species of `table` (nil: all unranged).
    ///
    /// A point is ranged when its m/n lies in a closed range [low, high]; with overlapping ranges the first range
    /// in file order wins (as ``RangeTable/ionIndex(forDa:)``). NaN m/n is unranged. Colours: see ``speciesColors(for:)``.
    /// - Throws: `TwinError.invalidInput` if positions or m/n are missing or of different lengths.
    /// - Complexity: O(n log r) for r non-overlapping ranges (binary search), O(n r) if ranges overlap.
    public static func labelled(_ acq: Acquisition, ranges table: RangeTable?, name: String) throws -> PointCloud {
        let n = acq.xNM.count
        guard n > 0, acq.yNM.count == n, acq.zNM.count == n, acq.massToChargeDa.count == n else {
            throw TwinError.invalidInput("\(name): a point cloud needs positions and m/n of equal length (present: "
                                         + "\(acq.presentColumns.joined(separator: ", ")); x \(acq.xNM.count), m/n \(acq.massToChargeDa.count) rows)")
        }
        let t = table ?? RangeTable()
        let species = speciesIndices(acq.massToChargeDa, table: t)
        return PointCloud(xNM: acq.xNM, yNM: acq.yNM, zNM: acq.zNM, massToChargeDa: acq.massToChargeDa, species: species,
                          speciesNames: ["unranged"] + t.ions.map(\.name), speciesColors: speciesColors(for: t))
    }

    /// Species index (0 unranged, k ≥ 1 ion k − 1) of every m/n value.
    public static func speciesIndices(_ mn: [Float], table: RangeTable) -> [Int32] {
        var out = [Int32](repeating: 0, count: mn.count)
        if table.ranges.isEmpty { return out }
        if !table.overlappingPairs().isEmpty {
            for i in mn.indices where mn[i].isFinite { out[i] = Int32(table.ionIndex(forDa: Double(mn[i])).map { $0 + 1 } ?? 0) }
            return out
        }
        let sorted = table.ranges.sorted { $0.lowDa < $1.lowDa }
        let lows = sorted.map(\.lowDa), highs = sorted.map(\.highDa), ions = sorted.map { Int32($0.ionIndex + 1) }
        mn.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for i in 0..<src.count {
                    let m = Double(src[i])
                    guard m.isFinite else { continue }
                    // last range with low <= m
                    var lo = 0, hi = lows.count
                    while lo < hi { let mid = (lo + hi) >> 1; if lows[mid] <= m { lo = mid + 1 } else { hi = mid } }
                    if lo > 0, m <= highs[lo - 1] { dst[i] = ions[lo - 1] }
                }
            }
        }
        return out
    }

    /// The fixed palette for species without a range-file colour: matplotlib's `tab10` without its grey
    /// (1F77B4, FF7F0E, 2CA02C, D62728, 9467BD, 8C564B, E377C2, BCBD22, 17BECF), cycled by ion index.
    public static let palette: [PointCloudColor] = ["1F77B4", "FF7F0E", "2CA02C", "D62728", "9467BD", "8C564B", "E377C2",
                                                    "BCBD22", "17BECF"].map { PointCloudColor(hex: $0)! }
    /// Colour of unranged points: mid grey 808080.
    public static let unrangedColor = PointCloudColor(r: 128, g: 128, b: 128)

    /// Colours per species index: unranged grey, then for each ion the colour of its first range in the file, or
    /// ``palette``[ion index mod 9] when that colour is FFFFFF (what the range readers store when a file gives none).
    public static func speciesColors(for table: RangeTable) -> [PointCloudColor] {
        var out = [unrangedColor]
        for k in table.ions.indices {
            let hex = table.ranges.first { $0.ionIndex == k }?.colorHex.uppercased() ?? "FFFFFF"
            if hex != "FFFFFF", let c = PointCloudColor(hex: hex) { out.append(c) } else { out.append(palette[k % palette.count]) }
        }
        return out
    }

    func validate(_ name: String) throws {
        let n = count
        guard n > 0 else { throw TwinError.invalidInput("\(name): no points to write") }
        guard yNM.count == n, zNM.count == n, massToChargeDa.count == n, species.count == n else {
            throw TwinError.inconsistent("\(name): point-cloud columns differ in length")
        }
        guard speciesColors.count == speciesNames.count, !speciesNames.isEmpty else {
            throw TwinError.inconsistent("\(name): \(speciesNames.count) species names but \(speciesColors.count) colours")
        }
        for c in integerColumns where c.values.count != n {
            throw TwinError.inconsistent("\(name): column \(c.name) has \(c.values.count) rows, expected \(n)")
        }
        if let bad = species.firstIndex(where: { $0 < 0 || Int($0) >= speciesNames.count }) {
            throw TwinError.inconsistent("\(name): point \(bad) has species \(species[bad]) of \(speciesNames.count)")
        }
    }
}

/// An 8-bit RGB colour.
public struct PointCloudColor: Sendable, Equatable {
    public var r: UInt8, g: UInt8, b: UInt8
    public init(r: UInt8, g: UInt8, b: UInt8) { self.r = r; self.g = g; self.b = b }
    /// From six hex digits (`FF8800`), nil if malformed.
    public init?(hex: String) {
        guard hex.count == 6, let v = UInt32(hex, radix: 16) else { return nil }
        r = UInt8(v >> 16); g = UInt8((v >> 8) & 0xFF); b = UInt8(v & 0xFF)
    }
}

/// Writers of ``PointCloud`` for ParaView (VTK XML PolyData `.vtp`), ParaView/MeshLab/CloudCompare (`.ply`) and
/// OVITO/ASE (extended XYZ `.xyz`). All write atomically (temporary name, then rename) and stream in 1 MiB chunks,
/// so 10⁷ points need no per-point allocation; the binary formats are filled with bulk little-endian stores.
///
/// | format | layout |
/// |---|---|
/// | `vtp` | `VTKFile type="PolyData" version="1.0" byte_order="LittleEndian" header_type="UInt64"`, one `Piece` with `NumberOfPoints = NumberOfVerts = n`; `Points` Float32 ×3 (nm); `Verts` with Int64 `connectivity` 0…n−1 and `offsets` 1…n (one vertex cell per point); `PointData`: `mass_to_charge_da` Float32, `species` Int32, `rgb` UInt8 ×3, then each integer column as Int64 (`truth_atom_id`, `event_index`, …); `FieldData`: `species_names` (String array, ASCII char codes, index = species) and `species_rgb` (UInt8 ×3). Binary data are raw appended (`<AppendedData encoding="raw">_`), each block a UInt64 byte count then the bytes. Species names are also listed in an XML comment. |
/// | `ply` | `format binary_little_endian 1.0`, `comment species K NAME RRGGBB` lines, one `element vertex n` with `float x y z`, `uchar red green blue`, `float mass_to_charge`, `int species`, then each integer column as `int` (32-bit; a value outside Int32 is an error). |
/// | `xyz` | extended XYZ: count line, then `Properties=species:S:1:pos:R:3:mass_to_charge:R:1:species_index:I:1:color:R:3[:NAME:I:1…]` (colour as 0…1 reals, as OVITO's `Color`), no `Lattice` (OVITO takes the bounding box); one line per point, species name first (whitespace replaced by `_`). |
public enum PointCloudFile {
    /// Extensions written, lowercase.
    public static let supportedFormats = ["vtp", "ply", "xyz"]

    /// True when `path` ends in one of ``supportedFormats``.
    public static func isPointCloudPath(_ path: String) -> Bool {
        supportedFormats.contains(URL(fileURLWithPath: path).pathExtension.lowercased())
    }

    /// Writes `cloud` in the format named by the extension of `url` (`.vtp`, `.ply`, `.xyz`).
    /// - Throws: `TwinError.invalidInput` for an unknown extension or an empty cloud, `TwinError.inconsistent` for
    ///   columns of different lengths, `TwinError.io`.
    public static func write(_ cloud: PointCloud, to url: URL) throws {
        switch url.pathExtension.lowercased() {
        case "vtp": try writeVTP(cloud, to: url)
        case "ply": try writePLY(cloud, to: url)
        case "xyz": try writeXYZ(cloud, to: url)
        default:
            throw TwinError.invalidInput("\(displayName(url)): not a point-cloud extension; supported: .vtp, .ply, .xyz")
        }
    }

    // MARK: VTP

    /// Writes VTK XML PolyData (see the table above).
    public static func writeVTP(_ cloud: PointCloud, to url: URL) throws {
        let name = displayName(url)
        try cloud.validate(name)
        let data = try encodeVTPParts(cloud)
        try AtomicFile.write(to: url) { out in
            try out.write(data.header)
            for block in data.blocks { try block(out) }
            try out.write("\n  </AppendedData>\n</VTKFile>\n")
        }
    }

    /// VTP into memory (for tests and small clouds).
    public static func encodeVTP(_ cloud: PointCloud) throws -> Data {
        try cloud.validate("VTP output")
        let parts = try encodeVTPParts(cloud)
        let sink = MemorySink()
        try sink.write(parts.header)
        for b in parts.blocks { try b(sink) }
        try sink.write("\n  </AppendedData>\n</VTKFile>\n")
        return sink.data
    }

    private static func encodeVTPParts(_ c: PointCloud) throws -> (header: String, blocks: [(ByteSink) throws -> Void]) {
        let n = c.count
        var offset = 0
        var blocks: [(ByteSink) throws -> Void] = []
        func add(_ bytes: Int, _ body: @escaping (ByteSink) throws -> Void) -> Int {
            let o = offset
            offset += 8 + bytes
            blocks.append { sink in
                var len = UInt64(bytes).littleEndian
                try withUnsafeBytes(of: &len) { try sink.write($0) }
                try body(sink)
            }
            return o
        }
        let names = c.speciesNames
        var namesASCII = ""
        for s in names { namesASCII += s.utf8.map { String($0) }.joined(separator: " ") + " 0 " }
        let rgbTable = c.speciesColors.map { "\($0.r) \($0.g) \($0.b)" }.joined(separator: " ")
        let comment = names.enumerated().map { "species \($0.offset) = \(xmlSafe($0.element))" }.joined(separator: "; ")

        let oPoints = add(12 * n) { try writeInterleavedXYZ(c, to: $0) }
        let oMN = add(4 * n) { try writeFloatsLE(c.massToChargeDa, to: $0) }
        let oSpecies = add(4 * n) { try writeIntegersLE(c.species, to: $0) }
        let oRGB = add(3 * n) { try writeRGB(c, to: $0) }
        var intOffsets: [Int] = []
        for col in c.integerColumns { let v = col.values; intOffsets.append(add(8 * n) { try writeIntegersLE(v, to: $0) }) }
        let oConn = add(8 * n) { sink in try writeSequenceInt64(from: 0, count: n, to: sink) }
        let oOff = add(8 * n) { sink in try writeSequenceInt64(from: 1, count: n, to: sink) }

        var x = """
        <?xml version="1.0"?>
        <!-- written by aptwin: ions as vertices, positions in nm. \(comment) -->
        <VTKFile type="PolyData" version="1.0" byte_order="LittleEndian" header_type="UInt64">
          <PolyData>
            <FieldData>
              <Array type="String" Name="species_names" NumberOfTuples="\(names.count)" format="ascii">
                \(namesASCII)
              </Array>
              <DataArray type="UInt8" Name="species_rgb" NumberOfComponents="3" NumberOfTuples="\(names.count)" format="ascii">
                \(rgbTable)
              </DataArray>
            </FieldData>
            <Piece NumberOfPoints="\(n)" NumberOfVerts="\(n)" NumberOfLines="0" NumberOfStrips="0" NumberOfPolys="0">
              <PointData Scalars="species">
                <DataArray type="Float32" Name="mass_to_charge_da" NumberOfComponents="1" format="appended" offset="\(oMN)"/>
                <DataArray type="Int32" Name="species" NumberOfComponents="1" format="appended" offset="\(oSpecies)"/>
                <DataArray type="UInt8" Name="rgb" NumberOfComponents="3" format="appended" offset="\(oRGB)"/>

        """
        for (k, col) in c.integerColumns.enumerated() {
            x += "        <DataArray type=\"Int64\" Name=\"\(xmlSafe(col.name))\" NumberOfComponents=\"1\" format=\"appended\" offset=\"\(intOffsets[k])\"/>\n"
        }
        x += """
                  </PointData>
                  <Points>
                    <DataArray type="Float32" Name="Points" NumberOfComponents="3" format="appended" offset="\(oPoints)"/>
                  </Points>
                  <Verts>
                    <DataArray type="Int64" Name="connectivity" format="appended" offset="\(oConn)"/>
                    <DataArray type="Int64" Name="offsets" format="appended" offset="\(oOff)"/>
                  </Verts>
                </Piece>
              </PolyData>
              <AppendedData encoding="raw">
                _
            """
        return (x, blocks)
    }

    // MARK: PLY

    /// Writes binary little-endian PLY (see the table above).
    public static func writePLY(_ cloud: PointCloud, to url: URL) throws {
        try cloud.validate(displayName(url))
        let header = try plyHeader(cloud, name: displayName(url))
        try AtomicFile.write(to: url) { out in
            try out.write(header)
            try writePLYBody(cloud, to: out)
        }
    }

    /// PLY into memory.
    public static func encodePLY(_ cloud: PointCloud) throws -> Data {
        try cloud.validate("PLY output")
        let sink = MemorySink()
        try sink.write(try plyHeader(cloud, name: "PLY output"))
        try writePLYBody(cloud, to: sink)
        return sink.data
    }

    private static func plyHeader(_ c: PointCloud, name: String) throws -> String {
        for col in c.integerColumns {
            if let bad = col.values.firstIndex(where: { $0 < Int64(Int32.min) || $0 > Int64(Int32.max) }) {
                throw TwinError.invalidInput("\(name): \(col.name) value \(col.values[bad]) at point \(bad) does not fit PLY's 32-bit int")
            }
        }
        var h = "ply\nformat binary_little_endian 1.0\ncomment written by aptwin: ions as vertices, positions in nm, mass_to_charge in Da\n"
        for (k, s) in c.speciesNames.enumerated() {
            let col = c.speciesColors[k]
            h += "comment species \(k) \(s.replacingOccurrences(of: "\n", with: " ")) \(String(format: "%02X%02X%02X", col.r, col.g, col.b))\n"
        }
        h += "element vertex \(c.count)\nproperty float x\nproperty float y\nproperty float z\n"
        h += "property uchar red\nproperty uchar green\nproperty uchar blue\nproperty float mass_to_charge\nproperty int species\n"
        for col in c.integerColumns { h += "property int \(col.name)\n" }
        return h + "end_header\n"
    }

    private static func writePLYBody(_ c: PointCloud, to sink: ByteSink) throws {
        let n = c.count, ints = c.integerColumns.count
        let rec = 12 + 3 + 4 + 4 + 4 * ints
        let per = max(1, (1 << 20) / rec)
        let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: per * rec, alignment: 16)
        defer { buf.deallocate() }
        let colors = c.speciesColors
        try c.xNM.withUnsafeBufferPointer { xs in
        try c.yNM.withUnsafeBufferPointer { ys in
        try c.zNM.withUnsafeBufferPointer { zs in
        try c.massToChargeDa.withUnsafeBufferPointer { ms in
        try c.species.withUnsafeBufferPointer { sp in
            var first = 0
            while first < n {
                let k = min(per, n - first)
                let p = buf.baseAddress!
                for j in 0..<k {
                    let i = first + j, o = j * rec
                    p.storeBytes(of: xs[i].bitPattern.littleEndian, toByteOffset: o, as: UInt32.self)
                    p.storeBytes(of: ys[i].bitPattern.littleEndian, toByteOffset: o + 4, as: UInt32.self)
                    p.storeBytes(of: zs[i].bitPattern.littleEndian, toByteOffset: o + 8, as: UInt32.self)
                    let col = colors[Int(sp[i])]
                    p.storeBytes(of: col.r, toByteOffset: o + 12, as: UInt8.self)
                    p.storeBytes(of: col.g, toByteOffset: o + 13, as: UInt8.self)
                    p.storeBytes(of: col.b, toByteOffset: o + 14, as: UInt8.self)
                    p.storeBytes(of: ms[i].bitPattern.littleEndian, toByteOffset: o + 15, as: UInt32.self)
                    p.storeBytes(of: sp[i].littleEndian, toByteOffset: o + 19, as: Int32.self)
                }
                for (ci, col) in c.integerColumns.enumerated() {
                    col.values.withUnsafeBufferPointer { v in
                        for j in 0..<k {
                            p.storeBytes(of: Int32(truncatingIfNeeded: v[first + j]).littleEndian, toByteOffset: j * rec + 23 + 4 * ci, as: Int32.self)
                        }
                    }
                }
                try sink.write(UnsafeRawBufferPointer(rebasing: buf[0..<(k * rec)]))
                first += k
            }
        }}}}}
    }

    // MARK: XYZ

    /// Writes extended XYZ (see the table above).
    public static func writeXYZ(_ cloud: PointCloud, to url: URL) throws {
        try cloud.validate(displayName(url))
        try AtomicFile.write(to: url) { out in try writeXYZBody(cloud, to: out) }
    }

    /// Extended XYZ into memory.
    public static func encodeXYZ(_ cloud: PointCloud) throws -> Data {
        try cloud.validate("XYZ output")
        let sink = MemorySink()
        try writeXYZBody(cloud, to: sink)
        return sink.data
    }

    private static func writeXYZBody(_ c: PointCloud, to sink: ByteSink) throws {
        var props = "species:S:1:pos:R:3:mass_to_charge:R:1:species_index:I:1:color:R:3"
        for col in c.integerColumns { props += ":\(col.name.replacingOccurrences(of: ":", with: "_")):I:1" }
        let names = c.speciesNames.map { s -> String in
            let t = String(s.map { $0.isWhitespace || $0 == "\"" ? "_" : $0 })
            return t.isEmpty ? "_" : t
        }
        let colors = c.speciesColors.map { col in
            [col.r, col.g, col.b].map { v -> String in let f = Float(v) / 255; return v == 0 ? "0" : v == 255 ? "1" : "\(f)" }.joined(separator: " ")
        }
        let legend = zip(names.indices, names).map { "\($0.0)=\($0.1)" }.joined(separator: ",")
        try sink.write("\(c.count)\nProperties=\(props) species_legend=\"\(legend)\" units=\"nm Da\"\n")
        var line = ""
        line.reserveCapacity(1 << 20)
        for i in 0..<c.count {
            let s = Int(c.species[i])
            line += names[s]; line += " "
            line += c.xNM[i].description; line += " "
            line += c.yNM[i].description; line += " "
            line += c.zNM[i].description; line += " "
            line += c.massToChargeDa[i].description; line += " "
            line += String(s); line += " "
            line += colors[s]
            for col in c.integerColumns { line += " "; line += String(col.values[i]) }
            line += "\n"
            if line.utf8.count >= (1 << 20) - 256 { try sink.write(line); line.removeAll(keepingCapacity: true) }
        }
        if !line.isEmpty { try sink.write(line) }
    }

    // MARK: bulk little-endian helpers

    private static func xmlSafe(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
            .replacingOccurrences(of: "--", with: "- -")
    }

    private static let chunk = 1 << 16

    private static func writeFloatsLE(_ a: [Float], to sink: ByteSink) throws {
        #if _endian(little)
        try a.withUnsafeBytes { try sink.write($0) }
        #else
        try writeIntegersLE(a.map { Int32(bitPattern: $0.bitPattern) }, to: sink)
        #endif
    }

    /// Integers as little-endian bytes (one write on little-endian hosts).
    private static func writeIntegersLE<T: FixedWidthInteger>(_ a: [T], to sink: ByteSink) throws {
        #if _endian(little)
        try a.withUnsafeBytes { try sink.write($0) }
        #else
        let le = a.map { $0.littleEndian }
        try le.withUnsafeBytes { try sink.write($0) }
        #endif
    }

    private static func writeSequenceInt64(from start: Int64, count n: Int, to sink: ByteSink) throws {
        var buf = [Int64](repeating: 0, count: min(chunk, n))
        var i = 0
        while i < n {
            let k = min(chunk, n - i)
            for j in 0..<k { buf[j] = (start + Int64(i + j)).littleEndian }
            try buf.withUnsafeBytes { try sink.write(UnsafeRawBufferPointer(rebasing: $0[0..<(8 * k)])) }
            i += k
        }
    }

    private static func writeInterleavedXYZ(_ c: PointCloud, to sink: ByteSink) throws {
        let n = c.count
        var buf = [UInt32](repeating: 0, count: 3 * min(chunk, n))
        try c.xNM.withUnsafeBufferPointer { xs in
        try c.yNM.withUnsafeBufferPointer { ys in
        try c.zNM.withUnsafeBufferPointer { zs in
            var i = 0
            while i < n {
                let k = min(chunk, n - i)
                buf.withUnsafeMutableBufferPointer { b in
                    for j in 0..<k {
                        b[3 * j] = xs[i + j].bitPattern.littleEndian
                        b[3 * j + 1] = ys[i + j].bitPattern.littleEndian
                        b[3 * j + 2] = zs[i + j].bitPattern.littleEndian
                    }
                }
                try buf.withUnsafeBytes { try sink.write(UnsafeRawBufferPointer(rebasing: $0[0..<(12 * k)])) }
                i += k
            }
        }}}
    }

    private static func writeRGB(_ c: PointCloud, to sink: ByteSink) throws {
        let n = c.count
        let table = c.speciesColors
        var buf = [UInt8](repeating: 0, count: 3 * min(chunk, n))
        try c.species.withUnsafeBufferPointer { sp in
            var i = 0
            while i < n {
                let k = min(chunk, n - i)
                buf.withUnsafeMutableBufferPointer { b in
                    for j in 0..<k {
                        let col = table[Int(sp[i + j])]
                        b[3 * j] = col.r; b[3 * j + 1] = col.g; b[3 * j + 2] = col.b
                    }
                }
                try buf.withUnsafeBytes { try sink.write(UnsafeRawBufferPointer(rebasing: $0[0..<(3 * k)])) }
                i += k
            }
        }
    }
}
