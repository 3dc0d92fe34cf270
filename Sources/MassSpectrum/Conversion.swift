import Foundation
import TwinCore

/// Constants of the time-of-flight to mass-to-charge conversion
/// m/n = 2 e V_eff (t − t0)² / L_eff², V_eff = α (V_DC + β V_pulse), L_eff = √(L² + x_D² + y_D²)
/// (instrument-and-physics §3; pyccapt uses α = 1.015, β = 0.7 for voltage pulsing).
public struct TOFCalibration: Sendable, Equatable, Codable {
    public var t0NS: Double = 0
    public var flightPathMM: Double
    public var alpha: Double = 1
    public var beta: Double = 1
    public init(flightPathMM: Double, t0NS: Double = 0, alpha: Double = 1, beta: Double = 1) {
        self.flightPathMM = flightPathMM; self.t0NS = t0NS; self.alpha = alpha; self.beta = beta
    }

    /// Mass-to-charge ratio in Da for one ion.
    @inlinable
    public func massToChargeDa(tofNS: Double, vDCV: Double, vPulseV: Double, detectorXMM: Double, detectorYMM: Double) -> Double {
        let e = PhysicalConstants.elementaryChargeC, da = PhysicalConstants.daltonKG
        let lM = (flightPathMM * flightPathMM + detectorXMM * detectorXMM + detectorYMM * detectorYMM).squareRoot() * 1e-3
        let t = (tofNS - t0NS) * 1e-9
        let v = alpha * (vDCV + beta * vPulseV)
        return 2 * e * v * t * t / (lM * lM) / da
    }

    /// Converts every ion of an acquisition that has TOF, voltages and detector coordinates.
    public func convert(_ acq: Acquisition) throws -> [Float] {
        let n = acq.count
        guard acq.tofNS.count == n, acq.vDCV.count == n else {
            throw TwinError.invalidInput("mass-to-charge conversion needs tof_ns and v_dc_v for every ion")
        }
        let hasDet = acq.detectorXMM.count == n && acq.detectorYMM.count == n
        let hasPulse = acq.vPulseV.count == n
        var out = [Float](repeating: 0, count: n)
        for i in 0..<n {
            out[i] = Float(massToChargeDa(tofNS: Double(acq.tofNS[i]), vDCV: Double(acq.vDCV[i]),
                                          vPulseV: hasPulse ? Double(acq.vPulseV[i]) : 0,
                                          detectorXMM: hasDet ? Double(acq.detectorXMM[i]) : 0,
                                          detectorYMM: hasDet ? Double(acq.detectorYMM[i]) : 0))
        }
        return out
    }
}

/// A mass spectrum: counts in fixed-width bins.
public struct MassHistogram: Sendable, Equatable {
    public let binDa: Double
    public let maxDa: Double
    public var counts: [UInt32]
    /// Ions above `maxDa` or below 0, not binned.
    public var outOfRange: Int

    public init(masses: [Float], binDa: Double, maxDa: Double) {
        self.binDa = binDa; self.maxDa = maxDa
        let nb = Int((maxDa / binDa).rounded(.up))
        var c = [UInt32](repeating: 0, count: nb)
        var out = 0
        for m in masses {
            let b = Double(m) / binDa
            if b >= 0, b < Double(nb) { c[Int(b)] += 1 } else { out += 1 }
        }
        counts = c; outOfRange = out
    }

    /// Centre of bin `i`, Da.
    public func centreDa(_ i: Int) -> Double { (Double(i) + 0.5) * binDa }
}
