import FileFormats
import Foundation
@testable import Reconstruction
import TwinCore
import XCTest

/// Synthetic detector hits made by exact forward projection of known sites on a cap, one generator per protocol
/// assumption, and the inversion checked to float precision.
final class ReconstructionTests: XCTestCase {
    let l = 470.0, xi = 1.6, omega = 0.0118, eta = 0.5, dDet = 42.0

    /// Deterministic pseudo-random numbers in [0, 1).
    struct LCG { var s: UInt64; mutating func next() -> Double { s = s &* 6364136223846793005 &+ 1442695040888963407; return Double(s >> 11) / Double(1 << 53) } }

    /// Sites at polar angle θ ≤ θ_max (uniform in the disc ρ/R ≤ sin θ_max) and azimuth φ.
    func sites(_ n: Int, sMax: Double, seed: UInt64 = 1) -> [(s: Double, phi: Double)] {
        var g = LCG(s: seed)
        return (0..<n).map { _ in (0.98 * sMax * g.next().squareRoot(), 2 * .pi * g.next()) }
    }

    func params(kf: Double = 3.3, f: Double = 30) -> ReconstructionParameters {
        ReconstructionParameters(fieldFactorKf: kf, imageCompression: xi, evaporationFieldVPerNM: f, atomicVolumeNM3: omega,
                                 detectionEfficiency: eta, flightPathMM: l, detectorDiameterMM: dDet)
    }

    func assertClose(_ r: ReconstructedIons, _ x: [Double], _ y: [Double], _ z: [Double], tol: Double, file: StaticString = #filePath, line: UInt = #line) {
        var worst = 0.0
        for i in x.indices {
            worst = max(worst, abs(Double(r.xNM[i]) - x[i]), abs(Double(r.yNM[i]) - y[i]), abs(Double(r.zNM[i]) - z[i]))
        }
        XCTAssertLessThan(worst, tol, "largest coordinate error \(worst) nm", file: file, line: line)
    }

    func testBasInvertsLinearPointProjection() throws {
        let n = 20_000
        let kf = 3.3, f = 30.0
        var acq = Acquisition()
        var x: [Double] = [], y: [Double] = [], z: [Double] = []
        let sMax = xi * dDet / 2 / l  // Bas: ρ_max = R ξ (D/2)/L
        var depth = 0.0
        for (k, site) in sites(n, sMax: sMax).enumerated() {
            let v = 4000 + 0.1 * Double(k)  // voltage ramp
            let r = v / (kf * f)
            let rho = site.s * r
            let xs = rho * cos(site.phi), ys = rho * sin(site.phi)
            // Forward: X = x M with M = L/(ξR).
            acq.detectorXMM.append(Float(xs * l / (xi * r))); acq.detectorYMM.append(Float(ys * l / (xi * r)))
            acq.vDCV.append(Float(v))
            // Bas depth increment, written in its original form: dz = Ω L² k_f² F² / (A_D η ξ² V²).
            depth += omega * l * l * kf * kf * f * f / (Double.pi * dDet * dDet / 4 * eta * xi * xi * v * v)
            x.append(xs); y.append(ys); z.append(-depth - (r - (r * r - rho * rho).squareRoot()))
        }
        // Inputs are Float: recompute the truth from the rounded detector coordinates and voltages.
        for i in 0..<n {
            let r = Double(acq.vDCV[i]) / (kf * f)
            x[i] = Double(acq.detectorXMM[i]) * xi * r / l; y[i] = Double(acq.detectorYMM[i]) * xi * r / l
        }
        var d2 = 0.0
        for i in 0..<n {
            let r = Double(acq.vDCV[i]) / (kf * f)
            d2 += omega * l * l * kf * kf * f * f / (Double.pi * dDet * dDet / 4 * eta * xi * xi * Double(acq.vDCV[i]) * Double(acq.vDCV[i]))
            z[i] = -d2 - (r - (r * r - x[i] * x[i] - y[i] * y[i]).squareRoot())
        }
        let r = try Reconstructor.reconstruct(acq, try params(kf: kf, f: f).setup(for: .bas), threads: 2)
        assertClose(r, x, y, z, tol: 2e-5)
        // The one-thread result is identical (fixed chunks).
        let r1 = try Reconstructor.reconstruct(acq, try params(kf: kf, f: f).setup(for: .bas), threads: 1)
        XCTAssertEqual(r1, r)
    }

