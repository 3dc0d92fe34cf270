import Foundation
import TwinCore

/// What a delay-line detector does with two hits that come too close in time and space on the same pulse.
public enum MultiHitPolicy: String, Sendable, CaseIterable {
    /// The later hit is lost (its signals are swallowed by the first one's).
    case dropSecond = "drop"
    /// The two hits are reconstructed as one, at their mean position and the earlier time.
    case merge
}

/// The ion detector: MCP + 2-D delay line (Hamamatsu MCP + RoentDek DLD in the F200 atom probe).
///
/// Defaults are the paper's (42 mm active diameter, 50 % detection efficiency); the resolutions and the
/// multi-hit dead zone are not stated there and are [uncertain] parameters (RoentDek DLDs typically lose the
/// second of two hits closer than ~10 ns *and* a few mm; Da Costa et al., Rev. Sci. Instrum. 76 (2005) 013304).
public struct DelayLineDetector: Sendable, Equatable {
    public var diameterMM: Double = 42
    /// Probability that an ion inside the active area is registered.
    public var efficiency: Double = 0.5
    /// Gaussian σ of the registered position, mm (each axis).
    public var positionSigmaMM: Double = 0.1
    /// Gaussian σ of the registered time of flight, ns.
    public var timingSigmaNS: Double = 0.1
    /// Multi-hit dead zone: a hit within `deadTimeNS` *and* `deadRadiusMM` of an earlier hit of the same pulse.
    public var deadTimeNS: Double = 10
    public var deadRadiusMM: Double = 5
    public var multiHitPolicy: MultiHitPolicy = .dropSecond
    /// Uncorrelated background (dark counts, stray ions), counts per ns per mm² of active area, drawn uniformly
    /// over the TOF window of every pulse; 0 = off.
    public var backgroundPerNSPerMM2: Double = 0
    /// TOF window recorded after each pulse, ns.
    public var tofWindowStartNS: Double = 0
    public var tofWindowEndNS: Double = 5000
    public init() {}
}

/// An ion at the detector plane, before detection.
public struct IonArrival: Sendable, Equatable {
    /// Index of the evaporation event.
    public var eventIndex: Int32
    public var pulseIndex: Int64
    /// False if the ion never reached the plane (turned back by the lens, lost in flight).
    public var reachedPlane: Bool
    /// True crossing point and time of flight.
    public var xMM: Double
    public var yMM: Double
    public var tofNS: Double
    public init(eventIndex: Int32, pulseIndex: Int64, reachedPlane: Bool, xMM: Double, yMM: Double, tofNS: Double) {
        self.eventIndex = eventIndex; self.pulseIndex = pulseIndex; self.reachedPlane = reachedPlane
        self.xMM = xMM; self.yMM = yMM; self.tofNS = tofNS
    }
}

/// Fate of one ion at the detector.
public enum ArrivalFate: UInt8, Sendable {
    case detected = 1
    /// Inside the active area but not registered (efficiency).
    case notRegistered = 0
    /// Crossed the plane outside the active area.
    case outsideDetector = 2
    /// Never reached the detector plane.
    case neverReached = 3
    /// Lost in the multi-hit dead zone of an earlier hit of the same pulse (policy `.dropSecond`).
    case deadZoneLost = 4
    /// Merged into an earlier hit of the same pulse (policy `.merge`); that hit keeps the earlier ion's index.
    case merged = 5

    /// The coarser ``IonFate`` of a run (dead-zone and merged ions count as lost in the dead zone, ions that never
    /// reached the plane as outside the detector).
    public var ionFate: IonFate {
        switch self {
        case .detected: return .detected
        case .notRegistered: return .notRegistered
        case .deadZoneLost, .merged: return .lostInDeadZone
        case .outsideDetector, .neverReached: return .outsideDetector
        }
    }
}

/// Result of the detector model.
public struct DetectionOutcome: Sendable {
    /// Registered hits in (pulse, measured TOF) order; background counts have eventIndex −1.
    public var hits: DetectorHits
    /// Fate of every arrival, in the order given.
    public var fate: [ArrivalFate]
    /// Background counts drawn, and how many of them the dead zone removed.
    public var backgroundDrawn: Int
    public var backgroundLost: Int
    public func count(_ f: ArrivalFate) -> Int { fate.reduce(0) { $0 + ($1 == f ? 1 : 0) } }
    /// The baseline's ``DetectionResult`` view (fates mapped with ``ArrivalFate/ionFate``).
    public var detectionResult: DetectionResult { DetectionResult(hits: hits, fate: fate.map(\.ionFate)) }
}

