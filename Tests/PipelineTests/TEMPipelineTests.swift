import Analysis
import Foundation
import ScenarioConfig
import SpecimenBuilder
import TEMImaging
import TwinCore
import TwinPipeline
import XCTest

/// The TEM half of the twin on atomistic needles: projected thickness, bias phase, frames and their measurement.
final class TEMPipelineTests: XCTestCase {
    func needle(radius: Double, angle: Double, length: Double) throws -> (TruthAtoms, SpecimenSpec) {
        let s = SpecimenSpec(geometry: try NeedleGeometry(apexRadiusNM: radius, shankHalfAngleDeg: angle, lengthNM: length),
                             lattice: try CrystalLattice(kind: .bcc, aNM: 0.28665), composition: [CompositionEntry(z: 26, fraction: 1)],
                             orientation: try Rotation3(crystalDirectionAlongSpecimenZ: SIMD3(0, 0, 1)))
        return (try SpecimenFactory.build(s, seed: 1, threads: 2).atoms, s)
    }

    /// Projected thickness of the atomistic needle against the analytic chord lengths of its body of revolution:
    /// a cylinder (0° shank) and its hemispherical cap. Compared where the chord exceeds 30 % of the diameter
    /// (the last atomic layer at the very edge is not a continuum).
    func testProjectedThicknessMatchesAnalyticChords() throws {
        let (atoms, s) = try needle(radius: 10, angle: 0, length: 40)
        let g = FrameGeometry(width: 120, height: 200, pixelNM: 0.24, needleDirectionDeg: -90, apexU: 60, apexV: 10)
        let map = ProjectedThickness.maps(atoms: atoms, atomicVolumeNM3: s.lattice.atomicVolumeNM3, geometry: g, oversample: 2)[0]
        let exact = ProjectedThickness.analytic(radiusAtZ: { s.geometry.radiusNM(atZ: $0) }, geometry: g)
        var cylErr = 0.0, cylRef = 0.0, capErr = 0.0, capRef = 0.0
        for v in 0..<g.height {
            for u in 0..<g.width {
                let k = v * g.width + u
                guard exact[k] > 0.3 * 20 else { continue }
                let p = g.specimen(u: Double(u) + 0.5, v: Double(v) + 0.5)
                if p.zNM < -12 && p.zNM > -36 { cylErr += Double(map[k] - exact[k]); cylRef += Double(exact[k]) }
                if p.zNM > -9 { capErr += Double(map[k] - exact[k]); capRef += Double(exact[k]) }
            }
        }
        XCTAssertLessThan(abs(cylErr / cylRef), 0.01, "cylinder: mean relative thickness error \(cylErr / cylRef)")
        XCTAssertLessThan(abs(capErr / capRef), 0.01, "cap: mean relative thickness error \(capErr / capRef)")
    }

    /// The outline of an atomistic needle in one projection: for a body of revolution it is the azimuthal-mean
    /// profile; for a cap squashed to an elliptical cross-section (y × 0.8) the projection along y still shows the
    /// full radius, while the projection along x shows an ellipse of apex curvature 0.64 R, and the azimuthal mean
    /// lies between.
    func testSilhouetteRadiusIsTheOutlineOfTheProjection() throws {
        let (atoms, _) = try needle(radius: 10, angle: 5, length: 30)
        let round = try NeedleProfile.measure(atoms: atoms)
        for phi in [0.0, 45, 90] {
            let sil = try NeedleProfile.silhouette(atoms: atoms, transverseAzimuthDeg: phi)
            XCTAssertEqual(sil.apexRadiusNM, round.apexRadiusNM, accuracy: 0.02 * round.apexRadiusNM, "round needle, φ = \(phi)")
            XCTAssertEqual(sil.apexRadiusNM, 10, accuracy: 0.3, "round needle, φ = \(phi)")
        }
        var squashed = atoms
        for i in 0..<squashed.count { squashed.yNM[i] *= 0.8 }
        let alongY = try NeedleProfile.silhouette(atoms: squashed, transverseAzimuthDeg: 0).apexRadiusNM
        let alongX = try NeedleProfile.silhouette(atoms: squashed, transverseAzimuthDeg: 90).apexRadiusNM
        let mean = try NeedleProfile.measure(atoms: squashed).apexRadiusNM
        XCTAssertEqual(alongY, 10, accuracy: 0.3)
        XCTAssertLessThan(alongX, 8.5)
        XCTAssertGreaterThan(mean, alongX + 0.3); XCTAssertLessThan(mean, alongY - 0.3)
    }

