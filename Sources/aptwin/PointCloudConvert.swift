import FileFormats
import Foundation
import TwinCore

/// `aptwin convert … x.vtp|x.ply|x.xyz`: ions or a run directory as a labelled point cloud.
enum PointCloudConvert {
    /// True when `path` is a run directory (it has a `manifest.json` and `reconstruction/reconstruction.pos`).
    static func isRunDirectory(_ path: String) -> Bool {
        let fm = FileManager.default
        let u = URL(fileURLWithPath: path)
        return fm.fileExists(atPath: u.appendingPathComponent("manifest.json").path)
            && fm.fileExists(atPath: u.appendingPathComponent("reconstruction/reconstruction.pos").path)
    }

    /// Reads a range file for labelling, printing its warnings.
    static func ranges(_ path: String?) throws -> RangeTable? {
        guard let path else { return nil }
        let (table, warnings, _) = try RangeFile.read(URL(fileURLWithPath: path))
        for w in warnings { FileHandle.standardError.write(Data("aptwin: warning: \(w)\n".utf8)) }
        return table
    }

    /// A run directory as a point cloud: the run's Bas reconstruction (`reconstruction/reconstruction.pos`, nm and
    /// Da), labelled with `spectrum/ranges.rrng` (or `rangesPath`), and per point the truth links:
    /// `event_index` (`acquisition/event_index.npy`; −1 for a background count), `truth_atom_id`
    /// (`events/atom_id.npy` at that event; −1 for background) and `truth_element_z` (`truth/element_z.npy` of that
    /// atom, when the run wrote its truth; 0 for background).
    static func fromRun(_ path: String, rangesPath: String?) throws -> PointCloud {
        let dir = URL(fileURLWithPath: path)
        func u(_ rel: String) -> URL { dir.appendingPathComponent(rel) }
        let acq = try POSFile.read(u("reconstruction/reconstruction.pos"))
        let table: RangeTable?
        if let rangesPath { table = try ranges(rangesPath) }
        else if FileManager.default.fileExists(atPath: u("spectrum/ranges.rrng").path) { table = try ranges(u("spectrum/ranges.rrng").path) }
        else { table = nil }
        var cloud = try PointCloud.labelled(acq, ranges: table, name: path)
        let n = acq.count
        let ev = try NPYFile.read(Int32.self, from: u("acquisition/event_index.npy"))
        guard ev.count == n else {
            throw TwinError.inconsistent("\(path): acquisition/event_index.npy has \(ev.count) rows, reconstruction/reconstruction.pos \(n) ions")
        }
        let atomOfEvent = try NPYFile.read(UInt32.self, from: u("events/atom_id.npy"))
        var atom = [Int64](repeating: -1, count: n)
        for i in 0..<n where ev[i] >= 0 {
            guard Int(ev[i]) < atomOfEvent.count else {
                throw TwinError.inconsistent("\(path): acquisition/event_index.npy row \(i): event \(ev[i]) but events/atom_id.npy has \(atomOfEvent.count) rows")
            }
            atom[i] = Int64(atomOfEvent[Int(ev[i])])
        }
        cloud.integerColumns = [("truth_atom_id", atom), ("event_index", ev.map(Int64.init))]
        let zURL = u("truth/element_z.npy"), idURL = u("truth/atom_id.npy")
        if FileManager.default.fileExists(atPath: zURL.path), FileManager.default.fileExists(atPath: idURL.path) {
            let zs = try NPYFile.read(UInt8.self, from: zURL), ids = try NPYFile.read(UInt32.self, from: idURL)
            guard zs.count == ids.count else { throw TwinError.inconsistent("\(path): truth/element_z.npy and truth/atom_id.npy differ in length") }
            // Atom ids are row numbers in the runs the twin writes; fall back to a lookup table otherwise.
            let identity = ids.enumerated().allSatisfy { UInt32($0.offset) == $0.element }
            var row: [Int64: Int] = [:]
            if !identity { for (r, id) in ids.enumerated() { row[Int64(id)] = r } }
            var z = [Int64](repeating: 0, count: n)
            for i in 0..<n where atom[i] >= 0 {
                if identity { if atom[i] < Int64(zs.count) { z[i] = Int64(zs[Int(atom[i])]) } }
                else if let r = row[atom[i]] { z[i] = Int64(zs[r]) }
            }
            cloud.integerColumns.append(("truth_element_z", z))
        }
        return cloud
    }

    /// Writes the point cloud of `input` (a run directory or any ion file) to `output`; prints a summary line.
    static func convert(input: String, output: String, rangesPath: String?, voltageUnit: EPOSVoltageUnit,
                        atoByteOrder: ATOByteOrder) throws {
        let cloud: PointCloud
        if isRunDirectory(input) {
            cloud = try fromRun(input, rangesPath: rangesPath)
        } else {
            let (_, acq) = try readAcquisition(input, voltageUnit: voltageUnit, atoByteOrder: atoByteOrder)
            cloud = try PointCloud.labelled(acq, ranges: try ranges(rangesPath), name: input)
        }
        try PointCloudFile.write(cloud, to: URL(fileURLWithPath: output))
        var counts = [Int](repeating: 0, count: cloud.speciesNames.count)
        for s in cloud.species { counts[Int(s)] += 1 }
        let summary = zip(cloud.speciesNames, counts).filter { $0.1 > 0 }.map { "\($0.0) \($0.1)" }.joined(separator: ", ")
        let extra = cloud.integerColumns.isEmpty ? "" : "; columns \(cloud.integerColumns.map(\.name).joined(separator: ", "))"
        print("wrote \(output): \(cloud.count) points (\(summary))\(extra)")
    }
}
