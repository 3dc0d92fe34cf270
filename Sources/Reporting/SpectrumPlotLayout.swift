import Foundation
import MassSpectrum

/// The geometry of one spectrum plot, in pixels with the origin at the top-left corner and y pointing down.
/// Both renderers draw exactly this; tests check it instead of parsing the output.
///
/// Postconditions (checked by the tests): every text box lies inside the canvas; peak labels lie inside
/// ``plotArea`` and do not overlap each other or the legend; at most 12 ticks per axis; the x axis runs from a
/// little below the first non-empty bin or range to a little beyond the last (within 10 % of the data's span,
/// starting at 0 only when the data start within 10 % of the span from 0).
public struct SpectrumPlotLayout: Sendable {
    /// A rectangle in pixels: top-left corner, width and height.
    public struct Rect: Sendable, Equatable {
        /// Left edge, px.
        public var x: Double
        /// Top edge, px (y grows downwards).
        public var y: Double
        /// Width, px.
        public var width: Double
        /// Height, px.
        public var height: Double
        /// Creates a rectangle from its top-left corner and size, px.
        public init(x: Double, y: Double, width: Double, height: Double) {
            self.x = x; self.y = y; self.width = width; self.height = height
        }
        /// Right edge, px.
        public var maxX: Double { x + width }
        /// Bottom edge, px.
        public var maxY: Double { y + height }
        /// Horizontal centre, px.
        public var midX: Double { x + width / 2 }
        /// Whether the rectangles overlap once `self` is grown by `padding` px on every side (touching edges do not).
        public func intersects(_ o: Rect, padding: Double = 0) -> Bool {
            x - padding < o.maxX && o.x < maxX + padding && y - padding < o.maxY && o.y < maxY + padding
        }
        /// Whether `o` lies inside `self` (edges may touch).
        public func contains(_ o: Rect) -> Bool { o.x >= x && o.y >= y && o.maxX <= maxX && o.maxY <= maxY }
    }

    /// A point in pixels.
    public struct Point: Sendable, Equatable {
        /// Horizontal position, px.
        public var x: Double
        /// Vertical position, px (down).
        public var y: Double
        /// Creates a point, px.
        public init(x: Double, y: Double) { self.x = x; self.y = y }
    }

    /// A line of text and the box it occupies.
    public struct TextItem: Sendable, Equatable {
        /// The text; a `^` raises the rest (superscript, as in `10^3`) and is not drawn.
        public var text: String
        /// The box the text occupies, px. For rotated text this is the box after rotation.
        public var box: Rect
        /// Pixel size of the font: characters advance 6 × `scale` px, lines are 10 × `scale` px high.
        public var scale: Int
        /// Rotated by −90° (reads bottom to top), as the count-axis title.
        public var rotated: Bool
    }

    /// An axis tick.
    public struct Tick: Sendable, Equatable {
        /// The tick's value: Da on the x axis, counts (a power of 10) on the count axis.
        public var value: Double
        /// Position along the axis, px: x for the mass axis, y for the count axis.
        public var position: Double
        /// Its label.
        public var label: TextItem
    }

    /// A shaded range.
    public struct Band: Sendable, Equatable {
        /// Index into the `ranges` passed to the plot.
        public var rangeIndex: Int
        /// Colour, six upper-case hex digits.
        public var colorHex: String
        /// The band over the full plot height, px (at least 2 px wide so that narrow ranges stay visible).
        public var rect: Rect
    }

    /// A peak label.
    public struct PeakLabel: Sendable, Equatable {
        /// Label text and box.
        public var text: TextItem
        /// Colour of the range, six upper-case hex digits.
        public var colorHex: String
        /// The top of the spectrum line at the labelled peak, px.
        public var anchor: Point
        /// Whether a leader line joins the label to `anchor` (the label was moved away from its peak).
        public var leader: Bool
        /// The leader line's end at the label, px (meaningful when `leader`).
        public var leaderStart: Point
        /// Indices into the `ranges` passed to the plot that this label stands for (ranges of one label close
        /// together share a label at the tallest).
        public var rangeIndices: [Int]
        /// Counts in the tallest bin of the labelled range(s).
        public var peakCounts: Int
    }

