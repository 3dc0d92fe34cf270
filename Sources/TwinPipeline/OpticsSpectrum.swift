import Foundation
import IonOptics
import MassSpectrum
import MaterialsData
import Reporting
import TwinCore

/// Simulated mass spectra of traced ions, and the APT-in-TEM versus straight-flight (LEAP 5000 XS-like)
/// mass-resolution comparison of the paper's Fig. 3.
public enum OpticsSpectrum {
    /// An instrument geometry for a simulated spectrum. Numbers marked [uncertain] are not in the paper.
    public struct Geometry: Sendable {
        public var name: String
        /// Tip to detector, mm.
        public var flightPathMM: Double
        /// Apex radius of the hyperboloid emitter, m.
        public var apexRadiusM: Double
        /// Apex to the nearest grounded electrode (local electrode or, in the TEM, the holder/pole-piece
        /// surroundings), m. [uncertain] for the TEM.
        public var counterElectrodeM: Double
        /// Pulse shape at the tip (Gaussian FWHM), ns. [uncertain]
        public var pulseFWHMNS: Double
        public var pulseFrequencyHz: Double
        /// V_DC and V_pulse (pulse fraction V_p/V_DC), volts.
        public var vDCV: Double
        public var vPulseV: Double
        /// Sharpness κ of the thermally activated departure, P(t) ∝ exp(κ (shape(t) − 1)) (Q(F) linear near
        /// F_evap, Arrhenius): the departure-time σ is FWHM/√(8 ln2 κ). [uncertain]
        public var departureSharpness: Double
        public var lens: ObjectiveLensField
        public var detector: DelayLineDetector

        /// APT in the JEOL F200: 470 mm, 42 mm detector, 20 kHz, pulse fraction 20 % [paper]; no local electrode, so
        /// the nearest grounded surface is taken 2 mm away and the pulse reaching the tip through the side-entry
        /// holder 1.5 ns wide [uncertain]; lens off (with the objective lens on, Fe²⁺ misses the detector).
        public static let temF200 = Geometry(name: "APT in TEM (F200, 470 mm)", flightPathMM: 470, apexRadiusM: 50e-9,
                                              counterElectrodeM: 2e-3, pulseFWHMNS: 1.5, pulseFrequencyHz: 20_000,
                                              vDCV: 4500, vPulseV: 900, departureSharpness: 30, lens: .off, detector: DelayLineDetector())
        /// LEAP 5000 XS-like straight flight: ~100 mm, 25 kHz [paper], local electrode 40 µm from the apex and a
        /// 0.5 ns pulse [uncertain]; detector: same model, 0.5 efficiency for comparability.
        public static let leap5000XS = Geometry(name: "LEAP 5000 XS-like (straight, 100 mm)", flightPathMM: 100, apexRadiusM: 50e-9,
                                                 counterElectrodeM: 40e-6, pulseFWHMNS: 0.5, pulseFrequencyHz: 25_000,
                                                 vDCV: 4500, vPulseV: 900, departureSharpness: 30, lens: .off, detector: DelayLineDetector())
    }

