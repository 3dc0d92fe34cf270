import Foundation
import FieldEvaporation
import IonOptics
import MaterialsData
import Reconstruction
import ScenarioConfig
import SpecimenBuilder
import TwinCore

/// Every stage's parameters, resolved from a validated scenario (derived defaults filled in).
public struct PipelineConfig: Sendable {
    public var name: String
    public var seed: UInt64
    public var specimen: SpecimenRequest
    /// Shorthands into `specimen`.
    public var geometry: NeedleGeometry { specimen.spec.geometry }
    public var lattice: CrystalLattice { specimen.spec.lattice }
    public var composition: [CompositionEntry] { specimen.spec.composition }
    public var evaporation: EvaporationEngineParameters
    public var detector: DetectorParameters
    /// Traced flight (default) or the baseline point projection.
    public var tracedOptics: Bool
    public var lensPeakFieldT: Double
    public var lensLengthMM: Double
    public var lensEdgeMM: Double
    public var deadTimeNS: Double
    public var deadRadiusMM: Double
    /// Reconstruction parameters; k_f and ξ are replaced by the run's computed means unless the scenario gives them.
    public var reconstruction: ReconstructionParameters
    public var reconstructionKfGiven: Bool
    public var reconstructionXiGiven: Bool
    public var pulseFrequencyHz: Double
    public var temperatureK: Double
    public var eposVoltageUnitKV: Bool
    public var writeEPOS: Bool
    public var writeTruth: Bool
    public var hitMapPixels: Int
    public var spectrumBinDa: Double
    public var spectrumMaxDa: Double
    public var profileBinNM: Double
    public var temFrames: Bool
    public var tem: TEMSettings

