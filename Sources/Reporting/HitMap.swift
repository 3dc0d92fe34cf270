import Foundation

/// Quick-look image of where ions hit the detector.
public enum DetectorHitMap {
    /// Detector hit map: hit density over the detector's bounding square, log-scaled to 8-bit grey, with the
    /// active-area circle drawn at grey level 64 where no hit falls. The density is binned on a grid of about
    /// √(N/2) bins across (at least 32, at most `pixels`) so that sparse runs still show structure, then drawn
    /// at `pixels` × `pixels` by nearest-neighbour upscaling.
    ///
    /// - Parameters:
    ///   - xMM: hit x positions on the detector, mm, 0 at its centre, increasing to the right of the image.
    ///   - yMM: hit y positions, mm, 0 at its centre, increasing towards the top of the image.
    ///   - diameterMM: active-area diameter, mm (the image spans −diameter/2 … +diameter/2 on both axes).
    ///   - pixels: image side, px.
    /// - Returns: `pixels` × `pixels` grey levels, row-major from the top-left.
    public static func render(xMM: [Float], yMM: [Float], diameterMM: Double, pixels n: Int) -> (width: Int, height: Int, pixels: [UInt8]) {
        let bins = max(32, min(n, Int((Double(xMM.count) / 2).squareRoot())))
        var counts = [UInt32](repeating: 0, count: bins * bins)
        let half = diameterMM / 2
        for i in 0..<xMM.count {
            let u = (Double(xMM[i]) + half) / diameterMM * Double(bins)
            let v = (half - Double(yMM[i])) / diameterMM * Double(bins)   // image rows go down, detector y goes up
            guard u >= 0, v >= 0, u < Double(bins), v < Double(bins) else { continue }
            counts[Int(v) * bins + Int(u)] += 1
        }
        let maxC = Double(counts.max() ?? 0)
        var px = [UInt8](repeating: 0, count: n * n)
        if maxC > 0 {
            let scale = 255 / log1p(maxC)
            for row in 0..<n {
                let v = row * bins / n
                for col in 0..<n {
                    let c = counts[v * bins + col * bins / n]
                    if c > 0 { px[row * n + col] = UInt8(max(1, min(255, (log1p(Double(c)) * scale).rounded()))) }
                }
            }
        }
        // Active-area outline.
        let steps = 8 * n
        for s in 0..<steps {
            let a = Double(s) / Double(steps) * 2 * .pi
            let u = Int((0.5 + 0.5 * cos(a) * 0.999) * Double(n)), v = Int((0.5 - 0.5 * sin(a) * 0.999) * Double(n))
            if u >= 0, v >= 0, u < n, v < n, px[v * n + u] == 0 { px[v * n + u] = 64 }
        }
        return (n, n, px)
    }
}
