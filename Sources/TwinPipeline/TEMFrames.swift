import Analysis
import Foundation
import MaterialsData
import ScenarioConfig
import SpecimenBuilder
import TEMImaging
import TwinCore

/// TEM settings of a scenario, resolved.
public struct TEMSettings: Sendable {
    public var microscope: MicroscopeParameters
    public var camera: CameraParameters
    public var widthPx: Int
    public var heightPx: Int
    public var needleDirectionDeg: Double
    public var apexPositionPx: (u: Double, v: Double)?
    public var oversample: Int
    public var environmentRadiusNM: Double
    public var biasPhase: Bool
    public var body: MaterialOptics
    public var layer: MaterialOptics?
    public var driftNMPerFrame: Double
    public var frameIntervalS: Double
    public var sequenceEveryEvents: Int
    public var sequenceFrames: Int
    /// How the sequence measures the apex radius on its frames (`imaging.tip_radius_method`).
    public var tipRadiusSource: TipRadiusSource

    public init(_ s: ResolvedScenario, composition: [CompositionEntry], layerComposition: [CompositionEntry]) {
        var m = MicroscopeParameters()
        m.acceleratingVoltageKV = s.double("instrument.accelerating_voltage_kv") ?? 200
        m.csMM = s.double("imaging.cs_mm") ?? 1
        m.ccMM = s.double("imaging.cc_mm") ?? 1.2
        m.defocusNM = s.double("imaging.defocus_nm") ?? 0
        m.objectiveApertureSemiAngleMrad = s.double("imaging.objective_aperture_mrad") ?? 10
        m.energySpreadEV = s.double("imaging.energy_spread_ev") ?? 0.8
        m.convergenceSemiAngleMrad = s.double("imaging.convergence_mrad") ?? 0.05
        m.pixelNM = s.double("imaging.pixel_nm") ?? 0.24
        microscope = m
        var c = CameraParameters()
        c.doseElectronsPerA2 = s.double("imaging.dose_e_per_a2") ?? 200
        c.gainADUPerElectron = s.double("imaging.gain_adu_per_e") ?? 1
        c.readNoiseADU = s.double("imaging.read_noise_adu") ?? 3
        c.offsetADU = s.double("imaging.offset_adu") ?? 100
        if s.string("imaging.mtf") == "none" { c.mtfModel = .none }
        camera = c
        widthPx = s.int("imaging.width_px") ?? 512
        heightPx = s.int("imaging.height_px") ?? 512
        needleDirectionDeg = s.double("imaging.needle_direction_deg") ?? -90
        if case .doubleList(let p)? = s["imaging.apex_position_px"], p.count == 2 { apexPositionPx = (p[0], p[1]) } else { apexPositionPx = nil }
        oversample = s.int("imaging.oversample") ?? 2
        environmentRadiusNM = (s.double("imaging.environment_radius_mm") ?? 1) * 1e6
        biasPhase = s.bool("imaging.bias_phase") ?? true
        var b = TEMSettings.optics(composition) ?? .iron
        if let xk = s.double("imaging.contrast_thickness_nm") { b.contrastThicknessNM = xk }
        if let v0 = s.double("imaging.mean_inner_potential_v") { b.meanInnerPotentialV = v0 }
        body = b
        layer = layerComposition.isEmpty ? nil : (TEMSettings.optics(layerComposition) ?? .amorphousCarbon)
        driftNMPerFrame = s.double("imaging.drift_nm_per_frame") ?? 0
        frameIntervalS = s.double("imaging.frame_interval_s") ?? 1
        sequenceEveryEvents = s.int("imaging.sequence_every_events") ?? 0
        sequenceFrames = s.int("imaging.sequence_frames") ?? 8
        tipRadiusSource = s.string("imaging.tip_radius_method").flatMap(TipRadiusSource.init(rawValue:)) ?? .edge
    }

    /// Optics of a material from its main element (`MaterialOptics.forElement`), nil if not tabulated.
    static func optics(_ c: [CompositionEntry]) -> MaterialOptics? {
        guard let main = c.max(by: { $0.fraction < $1.fraction }), let sym = PeriodicTable.element(z: main.z)?.symbol else { return nil }
        return MaterialOptics.forElement(sym)
    }