    func testBiasPhaseIsABiprismAwayFromTheNeedleAndContinuousAtItsSurface() {
        let v = 4500.0, r = 50.0, d = 1e6
        let slope = (BiasPhase.projectedPotentialVNM(xNM: 151, needleRadiusNM: r, voltageV: v, environmentRadiusNM: d)
            - BiasPhase.projectedPotentialVNM(xNM: 149, needleRadiusNM: r, voltageV: v, environmentRadiusNM: d)) / 2
        XCTAssertEqual(slope, -Double.pi * v / log(d / r), accuracy: 0.01 * Double.pi * v / log(d / r))
        let inside = BiasPhase.projectedPotentialVNM(xNM: r - 1e-6, needleRadiusNM: r, voltageV: v, environmentRadiusNM: d)
        let outside = BiasPhase.projectedPotentialVNM(xNM: r + 1e-6, needleRadiusNM: r, voltageV: v, environmentRadiusNM: d)
        XCTAssertEqual(inside, outside, accuracy: 1e-2)
        // Deflection (λσ/2π)|∂Φ/∂x| ≈ 4 mrad at 4.5 kV for r = 50 nm, D = 1 mm (the paper quotes 5–14 mrad near the needle).
        let alpha = ElectronOptics.wavelengthNM(kv: 200) * ElectronOptics.interactionConstantRadPerVNM(kv: 200) * abs(slope) / (2 * .pi)
        XCTAssertEqual(alpha * 1e3, 4.1, accuracy: 0.3)
    }

    /// The bias phase of a needle whose profile comes in pixel steps (as read off an atomistic frame) has no lines
    /// across the needle at the steps (BiasPhase.profileSmoothingNM), and in focus it leaves the radius from the
    /// cross-sections of a smooth needle unchanged.
    func testBiasPhaseHasNoStepLinesAndLeavesTheInFocusRadius() throws {
        let r0 = 30.0, v = 4400.0
        let geo = try NeedleGeometry(apexRadiusNM: r0, shankHalfAngleDeg: 5, lengthNM: 400)
        let side = 400
        let g = FrameGeometry(width: side, height: side, pixelNM: 0.24, needleDirectionDeg: -90, apexU: 200.3, apexV: 60.2)
        let sigma = ElectronOptics.interactionConstantRadPerVNM(kv: 200)
        let stepped: (Double) -> Double = { z in (geo.radiusNM(atZ: z) / 0.24).rounded(.down) * 0.24 }
        let phase = BiasPhase.phaseMap(geometry: g, radiusAtZ: stepped, voltageV: v, environmentRadiusNM: 1e6,
                                       interactionConstantRadPerVNM: sigma)
        // Second differences along the axis column, 5–60 nm behind the apex: the unsmoothed slice model jumps by
        // ≈ 1 rad at every step of the profile.
        var worst = 0.0
        for row in (60 + 21)...(60 + 250) {
            let a = Double(phase[(row - 1) * side + 200]), b = Double(phase[row * side + 200]), c = Double(phase[(row + 1) * side + 200])
            worst = max(worst, abs(a - 2 * b + c))
        }
        print(String(format: "bias phase of a stepped profile: largest second difference along the axis %.3f rad", worst))
        XCTAssertLessThan(worst, 0.1)

        var radii: [Double] = []
        for volts in [0.0, v] {
            let t = ProjectedThickness.analytic(radiusAtZ: { geo.radiusNM(atZ: $0) }, geometry: g, subsamples: 2)
            let ph = volts == 0 ? nil : BiasPhase.phaseMap(geometry: g, radiusAtZ: { geo.radiusNM(atZ: $0) }, voltageV: volts,
                                                            environmentRadiusNM: 1e6, interactionConstantRadPerVNM: sigma)
            let f = try FrameFormation.render(thicknessNM: [t], materials: [.iron], extraPhaseRad: ph, width: side, height: side,
                                              microscope: MicroscopeParameters(), camera: CameraParameters(), seed: 9, threads: 2)
            var options = TipShapeOptions()
            options.darkLevel = CameraParameters().offsetADU
            options.radiusSource = .crossSections
            let m = try TipShapeMeasurement.measure(pixels: f.counts.map(Float.init), width: side, height: side, pixelNM: 0.24, options: options)
            XCTAssertEqual(m.radiusSource, .crossSections)
            radii.append(m.apexRadiusNM)
        }
        print(String(format: "cross-section radius in focus, R %.0f nm: %.2f nm at 0 V, %.2f nm at %.0f V", r0, radii[0], radii[1], v))
        XCTAssertEqual(radii[0], r0, accuracy: 0.3)
        XCTAssertEqual(radii[1], radii[0], accuracy: 0.3)
    }