extension DelayLineDetector {
    /// Registers `arrivals` (any order; ions are grouped by pulse).
    ///
    /// Per ion, from its own random stream (seed, event index): active-area test on the true position, detection
    /// efficiency, then Gaussian position and timing blur. Background counts come from one stream per seed,
    /// as a Poisson process over the concatenated TOF windows of pulses `firstPulse…lastPulse` (default: the
    /// arrivals' range). Then, per pulse and in measured-TOF order, the dead zone is applied against the hits
    /// already accepted on that pulse. Every ion ends in exactly one fate and makes at most one hit.
    /// Deterministic for a given seed, independent of threads (the work here is sequential and cheap).
    public func detect(_ arrivals: [IonArrival], seed: UInt64, firstPulse: Int64? = nil, lastPulse: Int64? = nil) -> DetectionOutcome {
        struct Cand { var arrival: Int; var x: Double; var y: Double; var t: Double; var pulse: Int64; var event: Int32; var weight: Double }
        let r2 = diameterMM * diameterMM / 4
        var fate = [ArrivalFate](repeating: .notRegistered, count: arrivals.count)
        var cands: [Cand] = []
        for (i, a) in arrivals.enumerated() {
            var rng = TwinRNG(seed: seed, stream: 0xDE7_0000_0000 ^ UInt64(UInt32(bitPattern: a.eventIndex)))
            if !a.reachedPlane || !a.tofNS.isFinite { fate[i] = .neverReached; continue }
            if a.xMM * a.xMM + a.yMM * a.yMM > r2 { fate[i] = .outsideDetector; continue }
            if rng.uniform() >= efficiency { fate[i] = .notRegistered; continue }
            let x = a.xMM + positionSigmaMM * rng.normal(), y = a.yMM + positionSigmaMM * rng.normal()
            let t = a.tofNS + timingSigmaNS * rng.normal()
            cands.append(Cand(arrival: i, x: x, y: y, t: t, pulse: a.pulseIndex, event: a.eventIndex, weight: 1))
        }
        // Background.
        var bgDrawn = 0
        let p0 = firstPulse ?? arrivals.map(\.pulseIndex).min() ?? 0
        let p1 = lastPulse ?? arrivals.map(\.pulseIndex).max() ?? -1
        let window = tofWindowEndNS - tofWindowStartNS
        let lambda = backgroundPerNSPerMM2 * window * Double.pi * r2   // counts per pulse
        if lambda > 0, p1 >= p0, window > 0 {
            var rng = TwinRNG(seed: seed, stream: 0xB6C0_0000_0000)
            let span = Double(p1 - p0 + 1)
            var u = 0.0
            while true {
                u += -log(1 - rng.uniform()) / lambda
                if u >= span { break }
                let pulse = p0 + Int64(u)
                let t = tofWindowStartNS + (u - u.rounded(.down)) * window
                let rr = (rng.uniform() * r2).squareRoot(), ph = 2 * Double.pi * rng.uniform()
                cands.append(Cand(arrival: -1, x: rr * cos(ph), y: rr * sin(ph), t: t, pulse: pulse, event: -1, weight: 1))
                bgDrawn += 1
            }
        }
        cands.sort { ($0.pulse, $0.t, $0.event) < ($1.pulse, $1.t, $1.event) }
        // Dead zone per pulse.
        var accepted: [Cand] = []
        accepted.reserveCapacity(cands.count)
        var bgLost = 0
        var pulseStart = 0
        for c in cands {
            if let last = accepted.last, last.pulse != c.pulse { pulseStart = accepted.count }
            if accepted.last == nil { pulseStart = 0 }
            var clash: Int? = nil
            for j in pulseStart..<accepted.count where accepted[j].pulse == c.pulse {
                let dx = c.x - accepted[j].x, dy = c.y - accepted[j].y
                if abs(c.t - accepted[j].t) < deadTimeNS && dx * dx + dy * dy < deadRadiusMM * deadRadiusMM { clash = j; break }
            }
            if let j = clash {
                if c.arrival >= 0 { fate[c.arrival] = multiHitPolicy == .merge ? .merged : .deadZoneLost } else { bgLost += 1 }
                if multiHitPolicy == .merge {
                    let w = accepted[j].weight
                    accepted[j].x = (accepted[j].x * w + c.x) / (w + 1)
                    accepted[j].y = (accepted[j].y * w + c.y) / (w + 1)
                    accepted[j].weight = w + 1
                }
                continue
            }
            if c.arrival >= 0 { fate[c.arrival] = .detected }
            accepted.append(c)
        }
        var hits = DetectorHits()
        var lastPulseSeen: Int64 = 0
        var k = 0
        while k < accepted.count {
            var e = k
            while e < accepted.count && accepted[e].pulse == accepted[k].pulse { e += 1 }
            for j in k..<e {
                let c = accepted[j]
                hits.eventIndex.append(c.event); hits.xMM.append(Float(c.x)); hits.yMM.append(Float(c.y))
                hits.tofNS.append(Float(c.t)); hits.pulseIndex.append(c.pulse)
                hits.multiplicity.append(j == k ? UInt32(e - k) : 0)
                hits.pulsesSinceLastHit.append(j == k ? UInt32(clamping: c.pulse - lastPulseSeen) : 0)
            }
            lastPulseSeen = accepted[k].pulse
            k = e
        }
        return DetectionOutcome(hits: hits, fate: fate, backgroundDrawn: bgDrawn, backgroundLost: bgLost)
    }
}
