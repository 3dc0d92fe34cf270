import Foundation
import TwinCore

/// The oracle's geometry: the apex radius and apex height that place the detected ions best, fitted to the ground
/// truth window by window.
///
/// Why fitted, and not the field-evaporation engine's own apex radius: the engine's radius is that of its continuum
/// model of the cap, and the reconstruction's projection with one ξ does not invert the traced ion optics exactly
/// (on `Scenarios/tiny.yaml` the effective ξ rises from 1.71 near the axis to 1.75 at the detector edge). A radius
/// 1–2 % above the engine's then places ions better laterally — the shank protocol did, and beat that "oracle".
/// An upper bound of what any geometry knowledge can do with a given projection has to be the best geometry for
/// that projection, so the oracle takes, in windows of consecutive detected ions,
///
/// - the radius R minimising Σ |(x, y)_true − R·s(θ_i)·u_i|² (u_i the unit vector of the hit on the detector,
///   s = ρ/R of the cap site at the ion's polar angle θ_i): R = Σ s_i (p_i·u_i) / Σ s_i²;
/// - the apex height Z minimising Σ (z_true − (Z − R·h_i))²: Z = mean(z_true + R·h_i) (h = sag/R of the site);
///
/// and interpolates both linearly in detected-ion index between window centres (continued linearly beyond the end
/// centres). Ions are then placed below the
/// fitted apex instead of at the depth counted from the detected volume, so the oracle also knows where the apex is.
/// Remaining errors are those of the projection and cap models themselves.
public enum OracleGeometry {
    /// Detected ions per fitted window.
    public static let defaultIonsPerWindow = 250

    /// Fits the timeline. `truthX/Y/Z` hold the true position of the atom of every acquisition row (NaN for
    /// background counts, which only take interpolated values).
    public static func fit(detectorXMM: [Float], detectorYMM: [Float], truthXNM: [Float], truthYNM: [Float], truthZNM: [Float],
                           setup: ReconstructionSetup, ionsPerWindow: Int = defaultIonsPerWindow) throws -> GeometryTimeline {
        let n = detectorXMM.count
        guard n > 0, detectorYMM.count == n, truthXNM.count == n, truthYNM.count == n, truthZNM.count == n else {
            throw TwinError.invalidInput("oracle geometry: \(n) hits but \(truthXNM.count) truth rows (all columns must match)")
        }
        let table = SiteTable(projection: setup.projection, xi: setup.imageCompression, flightPathMM: setup.flightPathMM,
                              detectorRadiusMM: setup.detectorDiameterMM / 2, shape: nil)
        let rows = (0..<n).filter { truthXNM[$0].isFinite && truthYNM[$0].isFinite && truthZNM[$0].isFinite
            && detectorXMM[$0].isFinite && detectorYMM[$0].isFinite }
        guard rows.count >= 10 else { throw TwinError.invalidInput("oracle geometry: only \(rows.count) hits with a true position") }
        let w = max(10, ionsPerWindow)
        let windows = max(1, rows.count / w)
        var centre: [Double] = [], radius: [Double] = [], apexZ: [Double] = []
        for k in 0..<windows {
            let lo = k * rows.count / windows, hi = (k + 1) * rows.count / windows
            var num = 0.0, den = 0.0, ci = 0.0
            var site: [(s: Double, h: Double, z: Double)] = []
            site.reserveCapacity(hi - lo)
            for j in lo..<hi {
                let i = rows[j]
                let xd = Double(detectorXMM[i]), yd = Double(detectorYMM[i])
                let rd = (xd * xd + yd * yd).squareRoot()
                let (g, h) = table.lookup(rd)
                let s = g * rd
                if rd > 0 { num += s * (Double(truthXNM[i]) * xd + Double(truthYNM[i]) * yd) / rd }
                den += s * s
                site.append((s, h, Double(truthZNM[i])))
                ci += Double(i)
            }
            guard den > 0, num > 0 else { continue }
            let r = num / den
            let z = site.reduce(0.0) { $0 + $1.z + r * $1.h } / Double(site.count)
            centre.append(ci / Double(hi - lo)); radius.append(r); apexZ.append(z)
        }
        guard !centre.isEmpty else { throw TwinError.invalidInput("oracle geometry: no window of hits constrains the radius") }
        // Linear between window centres and continued linearly beyond the first and last (held constant, the first
        // and last half-windows would be placed at the wrong apex height while the apex recedes).
        var perR = [Float](repeating: 0, count: n), perZ = perR
        var j = 0
        for i in 0..<n {
            let t = Double(i)
            while j + 2 < centre.count && centre[j + 1] <= t { j += 1 }
            if centre.count == 1 {
                perR[i] = Float(radius[0]); perZ[i] = Float(apexZ[0]); continue
            }
            let a = (t - centre[j]) / (centre[j + 1] - centre[j])
            let r = radius[j] + a * (radius[j + 1] - radius[j])
            perR[i] = Float(max(r, 0.5 * min(radius[j], radius[j + 1])))
            perZ[i] = Float(apexZ[j] + a * (apexZ[j + 1] - apexZ[j]))
        }
        return try GeometryTimeline(perIonRadiusNM: perR, apexZNM: perZ)
    }

}