    /// The cone that continues an atomistic needle below its base joins the atoms' map without a seam: the thickness
    /// along the axis stays within 1.5 % of the straight line through the rows 3–8 nm above and below the base. A sharp
    /// cone of the nominal radius starting at the lowest atom (the former join) leaves a 29 % step there.
    func testContinuationConeJoinsTheAtomsWithoutASeam() throws {
        let (atoms, s) = try needle(radius: 10, angle: 5, length: 30)
        let omega = s.lattice.atomicVolumeNM3
        let g = FrameGeometry(width: 200, height: 220, pixelNM: 0.24, needleDirectionDeg: -90, apexU: 100.3, apexV: 10.2)
        let atomMap = ProjectedThickness.maps(atoms: atoms, atomicVolumeNM3: omega, geometry: g, oversample: 2)[0]
        let cone = ProjectedThickness.coneBelow(atoms: atoms, atomicVolumeNM3: omega, halfAngleDeg: 5, geometry: g, atomMap: atomMap)
        let zb = Double(try XCTUnwrap(atoms.zNM.min()))
        let tanA = tan(5 * Double.pi / 180)
        let oldCone = ProjectedThickness.analytic(radiusAtZ: { z in z < zb ? s.geometry.radiusNM(atZ: -30) + (zb - z) * tanA : 0 },
                                                  geometry: g, subsamples: 2)
        // Mean thickness of the pixels within 4 nm of the axis on each row, against the row's z.
        func rows(_ m: [Float]) -> [(z: Double, t: Double)] {
            (0..<g.height).map { v in
                var acc = 0.0, n = 0
                for u in 0..<g.width {
                    let p = g.specimen(u: Double(u) + 0.5, v: Double(v) + 0.5)
                    if abs(p.xNM) < 4 { acc += Double(m[v * g.width + u]); n += 1 }
                }
                return (g.specimen(u: g.apexU, v: Double(v) + 0.5).zNM, acc / Double(max(1, n)))
            }
        }
        func worstStep(_ m: [Float]) -> Double {
            let r = rows(m)
            let fitRows = r.filter { abs($0.z - zb) >= 3 && abs($0.z - zb) <= 8 }
            let n = Double(fitRows.count)
            let mz = fitRows.reduce(0) { $0 + $1.z } / n, mt = fitRows.reduce(0) { $0 + $1.t } / n
            let b = fitRows.reduce(0) { $0 + ($1.z - mz) * ($1.t - mt) } / fitRows.reduce(0) { $0 + ($1.z - mz) * ($1.z - mz) }
            return r.filter { abs($0.z - zb) < 1.5 }.map { abs($0.t - (mt + b * ($0.z - mz))) / $0.t }.max() ?? .infinity
        }
        let joined = zip(atomMap, cone).map { $0 + $1 }
        let former = zip(atomMap, oldCone).map { $0 + $1 }
        let new = worstStep(joined), old = worstStep(former)
        print(String(format: "continuation cone: largest row deviation at the join %.2f %% (former join %.2f %%)", 100 * new, 100 * old))
        XCTAssertLessThan(new, 0.015)
        XCTAssertLessThan(new, 0.5 * old)
    }

