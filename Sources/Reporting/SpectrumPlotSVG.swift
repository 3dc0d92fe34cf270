import Foundation

/// Draws a ``SpectrumPlotLayout`` as SVG text.
///
/// Text uses a monospace font at 10 px × scale (advance 0.6 em = the layout's 6 px × scale) and each text
/// element's length is fixed with `textLength`, so the laid-out boxes hold whatever monospace font the viewer
/// picks. Numbers are written with `.` as decimal point (POSIX), text is XML-escaped.
enum SpectrumPlotSVG {
    static let lineColor = "#1F3A73"
    static let textColor = "#222222"
    static let gridColor = "#E4E4E4"
    static let bandOpacity = 0.15
    static let underCurveOpacity = 0.45

    static func render(_ l: SpectrumPlotLayout) -> String {
        let pa = l.plotArea
        var s = """
        <?xml version="1.0" encoding="UTF-8"?>
        <svg xmlns="http://www.w3.org/2000/svg" width="\(l.width)" height="\(l.height)" viewBox="0 0 \(l.width) \(l.height)" \
        font-family="DejaVu Sans Mono, Menlo, Consolas, Liberation Mono, monospace">
        <rect width="100%" height="100%" fill="white"/>

        """
        // Area under the spectrum, to fill the ranges there more strongly than above it.
        var line = ""
        for (i, p) in l.spectrum.enumerated() { line += (i == 0 ? "M" : " L") + "\(f(p.x)),\(f(p.y))" }
        if let first = l.spectrum.first, let last = l.spectrum.last {
            s += "<defs><clipPath id=\"under-spectrum\"><path d=\"M\(f(first.x)),\(f(pa.maxY)) L\(line.dropFirst()) L\(f(last.x)),\(f(pa.maxY)) Z\"/></clipPath></defs>\n"
        }
        // Decade grid lines.
        for t in l.yTicks {
            s += "<line x1=\"\(f(pa.x))\" y1=\"\(f(t.position))\" x2=\"\(f(pa.maxX))\" y2=\"\(f(t.position))\" stroke=\"\(gridColor)\"/>\n"
        }
        // Range bands: translucent over the full height, stronger under the spectrum.
        for b in l.bands { s += rect(b.rect, fill: "#" + b.colorHex, opacity: bandOpacity) }
        if !l.spectrum.isEmpty {
            s += "<g clip-path=\"url(#under-spectrum)\">\n"
            for b in l.bands { s += rect(b.rect, fill: "#" + b.colorHex, opacity: underCurveOpacity) }
            s += "</g>\n"
        }
        s += "<path d=\"\(line)\" stroke=\"\(lineColor)\" stroke-width=\"1\" fill=\"none\" stroke-linejoin=\"round\"/>\n"
        // Axes, ticks, tick labels.
        s += "<path d=\"M\(f(pa.x)),\(f(pa.y)) V\(f(pa.maxY)) H\(f(pa.maxX))\" stroke=\"black\" fill=\"none\"/>\n"
        let tick = 5 * Double(l.textScale)
        for t in l.xTicks {
            s += "<line x1=\"\(f(t.position))\" y1=\"\(f(pa.maxY))\" x2=\"\(f(t.position))\" y2=\"\(f(pa.maxY + tick))\" stroke=\"black\"/>"
            s += text(t.label, fill: textColor)
        }
        for t in l.yTicks {
            s += "<line x1=\"\(f(pa.x - tick))\" y1=\"\(f(t.position))\" x2=\"\(f(pa.x))\" y2=\"\(f(t.position))\" stroke=\"black\"/>"
            s += text(t.label, fill: textColor)
        }
        // Peak labels with their leaders.
        for p in l.labels where p.leader {
            s += "<line x1=\"\(f(p.leaderStart.x))\" y1=\"\(f(p.leaderStart.y))\" x2=\"\(f(p.anchor.x))\" y2=\"\(f(p.anchor.y - Double(l.textScale)))\" stroke=\"#777777\" stroke-width=\"0.8\"/>\n"
        }
        for p in l.labels {
            s += rect(p.text.box, fill: "white", opacity: 0.8)
            s += text(p.text, fill: "#" + (RGB(hex: p.colorHex) ?? .grey).darkenedForText.hex)
        }
        // Legend.
        if let box = l.legend {
            s += "<rect x=\"\(f(box.x))\" y=\"\(f(box.y))\" width=\"\(f(box.width))\" height=\"\(f(box.height))\" fill=\"white\" fill-opacity=\"0.9\" stroke=\"#999999\"/>\n"
            for e in l.legendEntries {
                if let sw = e.swatch {
                    s += "<rect x=\"\(f(sw.x))\" y=\"\(f(sw.y))\" width=\"\(f(sw.width))\" height=\"\(f(sw.height))\" fill=\"#\(e.colorHex)\" fill-opacity=\"\(underCurveOpacity)\" stroke=\"#\(e.colorHex)\"/>"
                }
                s += text(e.label, fill: textColor)
            }
        }
        s += text(l.title, fill: "black")
        s += text(l.xAxisTitle, fill: textColor)
        s += text(l.yAxisTitle, fill: textColor)
        s += "</svg>\n"
        return s
    }

