import Foundation
import SpecimenBuilder
import TEMImaging
import TwinCore

/// One point of the edge-bias calibration curve.
public struct EdgeBiasPoint: Sendable, Codable {
    public var trueRadiusNM: Double
    /// Radius of the fitted contour circle, before correction.
    public var rawRadiusNM: Double
    /// After the analytic in-focus correction.
    public var correctedRadiusNM: Double
    /// corrected − true, nm.
    public var residualBiasNM: Double
    /// The cross-section radius (`TipShape.sectionFit`) on the same frame, nm; nil if that fit failed.
    public var sectionRadiusNM: Double?
}

/// The edge-bias calibration curve: frames of ideal sphere-on-cone needles (analytic projected thickness, the
/// full imaging chain: bias-field phase, CTF at the given defocus, MTF and noise) measured like real frames.
///
/// In focus the contour sits inside the edge by the amplitude-contrast bias only, which the analytic model
/// removes; out of focus the needle's field deflects the electrons by α ≈ λσπV/(2π ln(D/r)) and the edge moves by
/// ≈ αΔf (instrument-and-physics §3), which a table built here for the frame's conditions removes
/// (`EdgeCalibration.build`).
public enum TEMCalibration {
    public static func frame(radiusNM r: Double, material: MaterialOptics, microscope: MicroscopeParameters, camera: CameraParameters,
                             voltageV: Double, environmentRadiusNM: Double, seed: UInt64, threads: Int)
        throws -> (pixels: [Float], width: Int, height: Int, pixelNM: Double) {
        let geo = try NeedleGeometry(apexRadiusNM: r, shankHalfAngleDeg: 5, lengthNM: 10 * r + 200)
        let side = Int(((4 * r + 60) / microscope.pixelNM).rounded())
        let g = FrameGeometry(width: side, height: side, pixelNM: microscope.pixelNM, needleDirectionDeg: -90,
                              apexU: Double(side) / 2 + 0.3, apexV: Double(side) * 0.3 + 0.2)
        let t = ProjectedThickness.analytic(radiusAtZ: { geo.radiusNM(atZ: $0) }, geometry: g, subsamples: 2)
        var phase: [Float]?
        if voltageV != 0 {
            phase = BiasPhase.phaseMap(geometry: g, radiusAtZ: { geo.radiusNM(atZ: $0) }, voltageV: voltageV,
                                       environmentRadiusNM: environmentRadiusNM,
                                       interactionConstantRadPerVNM: ElectronOptics.interactionConstantRadPerVNM(kv: microscope.acceleratingVoltageKV))
        }
        let f = try FrameFormation.render(thicknessNM: [t], materials: [material], extraPhaseRad: phase, width: side, height: side,
                                          microscope: microscope, camera: camera, seed: seed, threads: threads)
        return (f.counts.map { Float($0) - Float(camera.offsetADU) }, side, side, microscope.pixelNM)
    }

    /// Raw and corrected radii for each true radius under the given conditions.
    public static func curve(radiiNM: [Double], material: MaterialOptics, microscope: MicroscopeParameters,
                             camera: CameraParameters = CameraParameters(), voltageV: Double, edgeLevel: Double = 0.5,
                             environmentRadiusNM: Double = 1e6, seed: UInt64 = 1, threads: Int = 2) throws -> [EdgeBiasPoint] {
        var options = TipShapeOptions()
        options.contrastThicknessNM = material.contrastThicknessNM
        options.edgeLevel = edgeLevel
        return try radiiNM.map { r in
            let f = try frame(radiusNM: r, material: material, microscope: microscope, camera: camera, voltageV: voltageV,
                              environmentRadiusNM: environmentRadiusNM, seed: seed, threads: threads)
            let m = try TipShapeMeasurement.measure(pixels: f.pixels, width: f.width, height: f.height, pixelNM: f.pixelNM, options: options)
            return EdgeBiasPoint(trueRadiusNM: r, rawRadiusNM: m.rawApexRadiusNM, correctedRadiusNM: m.edgeApexRadiusNM,
                                 residualBiasNM: m.edgeApexRadiusNM - r, sectionRadiusNM: m.sectionFit?.radiusNM)
        }
    }
}
