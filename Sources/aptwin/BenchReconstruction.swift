import FileFormats
import Foundation
import Reconstruction
import TwinCore

/// Float SoA columns written from parallel chunks (each chunk its own range).
private struct SharedColumn: @unchecked Sendable {
    let p: UnsafeMutablePointer<Float>
}

extension Bench {
    /// Synthetic hits on a 42 mm detector and a voltage ramp, generated in parallel (one RNG stream per chunk).
    func syntheticHits(_ n: Int) -> Acquisition {
        var a = Acquisition()
        a.detectorXMM = [Float](repeating: 0, count: n); a.detectorYMM = a.detectorXMM; a.vDCV = a.detectorXMM
        a.detectorXMM.withUnsafeMutableBufferPointer { xb in a.detectorYMM.withUnsafeMutableBufferPointer { yb in
            a.vDCV.withUnsafeMutableBufferPointer { vb in
                let x = SharedColumn(p: xb.baseAddress!), y = SharedColumn(p: yb.baseAddress!), v = SharedColumn(p: vb.baseAddress!)
                ParallelChunks.forEach(count: n, chunkSize: 1 << 20, threads: threads) { c, r in
                    var g = TwinRNG(seed: 11, stream: UInt64(c))
                    for i in r {
                        let s = 21 * g.uniform().squareRoot(), ph = 2 * Double.pi * g.uniform()
                        x.p[i] = Float(s * cos(ph)); y.p[i] = Float(s * sin(ph))
                        v.p[i] = Float(3000 + 5000 * Double(i) / Double(n))
                    }
                }
            }
        } }
        return a
    }

    /// Every protocol on `reconIons` synthetic ions in memory, then a streamed EPOS → POS reconstruction of a file
    /// of `streamIons` ions with 2^20-ion chunks (peak resident memory reported before the in-memory cases).
    func benchReconstruction() throws -> [[String: Any]] {
        var out: [[String: Any]] = []
        let p = ReconstructionParameters(fieldFactorKf: 3.3, imageCompression: 1.6, evaporationFieldVPerNM: 30, atomicVolumeNM3: 0.0118,
                                         detectionEfficiency: 0.5, flightPathMM: 470, detectorDiameterMM: 42)
        // Streaming first, so that the peak resident memory reflects the bounded chunks only.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("aptwin-bench-recon-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        do {
            let epos = dir.appendingPathComponent("s.epos"), pos = dir.appendingPathComponent("s.pos")
            let chunk = 1 << 22
            // Written chunk by chunk, so the file is never held in memory either.
            try AtomicFile.write(to: epos) { w in
                var first = 0
                while first < streamIons {
                    let k = min(chunk, streamIons - first)
                    var a = syntheticHits(k)
                    a.vDCV = a.vDCV.map { _ in Float(3000 + 5000 * Double(first) / Double(streamIons)) }
                    try w.write(EPOSFile.encode(a, fillMissingWithZeros: true))
                    first += k
                }
            }
            let rssBefore = currentRSSBytes()
            let setup = try p.setup(for: .bas)
            let (s, t) = try measure("stream") {
                try StreamingReconstruction.reconstructFile(epos, setup: setup, output: pos, chunkIons: 1 << 20, threads: threads)
            }
            let fileBytes = (try? FileManager.default.attributesOfItem(atPath: epos.path)[.size] as? NSNumber)?.doubleValue ?? 0
            out.append(row("reconstruction", "stream_epos_to_pos_bas_\(streamIons)", t,
                           ["ions_per_s": Double(s.ionsRead) / t.wallS, "input_bytes": fileBytes, "chunk_ions": 1 << 20,
                            "rss_before_bytes": rssBefore, "peak_rss_bytes": peakRSSBytes()]))
        }
        let n = reconIons
        let acq = syntheticHits(n)
        let knots = (0...10).map { Double($0) * Double(n - 1) / 10 }
        let radii = knots.map { 20 + 30 * $0 / Double(n) }
        let shape = ApexShape.hemisphere
        let flat = try ApexShape(rhoOverR: (0..<200).map { 1.2 * Double($0) / 199 },
                                 sagOverR: (0..<200).map { let u = 1.2 * Double($0) / 199; return u * u / 2 + 0.1 * u * u * u * u })
        let tlShape = try GeometryTimeline(ionIndex: knots, apexRadiusNM: radii, shapes: knots.indices.map { $0 % 2 == 0 ? shape : flat })
        let perIon = acq.vDCV.map { $0 / Float(3.3 * 30) }
        let cases: [(String, ReconstructionSetup)] = [
            ("bas", try p.setup(for: .bas)),
            ("geiser", try p.setup(for: .geiser)),
            ("shank", try p.setup(for: .shank, initialRadiusNM: 20, shankHalfAngleDeg: 10)),
            ("tem", try p.setup(for: .tem, timeline: try GeometryTimeline(ionIndex: knots, apexRadiusNM: radii))),
            ("tem-shape", try p.setup(for: .temShape, timeline: tlShape)),
            ("oracle", try p.setup(for: .oracle, timeline: try GeometryTimeline(perIonRadiusNM: perIon))),
        ]
        for (name, setup) in cases {
            var best: StageTiming?
            for _ in 0..<2 {
                let (_, t) = try measure(name) { try Reconstructor.reconstruct(acq, setup, threads: threads) }
                if best == nil || t.wallS < best!.wallS { best = t }
            }
            out.append(row("reconstruction", "\(name)_\(n)_in_memory", best!,
                           ["protocol": name, "ions": n, "ions_per_s": Double(n) / best!.wallS,
                            "ions_per_cpu_s": Double(n) / best!.cpuS,
                            "numpy_baseline_ions_per_s": name == "bas" ? 3.6e6 as Any : (name == "geiser" ? 9.6e6 as Any : NSNull() as Any)]))
        }
        return out
    }

    /// Current resident memory, bytes (VmRSS).
    func currentRSSBytes() -> Double {
        guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = s.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return 0 }
        return (Double(line.split(separator: " ").dropFirst().first.map(String.init) ?? "0") ?? 0) * 1024
    }
}