    func testGeiserInvertsWideAnglePointProjection() throws {
        let n = 20_000
        let kf = 3.3, f = 30.0, v = 5000.0
        let r0 = v / (kf * f)
        // Edge of the detector seen through the projection point: θ = θ_P + asin((ξ−1) sin θ_P).
        let tpMax = atan(dDet / 2 / l)
        let thMax = tpMax + asin((xi - 1) * sin(tpMax))
        let sMax = sin(thMax)
        var acq = Acquisition()
        var x: [Double] = [], y: [Double] = [], z: [Double] = []
        var depth = 0.0
        for site in sites(n, sMax: sMax) {
            let th = asin(site.s)
            // Forward: the ray from the projection point P, (ξ − 1)R behind the sphere centre, through the site.
            let tp = atan(sin(th) / (cos(th) + (xi - 1)))
            let rd = l * tan(tp)
            acq.detectorXMM.append(Float(rd * cos(site.phi))); acq.detectorYMM.append(Float(rd * sin(site.phi)))
            acq.vDCV.append(Float(v))
            depth += omega / (eta * Double.pi * sMax * sMax * r0 * r0)
            x.append(r0 * sin(th) * cos(site.phi)); y.append(r0 * sin(th) * sin(site.phi)); z.append(-depth - r0 * (1 - cos(th)))
        }
        let r = try Reconstructor.reconstruct(acq, try params(kf: kf, f: f).setup(for: .geiser), threads: 2)
        // Float detector coordinates (7 significant digits) limit the inversion: ~1e-6 relative of R.
        assertClose(r, x, y, z, tol: 5e-5)
    }

    func testShankInvertsAngularProjectionWithGrowingRadius() throws {
        let n = 50_000
        let r0 = 20.0, alphaDeg = 8.0
        let sMax = sin(xi * atan(dDet / 2 / l))
        let k = omega / (eta * Double.pi * sMax * sMax)
        let c = sin(alphaDeg * .pi / 180) / (1 - sin(alphaDeg * .pi / 180))
        var acq = Acquisition()
        var x: [Double] = [], y: [Double] = [], z: [Double] = []
        // Discrete forward model: R grows by c·dz after each ion (the textbook recursion), small steps.
        var rr = r0, depth = 0.0
        for site in sites(n, sMax: sMax) {
            let dz = k / (rr * rr)
            depth += dz; rr += c * dz
            let th = asin(site.s)
            let rd = l * tan(th / xi)
            acq.detectorXMM.append(Float(rd * cos(site.phi))); acq.detectorYMM.append(Float(rd * sin(site.phi)))
            x.append(rr * sin(th) * cos(site.phi)); y.append(rr * sin(th) * sin(site.phi)); z.append(-depth - rr * (1 - cos(th)))
        }
        let r = try Reconstructor.reconstruct(acq, try params().setup(for: .shank, projection: .angular, initialRadiusNM: r0, shankHalfAngleDeg: alphaDeg), threads: 2)
        // The closed form integrates the same ODE exactly; the recursion differs by O(dz) ≈ 1e-4 nm here.
        XCTAssertGreaterThan(Double(r.radiusNM[n - 1]), r0 + 0.5, "the radius must grow")
        assertClose(r, x, y, z, tol: 2e-3)
        // Against the closed form itself: float precision.
        var xe: [Double] = [], ye: [Double] = [], ze: [Double] = []
        for (i, site) in sites(n, sMax: sMax).enumerated() {
            let rn = cbrt(r0 * r0 * r0 + 3 * c * k * Double(i + 1))
            let th = xi * atan(Double(hypot(acq.detectorXMM[i], acq.detectorYMM[i])) / l)
            let ph = atan2(Double(acq.detectorYMM[i]), Double(acq.detectorXMM[i]))
            _ = site
            xe.append(rn * sin(th) * cos(ph)); ye.append(rn * sin(th) * sin(ph)); ze.append(-(rn - r0) / c - rn * (1 - cos(th)))
        }
        assertClose(r, xe, ye, ze, tol: 2e-5)
    }

