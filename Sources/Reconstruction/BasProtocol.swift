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

/// The protocols of this module, by the name the CLI and the score tables use.
public enum ReconstructionProtocol: String, Sendable, CaseIterable, Codable {
    /// Bas et al. 1995: R = V/(k_f F), linear point projection (M = L/(ξR)), depth from the detected volume.
    case bas
    /// Geiser et al. 2009 / Gault et al. wide-angle point projection with R = V/(k_f F).
    case geiser
    /// Shank-angle radius evolution from an initial radius (no voltages); wide-angle projection.
    case shank
    /// Apex radius measured on TEM frames between acquisition segments, hemispherical cap.
    case tem
    /// TEM-measured apex radius and measured cap shape z(r).
    case temShape = "tem-shape"
    /// Apex radius and height fitted to the ground truth (``OracleGeometry``): the upper bound of geometry knowledge.
    case oracle

    /// Whether the protocol needs a ``GeometryTimeline``.
    public var needsTimeline: Bool { self == .tem || self == .temShape || self == .oracle }
    /// Whether the protocol needs V_DC per ion.
    public var needsVoltage: Bool { self == .bas || self == .geiser }
}

extension ReconstructionParameters {
    /// The engine setup of a protocol with these parameters.
    ///
    /// - Parameters:
    ///   - projection: the projection for the shank/tem/oracle protocols (default ``ProjectionModel/angular``,
    ///     the inverse of the twin's optics; use ``ProjectionModel/pointProjection`` for real data);
    ///     `bas` always uses ``ProjectionModel/linear`` and `geiser` ``ProjectionModel/pointProjection``.
    ///   - initialRadiusNM, shankHalfAngleDeg: the shank protocol's R0 and α.
    ///   - timeline: the geometry of tem/tem-shape/oracle.
    public func setup(for proto: ReconstructionProtocol, projection: ProjectionModel = .angular,
                      initialRadiusNM: Double? = nil, shankHalfAngleDeg: Double? = nil,
                      timeline: GeometryTimeline? = nil, invalidIons: InvalidIonPolicy = .reject) throws -> ReconstructionSetup {
        try validate()
        let radius: RadiusModel
        var proj = projection
        switch proto {
        case .bas:
            radius = .voltage(fieldFactorKf: fieldFactorKf, evaporationFieldVPerNM: evaporationFieldVPerNM); proj = .linear
        case .geiser:
            radius = .voltage(fieldFactorKf: fieldFactorKf, evaporationFieldVPerNM: evaporationFieldVPerNM); proj = .pointProjection
        case .shank:
            guard let r0 = initialRadiusNM, let a = shankHalfAngleDeg else {
                throw TwinError.invalidInput("the shank protocol needs an initial radius (nm) and a shank half-angle (deg)")
            }
            radius = .shank(initialRadiusNM: r0, shankHalfAngleDeg: a)
        case .tem, .temShape, .oracle:
            guard var t = timeline else {
                throw TwinError.invalidInput("the \(proto.rawValue) protocol needs a geometry timeline (TEM frames, or the fit to the truth for the oracle)")
            }
            if proto == .tem { t.shapes = nil }
            if proto == .temShape && t.shapes == nil {
                throw TwinError.invalidInput("the tem-shape protocol needs a measured apex shape per frame")
            }
            radius = .timeline(t)
        }
        return ReconstructionSetup(projection: proj, radius: radius, imageCompression: imageCompression,
                                   atomicVolumeNM3: atomicVolumeNM3, detectionEfficiency: detectionEfficiency,
                                   flightPathMM: flightPathMM, detectorDiameterMM: detectorDiameterMM, invalidIons: invalidIons)
    }
}

/// The Bas et al. voltage protocol (P. Bas, A. Bostel, B. Deconihout, D. Blavette, Appl. Surf. Sci. 87/88 (1995)
/// 298), the **baseline** reconstruction of the pipeline:
///
/// - tip radius from the standing voltage: R = V_DC/(k_f F);
/// - magnification M = L/(ξR); x = X_D/M, y = Y_D/M (ξ convention: M = L/(ξR));
/// - depth increment per detected ion dz = Ω L² k_f² F² / (A_D η ξ² V²), A_D = π D²/4;
/// - z = −Σdz − (R − √(R² − x² − y²)): the specimen frame of the twin (apex at the top, z towards the detector,
///   the first ion's surface at z = 0), the cap term placing the ion on a hemisphere of radius R.
/// Ions are processed in acquisition order; ions with a non-finite coordinate or non-positive voltage are an error.
/// Runs on ``Reconstructor`` (linear projection, voltage radius model).
public enum BasProtocol {
    public static func reconstruct(_ acq: Acquisition, _ p: ReconstructionParameters,
                                   threads: Int = 1) throws -> (x: [Float], y: [Float], z: [Float]) {
        let r = try Reconstructor.reconstruct(acq, try p.setup(for: .bas), threads: threads)
        return (r.xNM, r.yNM, r.zNM)
    }
}