    public init(_ s: ResolvedScenario) throws {
        name = s.string("name") ?? "unnamed"
        seed = UInt64(s.int("seed") ?? 1)
        specimen = try SpecimenRequest(s)
        let crystal = specimen.spec.lattice
        let composition = specimen.spec.composition
        let shell = crystal.coordinationShell
        var ev = EvaporationEngineParameters(coordinationCutoffNM: shell.cutoffNM, bulkCoordination: shell.bulkCoordination,
                                             numberDensityPerNM3: crystal.numberDensityPerNM3,
                                             shankHalfAngleDeg: specimen.spec.geometry.shankHalfAngleDeg,
                                             initialApexRadiusNM: specimen.spec.geometry.apexCurvatureRadiusNM)
        ev.mode = EvaporationMode(rawValue: s.string("evaporation.model") ?? "pulsed") ?? .pulsed
        ev.barrierQ0EV = s.double("evaporation.barrier_q0_ev") ?? 2.0
        ev.attemptFrequencyHz = s.double("evaporation.attempt_frequency_hz") ?? 1e13
        ev.fieldBondMixing = s.double("evaporation.field_bond_mixing") ?? 0.5
        ev.pulseFWHMNS = s.double("evaporation.pulse_fwhm_ns") ?? 2.0
        ev.openingAngle = s.double("evaporation.tree_opening_angle") ?? 0.5
        ev.refreshFraction = s.double("evaporation.refresh_fraction") ?? 0.035
        ev.nearRadiusNM = s.double("evaporation.near_radius_nm") ?? 1.2
        ev.normalRadiusNM = s.double("evaporation.normal_radius_nm") ?? 0.75
        ev.localRadiusNM = ev.nearRadiusNM
        if case .intList(let l)? = s["evaporation.snapshot_events"] { ev.snapshotAtEvents = l }
        var env = NeedleEnvironment()
        env.counterElectrodeDistanceMM = s.double("field.counter_electrode_distance_mm") ?? 5
        env.poleGapMM = s.double("field.pole_piece_gap_mm") ?? 5
        env.postRadiusUM = s.double("field.post_radius_um") ?? 50
        env.postLengthMM = s.double("field.post_length_mm") ?? 3
        env.flightPathMM = s.double("instrument.flight_path_mm") ?? 470
        ev.environment = env
        ev.temperatureK = s.double("instrument.temperature_k") ?? 78
        ev.pulseFrequencyHz = s.double("instrument.pulse_frequency_hz") ?? 20000
        ev.maxEvents = s.int("acquisition.max_events") ?? 100_000
        ev.maxDepthNM = s.double("acquisition.max_depth_nm") ?? 20
        ev.maxDCV = s.double("instrument.holder_max_dc_v") ?? 8000
        ev.maxPulseV = s.double("instrument.holder_max_pulse_v") ?? 3000
        ev.pulseFraction = s.double("instrument.pulse_fraction") ?? 0.2
        var det = DetectorParameters()
        det.flightPathMM = s.double("instrument.flight_path_mm") ?? 470
        det.diameterMM = s.double("instrument.detector_diameter_mm") ?? 42
        det.efficiency = s.double("instrument.detection_efficiency") ?? 0.5
        det.positionResolutionMM = s.double("instrument.detector_position_resolution_mm") ?? 0.1
        det.timingResolutionNS = s.double("instrument.detector_timing_resolution_ns") ?? 0.1
        detector = det
        tracedOptics = (s.string("instrument.optics") ?? "traced") == "traced"
        lensPeakFieldT = s.double("instrument.lens_peak_field_t") ?? 0
        lensLengthMM = s.double("instrument.lens_length_mm") ?? 3
        lensEdgeMM = s.double("instrument.lens_edge_mm") ?? 0.5
        deadTimeNS = s.double("instrument.detector_dead_time_ns") ?? 10
        deadRadiusMM = s.double("instrument.detector_dead_radius_mm") ?? 5
        ev.targetDetectionRate = s.double("acquisition.target_detection_rate") ?? 0.01
        ev.detectionEfficiency = det.efficiency
        ev.detectorHalfAngleRad = atan(det.diameterMM / 2 / det.flightPathMM)
        evaporation = ev
        // Composition-weighted evaporation field (reconstruction default).
        var fSum = 0.0
        for c in composition {
            guard let e = PeriodicTable.evaporation(z: c.z) else {
                throw TwinError.invalidInput("no evaporation field for Z=\(c.z): give reconstruction.evaporation_field_v_per_nm")
            }
            fSum += c.fraction * e.evaporationFieldVPerNM
        }
        reconstruction = ReconstructionParameters(
            fieldFactorKf: s.double("reconstruction.field_factor_kf") ?? 5,
            imageCompression: s.double("reconstruction.image_compression") ?? 1.6,
            evaporationFieldVPerNM: s.double("reconstruction.evaporation_field_v_per_nm") ?? fSum,
            atomicVolumeNM3: s.double("reconstruction.atomic_volume_nm3") ?? crystal.atomicVolumeNM3,
            detectionEfficiency: det.efficiency, flightPathMM: det.flightPathMM, detectorDiameterMM: det.diameterMM)
        reconstructionKfGiven = s.double("reconstruction.field_factor_kf") != nil
        reconstructionXiGiven = s.double("reconstruction.image_compression") != nil
        pulseFrequencyHz = s.double("instrument.pulse_frequency_hz") ?? 20000
        temperatureK = s.double("instrument.temperature_k") ?? 78
        eposVoltageUnitKV = s.string("outputs.epos_voltage_unit") == "kv"
        writeEPOS = s.bool("outputs.epos") ?? true
        writeTruth = s.bool("outputs.truth_npy") ?? true
        hitMapPixels = s.int("outputs.hit_map_pixels") ?? 512
        spectrumBinDa = s.double("outputs.spectrum_bin_da") ?? 0.01
        spectrumMaxDa = s.double("outputs.spectrum_max_da") ?? 100
        profileBinNM = s.double("outputs.profile_bin_nm") ?? 1
        temFrames = s.bool("imaging.tem_frames") ?? true
        tem = TEMSettings(s, composition: specimen.spec.composition, layerComposition: specimen.spec.surfaceLayerComposition)
    }
}