    /// A non-hemispherical cap (h = ρ²/(2R) + 0.15 ρ⁴/R³) sampled as a measured profile drives the tem-shape
    /// protocol; sites are launched along the surface normal and imaged by the angular projection.
    func testTEMShapeInvertsMeasuredCapProfile() throws {
        let n = 20_000
        let rA = 15.0, rB = 18.0
        func sag(_ u: Double) -> Double { u * u / 2 + 0.15 * u * u * u * u }  // h/R at ρ/R = u
        func slope(_ u: Double) -> Double { u + 0.6 * u * u * u }
        let knots = (0..<400).map { 1.2 * Double($0) / 399 }
        let shape = try ApexShape(rhoOverR: knots, sagOverR: knots.map(sag))
        let timeline = try GeometryTimeline(ionIndex: [0, Double(n - 1)], apexRadiusNM: [rA, rB], shapes: [shape, shape])
        let thMax = xi * atan(dDet / 2 / l)
        // ρ/R at the detector edge: solve slope(u) = tan θ_max.
        var lo = 0.0, hi = 1.2
        for _ in 0..<100 { let m = (lo + hi) / 2; if slope(m) < tan(thMax) { lo = m } else { hi = m } }
        let sMax = lo
        var acq = Acquisition()
        var x: [Double] = [], y: [Double] = [], z: [Double] = []
        var depth = 0.0
        for (i, site) in sites(n, sMax: sMax).enumerated() {
            let r = rA + (rB - rA) * Double(i) / Double(n - 1)
            let u = site.s
            let th = atan(slope(u))
            let rd = l * tan(th / xi)
            acq.detectorXMM.append(Float(rd * cos(site.phi))); acq.detectorYMM.append(Float(rd * sin(site.phi)))
            depth += omega / (eta * Double.pi * sMax * sMax * r * r)
            x.append(r * u * cos(site.phi)); y.append(r * u * sin(site.phi)); z.append(-depth - r * sag(u))
        }
        let r = try Reconstructor.reconstruct(acq, try params().setup(for: .temShape, projection: .angular, timeline: timeline), threads: 2)
        // The profile is tabulated on 400 knots (piecewise-linear in θ): error ~ (Δu)² R ≈ 1e-4 nm.
        assertClose(r, x, y, z, tol: 2e-3)
        // Without the shape (hemisphere), the same hits land measurably elsewhere.
        let rh = try Reconstructor.reconstruct(acq, try params().setup(for: .tem, projection: .angular, timeline: timeline), threads: 2)
        var worst = 0.0
        for i in 0..<n { worst = max(worst, abs(Double(rh.zNM[i]) - z[i])) }
        XCTAssertGreaterThan(worst, 0.05, "a hemispherical cap should not fit a non-hemispherical profile")
    }

    func testOraclePerIonRadiusMatchesKnotTimeline() throws {
        let n = 5000
        var acq = Acquisition()
        var g = LCG(s: 3)
        for _ in 0..<n { acq.detectorXMM.append(Float(g.next() * 20 - 10)); acq.detectorYMM.append(Float(g.next() * 20 - 10)) }
        let radii = (0..<n).map { Float(12 + 0.001 * Double($0)) }
        let dense = try Reconstructor.reconstruct(acq, try params().setup(for: .oracle, timeline: try GeometryTimeline(perIonRadiusNM: radii)), threads: 2)
        let knots = try Reconstructor.reconstruct(acq, try params().setup(for: .tem, timeline: try GeometryTimeline(ionIndex: [0, Double(n - 1)], apexRadiusNM: [12, 12 + 0.001 * Double(n - 1)])), threads: 2)
        for i in Swift.stride(from: 0, to: n, by: 97) {
            XCTAssertEqual(dense.xNM[i], knots.xNM[i], accuracy: 1e-4)
            XCTAssertEqual(dense.zNM[i], knots.zNM[i], accuracy: 1e-4)
        }
    }

