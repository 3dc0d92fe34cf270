import FileFormats
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import MassSpectrum
import Reporting
import TestDatasets
import TwinCore
import XCTest

/// A synthetic peak: centre and height, Gaussian σ, Da; its range and label.
struct SynthPeak { var mDa: Double; var height: Double; var sigmaDa: Double; var label: String; var halfWidthDa: Double }

/// A histogram of Gaussian peaks on a background, deterministic (no random numbers).
func synthHistogram(peaks: [SynthPeak], binDa: Double = 0.01, maxDa: Double = 100,
                    background: (Double) -> Double) -> MassHistogram {
    var h = MassHistogram(masses: [], binDa: binDa, maxDa: maxDa)
    for i in 0..<h.counts.count {
        let m = h.centreDa(i)
        var c = background(m)
        for p in peaks { c += p.height * exp(-0.5 * pow((m - p.mDa) / p.sigmaDa, 2)) }
        // A little deterministic scatter so that the background is not a smooth line.
        let jitter = Double((i &* 2_654_435_761) % 1000) / 1000
        h.counts[i] = UInt32(max(0, (c * (0.7 + 0.6 * jitter)).rounded(.down)))
    }
    return h
}

func ranges(of peaks: [SynthPeak]) -> [SpectrumPlotRange] {
    SpectrumPlotRange.coloredByLabel(peaks.map { ($0.mDa - $0.halfWidthDa, $0.mDa + $0.halfWidthDa, $0.label) })
}

/// Twelve peaks between 12 and 30 Da with close pairs (28Si+/56Fe2+ 0.08 Da apart, 26.5/27/27.5 and 14/14.5 Da) and a
/// background only from 10 to 35 Da.
let closePairPeaks = [
    SynthPeak(mDa: 12.0, height: 400, sigmaDa: 0.02, label: "C+", halfWidthDa: 0.1),
    SynthPeak(mDa: 14.0, height: 2000, sigmaDa: 0.02, label: "28Si2+", halfWidthDa: 0.12),
    SynthPeak(mDa: 14.5, height: 150, sigmaDa: 0.02, label: "29Si2+", halfWidthDa: 0.12),
    SynthPeak(mDa: 15.0, height: 100, sigmaDa: 0.02, label: "30Si2+", halfWidthDa: 0.12),
    SynthPeak(mDa: 16.0, height: 800, sigmaDa: 0.02, label: "O+", halfWidthDa: 0.12),
    SynthPeak(mDa: 26.5, height: 2600, sigmaDa: 0.02, label: "53Cr2+", halfWidthDa: 0.12),
    SynthPeak(mDa: 27.0, height: 3000, sigmaDa: 0.02, label: "54Fe2+", halfWidthDa: 0.12),
    SynthPeak(mDa: 27.5, height: 900, sigmaDa: 0.02, label: "55Mn2+", halfWidthDa: 0.12),
    SynthPeak(mDa: 28.0, height: 50_000, sigmaDa: 0.015, label: "28Si+", halfWidthDa: 0.035),
    SynthPeak(mDa: 28.08, height: 4000, sigmaDa: 0.015, label: "56Fe2+", halfWidthDa: 0.035),
    SynthPeak(mDa: 29.0, height: 2500, sigmaDa: 0.02, label: "29Si+", halfWidthDa: 0.12),
    SynthPeak(mDa: 30.0, height: 1700, sigmaDa: 0.02, label: "30Si+", halfWidthDa: 0.12),
]

func closePairHistogram() -> MassHistogram {
    synthHistogram(peaks: closePairPeaks) { m in (10...35).contains(m) ? 3 : 0 }
}

