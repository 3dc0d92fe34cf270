import Foundation
import XCTest
import TwinCore
@testable import TEMImaging

final class FrameFormationTests: XCTestCase {
    /// Camera with Poisson noise only.
    let poissonOnly = CameraParameters(doseElectronsPerA2: 200, gainADUPerElectron: 1, readNoiseADU: 0, offsetADU: 0,
                                       mtfModel: .none)

    /// A coherent, aberration-free microscope without aperture (pure Fresnel propagation at `defocusNM`).
    func ideal(defocusNM: Double) -> MicroscopeParameters {
        MicroscopeParameters(csMM: 0, defocusNM: defocusNM, objectiveApertureSemiAngleMrad: 0, energySpreadEV: 0,
                             convergenceSemiAngleMrad: 0)
    }

    func meanAndVariance(_ c: [UInt16]) -> (mean: Double, variance: Double) {
        let n = Double(c.count)
        let mean = c.reduce(0.0) { $0 + Double($1) } / n
        let v = c.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / (n - 1)
        return (mean, v)
    }

    func testVacuumFrameIsPoisson() throws {
        let w = 256, h = 256
        // Doses covering the three samplers: inversion (μ = 2.88), PTRS (μ = 11.5 and 288), normal (μ = 1152).
        for dose in [0.5, 2, 50, 200] {
            var cam = poissonOnly
            cam.doseElectronsPerA2 = dose
            let f = try FrameFormation.render(thicknessNM: [[Float](repeating: 0, count: w * h)], materials: [.iron],
                                              extraPhaseRad: nil, width: w, height: h, microscope: MicroscopeParameters(),
                                              camera: cam, seed: 42, threads: 2)
            let expected = dose * 5.76
            XCTAssertEqual(f.meanVacuumCounts, expected, accuracy: 1e-9)
            for v in f.intensity { XCTAssertEqual(v, 1, accuracy: 1e-5) }
            let (mean, variance) = meanAndVariance(f.counts)
            let se = (expected / Double(w * h)).squareRoot()
            XCTAssertEqual(mean, expected, accuracy: 3 * se, "dose \(dose)")
            XCTAssertEqual(variance / mean, 1, accuracy: 0.05, "dose \(dose)")
        }
    }

    func testDetectorMTFKeepsMeanAndReducesVariance() throws {
        let w = 200, h = 150
        let inten = [Float](repeating: 1, count: w * h)
        let cam = CameraParameters(doseElectronsPerA2: 50, gainADUPerElectron: 1, readNoiseADU: 0, offsetADU: 0)
        let d = try FrameFormation.detect(intensity: inten, width: w, height: h, pixelNM: 0.24, camera: cam, seed: 3, threads: 2)
        let (mean, variance) = meanAndVariance(d.counts)
        XCTAssertEqual(mean, 288, accuracy: 0.5)
        // White noise through the MTF: variance × mean of MTF² over the Nyquist square (≈ 0.3 for the default).
        XCTAssertLessThan(variance / mean, 0.6)
        XCTAssertGreaterThan(variance / mean, 0.1)
        XCTAssertEqual(DetectorMTF.us1000.value(qxCyclesPerPixel: 0.5, qyCyclesPerPixel: 0), 0.25, accuracy: 0.01)
        XCTAssertEqual(DetectorMTF.us1000.value(qxCyclesPerPixel: 0, qyCyclesPerPixel: 0), 1)
        // Offset, gain and read noise.
        let cam2 = CameraParameters(doseElectronsPerA2: 50, gainADUPerElectron: 2, readNoiseADU: 3, offsetADU: 100, mtfModel: .none)
        let d2 = try FrameFormation.detect(intensity: inten, width: w, height: h, pixelNM: 0.24, camera: cam2, seed: 3, threads: 1)
        let (m2, v2) = meanAndVariance(d2.counts)
        XCTAssertEqual(d2.meanVacuumCounts, 2 * 288 + 100, accuracy: 1e-9)
        XCTAssertEqual(m2, 676, accuracy: 1)
        let expectedVariance: Double = 4.0 * 288.0 + 9.0   // gain²·μ + read noise²
        XCTAssertEqual(v2, expectedVariance, accuracy: 0.05 * expectedVariance)
    }