    /// A legend entry.
    public struct LegendEntry: Sendable, Equatable {
        /// Colour swatch, px (nil for a `+n more` line).
        public var swatch: Rect?
        /// Colour, six upper-case hex digits.
        public var colorHex: String
        /// Label text and box.
        public var label: TextItem
    }

    /// Empty bins are drawn at this count (the bottom of the log axis); non-empty bins at their count.
    public static let countFloor = 0.5

    /// Canvas width, px.
    public let width: Int
    /// Canvas height, px.
    public let height: Int
    /// Font pixel size (1 below 1400 × 700 px): characters are 6 × `textScale` px wide, lines 10 × `textScale`.
    public let textScale: Int
    /// The axes' rectangle, px.
    public let plotArea: Rect
    /// Mass-to-charge at the left edge of ``plotArea``, Da.
    public let xMinDa: Double
    /// Mass-to-charge at the right edge of ``plotArea``, Da.
    public let xMaxDa: Double
    /// log₁₀(counts) at the bottom edge of ``plotArea`` (log₁₀ 0.5).
    public let yMinLog10: Double
    /// log₁₀(counts) at the top edge of ``plotArea`` (above the tallest peak, leaving room for labels).
    public let yMaxLog10: Double
    /// Mass-axis ticks: a 1, 2 or 5 × 10ᵏ Da step, at most 12.
    public let xTicks: [Tick]
    /// Count-axis ticks at powers of ten, labelled `10^k`, at most 12.
    public let yTicks: [Tick]
    /// Shaded ranges, in the order of the `ranges` given (those outside the x axis left out).
    public let bands: [Band]
    /// The spectrum as a polyline, px: a step line per bin where bins are wider than 1.5 px, otherwise the
    /// tallest bin of each pixel column (upper envelope).
    public let spectrum: [Point]
    /// For each pixel column of ``plotArea`` (column i spans x = plotArea.x + i … + i + 1), the y of the highest
    /// point of the spectrum in it, px.
    public let columnTopY: [Double]
    /// Peak labels, tallest peak first.
    public let labels: [PeakLabel]
    /// Labels that could not be placed without a collision (the lowest peaks'), with the range indices.
    public let droppedLabels: [(text: String, rangeIndices: [Int])]
    /// The legend's box, px (nil without ranges).
    public let legend: Rect?
    /// Whether the legend sits to the right of ``plotArea`` (it would have covered the spectrum inside).
    public let legendOutside: Bool
    /// One entry per distinct label, in order of first appearance.
    public let legendEntries: [LegendEntry]
    /// Title at the top.
    public let title: TextItem
    /// `mass-to-charge (Da)` under the x axis.
    public let xAxisTitle: TextItem
    /// `counts`, rotated, left of the count axis.
    public let yAxisTitle: TextItem

    /// The canvas, px.
    public var canvas: Rect { Rect(x: 0, y: 0, width: Double(width), height: Double(height)) }

    /// Every text box: title, axis titles, tick labels, peak labels, legend entries.
    public var allTextItems: [TextItem] {
        [title, xAxisTitle, yAxisTitle] + xTicks.map(\.label) + yTicks.map(\.label) + labels.map(\.text)
            + legendEntries.map(\.label)
    }

    /// Horizontal pixel position of mass-to-charge `da` (Da).
    public func xPixel(da: Double) -> Double { plotArea.x + (da - xMinDa) / (xMaxDa - xMinDa) * plotArea.width }

    /// Vertical pixel position of `counts` (floored at ``countFloor``).
    public func yPixel(counts: Double) -> Double {
        let l = log10(max(counts, Self.countFloor))
        return plotArea.maxY - (l - yMinLog10) / (yMaxLog10 - yMinLog10) * plotArea.height
    }
}

// MARK: - Building the layout

extension SpectrumPlotLayout {
    /// Width of `text` in px at `scale`: characters after a `^` count (they are raised, not shrunk); `^` does not.
    static func textWidth(_ text: String, scale: Int) -> Double {
        Double(text.filter { $0 != "^" }.count * BitmapFont.advance * scale)
    }

