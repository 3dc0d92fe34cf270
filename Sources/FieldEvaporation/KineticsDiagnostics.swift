import Foundation
import MaterialsData

/// Figures of merit of an evaporation run's kinetics and field scale, computed from the run alone.
///
/// What they measure (issue 14's figures):
/// - bursts: the share of events that left on a pulse carrying ≥ 10 departures, and the largest pulse;
/// - servo lock-out: the longest stretch of consecutive events at one unchanged V_DC;
/// - field scale: the departing atom's field over the continuum apex field V/(k_f R) (its *enhancement*), over the
///   field of the apex cap's terrace atoms, and the apex field at the pulse peak over the departing atom's
///   evaporation field — the ratio users assume is 1 when they reconstruct with R = V/(k_f F_evap);
/// - charge states per element.
/// Ratios are medians over the run's second half (past the start-up transient), with the 10th and 90th percentiles.
public struct KineticsDiagnostics: Sendable, Codable, Equatable {
    public struct Spread: Sendable, Codable, Equatable {
        public var median: Double, p10: Double, p90: Double
    }
    public var events: Int
    public var firingPulses: Int
    /// Share of events from pulses with ≥ 10 departures.
    public var eventsFromPulsesWithTenOrMore: Double
    /// Largest number of departures on one pulse.
    public var largestPulse: Int
    /// Share of firing pulses with 1, 2, 3 and ≥ 4 departures.
    public var departuresPerFiringPulse: [Double]
    /// Longest run of consecutive events at an identical V_DC.
    public var longestConstantVoltageEvents: Int
    /// Departing atom's field / continuum apex field 1/(k_f R) (both per volt).
    public var departingOverApexField: Spread
    /// Departing atom's field / field of the cap's terrace atoms (charge-weighted mean over the cap).
    public var departingOverTerraceField: Spread
    /// V_peak/(k_f R) / F_evap of the departing atom.
    public var apexFieldAtPeakOverEvaporationField: Spread
    /// V_peak/(k_f R), V/nm.
    public var apexFieldAtPeakVPerNM: Spread
    /// Departing atom's field at departure / its evaporation field.
    public var departingFieldOverEvaporationField: Spread
    /// Charge-state fractions per element symbol: index 0 is 1+.
    public var chargeStateFractions: [String: [Double]]
    public var meanRefreshTopFieldJump: Double
    public var largestRefreshTopFieldJump: Double
    public var runawayResolves: Int
    /// Firing pulses that reached the engine's cap on departures per pulse.
    public var cappedPulses: Int

    enum CodingKeys: String, CodingKey {
        case events, firingPulses = "firing_pulses", eventsFromPulsesWithTenOrMore = "events_from_pulses_with_10_or_more"
        case largestPulse = "largest_pulse_departures", departuresPerFiringPulse = "departures_per_firing_pulse_1_2_3_4plus"
        case longestConstantVoltageEvents = "longest_constant_v_dc_events"
        case departingOverApexField = "departing_over_apex_field", departingOverTerraceField = "departing_over_terrace_field"
        case apexFieldAtPeakOverEvaporationField = "apex_field_at_peak_over_evaporation_field"
        case apexFieldAtPeakVPerNM = "apex_field_at_peak_v_per_nm"
        case departingFieldOverEvaporationField = "departing_field_over_evaporation_field"
        case chargeStateFractions = "charge_state_fractions", meanRefreshTopFieldJump = "mean_refresh_top_field_jump"
        case largestRefreshTopFieldJump = "largest_refresh_top_field_jump", runawayResolves = "runaway_resolves"
        case cappedPulses = "capped_pulses"
    }

    /// `elementZ`: the truth atoms' elements, indexed by atom id (ids are indices into the specimen as built).
    public init(run: EvaporationRun, elementZ: [UInt8]) {
        let ev = run.events
        let n = ev.count
        events = n
        var perPulse: [Int] = []
        var k = 0
        while k < n {
            var e = k
            while e < n && ev.pulseIndex[e] == ev.pulseIndex[k] { e += 1 }
            perPulse.append(e - k); k = e
        }
        firingPulses = perPulse.count
        eventsFromPulsesWithTenOrMore = n > 0 ? Double(perPulse.filter { $0 >= 10 }.reduce(0, +)) / Double(n) : 0
        largestPulse = perPulse.max() ?? 0
        departuresPerFiringPulse = (1...4).map { m in
            perPulse.isEmpty ? 0 : Double(perPulse.filter { m == 4 ? $0 >= 4 : $0 == m }.count) / Double(perPulse.count)
        }
        var longest = 0, runLen = 0
        for e in 0..<n {
            runLen = e > 0 && ev.vDCV[e] == ev.vDCV[e - 1] ? runLen + 1 : 1
            longest = max(longest, runLen)
        }
        longestConstantVoltageEvents = longest
        var dApex: [Double] = [], dTerr: [Double] = [], peakOver: [Double] = [], peak: [Double] = [], depOver: [Double] = []
        var counts: [String: [Int]] = [:]
        let pf = run.pulseFraction
        for e in 0..<n {
            let z = Int(elementZ[Int(ev.atomID[e])])
            let sym = PeriodicTable.symbol(z: z)
            var c = counts[sym] ?? [0, 0, 0, 0, 0]
            c[min(4, max(1, Int(ev.chargeState[e]))) - 1] += 1
            counts[sym] = c
            guard e >= n / 2, e < run.departureFieldPerVolt.count else { continue }
            let g = Double(run.departureFieldPerVolt[e])
            let apexPerVolt = 1 / (Double(run.fieldFactorKf[e]) * Double(run.apexRadiusNM[e]))
            let fEvap = Double(run.departureEvaporationField[e])
            let vPeak = Double(ev.vDCV[e]) * (1 + pf)
            dApex.append(g / apexPerVolt)
            if run.terraceFieldPerVolt[e] > 0 { dTerr.append(g / Double(run.terraceFieldPerVolt[e])) }
            peak.append(vPeak * apexPerVolt)
            peakOver.append(vPeak * apexPerVolt / fEvap)
            depOver.append(Double(ev.fieldVPerNM[e]) / fEvap)
        }
        func spread(_ v: [Double]) -> Spread {
            guard !v.isEmpty else { return Spread(median: 0, p10: 0, p90: 0) }
            let s = v.sorted()
            return Spread(median: s[s.count / 2], p10: s[s.count / 10], p90: s[min(s.count - 1, s.count * 9 / 10)])
        }
        departingOverApexField = spread(dApex)
        departingOverTerraceField = spread(dTerr)
        apexFieldAtPeakOverEvaporationField = spread(peakOver)
        apexFieldAtPeakVPerNM = spread(peak)
        departingFieldOverEvaporationField = spread(depOver)
        var fr: [String: [Double]] = [:]
        for (s, c) in counts {
            let t = Double(c.reduce(0, +))
            var f = c.map { Double($0) / t }
            while f.count > 1 && f.last == 0 { f.removeLast() }
            fr[s] = f
        }
        chargeStateFractions = fr
        meanRefreshTopFieldJump = run.pulseStatistics.meanRefreshTopFieldJump
        largestRefreshTopFieldJump = run.pulseStatistics.largestRefreshTopFieldJump
        runawayResolves = run.pulseStatistics.runawayResolves
        cappedPulses = run.pulseStatistics.cappedPulses
    }
}