    func testThickSlabAttenuatesToExpMinusTOverXk() throws {
        let w = 256, h = 128
        for (material, t) in [(MaterialOptics.iron, Float(40)), (MaterialOptics.tungsten, Float(20))] {
            var thick = [Float](repeating: 0, count: w * h)
            for y in 0..<h { for x in 64..<192 { thick[y * w + x] = t } }
            let f = try FrameFormation.image(thicknessNM: [thick], materials: [material], extraPhaseRad: nil,
                                             width: w, height: h, microscope: MicroscopeParameters(), threads: 2)
            let expected = exp(-Double(t) / material.contrastThicknessNM)
            var s = 0.0, n = 0
            for y in 0..<h { for x in 96..<160 { s += Double(f.intensity[y * w + x]); n += 1 } }
            XCTAssertEqual(s / Double(n), expected, accuracy: 0.01 * expected)
            for x in [100, 128, 150] { XCTAssertEqual(Double(f.intensity[64 * w + x]), expected, accuracy: 0.01 * expected) }
            // Vacuum far from the slab stays at 1.
            XCTAssertEqual(Double(f.intensity[64 * w + 10]), 1, accuracy: 0.01)
        }
        // Coherent, aberration-free, in focus: exact.
        var thick = [Float](repeating: 0, count: w * h)
        for y in 0..<h { for x in 64..<192 { thick[y * w + x] = 40 } }
        let f = try FrameFormation.image(thicknessNM: [thick], materials: [.iron], extraPhaseRad: nil,
                                         width: w, height: h, microscope: ideal(defocusNM: 0), threads: 1)
        XCTAssertEqual(Double(f.intensity[10 * w + 64]), exp(-40.0 / 45), accuracy: 1e-5)
        XCTAssertEqual(Double(f.intensity[10 * w + 63]), 1, accuracy: 1e-5)
    }

    /// A needle-like test specimen: projected thickness of a cylinder of radius r along y, with a hemispherical cap.
    func needle(width w: Int, height h: Int, radiusPx r: Double) -> [Float] {
        var t = [Float](repeating: 0, count: w * h)
        let cx = Double(w) / 2, capY = Double(h) / 3
        for y in 0..<h {
            for x in 0..<w {
                let dx = Double(x) - cx, dy = max(0, capY - Double(y))
                let rr = r * r - dx * dx - dy * dy
                if rr > 0 { t[y * w + x] = Float(2 * rr.squareRoot() * 0.24) }
            }
        }
        return t
    }

    func testSameSeedSameCountsForAnyThreadCount() throws {
        let w = 300, h = 200
        let t = needle(width: w, height: h, radiusPx: 60)
        var phase = [Float](repeating: 0, count: w * h)
        for y in 0..<h { for x in 0..<w { phase[y * w + x] = Float(0.02 * Double(x) + 0.01 * Double(y)) } }
        var p = MicroscopeParameters()
        p.defocusNM = 300
        let cam = CameraParameters()   // MTF, read noise, offset on
        let a = try FrameFormation.render(thicknessNM: [t], materials: [.iron], extraPhaseRad: phase, width: w, height: h,
                                          microscope: p, camera: cam, seed: 7, threads: 1)
        let b = try FrameFormation.render(thicknessNM: [t], materials: [.iron], extraPhaseRad: phase, width: w, height: h,
                                          microscope: p, camera: cam, seed: 7, threads: 2)
        let c = try FrameFormation.render(thicknessNM: [t], materials: [.iron], extraPhaseRad: phase, width: w, height: h,
                                          microscope: p, camera: cam, seed: 8, threads: 2)
        XCTAssertEqual(a.intensity, b.intensity)
        XCTAssertEqual(a.counts, b.counts)
        XCTAssertNotEqual(a.counts, c.counts)
        XCTAssertEqual(a.intensity, c.intensity)
        let differing = zip(a.counts, c.counts).filter { $0 != $1 }.count
        XCTAssertGreaterThan(differing, w * h / 2)
        // The needle is dark, vacuum ≈ 1.
        let tCentre = Double(t[(h / 2) * w + w / 2])
        XCTAssertEqual(Double(a.intensity[(h / 2) * w + w / 2]), exp(-tCentre / 45), accuracy: 0.1)
        XCTAssertEqual(Double(a.intensity[(h / 2) * w + 5]), 1, accuracy: 0.05)
    }