    /// Hits projected exactly (angular projection) from hemispherical caps whose radius grows and whose apex recedes:
    /// the oracle's fit recovers the radius and apex height, and places every ion where it came from.
    func testOracleGeometryRecoversRadiusAndApexFromTheTruth() throws {
        let n = 6000
        var acq = Acquisition()
        var tx: [Float] = [], ty: [Float] = [], tz: [Float] = []
        let sMax = sin(xi * atan(dDet / 2 / l))
        for (k, site) in sites(n, sMax: sMax, seed: 5).enumerated() {
            let r = 20 + 0.002 * Double(k), apex = -0.004 * Double(k)
            let theta = asin(site.s), rd = l * tan(theta / xi)
            acq.detectorXMM.append(Float(rd * cos(site.phi))); acq.detectorYMM.append(Float(rd * sin(site.phi)))
            tx.append(Float(r * site.s * cos(site.phi))); ty.append(Float(r * site.s * sin(site.phi)))
            tz.append(Float(apex - r * (1 - cos(theta))))
        }
        let probe = try params().setup(for: .shank, projection: .angular, initialRadiusNM: 1, shankHalfAngleDeg: 0)
        let tl = try OracleGeometry.fit(detectorXMM: acq.detectorXMM, detectorYMM: acq.detectorYMM, truthXNM: tx, truthYNM: ty,
                                        truthZNM: tz, setup: probe)
        let per = try XCTUnwrap(tl.perIonRadiusNM), apexZ = try XCTUnwrap(tl.perIonApexZNM)
        XCTAssertEqual(Double(per[n / 2]), 20 + 0.002 * Double(n / 2), accuracy: 0.01)
        XCTAssertEqual(Double(apexZ[n / 2] - apexZ[0]), -0.004 * Double(n / 2), accuracy: 0.01)
        let rec = try Reconstructor.reconstruct(acq, try params().setup(for: .oracle, timeline: tl), threads: 2)
        // Positions up to the constant offset of the first apex (rigid alignment removes it when scoring).
        let dz = Double(rec.zNM[0] - tz[0])
        var worst = 0.0
        for i in 250..<(n - 250) {
            worst = max(worst, abs(Double(rec.xNM[i] - tx[i])), abs(Double(rec.yNM[i] - ty[i])), abs(Double(rec.zNM[i] - tz[i]) - dz))
        }
        XCTAssertLessThan(worst, 0.02, "largest coordinate error \(worst) nm")
        XCTAssertEqual(rec.depthNM, Double(apexZ[0] - apexZ[n - 1]), accuracy: 1e-3)
        // A per-ion apex height that is not finite is an error naming the ion.
        var bad = apexZ; bad[7] = .nan
        XCTAssertThrowsError(try GeometryTimeline(perIonRadiusNM: per, apexZNM: bad)) { XCTAssertTrue("\($0)".contains("ion 7"), "\($0)") }
    }

    // MARK: invalid inputs

    func testNaNDetectorCoordinatesAreRejectedOrDropped() throws {
        var acq = Acquisition()
        acq.detectorXMM = [1, 2, 3, .nan, 5]; acq.detectorYMM = [0, 0, 0, 0, 0]; acq.vDCV = [5000, 5000, 5000, 5000, 5000]
        XCTAssertThrowsError(try Reconstructor.reconstruct(acq, try params().setup(for: .bas))) { e in
            XCTAssertTrue("\(e)".contains("ion 3"), "\(e)")
        }
        let r = try Reconstructor.reconstruct(acq, try params().setup(for: .bas, invalidIons: .drop))
        XCTAssertEqual(r.count, 4)
        XCTAssertEqual(r.sourceIndex, [0, 1, 2, 4])
        XCTAssertTrue(r.xNM.allSatisfy(\.isFinite) && r.zNM.allSatisfy(\.isFinite))
        XCTAssertTrue(r.notes.joined().contains("dropped 1"))
    }

