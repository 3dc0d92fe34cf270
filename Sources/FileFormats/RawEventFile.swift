import Foundation
import TwinCore

/// One record of the APyT / Stuttgart raw detector-event format.
public struct RawEvent: Sendable, Equatable {
    /// Base (DC) voltage, V.
    public var baseV: Float
    /// Pulse voltage, V.
    public var pulseV: Float
    /// Reflectron voltage, V (0 for straight flight).
    public var reflectronV: Float
    /// Detector position, mm.
    public var xMM: Float
    public var yMM: Float
    /// Time of flight, ns (uncorrected).
    public var tofNS: Float
    /// Acquisition epoch (seconds counter of the DAQ).
    public var epoch: Int32
    /// Pulse number.
    public var pulse: UInt32
    public init(baseV: Float, pulseV: Float, reflectronV: Float = 0, xMM: Float, yMM: Float, tofNS: Float, epoch: Int32 = 0, pulse: UInt32) {
        self.baseV = baseV; self.pulseV = pulseV; self.reflectronV = reflectronV; self.xMM = xMM; self.yMM = yMM
        self.tofNS = tofNS; self.epoch = epoch; self.pulse = pulse
    }
}

/// The APyT / Stuttgart raw event format (formats.md): headerless, little-endian, 32 bytes per event —
/// U_base f32 (V), U_pulse f32 (V), U_reflectron f32 (V), x_det f32 (mm), y_det f32 (mm), tof f32 (ns),
/// epoch i32, pulse number u32.
///
/// ``acquisition(_:)`` maps events to ``Acquisition`` columns: voltages, detector coordinates, TOF; pulses since
/// the previous event from the pulse numbers (first event: its pulse number; a decreasing pulse number — a
/// counter wrap or a concatenated file — gives 0 and a note); multiplicity in EPOS convention from runs of
/// equal pulse numbers. The reflectron voltage and the epoch have no ``Acquisition`` column: a note says so
/// when the reflectron voltage is not 0.
public enum RawEventFile {
    static let recordSize = 32

    /// Reads every event.
    /// - Throws: `TwinError.invalidInput` naming the file and byte offset for a size that is not a multiple of 32 or a
    ///   non-finite voltage, position or TOF (the offset of that field); `TwinError.io`.
    public static func read(_ url: URL) throws -> [RawEvent] {
        try decode(readWholeFile(url), name: displayName(url))
    }

    /// Decodes raw events held in memory; `name` is used in error messages.
    public static func decode(_ data: Data, name: String) throws -> [RawEvent] {
        let n = try recordCount(size: data.count, recordSize: recordSize, name: name, what: "event")
        var out: [RawEvent] = []
        out.reserveCapacity(n)
        try data.withUnsafeBytes { raw in
            let base = raw.baseAddress!
            for i in 0..<n {
                let off = i * recordSize
                @inline(__always) func f(_ k: Int) throws -> Float {
                    let v = Float(bitPattern: UInt32(littleEndian: (base + off + 4 * k).loadUnaligned(as: UInt32.self)))
                    if !v.isFinite {
                        let field = ["U_base", "U_pulse", "U_reflectron", "x_det", "y_det", "tof"][k]
                        throw TwinError.invalidInput("\(name): event \(i): \(field) is not a finite number at byte offset \(off + 4 * k)")
                    }
                    return v
                }
                let ev = RawEvent(baseV: try f(0), pulseV: try f(1), reflectronV: try f(2), xMM: try f(3), yMM: try f(4), tofNS: try f(5),
                                  epoch: Int32(bitPattern: UInt32(littleEndian: (base + off + 24).loadUnaligned(as: UInt32.self))),
                                  pulse: UInt32(littleEndian: (base + off + 28).loadUnaligned(as: UInt32.self)))
                out.append(ev)
            }
        }
        return out
    }

    /// Encodes events (for tests and conversions).
    public static func encode(_ events: [RawEvent]) -> Data {
        var d = Data(count: events.count * recordSize)
        d.withUnsafeMutableBytes { raw in
            let base = raw.baseAddress!
            for (i, e) in events.enumerated() {
                let p = base + i * recordSize
                for (k, v) in [e.baseV, e.pulseV, e.reflectronV, e.xMM, e.yMM, e.tofNS].enumerated() {
                    (p + 4 * k).storeBytes(of: v.bitPattern.littleEndian, as: UInt32.self)
                }
                (p + 24).storeBytes(of: UInt32(bitPattern: e.epoch).littleEndian, as: UInt32.self)
                (p + 28).storeBytes(of: e.pulse.littleEndian, as: UInt32.self)
            }
        }
        return d
    }

    /// Writes events atomically.
    public static func write(_ events: [RawEvent], to url: URL) throws {
        try AtomicFile.write(encode(events), to: url)
    }

    /// The events as an ``Acquisition`` (see the type's documentation for the mapping).
    public static func acquisition(_ events: [RawEvent], name: String = "raw events") -> Acquisition {
        var a = Acquisition()
        let n = events.count
        a.vDCV = events.map(\.baseV); a.vPulseV = events.map(\.pulseV)
        a.detectorXMM = events.map(\.xMM); a.detectorYMM = events.map(\.yMM); a.tofNS = events.map(\.tofNS)
        a.pulsesSincePrevious = [UInt32](repeating: 0, count: n)
        a.multiplicity = [UInt32](repeating: 0, count: n)
        var wraps = 0
        var i = 0
        while i < n {
            var j = i
            while j < n && events[j].pulse == events[i].pulse { j += 1 }
            a.multiplicity[i] = UInt32(j - i)
            if i == 0 { a.pulsesSincePrevious[i] = events[i].pulse } else if events[i].pulse > events[i - 1].pulse {
                a.pulsesSincePrevious[i] = events[i].pulse - events[i - 1].pulse
            } else { wraps += 1 }
            i = j
        }
        if wraps > 0 { a.notes.append("\(name): pulse number decreased \(wraps) time(s) (counter wrap or concatenated runs); pulses_since_previous set to 0 there") }
        if events.contains(where: { $0.reflectronV != 0 }) {
            a.notes.append("\(name): non-zero reflectron voltage ignored (straight-flight m/n conversion)")
        }
        return a
    }
}