    /// First Fresnel maximum outside an opaque edge, in pixels from the edge (sub-pixel by a parabola).
    func firstFringePx(defocusNM: Double) throws -> Double {
        let w = 512, h = 4, edge = 200
        var t = [Float](repeating: 0, count: w * h)
        for y in 0..<h { for x in 0..<edge { t[y * w + x] = 300 } }   // 300 nm W: opaque
        let f = try FrameFormation.image(thicknessNM: [t], materials: [.tungsten], extraPhaseRad: nil, width: w, height: h,
                                         microscope: ideal(defocusNM: defocusNM), threads: 2)
        let row = (0..<w).map { Double(f.intensity[2 * w + $0]) }
        var x = edge
        while x + 1 < w && !(row[x] > row[x - 1] && row[x] >= row[x + 1] && row[x] > 1) { x += 1 }
        let a = row[x - 1], b = row[x], c = row[x + 1]
        let sub = Double(x) + 0.5 * (a - c) / (a - 2 * b + c)
        return sub - (Double(edge) - 0.5)
    }

    func testFresnelFringeScalesWithSqrtLambdaDefocus() throws {
        let lam = ElectronOptics.wavelengthNM(kv: 200)
        var positions: [Double] = []
        for df in [2000.0, 8000.0] {
            let px = try firstFringePx(defocusNM: df)
            // Knife edge: first maximum at w = x·√(2/λz) ≈ 1.217 (Born & Wolf §8.7), i.e. x ≈ 0.861·√(λΔf).
            XCTAssertEqual(px * 0.24, 0.861 * (lam * df).squareRoot(), accuracy: 0.15 * 0.861 * (lam * df).squareRoot(), "Δf \(df)")
            positions.append(px)
        }
        XCTAssertEqual(positions[1] / positions[0], 2, accuracy: 0.15)
        // In focus, no Cs, no aperture: the vacuum next to the edge is flat at 1 (no fringe).
        let w = 512, h = 4
        var t = [Float](repeating: 0, count: w * h)
        for y in 0..<h { for x in 0..<200 { t[y * w + x] = 300 } }
        let f = try FrameFormation.image(thicknessNM: [t], materials: [.tungsten], extraPhaseRad: nil, width: w, height: h,
                                         microscope: ideal(defocusNM: 0), threads: 1)
        for x in 200..<w { XCTAssertEqual(Double(f.intensity[2 * w + x]), 1, accuracy: 1e-6) }
    }