/// A wide, real-like steel spectrum from 0.5 to 100 Da: hydrogen, carbon, oxygen, Si, Cr, Mn, Fe, Ni, Cu, Mo
/// ions in two charge states and oxides, on a background falling with m/n; Fe and Cr ranges share labels.
let wideSpectrumPeaks: [SynthPeak] = {
    var p: [SynthPeak] = []
    func add(_ m: Double, _ h: Double, _ l: String, _ w: Double = 0.15) { p.append(SynthPeak(mDa: m, height: h, sigmaDa: 0.03, label: l, halfWidthDa: w)) }
    add(1.0, 3000, "H"); add(2.0, 800, "H2"); add(6.0, 200, "C"); add(12.0, 500, "C"); add(8.0, 150, "O"); add(16.0, 900, "O")
    add(14.0, 600, "Si"); add(28.0, 4000, "Si"); add(29.0, 250, "Si"); add(30.0, 160, "Si")
    add(25.0, 2500, "Cr"); add(26.0, 50_000, "Cr"); add(26.5, 5000, "Cr"); add(27.0, 1300, "Cr")
    add(27.5, 3000, "Mn")
    add(27.0, 12_000, "Fe", 0.1); add(28.0, 200_000, "Fe", 0.1); add(28.5, 4500, "Fe", 0.1); add(29.0, 600, "Fe", 0.1)
    add(29.0, 16_000, "Ni", 0.08); add(30.0, 6000, "Ni", 0.08); add(31.0, 300, "Ni", 0.08)
    add(34.0, 900, "CrO"); add(36.0, 700, "FeO")
    add(50.0, 300, "Cr"); add(52.0, 5000, "Cr"); add(53.0, 600, "Cr"); add(54.0, 2500, "Fe")
    add(56.0, 40_000, "Fe"); add(57.0, 900, "Fe"); add(58.0, 3000, "Ni"); add(60.0, 1100, "Ni")
    add(63.0, 200, "Cu"); add(65.0, 90, "Cu"); add(68.0, 400, "CrO"); add(72.0, 350, "FeO")
    add(48.0, 120, "Mo2+"); add(49.0, 70, "Mo2+"); add(96.0, 60, "Mo"); add(98.0, 90, "Mo")
    // Overlapping ranges are not allowed in range files; drop the later of any overlapping pair.
    var kept: [SynthPeak] = []
    for q in p where !kept.contains(where: { abs($0.mDa - q.mDa) < $0.halfWidthDa + q.halfWidthDa }) { kept.append(q) }
    return kept
}()

func wideHistogram() -> MassHistogram {
    synthHistogram(peaks: wideSpectrumPeaks) { m in m < 0.5 ? 0 : 400 * exp(-m / 12) + 2 }
}

/// Pairs of indices of boxes that overlap.
func overlappingPairs(_ boxes: [SpectrumPlotLayout.Rect]) -> [(Int, Int)] {
    var out: [(Int, Int)] = []
    for i in boxes.indices { for j in boxes.indices where j > i && boxes[i].intersects(boxes[j]) { out.append((i, j)) } }
    return out
}

final class SpectrumPlotTests: XCTestCase {
    /// The invariants every layout must satisfy.
    func checkLayout(_ l: SpectrumPlotLayout, _ name: String, file: StaticString = #filePath, line: UInt = #line) {
        for t in l.allTextItems where !t.text.isEmpty {
            XCTAssertTrue(l.canvas.contains(t.box), "\(name): text '\(t.text)' at \(t.box) leaves the canvas", file: file, line: line)
        }
        for p in l.labels {
            XCTAssertTrue(l.plotArea.contains(p.text.box), "\(name): label \(p.text.text) outside the plot area", file: file, line: line)
            if let lg = l.legend, !l.legendOutside {
                XCTAssertFalse(p.text.box.intersects(lg), "\(name): label \(p.text.text) covers the legend", file: file, line: line)
            }
        }
        let pairs = overlappingPairs(l.labels.map(\.text.box))
        XCTAssertTrue(pairs.isEmpty, "\(name): overlapping labels \(pairs.map { (l.labels[$0.0].text.text, l.labels[$0.1].text.text) })",
                      file: file, line: line)
        if let lg = l.legend { XCTAssertTrue(l.canvas.contains(lg), "\(name): legend leaves the canvas", file: file, line: line) }
        XCTAssertLessThanOrEqual(l.xTicks.count, 12, "\(name): x ticks", file: file, line: line)
        XCTAssertLessThanOrEqual(l.yTicks.count, 12, "\(name): y ticks", file: file, line: line)
        XCTAssertGreaterThanOrEqual(l.xTicks.count, 2, "\(name): x ticks", file: file, line: line)
        XCTAssertTrue(overlappingPairs(l.xTicks.map(\.label.box)).isEmpty, "\(name): x tick labels overlap", file: file, line: line)
        XCTAssertTrue(overlappingPairs(l.yTicks.map(\.label.box)).isEmpty, "\(name): y tick labels overlap", file: file, line: line)
        for t in l.xTicks {
            XCTAssertTrue(t.value >= l.xMinDa - 1e-9 && t.value <= l.xMaxDa + 1e-9, "\(name): x tick \(t.value) off the axis", file: file, line: line)
        }
        if l.xTicks.count >= 2 {
            let step = l.xTicks[1].value - l.xTicks[0].value
            let mantissa = step / pow(10, log10(step).rounded(.down))
            XCTAssertTrue([1.0, 2.0, 5.0].contains { abs($0 - mantissa) < 1e-6 }, "\(name): x step \(step) is not 1, 2 or 5 × 10^k",
                          file: file, line: line)
        }
        for t in l.yTicks {
            let k = log10(t.value)
            XCTAssertEqual(k, k.rounded(), accuracy: 1e-9, "\(name): y tick \(t.value) is not a decade", file: file, line: line)
            XCTAssertEqual(t.label.text, "10^\(Int(k.rounded()))", file: file, line: line)
        }
    }