    func testZeroVoltageWithVoltageProtocolIsAnError() throws {
        var acq = Acquisition()
        acq.detectorXMM = [1, 2, 3]; acq.detectorYMM = [0, 0, 0]; acq.vDCV = [5000, 0, 5000]
        for proto in [ReconstructionProtocol.bas, .geiser] {
            XCTAssertThrowsError(try Reconstructor.reconstruct(acq, try params().setup(for: proto))) { e in
                XCTAssertTrue("\(e)".contains("ion 1") && "\(e)".contains("v_dc_v"), "\(e)")
            }
        }
        acq.vDCV = []
        XCTAssertThrowsError(try Reconstructor.reconstruct(acq, try params().setup(for: .bas))) { e in
            XCTAssertTrue("\(e)".contains("shank"), "\(e)")
        }
        // The shank protocol does not need voltages.
        XCTAssertEqual(try Reconstructor.reconstruct(acq, try params().setup(for: .shank, initialRadiusNM: 20, shankHalfAngleDeg: 5)).count, 3)
    }

    func testBadParametersAreErrors() throws {
        var p = params(); p.fieldFactorKf = 0
        XCTAssertThrowsError(try p.setup(for: .bas))
        XCTAssertThrowsError(try params().setup(for: .shank))
        XCTAssertThrowsError(try params().setup(for: .tem))
        XCTAssertThrowsError(try GeometryTimeline(ionIndex: [0, 10], apexRadiusNM: [10, -1]))
        XCTAssertThrowsError(try ApexShape(rhoOverR: [0, 0.5, 0.4], sagOverR: [0, 0.1, 0.2]))
    }

    // MARK: APT files

    func testAPTRoundTripAndSections() throws {
        var acq = Acquisition()
        acq.xNM = [1, 2, 3]; acq.yNM = [4, 5, 6]; acq.zNM = [-1, -2, -3]; acq.massToChargeDa = [28, 14, 29]
        acq.detectorXMM = [0.5, -1, 2]; acq.detectorYMM = [1, 1, -1]; acq.vDCV = [4000, 4001, 4002]; acq.multiplicity = [1, 2, 0]
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("recon-\(getpid())-rt.apt")
        defer { try? FileManager.default.removeItem(at: url) }
        try APTFile.write(acq, to: url)
        let back = try APTFile.read(url)
        XCTAssertEqual(back.xNM, acq.xNM); XCTAssertEqual(back.zNM, acq.zNM); XCTAssertEqual(back.massToChargeDa, acq.massToChargeDa)
        XCTAssertEqual(back.detectorXMM, acq.detectorXMM); XCTAssertEqual(back.vDCV, acq.vDCV); XCTAssertEqual(back.multiplicity, acq.multiplicity)
        let part = try APTFile.readChunk(url, layout: try APTFile.layout(url), range: 1..<3)
        XCTAssertEqual(part.detectorYMM, [1, -1])
        // As AP Suite writes them (the apav Si.apt): Multiplicity is INT (1), everything else FLOAT (3), 32-bit; APAV
        // rejects UINT (2) sections, so a UINT Multiplicity made every file we wrote unreadable there.
        for sec in try APTFile.layout(url).sections {
            XCTAssertEqual(sec.dataTypeCode, sec.name == "Multiplicity" ? 1 : 3, sec.name)
            XCTAssertEqual(sec.elementBits, 32, sec.name)
        }
    }