    /// A simulated Fe-51.4 at% Cr acquisition: Fe²⁺ and Cr²⁺ with natural isotopes launched at rest from the apex
    /// cap (±0.05 rad) of a hyperboloid needle, departure times drawn from the pulse, traced to the detector.
    /// - Parameter idealVoltage: if true, no pulse (V_DC only, constant): the ideal-voltage validation case.
    public static func simulateFeCr(_ g: Geometry, ions: Int, idealVoltage: Bool = false, seed: UInt64, threads: Int) -> Acquisition {
        let field = HyperboloidPlaneField(apexRadiusM: g.apexRadiusM, planeDistanceM: g.counterElectrodeM)
        let peakNS = 3 * g.pulseFWHMNS
        let sigmaNS = g.pulseFWHMNS / (8 * log(2) * g.departureSharpness).squareRoot()
        var (events, atoms) = SyntheticEvents.sphereCap(composition: [(26, 0.486, 2), (24, 0.514, 2)], count: ions,
                                                        sphereRadiusM: g.apexRadiusM, maxPolarAngleRad: 0.05,
                                                        vDCV: g.vDCV, vPulseV: idealVoltage ? 0 : g.vPulseV,
                                                        departureMeanNS: peakNS, departureSigmaNS: idealVoltage ? 0 : sigmaNS,
                                                        pulsesPerIon: 100, seed: seed)
        // Put the launch points on the hyperboloid (same ρ as on the sphere cap).
        for e in 0..<events.count {
            let x = Double(events.launchXNM[e]) * 1e-9, y = Double(events.launchYNM[e]) * 1e-9
            let p = field.surfacePoint(rhoM: (x * x + y * y).squareRoot(), phiRad: atan2(y, x))
            events.launchZNM[e] = Float(p.z * 1e9)
            atoms.zNM[e] = events.launchZNM[e]
        }
        var setup = FlightSetup(field: field, lens: g.lens, detectorDistanceM: g.flightPathMM * 1e-3,
                                pulseShape: idealVoltage ? .none : .gaussian(fwhmNS: g.pulseFWHMNS, peakNS: peakNS))
        setup.relativeTolerance = 1e-8
        var det = g.detector
        det.tofWindowEndNS = 1e9 / g.pulseFrequencyHz
        let r = TracedOptics(setup: setup, detector: det).fly(events: events, atoms: atoms, seed: seed, threads: threads)
        var acq = r.detection.acquisition(events: events)
        acq.instrument = InstrumentParameters(flightPathMM: g.flightPathMM, detectorDiameterMM: det.diameterMM,
                                              detectionEfficiency: det.efficiency, pulseFraction: g.vPulseV / g.vDCV,
                                              pulseFrequencyHz: g.pulseFrequencyHz)
        return acq
    }

    /// One row of the resolution comparison.
    public struct ResolutionRow: Sendable {
        public var geometry: String
        public var ions: Int
        public var calibration: TOFCalibration
        /// ⁵⁶Fe²⁺ peak.
        public var apexDa: Double
        public var fwhmDa: Double
        public var fw10Da: Double
        public var fw1Da: Double?
        public var mrp50: Double
        public var mrp10: Double
    }

    /// ⁵⁶Fe²⁺ M/ΔM at 50 % and 10 % for each geometry (default: TEM and LEAP-like): simulate, convert with
    /// V_eff = V_DC + 0.7 V_p (α = 1, β = 0.7 as pyccapt; with one voltage for all ions β only rescales L), fit t0
    /// and the effective L on the Fe²⁺ isotopes, histogram at 0.01 Da, measure (flat-TOF background removed).
    /// - Throws: if the calibration fails or a width cannot be measured.
    public static func resolutionComparison(_ geometries: [Geometry] = [.temF200, .leap5000XS], ions: Int = 20_000,
                                            seed: UInt64 = 1, threads: Int) throws -> [ResolutionRow] {
        try geometries.map { g in
            let acq = simulateFeCr(g, ions: ions, seed: seed, threads: threads)
            // Start from pyccapt's β = 0.7 (the pulse's effective share); t0 and L are then fitted on Fe²⁺.
            let fit = try TOFCalibration(flightPathMM: g.flightPathMM, beta: 0.7).fitted(to: acq, elementZ: 26)
            let masses = try fit.calibration.convert(acq)
            let h = MassHistogram(masses: masses, binDa: 0.01, maxDa: 60)
            let bg = FlatTOFBackground.estimate(h).perBin(h)
            let fe56 = PeriodicTable.isotopeMassDa(z: 26, massNumber: 56)! / 2
            guard let m = PeakShape.measure(h, nearDa: fe56, searchDa: 0.05, backgroundPerBin: bg),
                  let w50 = m.fwhmDa, let w10 = m.fw10Da else {
                let near = PeakShape.measure(h, nearDa: fe56, searchDa: 1, backgroundPerBin: bg)
                throw TwinError.inconsistent("\(g.name): 56Fe2+ peak widths not measurable (t0 \(fit.calibration.t0NS) ns, L \(fit.calibration.flightPathMM) mm; strongest peak within 1 Da: \(String(describing: near)))")
            }
            return ResolutionRow(geometry: g.name, ions: acq.count, calibration: fit.calibration, apexDa: m.apexDa,
                                 fwhmDa: w50, fw10Da: w10, fw1Da: m.fw1Da, mrp50: m.apexDa / w50, mrp10: m.apexDa / w10)
        }
    }
}