    static func textItem(_ text: String, x: Double, y: Double, scale: Int, rotated: Bool = false) -> TextItem {
        let w = textWidth(text, scale: scale), h = Double(BitmapFont.lineHeight * scale)
        return TextItem(text: text, box: rotated ? Rect(x: x, y: y, width: h, height: w) : Rect(x: x, y: y, width: w, height: h),
                        scale: scale, rotated: rotated)
    }

    /// A range that can be drawn, with its index in the caller's array and a checked colour.
    struct ValidRange { var index: Int; var lowDa: Double; var highDa: Double; var label: String; var color: String }

    static func make(_ h: MassHistogram, ranges: [SpectrumPlotRange], title: String, width: Int, height: Int) -> SpectrumPlotLayout {
        let valid = ranges.enumerated().compactMap { i, r -> ValidRange? in
            guard r.lowDa.isFinite, r.highDa.isFinite, r.highDa >= r.lowDa else { return nil }
            let c = RGB(hex: r.colorHex)?.hex ?? RGB.grey.hex
            return ValidRange(index: i, lowDa: r.lowDa, highDa: r.highDa, label: r.label, color: c)
        }
        let inside = Builder(h, ranges: valid, title: title, width: width, height: height, legendOutside: false)
        if inside.legendFitsInside { return inside.finish() }
        let outside = Builder(h, ranges: valid, title: title, width: width, height: height, legendOutside: true)
        // Outside only if that leaves the plot at least half the canvas; otherwise top-right inside, over the data.
        if outside.plotArea.width >= 0.5 * Double(max(width, 1)) { return outside.finish() }
        return inside.finish()
    }

    /// One layout attempt for a given legend placement.
    struct Builder {
        let W: Double, H: Double, s: Int, S: Double, cw: Double, lh: Double
        let h: MassHistogram
        let ranges: [ValidRange]
        let binDa: Double
        let xMin: Double, xMax: Double
        let yLow: Double, yTop: Double
        let plotArea: Rect
        let title: TextItem
        let yTickValues: [Int]
        let yLabelWidth: Double
        var colMax: [Double]        // per pixel column, max counts (0 where no bin)
        var columnTopY: [Double]
        let legendOutside: Bool
        var legendBox: Rect?
        var legendEntries: [LegendEntry] = []
        var legendFitsInside = true

