import FileFormats
import Foundation
import IonOptics
@testable import MassSpectrum
import MaterialsData
import TwinCore
import TwinPipeline
import XCTest

final class MassSpectrumTests: XCTestCase {
    /// Synthetic Gaussian peak: FWHM = 2.3548 σ within 1 %, FW10% = 4.2919 σ, with and without a flat-TOF background.
    func testPeakMetricsOnGaussian() {
        let sigma = 0.04, centre = 27.967, bin = 0.01
        for amplitudeBG in [0.0, 200.0] {
            var h = MassHistogram(masses: [], binDa: bin, maxDa: 60)
            for i in 0..<h.counts.count {
                let m = h.centreDa(i)
                let g = 1e6 * exp(-0.5 * pow((m - centre) / sigma, 2))
                h.counts[i] = UInt32((g + amplitudeBG / m.squareRoot()).rounded())
            }
            let bg = FlatTOFBackground.estimate(h)
            XCTAssertEqual(bg.amplitude, amplitudeBG, accuracy: 0.05 * amplitudeBG + 1)
            let m = PeakShape.measure(h, nearDa: centre, backgroundPerBin: bg.perBin(h))!
            XCTAssertEqual(m.fwhmDa! / sigma, 2.3548, accuracy: 0.01 * 2.3548)
            XCTAssertEqual(m.fw10Da! / sigma, 4.2919, accuracy: 0.01 * 4.2919)
            XCTAssertEqual(m.fw1Da! / sigma, 6.0697, accuracy: 0.02 * 6.0697)
            XCTAssertEqual(m.mrp50!, m.apexDa / m.fwhmDa!, accuracy: 1e-9)
        }
        // Must be able to fail: a Lorentzian has a much larger FW10/FWHM ratio.
        var l = MassHistogram(masses: [], binDa: bin, maxDa: 60)
        for i in 0..<l.counts.count { let u = (l.centreDa(i) - centre) / 0.05; l.counts[i] = UInt32(1e6 / (1 + u * u)) }
        let ml = PeakShape.measure(l, nearDa: centre)!
        XCTAssertGreaterThan(ml.fw10Da! / ml.fwhmDa!, 2.9)
    }

    /// Ideal voltage (no pulse), sphere-field apex, Fe-51.4Cr: after calibration on Fe, ⁵⁶Fe²⁺ at 27.967 ± 0.005 Da;
    /// isotope ratios recovered within counting error; every Fe²⁺/Cr²⁺ isotope separated, ⁵⁴Fe/⁵⁴Cr overlap reported.
    func testIdealVoltageCalibrationAndIsotopes() throws {
        let r = 10e-9
        let (events, atoms) = SyntheticEvents.sphereCap(composition: [(26, 0.486, 2), (24, 0.514, 2)], count: 80_000, sphereRadiusM: r,
                                                        maxPolarAngleRad: 0.04, vDCV: 5000, vPulseV: 0, pulsesPerIon: 50, seed: 11)
        let optics = TracedOptics(setup: FlightSetup(field: SphereField(radiusM: r), detectorDistanceM: 0.47))
        let res = optics.fly(events: events, atoms: atoms, seed: 11, threads: 2)
        var acq = res.detection.acquisition(events: events)
        for i in 0..<acq.count { acq.tofNS[i] += 42 }   // a cable delay the fit must find
        // Start from a wrong flight length and no t0.
        let fit = try TOFCalibration(flightPathMM: 480).fitted(to: acq, elementZ: 26)
        XCTAssertEqual(fit.calibration.t0NS, 42, accuracy: 1.0)
        XCTAssertEqual(fit.calibration.flightPathMM, 470, accuracy: 0.5)
        let masses = try fit.calibration.convert(acq)
        let report = SpectrumAnalysis.analyze(massesDa: masses, maxDa: 60, elements: [26, 24], maxCharge: 2)
        let fe56 = try XCTUnwrap(report.peaks.first { $0.ion == "56Fe2+" })
        XCTAssertEqual(fe56.metrics!.apexDa, 27.967, accuracy: 0.005)
        // Every stable Fe2+ and Cr2+ line has its own peak.
        for label in ["50Cr2+", "52Cr2+", "53Cr2+", "56Fe2+", "57Fe2+", "58Fe2+"] {
            XCTAssertTrue(report.peaks.contains { $0.candidates.contains(label) && !$0.overlap }, "\(label) not separated")
        }
        let p54 = try XCTUnwrap(report.peaks.first { $0.candidates.contains("54Fe2+") })
        XCTAssertTrue(p54.overlap && p54.candidates.contains("54Cr2+"), "54Fe/54Cr overlap must be reported")
        // Isotope ratios within 3σ of counting error (binomial within the element).
        func counts(_ l: String) -> Double { Double(report.peaks.first { $0.candidates.contains(l) }!.counts) }
        let fe = counts("56Fe2+") + counts("57Fe2+") + counts("58Fe2+")
        let cr = counts("50Cr2+") + counts("52Cr2+") + counts("53Cr2+")
        let feIso = PeriodicTable.element(symbol: "Fe")!, crIso = PeriodicTable.element(symbol: "Cr")!
        let feNo54 = 1 - feIso.isotope(54)!.abundance, crNo54 = 1 - crIso.isotope(54)!.abundance
        for (l, a, tot, norm) in [("57Fe2+", feIso.isotope(57)!.abundance, fe, feNo54), ("56Fe2+", feIso.isotope(56)!.abundance, fe, feNo54),
                                  ("53Cr2+", crIso.isotope(53)!.abundance, cr, crNo54), ("50Cr2+", crIso.isotope(50)!.abundance, cr, crNo54)] {
            let p = a / norm
            let sigma = (p * (1 - p) / tot).squareRoot()
            XCTAssertEqual(counts(l) / tot, p, accuracy: 3 * sigma, l)
        }
        // Composition from the isotope decomposition (overlap shared out) within 3σ of 0.486 Fe.
        let feFrac = report.ranging!.composition.first { $0.z == 26 }!
        XCTAssertEqual(feFrac.fraction, 0.486, accuracy: 3 * feFrac.sigma + 0.002)
        print("ideal: t0 \(fit.calibration.t0NS) ns, L \(fit.calibration.flightPathMM) mm, 56Fe2+ at \(fe56.metrics!.apexDa), MRP50 \(fe56.metrics!.mrp50 ?? .nan), Fe \(feFrac.fraction) ± \(feFrac.sigma)")
    }