    /// The radius profile read off a frame continues the shank where the needle leaves the frame (so the bias
    /// field's line charge does not end at the border), and ends where a needle ends inside the frame.
    func testRadiusProfileContinuesTheShankBeyondTheFrame() throws {
        let geo = try NeedleGeometry(apexRadiusNM: 20, shankHalfAngleDeg: 10, lengthNM: 400)
        let g = FrameGeometry(width: 300, height: 300, pixelNM: 0.24, needleDirectionDeg: -90, apexU: 150.3, apexV: 60.2)
        let t = ProjectedThickness.analytic(radiusAtZ: { geo.radiusNM(atZ: $0) }, geometry: g, subsamples: 2)
        let profile = BiasPhase.radiusProfile(thicknessNM: t, geometry: g)
        // The frame shows the needle down to z = −(300 − 60.2)·0.24 ≈ −57.6 nm.
        for z in [-30.0, -50, -80, -150] {
            XCTAssertEqual(profile(z), geo.radiusNM(atZ: z), accuracy: 0.6, "z = \(z) nm")
        }
        XCTAssertEqual(profile(5), 0)
        // A needle that ends 40 nm below its apex, inside the frame, is not continued.
        let short = ProjectedThickness.analytic(radiusAtZ: { $0 > -40 ? geo.radiusNM(atZ: $0) : 0 }, geometry: g, subsamples: 2)
        let shortProfile = BiasPhase.radiusProfile(thicknessNM: short, geometry: g)
        XCTAssertEqual(shortProfile(-30), geo.radiusNM(atZ: -30), accuracy: 0.6)
        XCTAssertEqual(shortProfile(-50), 0)
        XCTAssertEqual(shortProfile(-80), 0)
    }

    /// Frames of analytic needles through the whole imaging chain (exit wave, CTF, MTF, noise at the default dose),
    /// measured in focus: the apex radius within 1 nm of the truth for R = 10–100 nm.
    func testMeasuredApexRadiusOnFullFramesInFocus() throws {
        for radius in [10.0, 20.0, 50.0, 100.0] {
            let geo = try NeedleGeometry(apexRadiusNM: radius, shankHalfAngleDeg: 5, lengthNM: 10 * radius + 100)
            let side = Int(((4 * radius + 40) / 0.24).rounded())
            let g = FrameGeometry(width: side, height: side, pixelNM: 0.24, needleDirectionDeg: 37, apexU: Double(side) * 0.7, apexV: Double(side) * 0.6)
            let t = ProjectedThickness.analytic(radiusAtZ: { geo.radiusNM(atZ: $0) }, geometry: g, subsamples: 2)
            let f = try FrameFormation.render(thicknessNM: [t], materials: [.iron], extraPhaseRad: nil, width: side, height: side,
                                              microscope: MicroscopeParameters(), camera: CameraParameters(), seed: 5, threads: 2)
            var options = TipShapeOptions()
            options.darkLevel = CameraParameters().offsetADU
            let m = try TipShapeMeasurement.measure(pixels: f.counts.map(Float.init), width: side, height: side, pixelNM: 0.24, options: options)
            XCTAssertEqual(m.apexRadiusNM, radius, accuracy: 1, "R = \(radius): measured \(m.apexRadiusNM) (raw \(m.rawApexRadiusNM))")
            XCTAssertEqual(m.axisAngleDeg, 37, accuracy: 1.5)
        }
    }

