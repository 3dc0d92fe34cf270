import FileFormats
import Foundation
import MassSpectrum
import TwinCore

/// A mass range to shade and label on a spectrum plot.
public struct SpectrumPlotRange: Sendable, Equatable {
    /// Lower edge of the range, Da (mass-to-charge).
    public var lowDa: Double
    /// Upper edge of the range, Da (mass-to-charge); ranges with `highDa < lowDa` or non-finite edges are not drawn.
    public var highDa: Double
    /// Ion label drawn above the peak and in the legend, e.g. `Si`, `CrO`, `56Fe2+`. Ranges sharing a label share
    /// a colour and one legend entry; a `^` raises the rest of the label (superscript).
    public var label: String
    /// Band colour as six hex digits (`FF0000`), no `#`. Anything else is drawn in grey (`808080`).
    public var colorHex: String

    /// Creates a range; `lowDa`/`highDa` in Da, `colorHex` six hex digits (a leading `#` is removed).
    public init(lowDa: Double, highDa: Double, label: String, colorHex: String) {
        self.lowDa = lowDa; self.highDa = highDa; self.label = label
        self.colorHex = colorHex.hasPrefix("#") ? String(colorHex.dropFirst()) : colorHex
    }

    /// Ranges coloured from ``SpectrumPlot/palette``: one colour per distinct label, in order of first appearance.
    /// `lowDa`/`highDa` in Da.
    public static func coloredByLabel(_ items: [(lowDa: Double, highDa: Double, label: String)]) -> [SpectrumPlotRange] {
        var colour: [String: String] = [:]
        return items.map { item in
            let c = colour[item.label] ?? SpectrumPlot.palette[colour.count % SpectrumPlot.palette.count]
            colour[item.label] = c
            return SpectrumPlotRange(lowDa: item.lowDa, highDa: item.highDa, label: item.label, colorHex: c)
        }
    }

    /// The peaks of a spectrum analysis, labelled with their ion (`56Fe2+`, `(68CrO)+`, `*` appended for an overlap,
    /// `?` for a peak nothing explains), one palette colour per label.
    public static func ranges(from peaks: [SpectrumPeak]) -> [SpectrumPlotRange] {
        coloredByLabel(peaks.map { (lowDa: $0.lowDa, highDa: $0.highDa, label: $0.ion + ($0.overlap ? "*" : "")) })
    }

    /// The ranges of a range table (RRNG), labelled with their ion's name and drawn in the file's colour; ranges
    /// with no colour (white, `FFFFFF`, the RRNG default) or an invalid one get a palette colour per ion.
    public static func ranges(from table: RangeTable) -> [SpectrumPlotRange] {
        var fallback: [String: String] = [:]
        return table.ranges.map { r in
            let name = table.ions.indices.contains(r.ionIndex) ? table.ions[r.ionIndex].name : "?"
            var c = r.colorHex.uppercased()
            if c == "FFFFFF" || RGB(hex: c) == nil {
                c = fallback[name] ?? SpectrumPlot.palette[fallback.count % SpectrumPlot.palette.count]
                fallback[name] = c
            }
            return SpectrumPlotRange(lowDa: r.lowDa, highDa: r.highDa, label: name, colorHex: c)
        }
    }

    /// An isotope label such as `28Si+` (charge 1) or `56Fe2+` (charge 2): mass number, element symbol, charge.
    public static func ionLabel(massNumber: Int, symbol: String, charge: Int) -> String {
        "\(massNumber)\(symbol)\(charge == 1 ? "" : String(charge))+"
    }
}

/// A mass spectrum plot users can read: log count axis, the x axis limited to the data, ranges shaded and labelled
/// without collisions, one legend. ``svg(_:ranges:title:width:height:)`` and ``png(_:ranges:title:width:height:)``
/// draw the same ``SpectrumPlotLayout``.
///
/// Counts are drawn on a log axis with a floor at ``SpectrumPlotLayout/countFloor`` (0.5): a bin with c ≥ 1 ions
/// is drawn at c, an empty bin at 0.5 (the bottom of the axis). Nothing is added to the counts.
///
/// Sizes are in pixels (SVG user units). Text is laid out in a monospace grid of 6 × 10 px per character at
/// ``SpectrumPlotLayout/textScale`` 1 (2 from 1400 × 700 px, and so on); the SVG names a monospace font of
/// the same advance and fixes each text's length, the PNG uses a built-in bitmap font, so the boxes in the
/// layout hold in both.
public enum SpectrumPlot {
    /// Colours for ranges without one (six hex digits each): distinct on white and under translucency; no grey,
    /// which marks an invalid colour.
    public static let palette = ["D62728", "1F77B4", "2CA02C", "FF7F0E", "9467BD", "17BECF", "8C564B", "E377C2",
                                 "BCBD22", "00A087"]