        init(_ h: MassHistogram, ranges: [ValidRange], title titleText: String, width: Int, height: Int, legendOutside: Bool) {
            W = Double(max(width, 1)); H = Double(max(height, 1))
            s = max(1, min(width / 700, height / 350)); S = Double(s)
            cw = Double(BitmapFont.advance * s); lh = Double(BitmapFont.lineHeight * s)
            self.h = h; self.ranges = ranges; self.legendOutside = legendOutside
            binDa = h.binDa.isFinite && h.binDa > 0 ? h.binDa : 1

            // Title: twice the text size if it fits, else normal size, else shortened.
            let avail = W - 16 * S
            var ts = 2 * s
            var tt = titleText
            if textWidth(tt, scale: ts) > avail { ts = s }
            while textWidth(tt, scale: ts) > avail, tt.count > 3 { tt = String(tt.dropLast(4)) + "..." }
            if textWidth(tt, scale: ts) > avail { tt = "" }
            title = textItem(tt, x: 8 * S, y: 6 * S, scale: ts)

            // x extent: the data and the ranges, padded by 4 % of the span; from 0 if the data start near 0.
            let counts = h.counts
            var lo = Double.infinity, hi = -Double.infinity
            if let f = counts.firstIndex(where: { $0 > 0 }), let l = counts.lastIndex(where: { $0 > 0 }) {
                lo = Double(f) * binDa; hi = Double(l + 1) * binDa
            }
            for r in ranges { lo = min(lo, r.lowDa); hi = max(hi, r.highDa) }
            if !lo.isFinite || !hi.isFinite { lo = 0; hi = h.maxDa.isFinite && h.maxDa > 0 ? h.maxDa : 100 }
            let minSpan = max(1, 20 * binDa)
            if hi - lo < minSpan { let c = (lo + hi) / 2; lo = max(0, c - minSpan / 2); hi = lo + minSpan }
            let span = hi - lo
            var x0 = lo - 0.04 * span
            if lo <= 0.1 * span || x0 < 0 { x0 = 0 }
            xMin = x0; xMax = hi + 0.04 * span

            // Vertical geometry: title on top; tick labels and axis title below.
            let top = 6 * S + title.box.height + 8 * S
            let bottom = 5 * S + 3 * S + lh + 4 * S + lh + 6 * S
            let ph = max(10, H - top - bottom)
            // Log axis from the floor (0.5) to above the tallest peak, leaving label rows free: two, or as many
            // as the labels would fill side by side across the canvas plus one (at most five).
            yLow = log10(SpectrumPlotLayout.countFloor)
            let maxC = Double(counts.max() ?? 0)
            let maxLog = max(1, log10(max(maxC, 1)))
            let labelChars = Set(ranges.map(\.label)).reduce(0) { $0 + $1.count + 2 }
            let rows = min(5, max(2, Int((Double(labelChars) * cw / (0.8 * W)).rounded(.up)) + 1))
            let reserve = min(Double(rows) * (lh + 2 * S) + 6 * S, 0.3 * ph)
            yTop = yLow + (maxLog - yLow) * ph / (ph - reserve)
            // Decade ticks, every `stride` decades so that there are at most 12 and they are a line apart.
            let kMax = Int((yTop + 1e-9).rounded(.down))
            var stride = 1
            while (kMax / stride + 1) > 12 || Double(stride) / (yTop - yLow) * ph < lh + 2 * S, stride < max(1, kMax) { stride += 1 }
            yTickValues = Array(Swift.stride(from: 0, through: max(0, kMax), by: stride))
            let scale = s
            yLabelWidth = yTickValues.map { textWidth("10^\($0)", scale: scale) }.max() ?? 0

            // Horizontal geometry: rotated axis title, tick labels, ticks; on the right room for half a tick label
            // and, when outside, the legend.
            let left = 8 * S + lh + 6 * S + yLabelWidth + 4 * S + 5 * S
            var right = 10 * S + 3 * cw
            // The legend may take the plot's width less a margin inside, 45 % of the canvas outside.
            let legendRoom = legendOutside ? 0.45 * W : W - left - right - 12 * S
            let legend = Self.legendSize(ranges: ranges, s: s, plotHeight: ph, maxWidth: legendRoom)
            if legendOutside, let legend { right += legend.width + 10 * S }
            let pw = max(10, W - left - right)
            plotArea = Rect(x: left, y: top, width: pw, height: ph)

            // Per-column maximum of the spectrum.
            let nCols = max(1, Int(pw.rounded(.down)))
            colMax = [Double](repeating: 0, count: nCols)
            let pxPerDa = pw / (xMax - xMin)
            if !counts.isEmpty {
                let i0 = max(0, Int((xMin / binDa).rounded(.down))), i1 = min(counts.count - 1, Int((xMax / binDa).rounded(.up)))
                if i0 <= i1 {
                    for i in i0...i1 {
                        let a = (Double(i) * binDa - xMin) * pxPerDa, b = (Double(i + 1) * binDa - xMin) * pxPerDa
                        let c0 = max(0, Int(a.rounded(.down))), c1 = min(nCols - 1, Int(b.rounded(.up)) - 1)
                        guard c0 <= c1 else { continue }
                        let c = Double(counts[i])
                        for col in c0...c1 { colMax[col] = max(colMax[col], c) }
                    }
                }
            }
            columnTopY = []     // every property set, so that `yPx` may be called
            columnTopY = colMax.map { yPx($0) }

            if let legend { placeLegend(size: legend) }
        }

        func xPx(_ da: Double) -> Double { plotArea.x + (da - xMin) / (xMax - xMin) * plotArea.width }
        func yPx(_ c: Double) -> Double {
            plotArea.maxY - (log10(max(c, SpectrumPlotLayout.countFloor)) - yLow) / (yTop - yLow) * plotArea.height
        }

        /// Highest curve point (smallest y) over the pixel columns touched by [x0, x1], px.
        func curveTop(from x0: Double, to x1: Double) -> Double {
            let c0 = max(0, Int((x0 - plotArea.x).rounded(.down))), c1 = min(columnTopY.count - 1, Int((x1 - plotArea.x).rounded(.up)))
            guard c0 <= c1 else { return plotArea.maxY }
            var m = plotArea.maxY
            for c in c0...c1 { m = min(m, columnTopY[c]) }
            return m
        }

