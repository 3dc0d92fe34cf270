import ArgumentParser
import Foundation
import IonOptics
import MaterialsData
import TwinCore

/// Checks that a numeric option is finite and inside `range`, naming the option otherwise.
func checkOption(_ name: String, _ v: Double, _ range: ClosedRange<Double>) throws {
    guard v.isFinite, range.contains(v) else {
        throw CLIError("--\(name) \(v): must be a finite number in \(range.lowerBound)…\(range.upperBound)")
    }
}

/// `ELEMENT-A` (e.g. `Fe-56`) → (symbol, mass number, isotope mass in Da).
func parseIsotope(_ s: String, option: String) throws -> (symbol: String, a: Int, massDa: Double) {
    let parts = s.split(separator: "-")
    guard parts.count == 2, let a = Int(parts[1]), let el = PeriodicTable.element(symbol: String(parts[0])) else {
        throw CLIError("--\(option) '\(s)': expected ELEMENT-MASSNUMBER, e.g. Fe-56")
    }
    guard let iso = el.isotope(a) else {
        let known = el.isotopes.map { "\(el.symbol)-\($0.massNumber)" }.joined(separator: ", ")
        throw CLIError("--\(option) '\(s)': \(el.symbol) has no natural isotope \(a) (natural: \(known.isEmpty ? "none" : known))")
    }
    return (el.symbol, a, iso.massDa)
}

/// Lens options shared by `trace` and `bench optics`.
struct LensOptions: ParsableArguments {
    @Option(help: "Peak objective-lens field B0, tesla (0 = lens off; field along the optical axis = specimen y).")
    var lensFieldT: Double = 0
    @Option(help: "Lens field extent from the optical axis along the flight, mm (uniform: length L; tanh: plateau).")
    var lensLengthMM: Double = 3
    @Option(help: "Radial profile: uniform (B0 for ρ ≤ L), tanh (plateau with tanh edges), glaser (B0/(1+(ρ/a)²)).")
    var lensProfile: String = "uniform"
    @Option(help: "Edge width w of the tanh profile / half-width a of the Glaser profile, mm.")
    var lensEdgeMM: Double = 0.5

    func lens() throws -> ObjectiveLensField {
        try checkOption("lens-field-t", lensFieldT, -5...5)
        try checkOption("lens-length-mm", lensLengthMM, 0...1000)
        try checkOption("lens-edge-mm", lensEdgeMM, 1e-6...1000)
        switch lensProfile {
        case "uniform": return ObjectiveLensField(peakFieldT: lensFieldT, profile: .uniform(lengthM: lensLengthMM * 1e-3))
        case "tanh": return ObjectiveLensField(peakFieldT: lensFieldT, profile: .tanhPlateau(lengthM: lensLengthMM * 1e-3, edgeWidthM: lensEdgeMM * 1e-3))
        case "glaser": return ObjectiveLensField(peakFieldT: lensFieldT, profile: .glaser(halfWidthM: lensEdgeMM * 1e-3))
        default: throw CLIError("--lens-profile '\(lensProfile)': expected uniform, tanh or glaser")
        }
    }
}