    /// The frame geometry of frame `index` (drift applied as a deterministic random walk).
    func geometry(frameIndex: Int, seed: UInt64) -> FrameGeometry {
        var g = FrameGeometry(width: widthPx, height: heightPx, pixelNM: microscope.pixelNM, needleDirectionDeg: needleDirectionDeg,
                              apexU: apexPositionPx?.u, apexV: apexPositionPx?.v)
        if driftNMPerFrame > 0 && frameIndex > 0 {
            var rng = TwinRNG(seed: seed, stream: 0xD81F7)
            var du = 0.0, dv = 0.0
            for _ in 0..<frameIndex { du += rng.normal() * driftNMPerFrame; dv += rng.normal() * driftNMPerFrame }
            g.apexU += du / microscope.pixelNM; g.apexV += dv / microscope.pixelNM
        }
        return g
    }
}

/// One rendered frame of the needle with what it shows.
public struct NeedleFrame: Sendable {
    public var frame: RenderedFrame
    public var geometry: FrameGeometry
    /// Standing voltage on the needle, V.
    public var voltageV: Double
    /// True shape of the needle's atoms at this point (azimuthal mean of the outer profile, `NeedleProfile.measure`).
    public var truth: NeedleShape?
    /// True outline of the needle's atoms in this frame's projection (beam along specimen y,
    /// `NeedleProfile.silhouette`): what the frame can show of a cap that is not a body of revolution.
    public var silhouette: NeedleShape?
}

/// Renders BF-TEM frames of an atomistic needle.
public enum NeedleFrames {
    /// Renders one frame. With `shank` (the specimen's geometry), the needle is continued below its atomistic base
    /// as a solid cone of the shank's half-angle out of the frame, as the real needle is: a simulated needle is only
    /// as long as its atoms, and one that ends inside the field of view could not be measured.
    public static func render(atoms: TruthAtoms, alive: [Bool]?, atomicVolumeNM3: Double, voltageV: Double, settings t: TEMSettings,
                              frameIndex: Int, seed: UInt64, threads: Int, shank: NeedleGeometry? = nil) throws -> NeedleFrame {
        let g = t.geometry(frameIndex: frameIndex, seed: seed)
        var material = [Int8](repeating: 0, count: atoms.count)
        if t.layer != nil {
            for i in 0..<atoms.count where atoms.phase[i] == PhaseLabel.surfaceLayer.rawValue { material[i] = 1 }
        }
        let nMat = t.layer == nil ? 1 : 2
        var maps = ProjectedThickness.maps(atoms: atoms, alive: alive, material: nMat > 1 ? material : nil, materialCount: nMat,
                                           atomicVolumeNM3: atomicVolumeNM3, geometry: g, oversample: t.oversample, threads: threads)
        if let shank {
            let cone = ProjectedThickness.coneBelow(atoms: atoms, atomicVolumeNM3: atomicVolumeNM3, halfAngleDeg: shank.shankHalfAngleDeg,
                                                    geometry: g, atomMap: maps[0], threads: threads)
            for k in 0..<cone.count { maps[0][k] += cone[k] }
        }
        var phase: [Float]? = nil
        if t.biasPhase && voltageV != 0 {
            var total = maps[0]
            if nMat > 1 { for k in 0..<total.count { total[k] += maps[1][k] } }
            let profile = BiasPhase.radiusProfile(thicknessNM: total, geometry: g)
            phase = BiasPhase.phaseMap(geometry: g, radiusAtZ: profile, voltageV: voltageV, environmentRadiusNM: t.environmentRadiusNM,
                                       interactionConstantRadPerVNM: ElectronOptics.interactionConstantRadPerVNM(kv: t.microscope.acceleratingVoltageKV))
        }
        let frame = try FrameFormation.render(thicknessNM: maps, materials: [t.body] + (t.layer.map { [$0] } ?? []),
                                              extraPhaseRad: phase, width: g.width, height: g.height, microscope: t.microscope,
                                              camera: t.camera, seed: seed &+ UInt64(frameIndex) &* 0x9E37_79B9, threads: threads)
        let truth = try? NeedleProfile.measure(atoms: atoms, alive: alive)
        // FrameGeometry puts specimen x across the frame and projects along y.
        let silhouette = try? NeedleProfile.silhouette(atoms: atoms, alive: alive, transverseAzimuthDeg: 0)
        return NeedleFrame(frame: frame, geometry: g, voltageV: voltageV, truth: truth, silhouette: silhouette)
    }
}