        // MARK: legend

        /// Whether `r` lies in the plot area with the spectrum below it.
        func clearOfSpectrum(_ r: Rect) -> Bool { r.x >= plotArea.x && curveTop(from: r.x, to: r.maxX) > r.maxY + 4 * S }

        struct LegendSize { var width: Double; var height: Double; var columns: Int; var rows: Int; var entries: [(String, String)]; var columnWidth: Double }

        static func legendSize(ranges: [ValidRange], s: Int, plotHeight: Double, maxWidth: Double) -> LegendSize? {
            var entries: [(String, String)] = []
            for r in ranges where !r.label.isEmpty && !entries.contains(where: { $0.0 == r.label }) { entries.append((r.label, r.color)) }
            guard !entries.isEmpty else { return nil }
            let S = Double(s), lh = Double(BitmapFont.lineHeight * s), cw = Double(BitmapFont.advance * s)
            let pad = 5 * S, rowH = lh + 2 * S, swatchW = 19 * S, colGap = 10 * S
            // Entry text no wider than the legend can be.
            let maxChars = max(4, Int(((maxWidth - 2 * pad - swatchW) / cw).rounded(.down)))
            entries = entries.map { e in e.0.count <= maxChars ? e : (String(e.0.prefix(maxChars - 3)) + "...", e.1) }
            let textW = entries.map { textWidth($0.0, scale: s) }.max() ?? 0
            let colW = swatchW + max(textW, textWidth("+99 more", scale: s))
            let maxRows = max(1, Int(((plotHeight - 12 * S - 2 * pad) / rowH).rounded(.down)))
            let maxColumns = max(1, min(4, Int(((maxWidth - 2 * pad + colGap) / (colW + colGap)).rounded(.down))))
            var columns = (entries.count + maxRows - 1) / maxRows
            if columns > maxColumns {
                // Keep what fits and say how many are left out.
                let keep = maxColumns * maxRows - 1
                let more = entries.count - keep
                entries = Array(entries.prefix(keep)) + [("+\(more) more", "")]
                columns = maxColumns
            }
            let rows = (entries.count + columns - 1) / columns
            return LegendSize(width: 2 * pad + Double(columns) * colW + Double(columns - 1) * colGap,
                              height: 2 * pad + Double(rows) * rowH, columns: columns, rows: rows, entries: entries,
                              columnWidth: colW)
        }

        mutating func placeLegend(size: LegendSize) {
            let box: Rect
            if legendOutside {
                box = Rect(x: plotArea.maxX + 3 * cw + 4 * S, y: plotArea.y, width: size.width, height: size.height)
            } else {
                // Top-right, else top-left, where the spectrum stays below the legend.
                let tr = Rect(x: plotArea.maxX - size.width - 6 * S, y: plotArea.y + 6 * S, width: size.width, height: size.height)
                let tl = Rect(x: plotArea.x + 6 * S, y: plotArea.y + 6 * S, width: size.width, height: size.height)
                if clearOfSpectrum(tr) { box = tr } else if clearOfSpectrum(tl) { box = tl } else { box = tr; legendFitsInside = false }
            }
            legendBox = box
            let pad = 5 * S, rowH = lh + 2 * S
            legendEntries = size.entries.enumerated().map { i, e in
                let col = i / size.rows, row = i % size.rows
                let x = box.x + pad + Double(col) * (size.columnWidth + 10 * S), y = box.y + pad + Double(row) * rowH
                let swatch: Rect? = e.1.isEmpty ? nil : Rect(x: x, y: y + S, width: 14 * S, height: lh - 2 * S)
                return LegendEntry(swatch: swatch, colorHex: e.1, label: textItem(e.0, x: x + 19 * S, y: y, scale: s))
            }
        }

        // MARK: finishing

