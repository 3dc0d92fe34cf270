import FileFormats
import Foundation
import TwinCore

/// Streaming reconstruction of files larger than memory: read a chunk of ions, reconstruct it, append it to a POS
/// file, carry the depth to the next chunk.
///
/// The depth is a prefix sum over ions and every radius model depends only on the ion's own inputs and its global
/// index, so carrying (depth, ion index) across chunks gives exactly the positions of an in-memory run — the tests
/// compare the two bit for bit. Peak memory is about 80 bytes × `chunkIons` besides the tables.
public enum StreamingReconstruction {
    /// What a streamed run did.
    public struct Summary: Sendable {
        public var ionsRead: Int
        public var ionsWritten: Int
        public var depthNM: Double
        public var chunks: Int
        public var notes: [String]
    }

    /// Reconstructs an EPOS or Cameca `.apt` file into a POS file, `chunkIons` ions at a time.
    ///
    /// m/n is copied from the input (zeros if it has none). With ``InvalidIonPolicy/drop`` invalid ions are left out
    /// of the POS file and timeline knots count kept ions, as in ``Reconstructor/reconstruct(_:_:threads:)``.
    public static func reconstructFile(_ input: URL, setup: ReconstructionSetup, output: URL, chunkIons: Int = 1 << 20,
                                       eposVoltageUnit: EPOSVoltageUnit = .volts,
                                       threads: Int = ProcessInfo.processInfo.activeProcessorCount) throws -> Summary {
        try setup.validate()
        guard chunkIons > 0 else { throw TwinError.invalidInput("chunkIons must be positive") }
        let fmt = APTFormat.fromPath(input.path)
        let total: Int
        var aptLayout: APTFile.Layout? = nil
        var notes: [String] = []
        switch fmt {
        case .epos: total = try EPOSFile.ionCount(input)
        case .apt:
            let lay = try APTFile.layout(input); aptLayout = lay; total = lay.ionCount; notes += lay.warnings
        default:
            throw TwinError.invalidInput("\(input.lastPathComponent): streaming reconstruction reads .epos or .apt files")
        }
        let plan = try Plan(setup)
        let needsV: Bool
        if case .voltage = setup.radius { needsV = true } else { needsV = false }
        var depth = 0.0
        var kept = 0, dropped = 0, chunks = 0
        try AtomicFile.write(to: output) { out in
            var first = 0
            while first < total {
                let range = first..<min(total, first + chunkIons)
                var acq = try aptLayout.map { try APTFile.readChunk(input, layout: $0, range: range) }
                    ?? EPOSFile.readChunk(input, range: range, voltageUnit: eposVoltageUnit)
                guard acq.detectorXMM.count == range.count, acq.detectorYMM.count == range.count else {
                    throw TwinError.invalidInput("\(input.lastPathComponent): no detector coordinates for ions \(range)")
                }
                if needsV && acq.vDCV.count != range.count {
                    throw TwinError.invalidInput("\(input.lastPathComponent): the voltage protocol needs V_DC; the file has none")
                }
                let bad = Reconstructor.invalidRows(acq.detectorXMM, acq.detectorYMM, needsV ? acq.vDCV : nil, threads: threads)
                if let b = bad.first {
                    if setup.invalidIons == .reject {
                        throw TwinError.invalidInput("ion \(range.lowerBound + b): invalid detector coordinates (\(acq.detectorXMM[b]), \(acq.detectorYMM[b])) mm or voltage\(needsV ? " \(acq.vDCV[b]) V" : "") (use the drop policy to skip invalid ions)")
                    }
                    var keep = [Bool](repeating: true, count: range.count)
                    for i in bad { keep[i] = false }
                    let idx = (0..<range.count).filter { keep[$0] }
                    acq.detectorXMM = idx.map { acq.detectorXMM[$0] }; acq.detectorYMM = idx.map { acq.detectorYMM[$0] }
                    if needsV { acq.vDCV = idx.map { acq.vDCV[$0] } }
                    if !acq.massToChargeDa.isEmpty { acq.massToChargeDa = idx.map { acq.massToChargeDa[$0] } }
                    dropped += bad.count
                }
                let m = acq.detectorXMM.count
                var x = [Float](repeating: 0, count: m), y = x, z = x
                let v = needsV ? acq.vDCV : []
                let firstIon = kept
                depth = acq.detectorXMM.withUnsafeBufferPointer { xb in acq.detectorYMM.withUnsafeBufferPointer { yb in
                    v.withUnsafeBufferPointer { vb in
                        x.withUnsafeMutableBufferPointer { ox in y.withUnsafeMutableBufferPointer { oy in z.withUnsafeMutableBufferPointer { oz in
                            guard let xp = xb.baseAddress, let yp = yb.baseAddress else { return depth }
                            return plan.run(ChunkInput(x: xp, y: yp, v: vb.baseAddress),
                                            ChunkOutput(x: ox.baseAddress!, y: oy.baseAddress!, z: oz.baseAddress!, r: nil),
                                            count: m, firstIon: firstIon, startDepthNM: depth, threads: threads)
                        } } }
                    }
                } }
                if m > 0 {
                    var chunk = Acquisition()
                    chunk.xNM = x; chunk.yNM = y; chunk.zNM = z
                    chunk.massToChargeDa = acq.massToChargeDa.isEmpty ? [Float](repeating: 0, count: m) : acq.massToChargeDa
                    try out.write(POSFile.encode(chunk))
                }
                kept += m; chunks += 1
                first = range.upperBound
            }
            guard kept > 0 else { throw TwinError.invalidInput("\(input.lastPathComponent): no valid ions to reconstruct") }
        }
        if dropped > 0 { notes.append("dropped \(dropped) of \(total) ions with invalid inputs") }
        return Summary(ionsRead: total, ionsWritten: kept, depthNM: depth, chunks: chunks, notes: notes)
    }
}