    /// A tiny run, then its evaporation sequence: frames, previews, contact sheet, frames.csv, and the radius
    /// measured on each frame close to the true radius of the remaining atoms.
    func testSequenceOfARun() throws {
        let yaml = """
        name: seq
        seed: 2
        specimen: {apex_radius_nm: 12, shank_half_angle_deg: 5, length_nm: 60}
        instrument: {flight_path_mm: 100, detector_diameter_mm: 80}
        acquisition: {max_events: 30000, max_depth_nm: 6, imaging_stops_events: [0, 9000, 18000]}
        imaging: {width_px: 240, height_px: 150, tem_frames: false, sequence_frames: 5}
        """
        let s = try ResolvedScenario.parse(yaml: yaml, file: "seq.yaml")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("aptwin-seq-\(getpid())")
        try? FileManager.default.removeItem(at: dir)
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = try ScenarioRunner.run(s, options: RunOptions(outputDirectory: dir, threads: 2, progress: ProgressReporter(enabled: false)))
        let run = try RunDirectory(dir)
        let out = dir.appendingPathComponent("tem_sequence")
        let recs = try TEMSequence.write(run: run, output: out, threads: 2, progress: ProgressReporter(enabled: false))
        XCTAssertEqual(recs.map(\.eventIndex), [0, 9000, 18000], "frames at the acquisition program's imaging stops")
        for f in ["frames/frame_0000.png", "frames/frame_0002.png", "previews/frame_0001.png", "contact_sheet.png", "frames.csv",
                  "apex_profile.csv"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent(f).path), f)
        }
        // Every measured frame has a cap profile, read back as one convex apex shape per frame.
        let (tl, _) = try TEMFramesTimeline.read(directory: out, ionIndexAtEvent: { $0 })
        XCTAssertEqual(tl.shapes?.count, recs.filter { $0.measured != nil }.count)
        for r in recs {
            let cap = try XCTUnwrap(r.measured?.capProfile, "frame \(r.index)")
            XCTAssertEqual(cap.vertexRadiusNM, try XCTUnwrap(r.trueApexRadiusNM), accuracy: 0.25 * cap.vertexRadiusNM, "frame \(r.index)")
        }
        // Frames at chosen events, in order; an event beyond the run is an error.
        let chosen = try TEMSequence.chooseFrames(run: run, settings: TEMSettings(run.scenario, composition: run.config.composition,
                                                                                   layerComposition: []),
                                                  every: nil, count: nil, atVoltagesV: [], atEvents: [12000, 3000])
        XCTAssertEqual(chosen, [3000, 12000])
        XCTAssertThrowsError(try TEMSequence.chooseFrames(run: run, settings: TEMSettings(run.scenario, composition: run.config.composition,
                                                                                          layerComposition: []),
                                                          every: nil, count: nil, atVoltagesV: [], atEvents: [run.eventAtomIDs.count + 1]))
        for r in recs {
            let truth = try XCTUnwrap(r.trueApexRadiusNM)
            let m = try XCTUnwrap(r.measured, r.measurementError ?? "")
            XCTAssertEqual(m.apexRadiusNM, truth, accuracy: 1.0, "frame \(r.index)")
            XCTAssertEqual(m.apexRadiusNM, try XCTUnwrap(r.silhouetteApexRadiusNM), accuracy: 1.0, "frame \(r.index), outline")
            XCTAssertNotNil(r.fieldEstimateVPerNM)
        }
        // The same frames measured from the cross-sections: frames.csv names the method and holds both radii.
        let outCS = dir.appendingPathComponent("tem_sequence_cs")
        let cs = try TEMSequence.write(run: run, output: outCS, radiusSource: .crossSections, threads: 2,
                                       progress: ProgressReporter(enabled: false))
        let rows = try String(contentsOf: outCS.appendingPathComponent("frames.csv"), encoding: .utf8).split(separator: "\n")
        XCTAssertTrue(rows[0].hasSuffix(",radius_method,measured_edge_apex_radius_nm,measured_section_apex_radius_nm"))
        for (r, e) in zip(cs, recs) {
            let m = try XCTUnwrap(r.measured, r.measurementError ?? "")
            XCTAssertEqual(m.radiusSource, .crossSections, "frame \(r.index)")
            XCTAssertEqual(m.edgeApexRadiusNM, try XCTUnwrap(e.measured).apexRadiusNM, accuracy: 1e-9, "same frame, same edge radius")
            XCTAssertEqual(m.apexRadiusNM, try XCTUnwrap(r.trueApexRadiusNM), accuracy: 1.0, "frame \(r.index)")
            XCTAssertTrue(rows[r.index + 1].contains(",cross-sections,"))
        }
        // Frames at voltages: the first event at which V_DC reaches each value; unreachable voltages are an error.
        let v = run.eventVDCV
        let target = Double(v[v.count / 2])
        let at = TEMSequence.frameEvents(atVoltagesV: [target, 1e6], vDCV: v)
        XCTAssertEqual(at.missed, [1e6])
        XCTAssertGreaterThanOrEqual(Double(v[at.events[0] - 1]), target)
        XCTAssertTrue(v[..<(at.events[0] - 1)].allSatisfy { Double($0) < target })
        XCTAssertThrowsError(try TEMSequence.write(run: run, output: dir.appendingPathComponent("never"), atVoltagesV: [1e6], threads: 1))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("never").path))
    }
}

