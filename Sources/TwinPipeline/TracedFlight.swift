import FieldEvaporation
import Foundation
import IonOptics
import TwinCore

/// Traced flight of a run's ions through the needle's own continuum field, the objective-lens field and the
/// delay-line detector.
///
/// The continuum model (``AxisymmetricFieldModel`` in the scenario's environment) is solved once at the run's
/// median apex radius R_m and tabulated; each ion is launched from its site mapped into that model:
/// p' = (p − cₑ)·R_m/Rₑ + (0, 0, −R_m), with cₑ, Rₑ the apex sphere the engine had fitted when it left (so an ion
/// leaves the model's surface at the same polar angle it left the real one), at least 0.02 R_m outside the surface.
/// Near the apex the field scales with the radius (F ∝ 1/(k_f R)) and potential differences are scale-free, so the
/// trajectory's direction and the energy gained are those of the tip at that moment up to the slow variation of k_f.
/// Random streams are per traced ion, so the hits depend only on the seed (not on the thread count).
enum TracedFlight {
    static func detect(_ run: EvaporationRun, atoms: TruthAtoms, config: PipelineConfig, threads: Int) throws -> DetectionResult {
        let ev = run.events
        guard ev.count > 0 else { return DetectionResult(hits: DetectorHits(), fate: []) }
        let radii = run.apexRadiusNM.sorted()
        let rm = Double(radii[radii.count / 2])
        let p = config.evaporation
        let env = p.environment
        let prof = MeridianProfile.sphereOnCone(radiusNM: rm, shankHalfAngleDeg: max(0.5, p.shankHalfAngleDeg),
                                                postRadiusNM: env.postRadiusUM * 1e3, totalLengthNM: env.postLengthMM * 1e6)
        let model = try AxisymmetricFieldModel(profile: prof, environment: env, apexSpacingNM: 0.08 * rm)
        let maxR = env.counterElectrodeDistanceMM > 0 ? env.counterElectrodeDistanceMM * 1e6 : 1e4 * rm
        let table = AxisymmetricFieldTable(model: model, apexRadiusNM: rm, maxRadiusNM: maxR, threads: threads)
        var mapped = ev
        // Ions that cannot reach the detector are not traced: launch polar angle beyond three times the detector's
        // acceptance at the tip (ξ·θ_det) plus the largest lens deflection of any ion of the run (a sector of length
        // L_B: sin δ = L_B B √(q/(2mV))), plus 10°. Their fate is "outside the detector" either way.
        let xi = run.meanFieldFactorAndCompression.xi
        var lensDeflection = 0.0
        if config.lensPeakFieldT > 0 {
            let lb = (config.lensLengthMM + 4 * config.lensEdgeMM) * 1e-3
            for e in 0..<ev.count {
                let a = Int(ev.atomID[e])
                let m = Double(atoms.massNumber[a]) * PhysicalConstants.daltonKG
                let q = Double(ev.chargeState[e]) * PhysicalConstants.elementaryChargeC
                let v = Double(ev.vDCV[e]) * 0.9
                lensDeflection = max(lensDeflection, asin(min(1, lb * config.lensPeakFieldT * (q / (2 * m * max(v, 1))).squareRoot())))
            }
        }
        let thetaDet = atan(config.detector.diameterMM / 2 / config.detector.flightPathMM)
        let cosLimit = cos(min(Double.pi, 3 * xi * (thetaDet + lensDeflection) + 10 * Double.pi / 180))
        var traced: [Int] = []
        for e in 0..<ev.count {
            let c = SIMD3(Double(run.apexCentreXNM[e]), Double(run.apexCentreYNM[e]), Double(run.apexCentreZNM[e]))
            let re = Double(run.apexRadiusNM[e])
            var d = SIMD3(Double(ev.launchXNM[e]), Double(ev.launchYNM[e]), Double(ev.launchZNM[e])) - c
            let l = (d * d).sum().squareRoot()
            if l > 0 { d = d / l * max(l * rm / re, 1.02 * rm) } else { d = SIMD3(0, 0, 1.02 * rm) }
            let q = d + SIMD3(0, 0, -rm)
            mapped.launchXNM[e] = Float(q.x); mapped.launchYNM[e] = Float(q.y); mapped.launchZNM[e] = Float(q.z)
            if d.z / (d * d).sum().squareRoot() >= cosLimit { traced.append(e) }
        }
        var subset = EvaporationEvents()
        for e in traced {
            subset.atomID.append(mapped.atomID[e]); subset.pulseIndex.append(mapped.pulseIndex[e])
            subset.timeInPulseNS.append(mapped.timeInPulseNS[e]); subset.vDCV.append(mapped.vDCV[e])
            subset.vPulseV.append(mapped.vPulseV[e]); subset.fieldVPerNM.append(mapped.fieldVPerNM[e])
            subset.chargeState.append(mapped.chargeState[e]); subset.launchXNM.append(mapped.launchXNM[e])
            subset.launchYNM.append(mapped.launchYNM[e]); subset.launchZNM.append(mapped.launchZNM[e])
            subset.normalX.append(mapped.normalX[e]); subset.normalY.append(mapped.normalY[e]); subset.normalZ.append(mapped.normalZ[e])
        }
        let lens = config.lensPeakFieldT > 0
            ? ObjectiveLensField(peakFieldT: config.lensPeakFieldT, profile: .tanhPlateau(lengthM: config.lensLengthMM * 1e-3, edgeWidthM: config.lensEdgeMM * 1e-3))
            : .off
        let setup = FlightSetup(field: NeedleFieldModel(table: table, counterElectrodeDistanceMM: env.counterElectrodeDistanceMM),
                                lens: lens, detectorDistanceM: config.detector.flightPathMM * 1e-3,
                                pulseShape: .gaussian(fwhmNS: p.pulseFWHMNS, peakNS: run.pulsePeakNS))
        var det = DelayLineDetector()
        det.diameterMM = config.detector.diameterMM
        det.efficiency = config.detector.efficiency
        det.positionSigmaMM = config.detector.positionResolutionMM
        det.timingSigmaNS = config.detector.timingResolutionNS
        det.deadTimeNS = config.deadTimeNS
        det.deadRadiusMM = config.deadRadiusMM
        let flown = TracedOptics(setup: setup, detector: det).fly(events: subset, atoms: atoms, seed: config.seed, threads: threads)
        // Back to the run's event indices.
        var result = flown.detection.detectionResult
        var fate = [IonFate](repeating: .outsideDetector, count: ev.count)
        for (k, e) in traced.enumerated() { fate[e] = result.fate[k] }
        result.hits.eventIndex = result.hits.eventIndex.map { $0 >= 0 ? Int32(traced[Int($0)]) : $0 }
        result.fate = fate
        return result
    }
}