    func testAPTSectionCountMismatchIsAnErrorWithOffset() throws {
        let good = APTFile.RawSection(name: "XDet_mm", unit: "mm", floats: [[1, 2, 3]])
        var bad = APTFile.RawSection(name: "YDet_mm", unit: "mm", floats: [[1, 2]])
        let data = APTFile.encode(sections: [good, bad], ionCount: 3)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("recon-\(getpid())-bad.apt")
        defer { try? FileManager.default.removeItem(at: url) }
        try data.write(to: url)
        XCTAssertThrowsError(try APTFile.read(url)) { e in
            let s = "\(e)"
            XCTAssertTrue(s.contains("YDet_mm") && s.contains("byte offset 700") && s.contains("2 records"), s)
        }
        // A byte count that disagrees with the record count.
        bad = APTFile.RawSection(name: "YDet_mm", unit: "mm", floats: [[1, 2, 3]]); bad.recordCount = 4
        try APTFile.encode(sections: [good, bad], ionCount: 3).write(to: url)
        XCTAssertThrowsError(try APTFile.read(url)) { e in XCTAssertTrue("\(e)".contains("byte count"), "\(e)") }
        // Truncated file.
        try APTFile.encode(sections: [good], ionCount: 3).dropLast(2).write(to: url)
        XCTAssertThrowsError(try APTFile.read(url)) { e in XCTAssertTrue("\(e)".contains("truncated"), "\(e)") }
        // Bad magic.
        try Data("POS?".utf8 + [UInt8](repeating: 0, count: 600)).write(to: url)
        XCTAssertThrowsError(try APTFile.read(url)) { e in XCTAssertTrue("\(e)".contains("byte offset 0"), "\(e)") }
    }

    func testAPTUnknownRelationshipIsSkippedWithWarning() throws {
        var odd = APTFile.RawSection(name: "Strange", unit: "", floats: [[1]]); odd.relationship = 3
        let data = APTFile.encode(sections: [APTFile.RawSection(name: "Mass", unit: "Da", floats: [[7, 8]]), odd,
                                             APTFile.RawSection(name: "rTip", unit: "nm", floats: [[30, 31]])], ionCount: 2)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("recon-\(getpid())-odd.apt")
        defer { try? FileManager.default.removeItem(at: url) }
        try data.write(to: url)
        let acq = try APTFile.read(url)
        XCTAssertEqual(acq.massToChargeDa, [7, 8])
        XCTAssertTrue(acq.notes.contains { $0.contains("Strange") && $0.contains("relationship 3") }, "\(acq.notes)")
        XCTAssertTrue(acq.notes.contains { $0.contains("rTip") }, "\(acq.notes)")
    }

    // MARK: streaming

    func testStreamingEqualsInMemoryBitForBit() throws {
        let n = 70_001
        var acq = Acquisition()
        var g = LCG(s: 9)
        for k in 0..<n {
            acq.detectorXMM.append(Float(g.next() * 30 - 15)); acq.detectorYMM.append(Float(g.next() * 30 - 15))
            acq.vDCV.append(Float(4000 + 0.02 * Double(k))); acq.massToChargeDa.append(Float(g.next() * 60))
        }
        acq.xNM = [Float](repeating: 0, count: n); acq.yNM = acq.xNM; acq.zNM = acq.xNM; acq.tofNS = acq.xNM
        acq.vPulseV = acq.xNM; acq.pulsesSincePrevious = [UInt32](repeating: 1, count: n); acq.multiplicity = acq.pulsesSincePrevious
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("recon-\(getpid())-stream")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let epos = dir.appendingPathComponent("a.epos"), apt = dir.appendingPathComponent("a.apt")
        try EPOSFile.write(acq, to: epos)
        var a2 = acq; a2.xNM = []; a2.yNM = []; a2.zNM = []
        try APTFile.write(a2, to: apt)
        let tl = try GeometryTimeline(ionIndex: [0, 30_000, Double(n)], apexRadiusNM: [15, 17, 22])
        for (proto, setup) in [("bas", try params().setup(for: .bas)), ("geiser", try params().setup(for: .geiser)),
                               ("shank", try params().setup(for: .shank, initialRadiusNM: 15, shankHalfAngleDeg: 10)),
                               ("tem", try params().setup(for: .tem, timeline: tl))] {
            let mem = try Reconstructor.reconstruct(acq, setup, threads: 2)
            for src in [epos, apt] {
                let out = dir.appendingPathComponent("\(proto).pos")
                let s = try StreamingReconstruction.reconstructFile(src, setup: setup, output: out, chunkIons: 9_999, threads: 2)
                XCTAssertEqual(s.chunks, 8)
                let pos = try POSFile.read(out)
                XCTAssertEqual(pos.xNM, mem.xNM, "\(proto) from \(src.lastPathComponent)")
                XCTAssertEqual(pos.zNM, mem.zNM, "\(proto) from \(src.lastPathComponent)")
                XCTAssertEqual(pos.massToChargeDa, acq.massToChargeDa)
                XCTAssertEqual(s.depthNM, mem.depthNM, accuracy: 1e-9 * mem.depthNM)
            }
        }
    }

