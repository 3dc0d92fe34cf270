import ArgumentParser
import FieldEvaporation
import Foundation

/// `aptwin field`: analytic checks of the two-scale field solver.
struct Field: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check the field solver on an atomistic surface with an analytic solution.",
        discussion: """
        sphere: an isolated charged W sphere, F = V/R everywhere. hyperboloid: a W hyperboloid of apex radius R at \
        --distance-mm from a grounded plane, k_f = η₀ artanh η₀ (→ ½ ln(4d/R)). Both go through the same Robin–Rolland \
        solver and continuum match as an evaporating needle. JSON keys: apex_field_v_per_nm, mean_field_v_per_nm, \
        field_rel_spread, kf (and the analytic values).
        """)
    @Option(help: "sphere or hyperboloid.") var geometry: String = "sphere"
    @Option(name: .customLong("radius-nm"), help: "Radius (sphere) or apex radius (hyperboloid), nm (1–25).") var radiusNM: Double = 10
    @Option(name: .customLong("voltage-v"), help: "Voltage on the conductor, V.") var voltageV: Double = 1000
    @Option(name: .customLong("distance-mm"), help: "Hyperboloid apex to plane distance, mm.") var distanceMM: Double = 1
    @Flag(help: "Print JSON.") var json = false
    @Option(help: "Worker threads.") var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    func run() throws {
        try reportingErrors {
            guard let g = FieldCheck.Geometry(rawValue: geometry) else {
                throw CLIError("--geometry must be one of \(FieldCheck.Geometry.allCases.map(\.rawValue).joined(separator: ", ")), got '\(geometry)'")
            }
            guard threads >= 1 else { throw CLIError("--threads must be at least 1") }
            let r = try FieldCheck.run(g, radiusNM: radiusNM, voltageV: voltageV, distanceMM: distanceMM, threads: threads)
            let out: [String: Any] = [
                "geometry": g.rawValue, "radius_nm": r.radiusNM, "voltage_v": r.voltageV, "atoms": r.atoms,
                "surface_atoms": r.surfaceAtoms, "robin_iterations": r.robinIterations,
                "apex_field_v_per_nm": r.apexFieldVPerNM, "atomistic_apex_field_v_per_nm": r.atomisticApexFieldVPerNM,
                "mean_field_v_per_nm": r.meanFieldVPerNM, "field_rel_spread": r.fieldRelSpread,
                "band_rel_deviation": r.bandRelDeviation, "kf": r.kf, "kf_analytic": r.kfAnalytic,
                "analytic_apex_field_v_per_nm": r.analyticApexFieldVPerNM,
            ].merging(g == .hyperboloid ? ["distance_mm": distanceMM] : [:]) { a, _ in a }
            if json {
                let data = try JSONSerialization.data(withJSONObject: out, options: [.prettyPrinted, .sortedKeys])
                print(String(decoding: data, as: UTF8.self))
            } else {
                print(String(format: "%@ R = %.2f nm, V = %.1f V: apex field %.3f V/nm (analytic %.3f), mean %.3f V/nm, k_f %.4f (analytic %.4f), atomistic spread %.1f %%, %d surface atoms",
                             g.rawValue, r.radiusNM, r.voltageV, r.apexFieldVPerNM, r.analyticApexFieldVPerNM, r.meanFieldVPerNM,
                             r.kf, r.kfAnalytic, 100 * r.fieldRelSpread, r.surfaceAtoms))
            }
        }
    }
}
