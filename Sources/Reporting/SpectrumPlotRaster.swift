import Foundation

/// An 8-bit RGB canvas with the few primitives the plots need: alpha-blended rectangles, 1-px lines
/// (Bresenham) and bitmap text. Pixel (i, j) covers [i, i + 1) × [j, j + 1); drawing outside is clipped.
struct RGBCanvas {
    let width: Int, height: Int
    /// r, g, b per pixel, row-major from the top-left.
    var rgb: [UInt8]

    init(width: Int, height: Int, background: RGB = .white) {
        self.width = max(1, width); self.height = max(1, height)
        rgb = [UInt8](repeating: 0, count: 3 * self.width * self.height)
        for i in 0..<(self.width * self.height) { rgb[3 * i] = background.r; rgb[3 * i + 1] = background.g; rgb[3 * i + 2] = background.b }
    }

    /// Blends `c` over pixel (x, y) with opacity `alpha` (0…1).
    mutating func plot(_ x: Int, _ y: Int, _ c: RGB, alpha: Double = 1) {
        guard x >= 0, y >= 0, x < width, y < height else { return }
        let k = 3 * (y * width + x)
        if alpha >= 1 { rgb[k] = c.r; rgb[k + 1] = c.g; rgb[k + 2] = c.b; return }
        let a = max(0, alpha)
        func mix(_ dst: UInt8, _ src: UInt8) -> UInt8 { UInt8((Double(dst) * (1 - a) + Double(src) * a).rounded()) }
        rgb[k] = mix(rgb[k], c.r); rgb[k + 1] = mix(rgb[k + 1], c.g); rgb[k + 2] = mix(rgb[k + 2], c.b)
    }

    /// Fills the pixels whose centres lie in `r` (at least one column and row if `r` is not empty).
    mutating func fill(_ r: SpectrumPlotLayout.Rect, _ c: RGB, alpha: Double = 1) {
        guard r.width > 0, r.height > 0 else { return }
        let x0 = Int(r.x.rounded()), y0 = Int(r.y.rounded())
        let x1 = max(x0 + 1, Int(r.maxX.rounded())), y1 = max(y0 + 1, Int(r.maxY.rounded()))
        let xa = max(0, x0), xb = min(width, x1), ya = max(0, y0), yb = min(height, y1)
        guard xa < xb, ya < yb else { return }
        for y in ya..<yb { for x in xa..<xb { plot(x, y, c, alpha: alpha) } }
    }

    /// A 1-px line between the pixels holding the two points (Bresenham).
    mutating func line(_ a: SpectrumPlotLayout.Point, _ b: SpectrumPlotLayout.Point, _ c: RGB) {
        guard a.x.isFinite, a.y.isFinite, b.x.isFinite, b.y.isFinite else { return }
        var x0 = Int(a.x.rounded(.down)), y0 = Int(a.y.rounded(.down))
        let x1 = Int(b.x.rounded(.down)), y1 = Int(b.y.rounded(.down))
        let dx = abs(x1 - x0), sx = x0 < x1 ? 1 : -1
        let dy = -abs(y1 - y0), sy = y0 < y1 ? 1 : -1
        var err = dx + dy
        while true {
            plot(x0, y0, c)
            if x0 == x1 && y0 == y1 { break }
            let e2 = 2 * err
            if e2 >= dy { err += dy; x0 += sx }
            if e2 <= dx { err += dx; y0 += sy }
        }
    }

    /// Draws `t` in its box with ``BitmapFont``; characters after a `^` are raised by 3 px × scale.
    mutating func text(_ t: SpectrumPlotLayout.TextItem, _ c: RGB) {
        let sc = t.scale
        let bx = Int(t.box.x.rounded()), by = Int(t.box.y.rounded()), bottom = Int(t.box.maxY.rounded())
        var i = 0
        var raise = 0
        for ch in t.text {
            if ch == "^" { raise = 3 * sc; continue }
            let rows = BitmapFont.rows(ch)
            for (r, mask) in rows.enumerated() where mask != 0 {
                for col in 0..<BitmapFont.glyphWidth where mask & (1 << (BitmapFont.glyphWidth - 1 - col)) != 0 {
                    let u = i * BitmapFont.advance * sc + col * sc, v = sc + r * sc - raise
                    for du in 0..<sc {
                        for dv in 0..<sc {
                            if t.rotated { plot(bx + v + dv, bottom - 1 - (u + du), c) } else { plot(bx + u + du, by + v + dv, c) }
                        }
                    }
                }
            }
            i += 1
        }
    }
}

