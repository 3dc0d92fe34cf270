import Foundation
import MassSpectrum
import MaterialsData
import TwinCore

/// Quick-look images of a run (the detector hit map is `Reporting.DetectorHitMap`).
enum Plots {
    /// Mass spectrum as an SVG line plot with a logarithmic count axis and labelled peaks.
    static func spectrumSVG(_ h: MassHistogram, peaks: [IdentifiedPeak], title: String) -> String {
        let w = 1000.0, ht = 500.0, left = 70.0, right = 20.0, top = 40.0, bottom = 50.0
        let pw = w - left - right, ph = ht - top - bottom
        // x range: up to a little beyond the last non-empty bin.
        let lastBin = h.counts.lastIndex { $0 > 0 } ?? 0
        let xMax = min(h.maxDa, max(10, (Double(lastBin + 1) * h.binDa * 1.1 / 5).rounded(.up) * 5))
        let maxC = Double(h.counts.max() ?? 1)
        let decades = max(1, Int(log10(max(1, maxC)).rounded(.up)))
        func X(_ m: Double) -> Double { left + m / xMax * pw }
        func Y(_ c: Double) -> Double { top + ph - (c <= 0 ? 0 : log10(c + 1) / Double(decades) * ph) }
        var s = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(w))" height="\(Int(ht))" viewBox="0 0 \(Int(w)) \(Int(ht))" font-family="sans-serif" font-size="12">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(left)" y="24" font-size="15">\(xmlEscape(title))</text>

        """
        // Axes and ticks.
        s += "<path d=\"M\(left),\(top) V\(top + ph) H\(left + pw)\" stroke=\"black\" fill=\"none\"/>\n"
        let step = xMax <= 20 ? 1.0 : xMax <= 60 ? 5.0 : 10.0
        var m = 0.0
        while m <= xMax + 1e-9 {
            s += "<line x1=\"\(fmt(X(m)))\" y1=\"\(top + ph)\" x2=\"\(fmt(X(m)))\" y2=\"\(top + ph + 5)\" stroke=\"black\"/>"
            s += "<text x=\"\(fmt(X(m)))\" y=\"\(top + ph + 18)\" text-anchor=\"middle\">\(fmt(m))</text>\n"
            m += step
        }
        for d in 0...decades {
            let y = top + ph - Double(d) / Double(decades) * ph
            s += "<line x1=\"\(left - 5)\" y1=\"\(fmt(y))\" x2=\"\(left)\" y2=\"\(fmt(y))\" stroke=\"black\"/>"
            s += "<text x=\"\(left - 8)\" y=\"\(fmt(y + 4))\" text-anchor=\"end\">1e\(d)</text>\n"
        }
        s += "<text x=\"\(left + pw / 2)\" y=\"\(ht - 10)\" text-anchor=\"middle\">mass-to-charge (Da), bin \(h.binDa) Da</text>\n"
        s += "<text transform=\"translate(18,\(top + ph / 2)) rotate(-90)\" text-anchor=\"middle\">counts + 1 (log)</text>\n"
        // Spectrum as a step path over non-empty stretches.
        var path = ""
        let nb = min(h.counts.count, Int(xMax / h.binDa))
        var pen = false
        for i in 0..<nb {
            let c = Double(h.counts[i])
            if c > 0 {
                let x0 = X(Double(i) * h.binDa), x1 = X(Double(i + 1) * h.binDa)
                path += pen ? " L\(fmt(x0)),\(fmt(Y(c)))" : " M\(fmt(x0)),\(fmt(Y(0))) L\(fmt(x0)),\(fmt(Y(c)))"
                path += " L\(fmt(x1)),\(fmt(Y(c)))"
                pen = true
            } else if pen {
                path += " L\(fmt(X(Double(i) * h.binDa))),\(fmt(Y(0)))"
                pen = false
            }
        }
        s += "<path d=\"\(path)\" stroke=\"#1f4e9c\" stroke-width=\"1\" fill=\"none\"/>\n"
        for p in peaks {
            let label = p.candidates.map { "\($0.massNumber)\(PeriodicTable.symbol(z: $0.z))\(String(repeating: "+", count: $0.charge))" }.joined(separator: "/")
            s += "<text x=\"\(fmt(X(p.mnDa)))\" y=\"\(fmt(Y(Double(p.counts)) - 6))\" text-anchor=\"middle\" font-size=\"9\" fill=\"#a00\">\(xmlEscape(label))</text>\n"
        }
        s += "</svg>\n"
        return s
    }

    static func fmt(_ d: Double) -> String { String(format: "%.2f", d) }
    static func xmlEscape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