    /// The data's extent in Da (first to last non-empty bin, and the ranges).
    func dataExtent(_ h: MassHistogram, _ r: [SpectrumPlotRange]) -> (Double, Double) {
        let f = h.counts.firstIndex { $0 > 0 }!, l = h.counts.lastIndex { $0 > 0 }!
        return (min(Double(f) * h.binDa, r.map(\.lowDa).min() ?? .infinity), max(Double(l + 1) * h.binDa, r.map(\.highDa).max() ?? 0))
    }

    func testClosePairsAreLabelledWithoutCollisionsAndTheAxisFitsTheData() {
        let h = closePairHistogram(), r = ranges(of: closePairPeaks)
        let l = SpectrumPlot.layout(h, ranges: r, title: "synthetic: close pairs", width: 1000, height: 500)
        checkLayout(l, "close pairs")
        // x axis within the data ± 10 % (the old plot ran from 0 Da).
        let (lo, hi) = dataExtent(h, r)
        XCTAssertGreaterThanOrEqual(l.xMinDa, lo - 0.1 * (hi - lo))
        XCTAssertLessThanOrEqual(l.xMinDa, lo)
        XCTAssertLessThanOrEqual(l.xMaxDa, hi + 0.1 * (hi - lo))
        XCTAssertGreaterThanOrEqual(l.xMaxDa, hi)
        // Every range is labelled (12 distinct labels, room enough), the close pairs too, near their peaks.
        XCTAssertEqual(Set(l.labels.map(\.text.text)), Set(closePairPeaks.map(\.label)), "dropped: \(l.droppedLabels.map(\.text))")
        for p in l.labels {
            XCTAssertLessThan(abs(p.text.box.midX - p.anchor.x), 3 * p.text.box.width, "\(p.text.text) far from its peak")
            if !p.leader { XCTAssertTrue(p.anchor.x >= p.text.box.x && p.anchor.x <= p.text.box.maxX, "\(p.text.text) moved without a leader") }
        }
        // The tallest peak's label sits right above it.
        let si = l.labels.first { $0.text.text == "28Si+" }!
        XCTAssertLessThan(abs(si.text.box.midX - si.anchor.x), 1)
        XCTAssertLessThan(si.anchor.y - si.text.box.maxY, 10)
        // One legend entry per label, bands for every range.
        XCTAssertEqual(l.legendEntries.map(\.label.text), closePairPeaks.map(\.label))
        XCTAssertEqual(l.bands.count, closePairPeaks.count)
    }

    func testOldStylePlacementFailsTheseChecks() {
        // The old plot centred each label on its peak, 6 px above it: on the close pairs of similar height
        // (53Cr2+/54Fe2+, 0.5 Da apart) that overlaps.
        let h = closePairHistogram(), r = ranges(of: closePairPeaks)
        let l = SpectrumPlot.layout(h, ranges: r, title: "t")
        let old = closePairPeaks.map { p -> SpectrumPlotLayout.Rect in
            let w = Double(6 * p.label.count), x = l.xPixel(da: p.mDa)
            return SpectrumPlotLayout.Rect(x: x - w / 2, y: l.yPixel(counts: p.height) - 6 - 10, width: w, height: 10)
        }
        XCTAssertFalse(overlappingPairs(old).isEmpty)
    }