    /// TEM versus LEAP-like ⁵⁶Fe²⁺ resolution: finite numbers, and in the TEM the 10 % width degrades more than the
    /// FWHM (relative to the straight instrument), as in the paper's Fig. 3.
    func testResolutionComparisonTEMvsLEAP() throws {
        let rows = try OpticsSpectrum.resolutionComparison(ions: 12_000, seed: 3, threads: 2)
        XCTAssertEqual(rows.count, 2)
        for r in rows {
            print(String(format: "%@: 56Fe2+ at %.4f Da, FWHM %.4f Da, FW10 %.4f Da, FW1 %@, M/ΔM50 %.0f, M/ΔM10 %.0f (t0 %.2f ns, L %.2f mm)",
                         r.geometry, r.apexDa, r.fwhmDa, r.fw10Da, r.fw1Da.map { String(format: "%.4f", $0) } ?? "n/a", r.mrp50, r.mrp10,
                         r.calibration.t0NS, r.calibration.flightPathMM))
            XCTAssertTrue(r.mrp50.isFinite && r.mrp10.isFinite && r.mrp50 > 0 && r.mrp10 > 0)
            XCTAssertGreaterThan(r.mrp50, r.mrp10)
        }
        let tem = rows[0], leap = rows[1]
        let degraded50 = tem.fwhmDa / leap.fwhmDa, degraded10 = tem.fw10Da / leap.fw10Da
        print("TEM/LEAP width ratio: FWHM \(degraded50), FW10 \(degraded10)")
        XCTAssertGreaterThan(degraded10, degraded50, "TEM 10 % width should degrade more than its FWHM")
    }

    /// A pulsed TEM-geometry acquisition written as EPOS and APyT raw events reads back to the same spectrum
    /// (files left in the temporary directory for CLI checks).
    func testSimulatedAcquisitionThroughFiles() throws {
        let acq = OpticsSpectrum.simulateFeCr(.temF200, ions: 6000, seed: 5, threads: 2)
        var full = acq
        full.xNM = [Float](repeating: 0, count: acq.count); full.yNM = full.xNM; full.zNM = full.xNM
        full.massToChargeDa = try TOFCalibration(flightPathMM: 470).convert(acq)
        let dir = FileManager.default.temporaryDirectory
        let epos = dir.appendingPathComponent("aptwin-optics-sample.epos"), raw = dir.appendingPathComponent("aptwin-optics-sample.raw")
        try EPOSFile.write(full, to: epos)
        var pulse: UInt32 = 0
        let events = (0..<acq.count).map { i -> RawEvent in
            pulse += max(acq.pulsesSincePrevious[i], acq.multiplicity[i] == 0 ? 0 : 1)
            return RawEvent(baseV: acq.vDCV[i], pulseV: acq.vPulseV[i], xMM: acq.detectorXMM[i], yMM: acq.detectorYMM[i], tofNS: acq.tofNS[i], pulse: pulse)
        }
        try RawEventFile.write(events, to: raw)
        let back = RawEventFile.acquisition(try RawEventFile.read(raw))
        XCTAssertEqual(back.tofNS, acq.tofNS)
        XCTAssertEqual(back.multiplicity, acq.multiplicity)
        let e2 = try EPOSFile.read(epos)
        let fit1 = try TOFCalibration(flightPathMM: 470, beta: 0.7).fitted(to: e2, elementZ: 26)
        let fit2 = try TOFCalibration(flightPathMM: 470, beta: 0.7).fitted(to: back, elementZ: 26)
        XCTAssertEqual(fit1.calibration.t0NS, fit2.calibration.t0NS, accuracy: 1e-6)
    }
}