        func finish() -> SpectrumPlotLayout {
            let pa = plotArea
            // x ticks.
            let xt = Self.niceTicks(xMin, xMax, widthPx: pa.width, charPx: cw, maxTicks: 12)
            let xTicks = xt.values.map { v -> Tick in
                let text = Self.format(v, decimals: xt.decimals)
                let w = textWidth(text, scale: s)
                let x = min(max(xPx(v) - w / 2, 0), W - w)
                return Tick(value: v, position: xPx(v), label: textItem(text, x: x, y: pa.maxY + 8 * S, scale: s))
            }
            let yTicks = yTickValues.map { k -> Tick in
                let text = "10^\(k)"
                let y = yPx(pow(10, Double(k)))
                let w = textWidth(text, scale: s)
                return Tick(value: pow(10, Double(k)), position: y,
                            label: textItem(text, x: pa.x - 9 * S - w, y: min(max(y - lh / 2, 0), H - lh), scale: s))
            }
            let xTitle = "mass-to-charge (Da)"
            let xtw = textWidth(xTitle, scale: s)
            let xAxisTitle = textItem(xTitle, x: max(0, min(pa.midX - xtw / 2, W - xtw)), y: pa.maxY + 8 * S + lh + 4 * S, scale: s)
            let yTitle = "counts"
            let ytw = textWidth(yTitle, scale: s)
            let yAxisTitle = textItem(yTitle, x: 8 * S, y: max(0, pa.y + pa.height / 2 - ytw / 2), scale: s, rotated: true)

            // Bands.
            var bands: [Band] = []
            for r in ranges {
                let a = max(r.lowDa, xMin), b = min(r.highDa, xMax)
                guard a <= b else { continue }
                var x0 = xPx(a), x1 = xPx(b)
                if x1 - x0 < 2 * S { let m = (x0 + x1) / 2; x0 = max(pa.x, m - S); x1 = min(pa.maxX, m + S) }
                bands.append(Band(rangeIndex: r.index, colorHex: r.color, rect: Rect(x: x0, y: pa.y, width: x1 - x0, height: pa.height)))
            }

            let (labels, dropped) = placeLabels()
            return SpectrumPlotLayout(width: Int(W), height: Int(H), textScale: s, plotArea: pa, xMinDa: xMin, xMaxDa: xMax,
                                      yMinLog10: yLow, yMaxLog10: yTop, xTicks: xTicks, yTicks: yTicks, bands: bands,
                                      spectrum: spectrumLine(), columnTopY: columnTopY, labels: labels, droppedLabels: dropped,
                                      legend: legendBox, legendOutside: legendOutside, legendEntries: legendEntries,
                                      title: title, xAxisTitle: xAxisTitle, yAxisTitle: yAxisTitle)
        }

        /// Step line per bin where a bin is at least 1.5 px wide; per-column maximum otherwise.
        func spectrumLine() -> [Point] {
            let pa = plotArea
            let counts = h.counts
            guard !counts.isEmpty else { return [Point(x: pa.x, y: pa.maxY), Point(x: pa.maxX, y: pa.maxY)] }
            var pts: [Point] = []
            if binDa / (xMax - xMin) * pa.width >= 1.5 {
                let i0 = max(0, Int((xMin / binDa).rounded(.down))), i1 = min(counts.count - 1, Int((xMax / binDa).rounded(.up)))
                if i0 <= i1 {
                    for i in i0...i1 {
                        let a = max(Double(i) * binDa, xMin), b = min(Double(i + 1) * binDa, xMax)
                        guard a < b else { continue }
                        let y = yPx(Double(counts[i]))
                        pts.append(Point(x: xPx(a), y: y)); pts.append(Point(x: xPx(b), y: y))
                    }
                }
            } else {
                // Upper envelope: the tallest bin of each pixel column (the lows of sparse background would
                // otherwise fill the bottom of a log plot solid).
                for c in 0..<colMax.count { pts.append(Point(x: pa.x + Double(c) + 0.5, y: yPx(colMax[c]))) }
            }
            return pts
        }

        // MARK: peak labels

        struct Candidate { var text: String; var color: String; var anchor: Point; var counts: Int; var indices: [Int] }