    func testWideRealLikeSpectrum() {
        let h = wideHistogram(), r = ranges(of: wideSpectrumPeaks)
        let l = SpectrumPlot.layout(h, ranges: r, title: "synthetic steel, 0.5-100 Da")
        checkLayout(l, "wide")
        let (lo, hi) = dataExtent(h, r)
        XCTAssertGreaterThanOrEqual(l.xMinDa, lo - 0.1 * (hi - lo))
        XCTAssertLessThanOrEqual(l.xMaxDa, hi + 0.1 * (hi - lo))
        XCTAssertEqual(l.xMinDa, 0, "data starting at 0.5 Da: the axis starts at 0")
        // Same-label ranges far apart keep their own labels (Fe at 28 and 56 Da); the tallest peak is labelled first.
        XCTAssertGreaterThanOrEqual(l.labels.filter { $0.text.text == "Fe" }.count, 2)
        XCTAssertEqual(l.labels.first?.peakCounts, l.labels.map(\.peakCounts).max())
        // Each distinct label has a legend entry; few labels dropped, and only low peaks' ones.
        XCTAssertEqual(Set(l.legendEntries.map(\.label.text)), Set(wideSpectrumPeaks.map(\.label)))
        let distinctLabelled = Set(l.labels.map(\.text.text))
        XCTAssertEqual(distinctLabelled, Set(wideSpectrumPeaks.map(\.label)), "every ion is labelled at least once")
        let lowestPlaced = l.labels.map(\.peakCounts).min() ?? 0
        for d in l.droppedLabels {
            let c = d.rangeIndices.map { Int(wideSpectrumPeaks[$0].height) }.max() ?? 0
            XCTAssertLessThanOrEqual(Double(c), 3 * Double(max(lowestPlaced, 1)), "dropped a tall peak's label \(d.text)")
        }
    }

    func testNarrowDataAt25To29DaGetsAnAxisOfItsOwn() {
        let peaks = closePairPeaks.filter { $0.mDa > 26 && $0.mDa < 29.5 }
        let h = synthHistogram(peaks: peaks) { m in (25...29).contains(m) ? 2 : 0 }
        let l = SpectrumPlot.layout(h, ranges: ranges(of: peaks), title: "25-29 Da")
        checkLayout(l, "25-29 Da")
        XCTAssertGreaterThanOrEqual(l.xMinDa, 24.6)
        XCTAssertLessThanOrEqual(l.xMaxDa, 29.4)
        XCTAssertGreaterThanOrEqual(l.xTicks.count, 4, "a readable scale over 4 Da")
    }

    func testEdgeCasesStayWithinTheCanvas() {
        let empty = MassHistogram(masses: [], binDa: 0.01, maxDa: 100)
        checkLayout(SpectrumPlot.layout(empty, ranges: [], title: ""), "empty")
        let one = MassHistogram(masses: [28.0, 28.0, 28.01], binDa: 0.01, maxDa: 100)
        let lOne = SpectrumPlot.layout(one, ranges: [SpectrumPlotRange(lowDa: 27.9, highDa: 28.1, label: "Si", colorHex: "#123456")], title: "one")
        checkLayout(lOne, "single peak")
        XCTAssertEqual(lOne.bands.first?.colorHex, "123456")
        XCTAssertLessThan(lOne.xMaxDa - lOne.xMinDa, 2)
        // A small canvas, a very long title, invalid ranges and colours, and many ranges.
        let h = wideHistogram()
        var many = (0..<60).map { SpectrumPlotRange(lowDa: 1.5 * Double($0) + 1, highDa: 1.5 * Double($0) + 1.2, label: "Ion\($0)", colorHex: "zz") }
        many.append(SpectrumPlotRange(lowDa: .nan, highDa: 3, label: "bad", colorHex: "FF0000"))
        many.append(SpectrumPlotRange(lowDa: 5, highDa: 4, label: "reversed", colorHex: "FF0000"))
        for (w, ht) in [(1000, 500), (320, 200), (2000, 1000)] {
            let l = SpectrumPlot.layout(h, ranges: many, title: String(repeating: "long title <&> ", count: 20), width: w, height: ht)
            checkLayout(l, "many ranges \(w)×\(ht)")
            XCTAssertEqual(l.bands.count, 60)
            XCTAssertEqual(l.width, w); XCTAssertEqual(l.height, ht)
            XCTAssertTrue(l.bands.allSatisfy { $0.colorHex == "808080" })
        }
        XCTAssertEqual(SpectrumPlot.layout(h, ranges: [], title: "t", width: 2000, height: 1000).textScale, 2)
    }

