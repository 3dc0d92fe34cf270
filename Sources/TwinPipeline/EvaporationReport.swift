import FieldEvaporation
import Foundation

/// Text outputs of the evaporation stage.
public enum EvaporationReport {
    /// The engine's time series as CSV: event, pulse, V_DC, apex radius, k_f, ξ, apex field, servo rate, surface atoms.
    public static func timeSeriesCSV(_ run: EvaporationRun) -> String {
        var s = "event_index,pulse_index,v_dc_v,apex_radius_nm,kf,image_compression,apex_field_v_per_nm,detection_rate,expected_detected,surface_atoms\n"
        for e in run.timeSeries {
            s += "\(e.eventIndex),\(e.pulseIndex),\(fmt(e.vDCV)),\(fmt(e.apexRadiusNM)),\(fmt(e.fieldFactorKf)),\(fmt(e.imageCompression)),"
                + "\(fmt(e.apexFieldVPerNM)),\(fmt(e.detectionRate)),\(fmt(e.cumulativeDetected)),\(e.surfaceAtoms)\n"
        }
        return s
    }

    /// Summary numbers of a run for manifests and reports.
    public static func summary(_ run: EvaporationRun) -> [String: Any] {
        let st = run.pulseStatistics
        let (kf, xi) = run.meanFieldFactorAndCompression
        var out: [String: Any] = [
            "events": run.events.count, "stop": run.stopReason.rawValue, "depth_nm": run.depthNM,
            "mean_kf": kf, "mean_image_compression": xi, "pulse_peak_ns": run.pulsePeakNS,
        ]
        if st.pulses > 0 {
            out["pulses"] = st.pulses
            out["events_per_pulse"] = Double(run.events.count) / Double(st.pulses)
            out["multi_event_pulse_fraction"] = st.firingPulses > 0 ? Double(st.multiEventPulses) / Double(st.firingPulses) : 0
            out["dc_event_fraction"] = run.events.count > 0 ? Double(st.dcEvents) / Double(run.events.count) : 0
            out["truncated_candidate_sets"] = st.truncatedCandidateSets
            out["mean_refresh_top_field_jump"] = st.meanRefreshTopFieldJump
            out["capped_pulses"] = st.cappedPulses
            out["runaway_resolves"] = st.runawayResolves
        }
        if let f = run.timeSeries.first, let l = run.timeSeries.last {
            out["apex_radius_nm_start"] = f.apexRadiusNM; out["apex_radius_nm_end"] = l.apexRadiusNM
            out["v_dc_v_start"] = f.vDCV; out["v_dc_v_end"] = l.vDCV
        }
        return out
    }

    static func fmt(_ v: Double) -> String { String(format: "%.6g", v) }
}
