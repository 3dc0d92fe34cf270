import Foundation
import TwinCore

/// Parameters of a voltage-based reconstruction.
public struct ReconstructionParameters: Sendable, Equatable, Codable {
    /// Field factor k_f in R = V/(k_f F).
    public var fieldFactorKf: Double
    /// Image compression factor ξ, in the convention M = L/(ξR) (θ_crystal = ξ θ_detector).
    public var imageCompression: Double
    /// Evaporation field F, V/nm.
    public var evaporationFieldVPerNM: Double
    /// Volume per atom Ω, nm³.
    public var atomicVolumeNM3: Double
    /// Detection efficiency η.
    public var detectionEfficiency: Double
    /// Flight path L, mm.
    public var flightPathMM: Double
    /// Detector active diameter, mm (A_D = π D²/4).
    public var detectorDiameterMM: Double

    public init(fieldFactorKf: Double, imageCompression: Double, evaporationFieldVPerNM: Double,
                atomicVolumeNM3: Double, detectionEfficiency: Double, flightPathMM: Double, detectorDiameterMM: Double) {
        self.fieldFactorKf = fieldFactorKf; self.imageCompression = imageCompression
        self.evaporationFieldVPerNM = evaporationFieldVPerNM; self.atomicVolumeNM3 = atomicVolumeNM3
        self.detectionEfficiency = detectionEfficiency; self.flightPathMM = flightPathMM
        self.detectorDiameterMM = detectorDiameterMM
    }

    func validate() throws {
        let checks: [(String, Double)] = [("kf", fieldFactorKf), ("icf", imageCompression),
                                          ("evaporation_field_v_per_nm", evaporationFieldVPerNM),
                                          ("atomic_volume_nm3", atomicVolumeNM3), ("efficiency", detectionEfficiency),
                                          ("flight_path_mm", flightPathMM), ("detector_diameter_mm", detectorDiameterMM)]
        for (k, v) in checks where !(v.isFinite && v > 0) {
            throw TwinError.invalidInput("reconstruction parameter \(k) must be positive and finite, got \(v)")
        }
    }
}

/// The Bas et al. voltage protocol (P. Bas, A. Bostel, B. Deconihout, D. Blavette, Appl. Surf. Sci. 87/88 (1995)
/// 298), the **baseline** reconstruction:
///
/// - tip radius from the standing voltage: R = V_DC/(k_f F);
/// - magnification M = L/(ξR); x = X_D/M, y = Y_D/M;
/// - depth increment per detected ion dz = Ω L² k_f² F² / (A_D η ξ² V²), A_D = π D²/4;
/// - z = −Σdz − (R − √(R² − x² − y²)): the specimen frame of the twin (apex at the top, z towards the detector,
///   the first ion's surface at z = 0), the cap term placing the ion on a hemisphere of radius R.
/// Ions are processed in acquisition order; ions with a non-finite coordinate or non-positive voltage are an error.
public enum BasProtocol {
    public static func reconstruct(_ acq: Acquisition, _ p: ReconstructionParameters) throws -> (x: [Float], y: [Float], z: [Float]) {
        try p.validate()
        let n = acq.count
        guard acq.detectorXMM.count == n, acq.detectorYMM.count == n else {
            throw TwinError.invalidInput("the Bas protocol needs detector coordinates for every ion")
        }
        guard acq.vDCV.count == n else { throw TwinError.invalidInput("the Bas protocol needs v_dc_v for every ion") }
        var xs = [Float](repeating: 0, count: n), ys = xs, zs = xs
        let areaMM2 = Double.pi * p.detectorDiameterMM * p.detectorDiameterMM / 4
        let kf = p.fieldFactorKf, F = p.evaporationFieldVPerNM, xi = p.imageCompression, L = p.flightPathMM
        let dzConst = p.atomicVolumeNM3 * L * L * kf * kf * F * F / (areaMM2 * p.detectionEfficiency * xi * xi)
        var depth = 0.0
        for i in 0..<n {
            let v = Double(acq.vDCV[i])
            let xd = Double(acq.detectorXMM[i]), yd = Double(acq.detectorYMM[i])
            guard v.isFinite, v > 0 else { throw TwinError.invalidInput("ion \(i): v_dc_v = \(v) V is not a positive voltage") }
            guard xd.isFinite, yd.isFinite else { throw TwinError.invalidInput("ion \(i): detector coordinates are not finite") }
            let r = v / (kf * F)
            let m = L / (xi * r)
            let x = xd / m, y = yd / m
            depth += dzConst / (v * v)
            let rho2 = min(x * x + y * y, r * r)
            xs[i] = Float(x); ys[i] = Float(y)
            zs[i] = Float(-depth - (r - (r * r - rho2).squareRoot()))
        }
        return (xs, ys, zs)
    }
}