    func testSVGIsWellFormedXMLWithEscapedTextAndPOSIXNumbers() throws {
        let h = closePairHistogram()
        let svg = SpectrumPlot.svg(h, ranges: ranges(of: closePairPeaks) + [SpectrumPlotRange(lowDa: 33, highDa: 33.2, label: "A<&>\"'", colorHex: "00AA00")],
                                   title: "Fe & Cr <test> \"quoted\"")
        final class Collector: NSObject, XMLParserDelegate {
            var texts: [String] = [], elements = 0, current = ""
            func parser(_ parser: XMLParser, didStartElement e: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
                elements += 1
                if e == "text" { current = "" }
            }
            func parser(_ parser: XMLParser, foundCharacters string: String) { current += string }
            func parser(_ parser: XMLParser, didEndElement e: String, namespaceURI: String?, qualifiedName: String?) {
                if e == "text" { texts.append(current) }
            }
        }
        let parser = XMLParser(data: Data(svg.utf8))
        let c = Collector()
        parser.delegate = c
        XCTAssertTrue(parser.parse(), "SVG does not parse: \(String(describing: parser.parserError))")
        XCTAssertTrue(c.texts.contains("Fe & Cr <test> \"quoted\""))
        XCTAssertTrue(c.texts.contains("A<&>\"'"))
        XCTAssertTrue(c.texts.contains("mass-to-charge (Da)"))
        XCTAssertTrue(c.texts.contains("counts"))
        XCTAssertTrue(c.texts.contains("103"), "superscript decade label 10^3 reads 10 then 3")
        for p in closePairPeaks { XCTAssertTrue(c.texts.contains(p.label), p.label) }
        // Coordinates: digits, '.', '-' only (no locale commas).
        let attr = try NSRegularExpression(pattern: "\\s(?:x|y|x1|y1|x2|y2|width|height|font-size|textLength|dy)=\"([^\"]*)\"")
        let ns = svg as NSString
        for m in attr.matches(in: svg, range: NSRange(location: 0, length: ns.length)) {
            let v = ns.substring(with: m.range(at: 1))
            if v.hasSuffix("%") { continue }
            XCTAssertNotNil(Double(v), "attribute value \(v)")
        }
    }

    func testPNGHasTheRequestedSizeInkAndTintedBands() throws {
        let h = closePairHistogram(), r = ranges(of: closePairPeaks)
        for (w, ht) in [(1000, 500), (640, 360)] {
            let p = SpectrumPlot.png(h, ranges: r, title: "png", width: w, height: ht)
            XCTAssertEqual(p.width, w); XCTAssertEqual(p.height, ht)
            XCTAssertEqual(p.rgb.count, 3 * w * ht)
            let l = SpectrumPlot.layout(h, ranges: r, title: "png", width: w, height: ht)
            func px(_ x: Int, _ y: Int) -> (Int, Int, Int) { let k = 3 * (y * w + x); return (Int(p.rgb[k]), Int(p.rgb[k + 1]), Int(p.rgb[k + 2])) }
            // Non-white pixels inside the plot area (the spectrum line).
            var ink = 0
            for y in Int(l.plotArea.y)..<Int(l.plotArea.maxY) {
                for x in Int(l.plotArea.x + 2)..<Int(l.plotArea.maxX) where px(x, y) != (255, 255, 255) { ink += 1 }
            }
            XCTAssertGreaterThan(ink, 1000)
            // Bands: the middle column of each, just below the plot top (above the spectrum, clear of labels),
            // tinted towards its colour; under the spectrum more strongly.
            for b in l.bands {
                let colour = r[b.rangeIndex].colorHex
                let want = (Int(colour.prefix(2), radix: 16)!, Int(colour.dropFirst(2).prefix(2), radix: 16)!, Int(colour.suffix(2), radix: 16)!)
                let x = Int(b.rect.midX)
                let yTop = Int(l.plotArea.y) + 2
                let yLow = Int(l.plotArea.maxY) - 2
                for y in [yTop, yLow] where !l.labels.contains(where: { $0.text.box.contains(SpectrumPlotLayout.Rect(x: Double(x), y: Double(y), width: 1, height: 1)) }) {
                    let got = px(x, y)
                    XCTAssertNotEqual(got.0 == got.1 && got.1 == got.2, true, "band \(r[b.rangeIndex].label) at (\(x), \(y)) is grey \(got)")
                    // Tinted towards the colour: a channel the colour lacks clearly more than another is darkened more.
                    let wantDef = [255 - want.0, 255 - want.1, 255 - want.2], gotDef = [255 - got.0, 255 - got.1, 255 - got.2]
                    for i in 0..<3 { for j in 0..<3 where wantDef[i] > wantDef[j] + 40 {
                        XCTAssertGreaterThan(gotDef[i], gotDef[j], "band \(r[b.rangeIndex].label) \(got) vs #\(colour)")
                    } }
                }
                let top = px(x, yTop), low = px(x, yLow)
                XCTAssertLessThan(low.0 + low.1 + low.2, top.0 + top.1 + top.2, "under the spectrum the band is stronger")
            }
        }
    }

