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
    public var evaporation: BaselineEvaporationParameters
    public var detector: DetectorParameters
    public var reconstruction: ReconstructionParameters
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
        var ev = BaselineEvaporationParameters(coordinationCutoffNM: shell.cutoffNM, bulkCoordination: shell.bulkCoordination,
                                               numberDensityPerNM3: crystal.numberDensityPerNM3)
        ev.fieldFactorKf = s.double("evaporation.field_factor_kf") ?? 3.3
        ev.curvatureProbeRadiusNM = s.double("evaporation.curvature_probe_radius_nm") ?? 1.2
        ev.coordinationWeight = s.double("evaporation.coordination_weight") ?? 0.5
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
        det.imageCompression = s.double("evaporation.image_compression") ?? 1.6
        detector = det
        ev.evaporationProbabilityPerPulse = min(1, (s.double("acquisition.target_detection_rate") ?? 0.01) / det.efficiency)
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
            fieldFactorKf: s.double("reconstruction.field_factor_kf") ?? ev.fieldFactorKf,
            imageCompression: s.double("reconstruction.image_compression") ?? det.imageCompression,
            evaporationFieldVPerNM: s.double("reconstruction.evaporation_field_v_per_nm") ?? fSum,
            atomicVolumeNM3: s.double("reconstruction.atomic_volume_nm3") ?? crystal.atomicVolumeNM3,
            detectionEfficiency: det.efficiency, flightPathMM: det.flightPathMM, detectorDiameterMM: det.diameterMM)
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