/// The needle's bias field deflects electrons like a biprism: the side edges of its image do not move in focus, and
/// out of focus they move by ∝ αΔf, α ∝ V (instrument-and-physics §3: a voltage ramp fakes a radius change only
/// when defocused).
final class TEMBiasEdgeTests: XCTestCase {
    /// Position of the left edge (mid-level crossing) of the shank on a row, px.
    func leftEdge(defocusNM: Double, voltageV: Double) throws -> Double {
        var m = MicroscopeParameters(); m.defocusNM = defocusNM
        var cam = CameraParameters(); cam.mtfModel = .none; cam.doseElectronsPerA2 = 5000; cam.readNoiseADU = 0
        let f = try TEMCalibration.frame(radiusNM: 20, material: .iron, microscope: m, camera: cam, voltageV: voltageV,
                                         environmentRadiusNM: 1e6, seed: 1, threads: 2)
        var edges: [Double] = []
        for row in stride(from: 440, to: 540, by: 4) {
            let line = (0..<f.width).map { Double(f.pixels[row * f.width + $0]) }
            let vac = line[0..<40].reduce(0, +) / 40, mid = f.width / 2
            let level = (vac + line[(mid - 3)...(mid + 3)].min()!) / 2
            var left = 0.0
            for u in 1..<mid where line[u - 1] >= level && line[u] < level { left = Double(u - 1) + (line[u - 1] - level) / (line[u - 1] - line[u]) }
            edges.append(left)
        }
        return edges.reduce(0, +) / Double(edges.count)
    }

    func testEdgeShiftIsProportionalToDefocusAndVoltageAndZeroInFocus() throws {
        let inFocus = try leftEdge(defocusNM: 0, voltageV: 4500) - leftEdge(defocusNM: 0, voltageV: 0)
        let s500 = try leftEdge(defocusNM: 500, voltageV: 4500) - leftEdge(defocusNM: 500, voltageV: 0)
        let s1000 = try leftEdge(defocusNM: 1000, voltageV: 4500) - leftEdge(defocusNM: 1000, voltageV: 0)
        let half = try leftEdge(defocusNM: 1000, voltageV: 2250) - leftEdge(defocusNM: 1000, voltageV: 0)
        print(String(format: "edge shift (px): in focus %.2f, 500 nm %.2f, 1000 nm %.2f, 1000 nm at half voltage %.2f", inFocus, s500, s1000, half))
        XCTAssertLessThan(abs(inFocus) * 0.24, 0.3, "in focus the bias field must not move the edge")
        XCTAssertGreaterThan(abs(s500) * 0.24, 0.5)
        XCTAssertEqual(s1000 / s500, 2, accuracy: 0.5)
        XCTAssertEqual(half / s1000, 0.5, accuracy: 0.15)
    }
}
