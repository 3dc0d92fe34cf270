import Foundation
import FieldEvaporation
import IonOptics
import MassSpectrum
import MaterialsData
import Reconstruction
import SpecimenBuilder
import TwinCore

/// The in-memory result of one simulated experiment, stage by stage.
public struct SimulationResult: Sendable {
    public var config: PipelineConfig
    public var atoms: TruthAtoms
    public var evaporation: EvaporationRun
    public var detection: DetectionResult
    /// What the instrument recorded (plus m/n and reconstructed positions once computed).
    public var acquisition: Acquisition
    /// For each acquisition row, the index of the evaporation event that produced it.
    public var hitEventIndex: [Int32]
    public var calibration: TOFCalibration
    public var histogram: MassHistogram
    public var ranging: RangingResult
    public var timings: [StageTiming]
}

/// Runs the simulation stages in data-flow order.
public enum TwinSimulation {
    public static func run(_ config: PipelineConfig, threads: Int, progress: ProgressReporter = ProgressReporter()) throws -> SimulationResult {
        var timings: [StageTiming] = []
        let (built, t1) = try measure("specimen") { try config.specimen.build(seed: config.seed, threads: threads) }
        let atoms = built.atoms
        timings.append(t1)
        let engine = FieldEvaporationEngine(parameters: config.evaporation)
        let (evap, t2) = try measure("evaporation") {
            try engine.run(atoms: atoms, seed: config.seed, threads: threads, progress: progress)
        }
        timings.append(t2)
        // The field solver's k_f and ξ (means over the run) drive the optics and, unless given, the reconstruction.
        let (meanKf, meanXi) = evap.meanFieldFactorAndCompression
        var config = config
        config.detector.imageCompression = meanXi
        if !config.reconstructionKfGiven { config.reconstruction.fieldFactorKf = meanKf }
        if !config.reconstructionXiGiven { config.reconstruction.imageCompression = meanXi }
        let (det, t3) = try measure("optics_detector") { () throws -> DetectionResult in
            if config.tracedOptics { return try TracedFlight.detect(evap, atoms: atoms, config: config, threads: threads) }
            return PointProjectionOptics(detector: config.detector).fly(events: evap.events, atoms: atoms, seed: config.seed, threads: threads)
        }
        timings.append(t3)

        var acq = Acquisition()
        let hits = det.hits
        acq.detectorXMM = hits.xMM; acq.detectorYMM = hits.yMM; acq.tofNS = hits.tofNS
        acq.vDCV = hits.eventIndex.map { evap.events.vDCV[Int($0)] }
        acq.vPulseV = hits.eventIndex.map { evap.events.vPulseV[Int($0)] }
        acq.pulsesSincePrevious = hits.pulsesSinceLastHit
        acq.multiplicity = hits.multiplicity
        acq.instrument = InstrumentParameters(flightPathMM: config.detector.flightPathMM,
                                              detectorDiameterMM: config.detector.diameterMM,
                                              detectionEfficiency: config.detector.efficiency,
                                              pulseFraction: config.evaporation.pulseFraction,
                                              pulseFrequencyHz: config.pulseFrequencyHz, temperatureK: config.temperatureK)

        // Spectrum: traced flights are calibrated as an instrument is, by fitting t0 and the flight length to the
        // isotope peaks of the specimen's elements, aligned first on the main element's (V_eff = V_DC + β V_p with
        // β = 1: the pulse deficit shows as tails); the baseline point projection has an ideal TOF.
        var calibration = TOFCalibration(flightPathMM: config.detector.flightPathMM)
        let byFraction = config.composition.sorted { ($0.fraction, -$0.z) > ($1.fraction, -$1.z) }.map(\.z)
        if config.tracedOptics, !byFraction.isEmpty,
           let fit = try? calibration.fitted(to: acq, elements: byFraction) {
            calibration = fit.calibration
        }
        let ((hist, rng), t4) = try measure("spectrum") { () throws -> (MassHistogram, RangingResult) in
            acq.massToChargeDa = try calibration.convert(acq)
            let h = MassHistogram(masses: acq.massToChargeDa, binDa: config.spectrumBinDa, maxDa: config.spectrumMaxDa)
            let r = AutoRanging.range(masses: acq.massToChargeDa, histogram: h, elements: config.composition.map(\.z), molecules: false)   // the twin emits no molecular or gas ions yet (issue 14)
            return (h, r)
        }
        timings.append(t4)
        let (_, t5) = try measure("reconstruction") {
            let rec = try BasProtocol.reconstruct(acq, config.reconstruction)
            acq.xNM = rec.x; acq.yNM = rec.y; acq.zNM = rec.z
        }
        timings.append(t5)
        return SimulationResult(config: config, atoms: atoms, evaporation: evap, detection: det, acquisition: acq,
                                hitEventIndex: hits.eventIndex, calibration: calibration, histogram: hist,
                                ranging: rng, timings: timings)
    }
}