    // MARK: calibration

    func testImageCompressionFromPoleInvertsGeiser() throws {
        let theta = 0.4, tp = 0.16  // a pole 0.4 rad from the axis imaged at θ_P
        let xiTrue = 1 + sin(theta - tp) / sin(tp)
        let xiFit = try Calibration.imageCompressionFromPole(angleRad: theta, detectorRadiusMM: l * tan(tp), flightPathMM: l)
        XCTAssertEqual(xiFit, xiTrue, accuracy: 1e-12)
        // Forward check with the projection model itself.
        XCTAssertEqual(ProjectionModel.pointProjection.theta(rDetMM: l * tan(tp), flightPathMM: l, xi: xiFit), theta, accuracy: 1e-12)
    }

    /// Atomic planes normal to z (spacing d) evaporated ring by ring: ion i leaves where a plane cuts the current
    /// cap (sag h = m d − D_i), so the Bas reconstruction at the true k_f puts it exactly on its plane. Starting
    /// from a wrong k_f, the calibration recovers the true one.
    func testFieldFactorFromKnownSpacing() throws {
        let kfTrue = 3.3, f = 30.0, v = 3000.0, dPlane = 0.2
        let l = 100.0  // a short flight path: a wide field of view, so every cap cuts several planes
        func params(kf: Double, f: Double) -> ReconstructionParameters {
            var p = self.params(kf: kf, f: f); p.flightPathMM = l; return p
        }
        let r = v / (kfTrue * f)
        let sMax = xi * dDet / 2 / l
        let hMax = r - (r * r - sMax * sMax * r * r).squareRoot()
        let dzPerIon = omega / (eta * Double.pi * sMax * sMax * r * r)
        var acq = Acquisition()
        var g = LCG(s: 5)
        var depth = 0.0
        for _ in 0..<60_000 {
            depth += dzPerIon
            let mLo = Int((depth / dPlane).rounded(.up)), mHi = Int(((depth + hMax) / dPlane).rounded(.down))
            XCTAssertGreaterThanOrEqual(mHi, mLo)
            let m = mLo + Int(g.next() * Double(mHi - mLo + 1))
            let h = Double(m) * dPlane - depth
            let rho = (2 * r * h - h * h).squareRoot()
            let ph = 2 * .pi * g.next()
            acq.detectorXMM.append(Float(rho * cos(ph) * l / (xi * r))); acq.detectorYMM.append(Float(rho * sin(ph) * l / (xi * r)))
            acq.vDCV.append(Float(v))
        }
        let rec = try Reconstructor.reconstruct(acq, try params(kf: kfTrue, f: f).setup(for: .bas))
        let d = try XCTUnwrap(SpacingAnalysis.spacingAlongZ(x: rec.xNM, y: rec.yNM, z: rec.zNM, rangeNM: 0.1...0.4))
        XCTAssertEqual(d, dPlane, accuracy: 0.01 * dPlane)
        let kf = try XCTUnwrap(try Calibration.fieldFactorFromSpacing(acq, parameters: params(kf: 3.6, f: f), knownSpacingNM: dPlane))
        XCTAssertEqual(kf, kfTrue, accuracy: 0.03 * kfTrue)
    }
}