        func placeLabels() -> ([PeakLabel], [(text: String, rangeIndices: [Int])]) {
            let pa = plotArea
            let counts = h.counts
            // One candidate per range in view, at its tallest bin.
            var raw: [Candidate] = []
            for r in ranges {
                let a = max(r.lowDa, xMin), b = min(r.highDa, xMax)
                guard a <= b, !r.label.isEmpty else { continue }
                var best = -1, bestC: UInt32 = 0
                let i0 = max(0, Int((a / binDa - 0.5).rounded(.up))), i1 = min(counts.count - 1, Int((b / binDa - 0.5).rounded(.down)))
                if i0 <= i1 { for i in i0...i1 where best < 0 || counts[i] > bestC { best = i; bestC = counts[i] } }
                let mDa = best >= 0 ? h.centreDa(best) : (a + b) / 2
                let ax = min(max(xPx(mDa), pa.x), pa.maxX)
                // The peak bin's own height: where columns hold several bins it may lie under the drawn maximum.
                let ay = yPx(Double(bestC))
                raw.append(Candidate(text: r.label, color: r.color, anchor: Point(x: ax, y: ay), counts: Int(bestC), indices: [r.index]))
            }
            raw.sort { ($0.counts, -$0.anchor.x) > ($1.counts, -$1.anchor.x) }
            // Ranges of one label whose peaks are closer than the label is wide share the tallest one's label.
            var items: [Candidate] = []
            for c in raw {
                let reach = textWidth(c.text, scale: s) + 4 * cw
                if let j = items.firstIndex(where: { $0.text == c.text && abs($0.anchor.x - c.anchor.x) < reach }) {
                    items[j].indices.append(c.indices[0])
                } else {
                    items.append(c)
                }
            }
            // Place tallest first: above the peak, else raised in rows or shifted sideways, whichever moves it
            // least; first keeping label and leader clear of the spectrum line, then (second pass) only of other
            // labels.
            var placed: [PeakLabel] = []
            var dropped: [(text: String, rangeIndices: [Int])] = []
            let gap = 3 * S, rowStep = lh + 2 * S, pad = 2 * S
            for it in items {
                let w = textWidth(it.text, scale: s)
                let ax = it.anchor.x, ay = it.anchor.y
                let idealBottom = ay - gap
                let maxShift = 30 * cw + w / 2     // the label's near edge at most 30 characters from its peak
                let step = 2 * S
                var best: (cost: Double, box: Rect)?
                for pass in 0..<2 {
                    var shifts: [Double] = [0]
                    var k = 1.0
                    while k * step <= maxShift { shifts.append(k * step); shifts.append(-k * step); k += 1 }
                    for dx in shifts {
                        if let b = best, 1.5 * abs(dx) >= b.cost { break }   // shifts only grow
                        let x = min(max(ax - w / 2 + dx, pa.x + 2 * S), pa.maxX - 2 * S - w)
                        guard x >= pa.x else { continue }
                        let clearBottom = pass == 0 ? min(idealBottom, curveTop(from: x - S, to: x + w + S) - 2 * S) : idealBottom
                        var row = 0.0
                        while true {
                            let bottom = min(clearBottom, pa.maxY - 1) - row * rowStep
                            row += 1
                            let box = Rect(x: x, y: bottom - lh, width: w, height: lh)
                            if box.y < pa.y + S { break }
                            let cost = 1.5 * abs(box.midX - ax) + max(0, idealBottom - bottom)
                            if let b = best, cost >= b.cost { break }    // rows only cost more
                            if let lb = legendBox, box.intersects(lb, padding: pad) { continue }
                            if placed.contains(where: { box.intersects($0.text.box, padding: pad) }) { continue }
                            let lead = needsLeader(box, ax: ax, ay: ay)
                            if lead.needed {
                                let p0 = lead.start, p1 = Point(x: ax, y: ay - S)
                                if placed.contains(where: { segment(p0, p1, hits: $0.text.box) }) { continue }
                                if pass == 0, !leaderClearsSpectrum(p0, p1) { continue }
                            }
                            // Existing leaders must not run through the new box.
                            if placed.contains(where: { $0.leader && segment($0.leaderStart, Point(x: $0.anchor.x, y: $0.anchor.y - S), hits: box) }) { continue }
                            best = (cost, box)
                            break
                        }
                    }
                    if best != nil { break }
                }
                guard let b = best?.box else { dropped.append((it.text, it.indices.sorted())); continue }
                let lead = needsLeader(b, ax: ax, ay: ay)
                placed.append(PeakLabel(text: TextItem(text: it.text, box: b, scale: s, rotated: false), colorHex: it.color,
                                        anchor: it.anchor, leader: lead.needed, leaderStart: lead.start,
                                        rangeIndices: it.indices.sorted(), peakCounts: it.counts))
            }
            return (placed, dropped)
        }