    func testWritePNGRoundTrips() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("reporting-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let h = closePairHistogram(), r = ranges(of: closePairPeaks)
        let url = dir.appendingPathComponent("s.png")
        try SpectrumPlot.writePNG(h, ranges: r, title: "t", width: 500, height: 300, to: url)
        let back = try PNGFile.read(RGBImage8.self, from: url)
        let p = SpectrumPlot.png(h, ranges: r, title: "t", width: 500, height: 300)
        XCTAssertEqual(back.width, 500); XCTAssertEqual(back.height, 300)
        XCTAssertEqual(back.pixels, p.rgb)
    }

    func testRangeHelpers() {
        XCTAssertEqual(SpectrumPlotRange.ionLabel(massNumber: 56, symbol: "Fe", charge: 2), "56Fe2+")
        XCTAssertEqual(SpectrumPlotRange.ionLabel(massNumber: 28, symbol: "Si", charge: 1), "28Si+")
        let c = SpectrumPlotRange.coloredByLabel([(1, 2, "A"), (3, 4, "B"), (5, 6, "A")])
        XCTAssertEqual(c[0].colorHex, c[2].colorHex)
        XCTAssertNotEqual(c[0].colorHex, c[1].colorHex)
        let table = RangeTable(ions: [RangedIon(name: "Si", composition: [ElementCount("Si", 1)]),
                                      RangedIon(name: "CrO", composition: [ElementCount("Cr", 1), ElementCount("O", 1)])],
                               ranges: [MassRange(lowDa: 27.9, highDa: 28.1, ionIndex: 0, colorHex: "CCCCCC"),
                                        MassRange(lowDa: 67.6, highDa: 68.5, ionIndex: 1),
                                        MassRange(lowDa: 33.9, highDa: 34.8, ionIndex: 1)])
        let r = SpectrumPlotRange.ranges(from: table)
        XCTAssertEqual(r.map(\.label), ["Si", "CrO", "CrO"])
        XCTAssertEqual(r[0].colorHex, "CCCCCC")
        XCTAssertNotEqual(r[1].colorHex, "FFFFFF", "white (no colour) replaced")
        XCTAssertEqual(r[1].colorHex, r[2].colorHex)
    }

    /// The real Si dataset (945,211 ions) with its RRNG ranges; skipped when the dataset cannot be fetched.
    func testRealSiDatasetLayout() throws {
        let pos = try POSFile.read(SiDataset.url("Si.pos"))
        let rr = try RRNGFile.read(SiDataset.url("Si.RRNG")).table
        let h = MassHistogram(masses: pos.massToChargeDa, binDa: 0.05, maxDa: 200)
        let r = SpectrumPlotRange.ranges(from: rr)
        let l = SpectrumPlot.layout(h, ranges: r, title: "Si.pos: \(pos.count) ions")
        checkLayout(l, "Si.pos")
        let (lo, hi) = dataExtent(h, r)
        XCTAssertGreaterThanOrEqual(l.xMinDa, lo - 0.1 * (hi - lo))
        XCTAssertLessThanOrEqual(l.xMaxDa, hi + 0.1 * (hi - lo))
        XCTAssertEqual(Set(l.legendEntries.map(\.label.text)), Set(rr.ions.map(\.name)))
        XCTAssertTrue(l.labels.contains { $0.text.text == "Si" })
        XCTAssertEqual(l.bands.count, rr.ranges.count)
    }
}