    /// A uniform deflection θ (extra phase ramp) at defocus Δf shifts the image by −θ·Δf (positive Δf = underfocus);
    /// a ramp of 4 rad/px (6.7 mrad at 0.24 nm) selects 3× oversampling automatically.
    func testDeflectionShiftsImageAtDefocus() throws {
        let w = 512, h = 32
        var t = [Float](repeating: 0, count: w * h)
        for y in 0..<h { for x in 250..<262 { t[y * w + x] = 10 } }
        let g = 4.0   // rad per pixel along x
        let phase = (0..<(w * h)).map { Float(g * Double($0 % w)) }
        let df = 2000.0
        var p = ideal(defocusNM: df)
        func centroid(_ f: RenderedFrame) -> Double {
            var s = 0.0, sx = 0.0
            for x in 0..<w { let d = 1 - Double(f.intensity[16 * w + x]); s += d; sx += d * Double(x) }
            return sx / s
        }
        let ref = try FrameFormation.image(thicknessNM: [t], materials: [.tungsten], extraPhaseRad: nil,
                                           width: w, height: h, microscope: p, threads: 2)
        let tilted = try FrameFormation.image(thicknessNM: [t], materials: [.tungsten], extraPhaseRad: phase,
                                              width: w, height: h, microscope: p, threads: 2)
        XCTAssertEqual(ref.oversampling, 1)
        XCTAssertEqual(tilted.oversampling, 3)
        let theta = ElectronOptics.wavelengthNM(kv: 200) * g / (2 * Double.pi * 0.24)
        let shiftPx = (centroid(tilted) - centroid(ref))
        XCTAssertEqual(shiftPx * 0.24, -theta * df, accuracy: 0.05 * theta * df)
        // In focus the deflection moves nothing.
        p.defocusNM = 0
        let focus = try FrameFormation.image(thicknessNM: [t], materials: [.tungsten], extraPhaseRad: phase,
                                             width: w, height: h, microscope: p, threads: 2)
        XCTAssertEqual(Double(focus.intensity[16 * w + 255]), exp(-10.0 / 13), accuracy: 1e-3)
    }

    /// Sign and size of the phase contrast end to end: a weak Gaussian phase object φ(r) = φ₀exp(−r²/2s²)
    /// (amorphous carbon, φ₀ = 0.01 rad, s = 0.5 nm) must match linear theory at its centre,
    /// ΔI(0) = 2∫[Φ(k) sin χ(k) − A(k) cos χ(k)]·E(k) d²k with Φ, A the Fourier transforms of the phase and of the
    /// absorption t/2x_k: dark at Scherzer underfocus (sin χ < 0), bright at the same overfocus.
    func testWeakPhaseContrastMatchesLinearTheory() throws {
        let w = 64, h = 64, s = 0.5, phi0 = 0.01
        let mat = MaterialOptics.amorphousCarbon
        let sigma = ElectronOptics.interactionConstantRadPerVNM(kv: 200)
        let t0 = phi0 / (sigma * mat.meanInnerPotentialV)
        var t = [Float](repeating: 0, count: w * h)
        for y in 0..<h {
            for x in 0..<w {
                let r2 = (pow(Double(x - 32), 2) + pow(Double(y - 32), 2)) * 0.24 * 0.24
                t[y * w + x] = Float(t0 * exp(-r2 / (2 * s * s)))
            }
        }
        var p = MicroscopeParameters()
        let scherzer = ElectronOptics.scherzerDefocusNM(p)
        for df in [scherzer, -scherzer] {
            p.defocusNM = df
            let f = try FrameFormation.image(thicknessNM: [t], materials: [mat], extraPhaseRad: nil,
                                             width: w, height: h, microscope: p, threads: 1)
            var predicted = 0.0
            let dk = 1e-4
            for i in 0..<30_000 {
                let k = (Double(i) + 0.5) * dk
                let g = 2 * Double.pi * s * s * exp(-2 * Double.pi * Double.pi * s * s * k * k)
                let chi = ElectronOptics.chiRad(kPerNM: k, p)
                let e = ElectronOptics.temporalEnvelope(kPerNM: k, p) * ElectronOptics.spatialEnvelope(kPerNM: k, p)
                let absorption = t0 / (2 * mat.contrastThicknessNM)
                predicted += 2 * g * (phi0 * sin(chi) - absorption * cos(chi)) * e * 2 * Double.pi * k * dk
            }
            let got = Double(f.intensity[32 * w + 32]) - 1
            XCTAssertEqual(got, predicted, accuracy: 0.1 * abs(predicted), "Δf \(df)")
            if df > 0 { XCTAssertLessThan(got, 0) } else { XCTAssertGreaterThan(got, 0) }
        }
    }