/// Draws a ``SpectrumPlotLayout`` into an ``RGBCanvas``, in the same order and colours as the SVG.
enum SpectrumPlotRaster {
    static func render(_ l: SpectrumPlotLayout) -> RGBCanvas {
        var cv = RGBCanvas(width: l.width, height: l.height)
        let pa = l.plotArea
        let line = RGB(hex: String(SpectrumPlotSVG.lineColor.dropFirst()))!
        let text = RGB(hex: String(SpectrumPlotSVG.textColor.dropFirst()))!
        let grid = RGB(hex: String(SpectrumPlotSVG.gridColor.dropFirst()))!
        typealias P = SpectrumPlotLayout.Point
        for t in l.yTicks { cv.line(P(x: pa.x, y: t.position), P(x: pa.maxX - 1, y: t.position), grid) }
        // Bands, then their part under the spectrum more strongly.
        for b in l.bands {
            let c = RGB(hex: b.colorHex) ?? .grey
            cv.fill(b.rect, c, alpha: SpectrumPlotSVG.bandOpacity)
            let x0 = max(0, Int(b.rect.x.rounded())), x1 = max(x0 + 1, Int(b.rect.maxX.rounded()))
            for x in x0..<x1 {
                let col = x - Int(pa.x.rounded(.down))
                guard col >= 0, col < l.columnTopY.count else { continue }
                let top = Int(l.columnTopY[col].rounded(.down)), bottom = Int(pa.maxY.rounded(.down))
                guard top < bottom else { continue }
                for y in top..<bottom { cv.plot(x, y, c, alpha: SpectrumPlotSVG.underCurveOpacity) }
            }
        }
        for i in 1..<max(1, l.spectrum.count) { cv.line(l.spectrum[i - 1], l.spectrum[i], line) }
        // Axes and ticks.
        let tick = 5 * Double(l.textScale)
        cv.line(P(x: pa.x, y: pa.y), P(x: pa.x, y: pa.maxY), .black)
        cv.line(P(x: pa.x, y: pa.maxY), P(x: pa.maxX, y: pa.maxY), .black)
        for t in l.xTicks {
            cv.line(P(x: t.position, y: pa.maxY), P(x: t.position, y: pa.maxY + tick), .black)
            cv.text(t.label, text)
        }
        for t in l.yTicks {
            cv.line(P(x: pa.x - tick, y: t.position), P(x: pa.x, y: t.position), .black)
            cv.text(t.label, text)
        }
        // Peak labels and leaders.
        let leader = RGB(0x77, 0x77, 0x77)
        for p in l.labels where p.leader { cv.line(p.leaderStart, P(x: p.anchor.x, y: p.anchor.y - Double(l.textScale)), leader) }
        for p in l.labels {
            cv.fill(p.text.box, .white, alpha: 0.8)
            cv.text(p.text, (RGB(hex: p.colorHex) ?? .grey).darkenedForText)
        }
        // Legend.
        if let box = l.legend {
            cv.fill(box, .white, alpha: 0.9)
            let border = RGB(0x99, 0x99, 0x99)
            let x0 = box.x.rounded(.down), y0 = box.y.rounded(.down), x1 = box.maxX.rounded(.down), y1 = box.maxY.rounded(.down)
            cv.line(P(x: x0, y: y0), P(x: x1, y: y0), border); cv.line(P(x: x1, y: y0), P(x: x1, y: y1), border)
            cv.line(P(x: x1, y: y1), P(x: x0, y: y1), border); cv.line(P(x: x0, y: y1), P(x: x0, y: y0), border)
            for e in l.legendEntries {
                if let sw = e.swatch, let c = RGB(hex: e.colorHex) {
                    cv.fill(sw, c, alpha: SpectrumPlotSVG.underCurveOpacity)
                    let a = sw.x.rounded(.down), b = sw.y.rounded(.down), cx = sw.maxX.rounded(.down) - 1, d = sw.maxY.rounded(.down) - 1
                    cv.line(P(x: a, y: b), P(x: cx, y: b), c); cv.line(P(x: cx, y: b), P(x: cx, y: d), c)
                    cv.line(P(x: cx, y: d), P(x: a, y: d), c); cv.line(P(x: a, y: d), P(x: a, y: b), c)
                }
                cv.text(e.label, text)
            }
        }
        cv.text(l.title, .black)
        cv.text(l.xAxisTitle, text)
        cv.text(l.yAxisTitle, text)
        return cv
    }
}