        /// A leader is drawn when the anchor is not under the label or the label was raised by more than half a row.
        func needsLeader(_ box: Rect, ax: Double, ay: Double) -> (needed: Bool, start: Point) {
            let start = Point(x: min(max(ax, box.x + S), box.maxX - S), y: box.maxY)
            let needed = ax < box.x || ax > box.maxX || (ay - box.maxY) > 3 * S + (lh + 2 * S) / 2
            return (needed, start)
        }

        /// Whether a leader from `p0` (label) to `p1` (peak) runs above the spectrum until its last 4 px × scale.
        func leaderClearsSpectrum(_ p0: Point, _ p1: Point) -> Bool {
            let len = ((p1.x - p0.x) * (p1.x - p0.x) + (p1.y - p0.y) * (p1.y - p0.y)).squareRoot()
            let n = Int(len.rounded(.up))
            guard n > 0 else { return true }
            for i in 0...n {
                let t = Double(i) / Double(n)
                if (1 - t) * len < 4 * S { break }
                let x = p0.x + t * (p1.x - p0.x), y = p0.y + t * (p1.y - p0.y)
                let c = Int((x - plotArea.x).rounded(.down))
                if c >= 0, c < columnTopY.count, y > columnTopY[c] - 1 { return false }
            }
            return true
        }

        /// Whether segment p0–p1 passes through `r` grown by 1 px (Liang–Barsky clipping).
        func segment(_ p0: Point, _ p1: Point, hits r: Rect) -> Bool {
            let dx = p1.x - p0.x, dy = p1.y - p0.y
            var t0 = 0.0, t1 = 1.0
            for (p, q) in [(-dx, p0.x - (r.x - 1)), (dx, (r.maxX + 1) - p0.x), (-dy, p0.y - (r.y - 1)), (dy, (r.maxY + 1) - p0.y)] {
                if p == 0 { if q < 0 { return false }; continue }
                let t = q / p
                if p < 0 { t0 = max(t0, t) } else { t1 = min(t1, t) }
                if t0 > t1 { return false }
            }
            return true
        }

        // MARK: ticks

        /// The smallest 1, 2 or 5 × 10ᵏ step giving at most `maxTicks` ticks whose labels are two characters apart.
        static func niceTicks(_ lo: Double, _ hi: Double, widthPx: Double, charPx: Double, maxTicks: Int) -> (values: [Double], decimals: Int) {
            let span = hi - lo
            guard span > 0, span.isFinite else { return ([lo], 0) }
            var e = Int((log10(span / Double(maxTicks))).rounded(.down)) - 1
            var last: (values: [Double], decimals: Int) = ([lo], 0)
            for _ in 0..<12 {
                for m in [1.0, 2.0, 5.0] {
                    let step = m * pow(10, Double(e))
                    let decimals = max(0, -e)
                    let first = (lo / step - 1e-9).rounded(.up), lastK = (hi / step + 1e-9).rounded(.down)
                    guard lastK >= first else { continue }
                    let n = Int(lastK - first) + 1
                    let values = (0..<n).map { (first + Double($0)) * step }
                    last = (values, decimals)
                    guard n <= maxTicks else { continue }
                    let chars = values.map { format($0, decimals: decimals).count }.max() ?? 1
                    if step / span * widthPx >= Double(chars + 2) * charPx { return last }
                }
                e += 1
            }
            return last
        }

        /// `v` with `decimals` decimals, POSIX format (`.` decimal point, no grouping), never `-0`.
        static func format(_ v: Double, decimals: Int) -> String {
            let t = String(format: "%.\(decimals)f", v)
            return t.hasPrefix("-") && t.dropFirst().allSatisfy({ $0 == "0" || $0 == "." }) ? String(t.dropFirst()) : t
        }
    }
}