struct Trace: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Trace one ion from the apex to the detector plane (electrostatic field, objective lens, drift).",
        discussion: """
        Frame: z = needle axis towards the detector, apex at the origin, optical axis (lens field) = y.
        JSON keys: hit_x_mm, hit_y_mm, deflection_deg, tof_ns, path_length_mm, kinetic_energy_ev, hits_detector, \
        reached_detector_plane, mn_da, rk_steps, boris_steps.
        """)
    @Option(help: "Isotope, ELEMENT-MASSNUMBER (e.g. Fe-56).") var ion: String
    @Option(help: "Charge state n.") var charge: Int
    @Option(help: "Standing voltage V_DC, volts.") var voltageV: Double
    @Option(help: "Pulse amplitude, volts (Gaussian pulse; the ion leaves at its peak).") var pulseV: Double = 0
    @Option(help: "Pulse FWHM, ns.") var pulseFwhmNs: Double = 1
    @Option(help: "Emitter field: sphere (E = V R/r²) or hyperboloid (hyperboloid facing a grounded plane).") var geometry: String = "sphere"
    @Option(help: "Apex radius R, nm.") var radiusNm: Double = 10
    @Option(help: "Hyperboloid: apex-to-plane distance, mm.") var planeDistanceMm: Double = 1
    @Option(help: "Launch site: polar angle from the needle axis on the apex, degrees.") var launchAngleDeg: Double = 0
    @Option(help: "Detector distance from the apex, mm.") var detectorDistanceMm: Double = 470
    @Option(help: "Active detector diameter, mm.") var detectorDiameterMm: Double = 42
    @OptionGroup var lensOptions: LensOptions
    @Option(help: "Also report these species for the same lens and voltage, e.g. Fe-54:2,Fe-56:2,Cr-52:2 (JSON key 'species': label, mn_da, deflection_deg, hit_x_mm, hits_detector).")
    var species: String?
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        try reportingErrors {
            let iso = try parseIsotope(ion, option: "ion")
            guard (1...10).contains(charge) else { throw CLIError("--charge \(charge): must be 1…10") }
            try checkOption("voltage-v", voltageV, 1...100_000)
            try checkOption("pulse-v", pulseV, 0...100_000)
            try checkOption("pulse-fwhm-ns", pulseFwhmNs, 1e-3...1e6)
            try checkOption("radius-nm", radiusNm, 0.1...10_000)
            try checkOption("plane-distance-mm", planeDistanceMm, 1e-3...1000)
            try checkOption("launch-angle-deg", launchAngleDeg, 0...80)
            try checkOption("detector-distance-mm", detectorDistanceMm, 1...10_000)
            try checkOption("detector-diameter-mm", detectorDiameterMm, 0.1...1000)
            let r = radiusNm * 1e-9, th = launchAngleDeg * .pi / 180
            let field: any ElectrostaticFieldModel
            let launch: SIMD3<Double>
            switch geometry {
            case "sphere":
                field = SphereField(radiusM: r)
                launch = SIMD3(0, 0, -r) + SIMD3(sin(th), 0, cos(th)) * r
            case "hyperboloid":
                let h = HyperboloidPlaneField(apexRadiusM: r, planeDistanceM: planeDistanceMm * 1e-3)
                field = h
                launch = h.surfacePoint(rhoM: r * sin(th), phiRad: 0)
            default: throw CLIError("--geometry '\(geometry)': expected sphere or hyperboloid")
            }
            let peak = 3 * pulseFwhmNs
            let setup = FlightSetup(field: field, lens: try lensOptions.lens(), detectorDistanceM: detectorDistanceMm * 1e-3,
                                    pulseShape: pulseV > 0 ? .gaussian(fwhmNS: pulseFwhmNs, peakNS: peak) : .none)
            let t = IonTracer(setup: setup).trace(IonLaunch(massDa: iso.massDa, charge: charge, positionM: launch,
                                                            timeInPulseNS: peak, vDCV: voltageV, vPulseV: pulseV))
            let rHit = (t.hitXMM * t.hitXMM + t.hitYMM * t.hitYMM).squareRoot()
            func num(_ v: Double) -> Any { v.isFinite ? v : NSNull() }
            var table: [LensReport.SpeciesDeflection] = []
            if let species {
                let list = try species.split(separator: ",").map { item -> (symbol: String, massNumber: Int, charge: Int) in
                    let parts = item.split(separator: ":")
                    guard parts.count == 2, let q = Int(parts[1]), (1...10).contains(q) else {
                        throw CLIError("--species '\(item)': expected ELEMENT-A:CHARGE, e.g. Fe-56:2")
                    }
                    let iso = try parseIsotope(String(parts[0]), option: "species")
                    return (iso.symbol, iso.a, q)
                }
                var onAxis = setup; onAxis.pulseShape = .none
                table = try LensReport.species(list, setup: onAxis, voltageV: voltageV, detectorDiameterMM: detectorDiameterMm)
            }
            var out: [String: Any] = [
                "ion": "\(iso.a)\(iso.symbol)\(charge)+", "mn_da": iso.massDa / Double(charge),
                "hit_x_mm": num(t.hitXMM), "hit_y_mm": num(t.hitYMM), "deflection_deg": num(t.deflectionDeg),
                "tof_ns": num(t.tofNS), "path_length_mm": num(t.pathLengthM * 1e3), "kinetic_energy_ev": num(t.kineticEnergyEV),
                "reached_detector_plane": t.reachedDetectorPlane,
                "hits_detector": t.reachedDetectorPlane && rHit <= detectorDiameterMm / 2,
                "rk_steps": t.rkSteps, "rk_rejected": t.rkRejected, "boris_steps": t.borisSteps,
            ]
            if species != nil {
                out["species"] = table.map { ["label": $0.label, "mn_da": $0.mnDa, "deflection_deg": num($0.deflectionDeg),
                                              "hit_x_mm": num($0.hitXMM), "hit_y_mm": num($0.hitYMM), "tof_ns": num($0.tofNS),
                                              "hits_detector": $0.hitsDetector] as [String: Any] }
            }
            if json {
                let data = try JSONSerialization.data(withJSONObject: out, options: [.prettyPrinted, .sortedKeys])
                print(String(decoding: data, as: UTF8.self))
            } else {
                for r in table {
                    print(String(format: "  %-8@ m/n %8.4f Da  deflection %7.3f°  hit x %8.2f mm  %@", r.label as NSString, r.mnDa,
                                 r.deflectionDeg, r.hitXMM, r.hitsDetector ? "on detector" : "misses detector"))
                }
                print(String(format: "%@ (m/n %.4f Da) at %.0f V: hit (%.3f, %.3f) mm%@, deflection %.4f°, TOF %.3f ns, path %.4f mm, E %.2f eV",
                             out["ion"] as! String, iso.massDa / Double(charge), voltageV, t.hitXMM, t.hitYMM,
                             t.reachedDetectorPlane ? (rHit <= detectorDiameterMm / 2 ? " inside the detector" : " OUTSIDE the detector") : " (plane not reached)",
                             t.deflectionDeg, t.tofNS, t.pathLengthM * 1e3, t.kineticEnergyEV))
            }
        }
    }
}
