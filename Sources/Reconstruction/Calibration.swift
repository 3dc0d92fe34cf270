import Foundation
import TwinCore

/// Interplanar spacing along the needle axis from a reconstruction (a one-dimensional spatial distribution map in
/// Fourier form).
public enum SpacingAnalysis {
    /// The spacing d (nm) in `rangeNM` that maximises the window-averaged Fourier power
    /// P(d) = ⟨|Σ_j exp(2πi z_j/d)|² / n_w⟩ over 4 nm z windows of the ions within 2.5 nm of the axis (at most
    /// 40,000 ions, evenly strided), refined by a parabola through the peak. Lattice planes normal to z give a
    /// peak at their spacing (the lowest-frequency peak of at least half the highest, so harmonics d/2, d/3 are not
    /// taken for the spacing); nil if the highest peak is below 5 (the expected power of random positions is 1).
    public static func spacingAlongZ(x: [Float], y: [Float], z: [Float], rangeNM: ClosedRange<Double>,
                                     radiusNM: Double = 2.5) -> Double? {
        var rows = (0..<z.count).filter { Double(x[$0] * x[$0] + y[$0] * y[$0]) <= radiusNM * radiusNM }
        guard rows.count >= 200 else { return nil }
        if rows.count > 40_000 { let st = rows.count / 40_000 + 1; rows = Swift.stride(from: 0, to: rows.count, by: st).map { rows[$0] } }
        let zs = rows.map { Double(z[$0]) }.sorted()
        // Windows of 4 nm.
        var windows: [ArraySlice<Double>] = []
        var a = 0
        while a < zs.count {
            var b = a
            while b < zs.count && zs[b] < zs[a] + 4 { b += 1 }
            if b - a >= 30 { windows.append(zs[a..<b]) }
            a = b
        }
        guard !windows.isEmpty else { return nil }
        let steps = 600
        let lo = rangeNM.lowerBound, hi = rangeNM.upperBound
        var power = [Double](repeating: 0, count: steps + 1)
        for k in 0...steps {
            // Uniform in frequency 1/d.
            let f = 1 / hi + (1 / lo - 1 / hi) * Double(k) / Double(steps)
            var p = 0.0
            for w in windows {
                var re = 0.0, im = 0.0
                for v in w { let ph = 2 * Double.pi * f * v; re += cos(ph); im += sin(ph) }
                p += (re * re + im * im) / Double(w.count)
            }
            power[k] = p / Double(windows.count)
        }
        var top = 0
        for k in 1...steps where power[k] > power[top] { top = k }
        guard power[top] >= 5 else { return nil }
        // The fundamental: the lowest-frequency local maximum with at least half the top power (perfect planes
        // give harmonics d/2, d/3 … of similar height).
        var best = top
        for k in 0...steps where power[k] >= 0.5 * power[top]
            && (k == 0 || power[k] >= power[k - 1]) && (k == steps || power[k] >= power[k + 1]) {
            best = k; break
        }
        var kk = Double(best)
        if best > 0 && best < steps {
            let (y0, y1, y2) = (power[best - 1], power[best], power[best + 1])
            let den = y0 - 2 * y1 + y2
            if den < 0 { kk += 0.5 * (y0 - y2) / den }
        }
        let f = 1 / hi + (1 / lo - 1 / hi) * kk / Double(steps)
        return 1 / f
    }
}

/// Fitting k_f and ξ to known structure (the calibration a user does with a known lattice).
public enum Calibration {
    /// ξ in the point-projection (Geiser) convention from a feature at known crystallographic angle θ (rad) from
    /// the axis seen at r_D (mm) on the detector: sin(θ − θ_P) = (ξ − 1) sin θ_P with θ_P = atan(r_D/L), so
    /// ξ = 1 + sin(θ − θ_P)/sin θ_P (e.g. a pole of known angle to the axis pole in the hit map).
    public static func imageCompressionFromPole(angleRad theta: Double, detectorRadiusMM r: Double, flightPathMM l: Double) throws -> Double {
        guard r > 0, l > 0, theta > 0, theta < .pi / 2 else {
            throw TwinError.invalidInput("pole calibration needs 0 < angle < 90°, r_D > 0 and L > 0")
        }
        let tp = atan(r / l)
        return 1 + sin(theta - tp) / sin(tp)
    }

    /// k_f such that the interplanar spacing measured along z (``SpacingAnalysis``) equals `knownSpacingNM`, for the
    /// voltage protocols (ξ fixed): fixed-point iteration k_f ← k_f √(d₀/d(k_f)) (at most 4 reconstructions). For Bas the depth scales as k_f²/ξ² and the
    /// lateral scale as ξ/k_f, so ξ must come from another feature (``imageCompressionFromPole``); the fit returns
    /// nil when no lattice peak is found.
    public static func fieldFactorFromSpacing(_ acq: Acquisition, parameters p: ReconstructionParameters,
                                              protocol proto: ReconstructionProtocol = .bas, knownSpacingNM d0: Double,
                                              threads: Int = ProcessInfo.processInfo.activeProcessorCount) throws -> Double? {
        guard proto.needsVoltage else { throw TwinError.invalidInput("k_f calibration applies to the voltage protocols (bas, geiser)") }
        func measured(_ kf: Double) throws -> Double? {
            var q = p; q.fieldFactorKf = kf
            let r = try Reconstructor.reconstruct(acq, try q.setup(for: proto), threads: threads)
            return SpacingAnalysis.spacingAlongZ(x: r.xNM, y: r.yNM, z: r.zNM, rangeNM: (0.6 * d0)...(1.7 * d0))
        }
        // Depth (hence the spacing along z) scales as k_f² at fixed ξ: fixed-point iteration on that law,
        // each step measured on a fresh reconstruction (the cap term makes the law approximate).
        var kf = p.fieldFactorKf
        for _ in 0..<4 {
            guard let d = try measured(kf) else { return nil }
            let next = kf * (d0 / d).squareRoot()
            if abs(next / kf - 1) < 1e-5 { return next }
            kf = next
        }
        return kf
    }
}
