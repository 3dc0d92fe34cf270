import Foundation
import FileFormats
import MaterialsData
import ScenarioConfig
import SpecimenBuilder
import TwinCore

/// Writing a specimen's ground truth and quick-look images.
public enum SpecimenOutput {
    /// Writes the truth columns under `truth/` of `dir`; returns the relative paths in a fixed order.
    static func writeTruth(_ a: TruthAtoms, into dir: URL) throws -> [String] {
        let cols: [(String, (URL) throws -> Void)] = [
            ("truth/atom_id.npy", { try NPYFile.write(a.id, to: $0) }),
            ("truth/x_nm.npy", { try NPYFile.write(a.xNM, to: $0) }),
            ("truth/y_nm.npy", { try NPYFile.write(a.yNM, to: $0) }),
            ("truth/z_nm.npy", { try NPYFile.write(a.zNM, to: $0) }),
            ("truth/element_z.npy", { try NPYFile.write(a.elementZ, to: $0) }),
            ("truth/mass_number.npy", { try NPYFile.write(a.massNumber, to: $0) }),
            ("truth/grain.npy", { try NPYFile.write(a.grain, to: $0) }),
            ("truth/phase.npy", { try NPYFile.write(a.phase, to: $0) }),
        ]
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("truth"), withIntermediateDirectories: true)
        for (rel, write) in cols { try write(dir.appendingPathComponent(rel)) }
        return cols.map(\.0)
    }

    /// Quick looks of a central slab |y| < `slabNM`/2, binned in (x, z) at `pixelNM`:
    /// the fraction of `soluteZ` per pixel (blue 0 → red 1, black where empty), the grain map (one colour per
    /// grain) and the phase map (one colour per ``PhaseLabel``).
    static func quickLooks(_ a: TruthAtoms, soluteZ: Int, slabNM: Double = 2, pixelNM: Double = 0.5)
        -> (composition: RGBImage8, grains: RGBImage8, phases: RGBImage8) {
        var xmin = Float.infinity, xmax = -Float.infinity, zmin = Float.infinity, zmax = -Float.infinity
        for i in 0..<a.count { xmin = min(xmin, a.xNM[i]); xmax = max(xmax, a.xNM[i]); zmin = min(zmin, a.zNM[i]); zmax = max(zmax, a.zNM[i]) }
        if a.count == 0 { xmin = 0; xmax = 1; zmin = 0; zmax = 1 }
        let w = max(1, Int((Double(xmax - xmin) / pixelNM).rounded(.up)) + 1)
        let h = max(1, Int((Double(zmax - zmin) / pixelNM).rounded(.up)) + 1)
        var total = [Int32](repeating: 0, count: w * h), solute = total
        var grainVote = [Int32](repeating: -1, count: w * h), phaseVote = [Int16](repeating: -1, count: w * h)
        let half = Float(slabNM / 2)
        for i in 0..<a.count where abs(a.yNM[i]) < half {
            let c = Int(Double(a.xNM[i] - xmin) / pixelNM), r = Int(Double(zmax - a.zNM[i]) / pixelNM)
            guard c >= 0, c < w, r >= 0, r < h else { continue }
            let k = r * w + c
            total[k] += 1
            if Int(a.elementZ[i]) == soluteZ { solute[k] += 1 }
            grainVote[k] = max(grainVote[k], a.grain[i])
            phaseVote[k] = max(phaseVote[k], Int16(a.phase[i]))
        }
        var comp = [UInt8](repeating: 0, count: 3 * w * h), gr = comp, ph = comp
        let palette: [(UInt8, UInt8, UInt8)] = [(230, 159, 0), (86, 180, 233), (0, 158, 115), (240, 228, 66), (0, 114, 178),
                                               (213, 94, 0), (204, 121, 167), (180, 180, 180)]
        for k in 0..<(w * h) where total[k] > 0 {
            let f = Double(solute[k]) / Double(total[k])
            comp[3 * k] = UInt8((255 * f).rounded()); comp[3 * k + 1] = 40; comp[3 * k + 2] = UInt8((255 * (1 - f)).rounded())
            let g = palette[Int(grainVote[k]) % palette.count]
            gr[3 * k] = g.0; gr[3 * k + 1] = g.1; gr[3 * k + 2] = g.2
            let p = palette[Int(phaseVote[k]) % palette.count]
            ph[3 * k] = p.0; ph[3 * k + 1] = p.1; ph[3 * k + 2] = p.2
        }
        return (RGBImage8(width: w, height: h, pixels: comp), RGBImage8(width: w, height: h, pixels: gr),
                RGBImage8(width: w, height: h, pixels: ph))
    }

    /// Builds the specimen of a scenario and writes it into `dir` (created; must not exist): truth columns,
    /// quick looks and `specimen.json`. Written into `<dir>.partial-<pid>` and renamed when complete.
    public static func buildAndWrite(_ scenario: ResolvedScenario, to dir: URL, threads: Int) throws -> (BuiltSpecimen, [StageTiming]) {
        let fm = FileManager.default
        if fm.fileExists(atPath: dir.path) { throw TwinError.io("\(dir.path) already exists; choose another --output directory") }
        let request = try SpecimenRequest(scenario)
        let seed = UInt64(scenario.int("seed") ?? 1)
        let (built, tb) = try measure("specimen") { try request.build(seed: seed, threads: threads) }
        return try PartialDirectory.build(dir) { partial in
            let (files, tw) = try measure("write_outputs") { () throws -> [String] in
                var files = try writeTruth(built.atoms, into: partial)
                let solute = request.spinodal?.soluteZ ?? request.spec.composition.min { $0.fraction < $1.fraction }!.z
                let q = quickLooks(built.atoms, soluteZ: solute)
                try fm.createDirectory(at: partial.appendingPathComponent("images"), withIntermediateDirectories: true)
                for (name, img) in [("images/composition_slice.png", q.composition), ("images/grain_map.png", q.grains),
                                    ("images/phase_slice.png", q.phases)] {
                    try PNGFile.write(img, to: partial.appendingPathComponent(name)); files.append(name)
                }
                return files
            }
            try writeSummary(built, request: request, scenario: scenario, files: files, timings: [tb, tw], into: partial)
            return (built, [tb, tw])
        }
    }

    static func writeSummary(_ b: BuiltSpecimen, request: SpecimenRequest, scenario: ResolvedScenario, files: [String],
                             timings: [StageTiming], into dir: URL) throws {
        let entries = try ScenarioRunner.manifestEntries(files, in: dir)
        var zCount = [Int](repeating: 0, count: 256), phCount = [Int](repeating: 0, count: 256), gCount: [Int32: Int] = [:]
        for z in b.atoms.elementZ { zCount[Int(z)] += 1 }
        for p in b.atoms.phase { phCount[Int(p)] += 1 }
        for g in b.atoms.grain { gCount[g, default: 0] += 1 }
        var byElement: [String: Int] = [:], byPhase: [String: Int] = [:], byGrain: [String: Int] = [:]
        for z in 0..<256 where zCount[z] > 0 { byElement[PeriodicTable.symbol(z: z)] = zCount[z] }
        for p in 0..<256 where phCount[p] > 0 { byPhase[PhaseLabel(rawValue: UInt8(p)).map { "\($0)" } ?? "\(p)"] = phCount[p] }
        for (g, c) in gCount { byGrain["\(g)"] = c }
        let g = request.spec.geometry
        let summary: [String: Any] = [
            "aptwin_version": ScenarioRunner.packageVersion,
            "git_commit": ScenarioRunner.gitCommit(),
            "scenario": scenario.jsonObject(),
            "atoms": b.atoms.count,
            "atoms_by_element": byElement, "atoms_by_phase": byPhase, "atoms_by_grain": byGrain,
            "precipitates": b.precipitates.map { ["centre_nm": [$0.centreNM.x, $0.centreNM.y, $0.centreNM.z], "radius_nm": $0.radiusNM,
                                                  "thickness_nm": $0.thicknessNM, "normal": [$0.normal.x, $0.normal.y, $0.normal.z]] },
            "removed_at_boundaries": b.removedAtBoundaries,
            "needle": ["apex_curvature_radius_nm": g.apexCurvatureRadiusNM, "volume_nm3": g.volumeNM3,
                       "tangency_z_nm": g.tangencyZNM, "base_radius_nm": g.baseRadiusNM],
            "bytes_per_atom": TruthAtoms.bytesPerAtom,
            "stages": timings.map { ["stage": $0.stage, "wall_s": $0.wallS, "cpu_s": $0.cpuS] },
            "files": entries,
        ]
        let data = try JSONSerialization.data(withJSONObject: summary, options: [.prettyPrinted, .sortedKeys])
        try AtomicFile.write(data, to: dir.appendingPathComponent("specimen.json"))
    }
}