    static func rect(_ r: SpectrumPlotLayout.Rect, fill: String, opacity: Double) -> String {
        "<rect x=\"\(f(r.x))\" y=\"\(f(r.y))\" width=\"\(f(r.width))\" height=\"\(f(r.height))\" fill=\"\(fill)\" fill-opacity=\"\(f(opacity))\"/>\n"
    }

    /// One text element filling `t.box`; text after `^` as a superscript.
    static func text(_ t: SpectrumPlotLayout.TextItem, fill: String) -> String {
        guard !t.text.isEmpty else { return "" }
        let sc = Double(t.scale)
        let parts = t.text.split(separator: "^", maxSplits: 1, omittingEmptySubsequences: false)
        var body = xmlEscape(String(parts[0]))
        var length = ""
        if parts.count > 1 {
            body += "<tspan dy=\"\(f(-3.5 * sc))\" font-size=\"\(f(8 * sc))\">\(xmlEscape(parts[1].replacingOccurrences(of: "^", with: "")))</tspan>"
        } else {
            length = " textLength=\"\(f(t.rotated ? t.box.height : t.box.width))\" lengthAdjust=\"spacingAndGlyphs\""
        }
        let size = " font-size=\"\(f(10 * sc))\" fill=\"\(fill)\""
        if t.rotated {
            return "<text transform=\"translate(\(f(t.box.x + 8 * sc)),\(f(t.box.maxY))) rotate(-90)\" x=\"0\" y=\"0\"\(size)\(length)>\(body)</text>\n"
        }
        return "<text x=\"\(f(t.box.x))\" y=\"\(f(t.box.y + 8 * sc))\"\(size)\(length)>\(body)</text>\n"
    }

    /// Pixel coordinate with two decimals at most, POSIX format.
    static func f(_ v: Double) -> String {
        guard v.isFinite else { return "0" }
        var t = String(format: "%.2f", v)
        while t.hasSuffix("0") { t.removeLast() }
        if t.hasSuffix(".") { t.removeLast() }
        return t == "-0" ? "0" : t
    }

    /// Escapes the five XML special characters; control characters XML 1.0 does not allow become `?`.
    static func xmlEscape(_ s: String) -> String {
        var o = ""
        o.reserveCapacity(s.count)
        for c in s {
            switch c {
            case "&": o += "&amp;"
            case "<": o += "&lt;"
            case ">": o += "&gt;"
            case "\"": o += "&quot;"
            case "'": o += "&apos;"
            default:
                if c.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0xFFFE || $0.value == 0xFFFF }) { o += "?" } else { o.append(c) }
            }
        }
        return o
    }
}