    /// The plot's geometry (axes, ticks, bands, label and legend boxes) in pixels, origin top-left.
    /// `width`/`height` in pixels.
    public static func layout(_ h: MassHistogram, ranges: [SpectrumPlotRange], title: String,
                              width: Int = 1000, height: Int = 500) -> SpectrumPlotLayout {
        SpectrumPlotLayout.make(h, ranges: ranges, title: title, width: width, height: height)
    }

    /// SVG text of the plot, `width` × `height` px. `h`: the histogram (bin width and counts), `ranges`: bands
    /// and labels (Da), `title`: drawn at the top (XML-escaped; shortened with `...` if it does not fit).
    public static func svg(_ h: MassHistogram, ranges: [SpectrumPlotRange], title: String,
                           width: Int = 1000, height: Int = 500) -> String {
        SpectrumPlotSVG.render(layout(h, ranges: ranges, title: title, width: width, height: height))
    }

    /// 8-bit RGB raster of the same plot: `rgb` is row-major from the top-left, 3 bytes (r, g, b) per pixel,
    /// `rgb.count == 3 * width * height`. Sizes in pixels; sizes below 1 are raised to 1.
    public static func png(_ h: MassHistogram, ranges: [SpectrumPlotRange], title: String,
                           width: Int = 1000, height: Int = 500) -> (width: Int, height: Int, rgb: [UInt8]) {
        let l = layout(h, ranges: ranges, title: title, width: width, height: height)
        let c = SpectrumPlotRaster.render(l)
        return (c.width, c.height, c.rgb)
    }

    /// Writes the plot as an 8-bit RGB PNG, atomically (through ``FileFormats/PNGFile``). Sizes in pixels.
    /// - Throws: ``TwinCore/TwinError`` from the PNG encoder or the file system.
    public static func writePNG(_ h: MassHistogram, ranges: [SpectrumPlotRange], title: String,
                                width: Int = 1000, height: Int = 500, to url: URL) throws {
        let p = png(h, ranges: ranges, title: title, width: width, height: height)
        try PNGFile.write(RGBImage8(width: p.width, height: p.height, pixels: p.rgb), to: url)
    }
}

/// An 8-bit colour parsed from six hex digits.
struct RGB: Equatable {
    var r: UInt8, g: UInt8, b: UInt8

    init(_ r: UInt8, _ g: UInt8, _ b: UInt8) { self.r = r; self.g = g; self.b = b }

    /// Parses `RRGGBB`; nil unless exactly six hex digits.
    init?(hex: String) {
        let u = Array(hex.utf8)
        guard u.count == 6, u.allSatisfy({ (48...57).contains($0) || (65...70).contains($0) || (97...102).contains($0) }),
              let v = UInt32(hex, radix: 16) else { return nil }
        r = UInt8(v >> 16 & 0xFF); g = UInt8(v >> 8 & 0xFF); b = UInt8(v & 0xFF)
    }

    static let grey = RGB(0x80, 0x80, 0x80)
    static let white = RGB(255, 255, 255)
    static let black = RGB(0, 0, 0)

    /// `RRGGBB`, upper case.
    var hex: String {
        let digits = Array("0123456789ABCDEF")
        return String([r >> 4, r & 15, g >> 4, g & 15, b >> 4, b & 15].map { digits[Int($0)] })
    }

    /// The same hue darkened until its luminance (Rec. 709 weights, 0–255) is at most 110, so that text in it is
    /// legible on white.
    var darkenedForText: RGB {
        let l = 0.2126 * Double(r) + 0.7152 * Double(g) + 0.0722 * Double(b)
        guard l > 110 else { return self }
        let f = 110 / l
        return RGB(UInt8(Double(r) * f), UInt8(Double(g) * f), UInt8(Double(b) * f))
    }
}