    /// Electrons deflected beyond the 10 mrad objective aperture are stopped, those inside pass: a uniform deflection
    /// of 12 mrad darkens empty vacuum, 8 mrad does not (both need the automatic oversampling, s = 3).
    func testApertureStopsLargeDeflections() throws {
        let w = 128, h = 32
        let lam = ElectronOptics.wavelengthNM(kv: 200)
        for (mrad, expected) in [(12.0, 0.0), (8.0, 1.0)] {
            let step = 2 * Double.pi * mrad * 1e-3 * 0.24 / lam   // rad per pixel
            let phase = (0..<(w * h)).map { Float(step * Double($0 % w)) }
            let f = try FrameFormation.image(thicknessNM: [[Float](repeating: 0, count: w * h)], materials: [.iron],
                                             extraPhaseRad: phase, width: w, height: h, microscope: MicroscopeParameters(),
                                             threads: 2)
            XCTAssertEqual(f.oversampling, 3)
            var sum = 0.0
            for y in 8..<24 { for x in 16..<112 { sum += Double(f.intensity[y * w + x]) } }
            XCTAssertEqual(sum / Double(16 * 96), expected, accuracy: 0.05, "\(mrad) mrad")
        }
    }

    func testMaterialLookup() {
        XCTAssertEqual(MaterialOptics.forElement("Fe"), .iron)
        XCTAssertEqual(MaterialOptics.forElement("w"), .tungsten)
        for s in ["Cr", "Al", "Ag", "Cu", "Ni", "C"] { XCTAssertNotNil(MaterialOptics.forElement(s), s) }
        XCTAssertNil(MaterialOptics.forElement("Xx"))
        XCTAssertEqual(MaterialOptics.forElement("C")!.contrastThicknessNM, 300)
    }

    func testRejectsMismatchedSizes() {
        XCTAssertThrowsError(try FrameFormation.render(thicknessNM: [[0, 0, 0]], materials: [.iron], extraPhaseRad: nil,
                                                       width: 2, height: 2, microscope: MicroscopeParameters(),
                                                       camera: CameraParameters(), seed: 1, threads: 1))
        XCTAssertThrowsError(try FrameFormation.render(thicknessNM: [], materials: [.iron], extraPhaseRad: nil,
                                                       width: 2, height: 2, microscope: MicroscopeParameters(),
                                                       camera: CameraParameters(), seed: 1, threads: 1))
    }

    /// Times a full 2048 × 2048 frame (a 50 nm-radius Fe needle, defaults, MTF and noise on). Printed, not asserted.
    func testTiming2048Frame() throws {
        let w = 2048, h = 2048
        let t = needle(width: w, height: h, radiusPx: 50 / 0.24)
        for threads in [2, 1] {
            var ru0 = rusage(), ru1 = rusage()
            getrusage(RUSAGE_SELF.rawValue, &ru0)
            let t0 = Date()
            let f = try FrameFormation.render(thicknessNM: [t], materials: [.iron], extraPhaseRad: nil, width: w, height: h,
                                              microscope: MicroscopeParameters(defocusNM: 61.3), camera: CameraParameters(),
                                              seed: 1, threads: threads)
            let wall = Date().timeIntervalSince(t0)
            getrusage(RUSAGE_SELF.rawValue, &ru1)
            func sec(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) * 1e-6 }
            let cpu = sec(ru1.ru_utime) - sec(ru0.ru_utime) + sec(ru1.ru_stime) - sec(ru0.ru_stime)
            print(String(format: "2048x2048 BF frame, threads %d: wall %.3f s, CPU %.3f s (wave grid %dx%d)",
                         threads, wall, cpu, f.waveGridWidth, f.waveGridHeight))
            XCTAssertEqual(f.counts.count, w * h)
        }
    }
}
