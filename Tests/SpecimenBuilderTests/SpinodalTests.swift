import Foundation
import GSLKit
import TwinCore
import XCTest
@testable import SpecimenBuilder

/// FFT3D, PeriodicScalarGrid and SpinodalField. Small grids (≤ 48³) except `testDefaultFieldTiming`.
final class SpinodalTests: XCTestCase {

    // MARK: FFT3D

    func testFFTPlaneWaveGivesSinglePeak() throws {
        let (nx, ny, nz) = (12, 10, 9)               // mixed radix, odd z
        let (mx, my, mz) = (3, 7, 2)
        let fft = try FFT3D(nx: nx, ny: ny, nz: nz)
        var data = [Double](repeating: 0, count: 2 * nx * ny * nz)
        for ix in 0..<nx { for iy in 0..<ny { for iz in 0..<nz {
            let a = 2 * Double.pi * (Double(mx * ix) / Double(nx) + Double(my * iy) / Double(ny) + Double(mz * iz) / Double(nz))
            let i = (ix * ny + iy) * nz + iz
            data[2 * i] = cos(a); data[2 * i + 1] = sin(a)
        } } }
        try fft.forward(&data)
        let peak = (mx * ny + my) * nz + mz
        let n = Double(nx * ny * nz)
        XCTAssertEqual(data[2 * peak], n, accuracy: 1e-9)
        XCTAssertEqual(data[2 * peak + 1], 0, accuracy: 1e-9)
        var other = 0.0
        for i in 0..<(nx * ny * nz) where i != peak { other = max(other, hypot(data[2 * i], data[2 * i + 1])) }
        XCTAssertLessThan(other, 1e-9)

        // Real cosine: half spectrum has N/2 at (mx, my, mz) and, mirrored into the kz ≥ 0 half, nothing else.
        var real = [Double](repeating: 0, count: nx * ny * nz)
        for ix in 0..<nx { for iy in 0..<ny { for iz in 0..<nz {
            let a = 2 * Double.pi * (Double(mx * ix) / Double(nx) + Double(my * iy) / Double(ny) + Double(mz * iz) / Double(nz))
            real[(ix * ny + iy) * nz + iz] = cos(a)
        } } }
        var half: [Double] = []
        try fft.forwardReal(real, into: &half)
        let nzh = nz / 2 + 1
        let hp = (mx * ny + my) * nzh + mz
        XCTAssertEqual(half[2 * hp], n / 2, accuracy: 1e-9)
        var otherHalf = 0.0
        for j in 0..<fft.halfSpectrumCount where j != hp { otherHalf = max(otherHalf, hypot(half[2 * j], half[2 * j + 1])) }
        XCTAssertLessThan(otherHalf, 1e-9)
    }

    func testFFTRoundTripsAndRealPathAgreesWithComplex() throws {
        var rng = TwinRNG(seed: 7)
        for (nx, ny, nz) in [(12, 10, 9), (16, 15, 14), (5, 7, 1), (1, 1, 8), (9, 3, 11)] {
            let fft = try FFT3D(nx: nx, ny: ny, nz: nz)
            let n = nx * ny * nz
            let original = (0..<(2 * n)).map { _ in rng.uniform() - 0.5 }
            var data = original
            try fft.forward(&data)
            try fft.inverse(&data)
            let err = zip(data, original).map { abs($0 - $1) }.max()!
            XCTAssertLessThan(err, 1e-12, "complex round trip \(nx)×\(ny)×\(nz)")

            // Real path: half spectrum equals the kz ≤ nz/2 part of the complex transform; round trip to 1e-12.
            let real = (0..<n).map { _ in rng.normal() }
            var complex = [Double](repeating: 0, count: 2 * n)
            for i in 0..<n { complex[2 * i] = real[i] }
            try fft.forward(&complex)
            var half: [Double] = []
            try fft.forwardReal(real, into: &half)
            let nzh = nz / 2 + 1
            var diff = 0.0
            for ix in 0..<nx { for iy in 0..<ny { for kz in 0..<nzh {
                let j = (ix * ny + iy) * nzh + kz, i = (ix * ny + iy) * nz + kz
                diff = max(diff, abs(half[2 * j] - complex[2 * i]), abs(half[2 * j + 1] - complex[2 * i + 1]))
            } } }
            XCTAssertLessThan(diff, 1e-10, "half spectrum \(nx)×\(ny)×\(nz)")
            var back: [Double] = []
            try fft.inverseReal(half, into: &back)
            XCTAssertLessThan(zip(back, real).map { abs($0 - $1) }.max()!, 1e-12, "real round trip \(nx)×\(ny)×\(nz)")
        }
    }

    func testFFTThreadCountDoesNotChangeBits() throws {
        let (nx, ny, nz) = (48, 40, 45)
        var rng = TwinRNG(seed: 3)
        let real = (0..<(nx * ny * nz)).map { _ in rng.normal() }
        var a: [Double] = [], b: [Double] = []
        try FFT3D(nx: nx, ny: ny, nz: nz, threads: 1).forwardReal(real, into: &a)
        try FFT3D(nx: nx, ny: ny, nz: nz, threads: 2).forwardReal(real, into: &b)
        XCTAssertEqual(a, b)
        var c = real.flatMap { [$0, 0.5 * $0] }, d = c
        try FFT3D(nx: nx, ny: ny, nz: nz, threads: 1).forward(&c)
        try FFT3D(nx: nx, ny: ny, nz: nz, threads: 2).forward(&d)
        XCTAssertEqual(c, d)
    }

    func testFFTRejectsBadSizes() throws {
        XCTAssertThrowsError(try FFT3D(nx: 0, ny: 4, nz: 4)) { XCTAssertTrue("\($0)".contains("nx: 0"), "\($0)") }
        let fft = try FFT3D(nx: 4, ny: 4, nz: 4)
        var short = [Double](repeating: 0, count: 10)
        XCTAssertThrowsError(try fft.forward(&short)) { XCTAssertTrue($0 is GSL.Failure, "\($0)") }
        var out: [Double] = []
        XCTAssertThrowsError(try fft.inverseReal(short, into: &out))
    }

    // MARK: PeriodicScalarGrid

    func testPeriodicTrilinearInterpolation() throws {
        let (nx, ny, nz) = (4, 3, 5)
        let values = (0..<(nx * ny * nz)).map { Float($0 % 7) - 3 }
        let g = try PeriodicScalarGrid(nx: nx, ny: ny, nz: nz, spacingNM: 0.5, values: values)
        func node(_ x: Int, _ y: Int, _ z: Int) -> Float {
            values[(((x % nx + nx) % nx) * ny + (y % ny + ny) % ny) * nz + (z % nz + nz) % nz]
        }
        for x in -4..<8 { for y in -3..<6 { for z in -5..<10 {
            XCTAssertEqual(g.value(xNM: Double(x) * 0.5, yNM: Double(y) * 0.5, zNM: Double(z) * 0.5), node(x, y, z), accuracy: 1e-6)
        } } }
        // Centre of the cell (3, 2, 4): mean of its 8 corners, which wrap around all three axes.
        var corners: Float = 0
        for dx in 0...1 { for dy in 0...1 { for dz in 0...1 { corners += node(3 + dx, 2 + dy, 4 + dz) } } }
        XCTAssertEqual(g.value(xNM: 1.75, yNM: 1.25, zNM: 2.25), corners / 8, accuracy: 1e-5)
        XCTAssertEqual(g.value(xNM: 1.75 - 2, yNM: 1.25 + 1.5, zNM: 2.25 - 25), corners / 8, accuracy: 1e-5)
        // Linear along an edge.
        let a = node(1, 1, 1), b = node(2, 1, 1)
        XCTAssertEqual(g.value(xNM: 0.5 + 0.3 * 0.5, yNM: 0.5, zNM: 0.5), a + 0.3 * (b - a), accuracy: 1e-5)
        XCTAssertEqual(g.mean, Double(values.reduce(0, +)) / Double(values.count), accuracy: 1e-12)
        XCTAssertThrowsError(try PeriodicScalarGrid(nx: 2, ny: 2, nz: 2, spacingNM: 1, values: [0]))
    }

    // MARK: Structure factor estimator on fields of known wavelength

    func testPeakWavelengthOfKnownFields() throws {
        let n = 48
        // Lamellae: cos(2π·5x/48) at 0.5 nm spacing → λ = 48/5 · 0.5 = 4.8 nm exactly (one shell only).
        var lam = [Float](repeating: 0, count: n * n * n)
        for ix in 0..<n { for i in 0..<(n * n) { lam[ix * n * n + i] = Float(cos(2 * Double.pi * 5 * Double(ix) / Double(n))) } }
        let lamellar = try PeriodicScalarGrid(nx: n, ny: n, nz: n, spacingNM: 0.5, values: lam)
        XCTAssertEqual(try SpinodalField.peakWavelengthNM(lamellar), 4.8, accuracy: 1e-9)
        let s = try SpinodalField.radialStructureFactor(lamellar)
        let top = s.max { $0.s < $1.s }!
        XCTAssertTrue(s.allSatisfy { $0.kPerNM == top.kPerNM || $0.s < 1e-6 * top.s })

        // Filtered white noise with S(k) ∝ exp(−(|k| − k0)²/w²), k0 = 2π/8 per cell, w = 0.15·k0: a broad, noisy
        // peak like the spinodal ones, built here independently of SpinodalField.
        let fft = try FFT3D(nx: n, ny: n, nz: n)
        var rng = TwinRNG(seed: 99)
        var field = (0..<(n * n * n)).map { _ in rng.normal() }
        var spectrum: [Double] = []
        try fft.forwardReal(field, into: &spectrum)
        let k0 = 2 * Double.pi / 8, w = 0.15 * k0
        let k2 = SpinodalField.waveNumberSquared(nx: n, ny: n, nz: n)
        for j in 0..<fft.halfSpectrumCount {
            let d = k2[j].squareRoot() - k0, f = exp(-d * d / (2 * w * w))
            spectrum[2 * j] *= f; spectrum[2 * j + 1] *= f
        }
        try fft.inverseReal(spectrum, into: &field)
        let noise = try PeriodicScalarGrid(nx: n, ny: n, nz: n, spacingNM: 0.25, values: field.map { Float($0) })
        let peak = try SpinodalField.peakWavelengthNM(noise)
        print(String(format: "[spinodal] estimator check: filtered noise with S peak at 2.000 nm → %.4f nm", peak))
        XCTAssertEqual(peak, 8 * 0.25, accuracy: 0.03 * 2)
    }

    // MARK: SpinodalField

    /// Small parameters for tests: 6 cells per λ_m, grid ≤ 48³.
    private func small(_ lambda: Double, _ method: SpinodalMethod, mean: Double = 0) -> SpinodalParameters {
        SpinodalParameters(wavelengthNM: lambda, method: method, boxNM: (30, 30, 40), cellsPerWavelength: 6,
                           maxCellsPerAxis: 48, meanOrderParameter: mean)
    }

    /// The argmax shell's wavelength and the first-moment wavelength 2π/⟨k⟩ (S-weighted, k < 2·k_peak):
    /// estimates independent of the interpolation used to set the spacing.
    private func independentWavelengths(_ g: PeriodicScalarGrid) throws -> (shell: Double, moment: Double, shellWidth: Double) {
        let s = try SpinodalField.radialStructureFactor(g)
        let top = s.max { $0.s < $1.s }!
        var num = 0.0, den = 0.0
        for e in s where e.kPerNM < 2 * top.kPerNM { num += e.kPerNM * e.s; den += e.s }
        let dk = 2 * Double.pi / (Double(max(g.nx, g.ny, g.nz)) * g.spacingNM)
        return (2 * Double.pi / top.kPerNM, 2 * Double.pi / (num / den), dk / top.kPerNM)
    }

    func testPeakWavelengthMatchesRequestBothMethods() throws {
        for method in SpinodalMethod.allCases {
            for (i, lambda) in [3.0, 5.0, 8.0].enumerated() {
                let p = small(lambda, method)
                let g = try SpinodalField.generate(p, seed: UInt64(100 + i))
                let peak = try SpinodalField.peakWavelengthNM(g)
                let ind = try independentWavelengths(g)
                print(String(format: "[spinodal] %@ λ=%.1f nm grid %d×%d×%d spacing %.4f nm (%.2f cells/λ): peak %.4f nm, "
                             + "argmax shell %.3f nm (shell width %.0f %%), first moment %.3f nm",
                             method.rawValue, lambda, g.nx, g.ny, g.nz, g.spacingNM, lambda / g.spacingNM, peak,
                             ind.shell, 100 * ind.shellWidth, ind.moment))
                XCTAssertEqual(peak, lambda, accuracy: 0.1 * lambda, "\(method) λ = \(lambda)")
                // The raw argmax shell agrees within half a shell width plus 10 %.
                XCTAssertEqual(ind.shell, lambda, accuracy: (0.1 + 0.5 * ind.shellWidth) * lambda, "\(method) λ = \(lambda) shell")
                XCTAssertEqual(ind.moment, lambda, accuracy: 0.2 * lambda, "\(method) λ = \(lambda) moment")
                XCTAssertEqual(g.mean, 0, accuracy: 1e-5)
            }
        }
    }

    /// Histogram of φ in 21 bins over [−1.05, 1.05] (values beyond go to the end bins).
    private func histogram(_ g: PeriodicScalarGrid, bins: Int = 21) -> [Int] {
        var h = [Int](repeating: 0, count: bins)
        for v in g.values {
            let b = Int(((Double(v) + 1.05) / 2.1 * Double(bins)).rounded(.down))
            h[min(bins - 1, max(0, b))] += 1
        }
        return h
    }

    func testHistogramIsBimodal() throws {
        for method in SpinodalMethod.allCases {
            let g = try SpinodalField.generate(small(5, method), seed: 11)
            let h = histogram(g)
            let mid = h.count / 2
            let negPeak = h[..<mid].indices.max { h[$0] < h[$1] }!
            let posPeak = h[(mid + 1)...].indices.max { h[$0] < h[$1] }!
            let centre = -1.05 + 2.1 * (Double(negPeak) + 0.5) / Double(h.count)
            let centreP = -1.05 + 2.1 * (Double(posPeak) + 0.5) / Double(h.count)
            let minPeak = min(h[negPeak], h[posPeak])
            let lo = g.values.min()!, hi = g.values.max()!
            let frac = Double(g.values.filter { abs($0) > 0.8 }.count) / Double(g.values.count)
            print("[spinodal] \(method.rawValue) histogram (21 bins on [-1.05, 1.05]): \(h); peaks at φ ≈ "
                  + String(format: "%.2f / %.2f, count(φ≈0)/peak = %.2f, range [%.3f, %.3f], |φ|>0.8: %.0f %%, std %.3f",
                           centre, centreP, Double(h[mid]) / Double(minPeak), lo, hi, 100 * frac, g.standardDeviation))
            XCTAssertLessThan(centre, -0.7); XCTAssertGreaterThan(centreP, 0.7)
            XCTAssertLessThan(Double(h[mid]), 0.5 * Double(minPeak), "\(method): no minimum between the phases")
            XCTAssertGreaterThan(lo, -1.1); XCTAssertLessThan(hi, 1.1)
        }
    }

    func testMeanMatchesRequest() throws {
        for method in SpinodalMethod.allCases {
            for m in [0.2, -0.3] {   // m = 0 is checked in testPeakWavelengthMatchesRequestBothMethods
                let g = try SpinodalField.generate(small(4, method, mean: m), seed: 5)
                XCTAssertEqual(g.mean, m, accuracy: 1e-5, "\(method) m = \(m)")
            }
        }
    }

    func testDeterminism() throws {
        for method in SpinodalMethod.allCases {
            let p = small(5, method)
            let a = try SpinodalField.generate(p, seed: 42, threads: 1)
            let b = try SpinodalField.generate(p, seed: 42, threads: 2)
            let c = try SpinodalField.generate(p, seed: 43, threads: 2)
            XCTAssertEqual(a, b, "\(method): same seed, different thread counts")
            XCTAssertNotEqual(a.values, c.values, "\(method): different seeds")
            let differing = zip(a.values, c.values).filter { abs($0 - $1) > 0.5 }.count
            XCTAssertGreaterThan(differing, a.values.count / 10)
        }
    }

    func testBadParametersThrowNamingTheParameter() {
        func message(_ p: SpinodalParameters) -> String {
            do { _ = try SpinodalField.generate(p, seed: 1); return "" } catch { return "\(error)" }
        }
        var p = small(5, .cahnHilliard)
        for bad in [0.0, -2.0, .nan, .infinity] {
            p.wavelengthNM = bad
            XCTAssertTrue(message(p).contains("wavelength_nm"), message(p))
        }
        p = small(5, .gaussianRandomField); p.cellsPerWavelength = 3
        XCTAssertTrue(message(p).contains("cells_per_wavelength"), message(p))
        p = small(5, .cahnHilliard); p.maxCellsPerAxis = 20
        XCTAssertTrue(message(p).contains("max_cells_per_axis"), message(p))
        p = small(5, .cahnHilliard); p.boxNM.y = 0
        XCTAssertTrue(message(p).contains("box_nm.y"), message(p))
        p = small(5, .cahnHilliard); p.quenchNoise = 0
        XCTAssertTrue(message(p).contains("quench_noise"), message(p))
        p = small(5, .cahnHilliard); p.steps = 0
        XCTAssertTrue(message(p).contains("steps"), message(p))
        p = small(5, .cahnHilliard); p.meanOrderParameter = 0.6
        XCTAssertTrue(message(p).contains("mean_order_parameter"), message(p))
        print("[spinodal] example message: \(message(small(-1, .cahnHilliard)))")
    }

    func testGridDims() throws {
        // Large box: capped at 96 (already 2-3-5-7-smooth).
        let big = SpinodalParameters(wavelengthNM: 5, boxNM: (100, 100, 300))
        XCTAssertTrue(try big.gridDims() == (96, 96, 96))
        // λ = 8 nm, 8 × 1.4 = 11.2 cells per λ. 37 nm: ⌈51.8⌉ = 52 = 4·13 → 54 = 2·3³; 12 nm → at least 4 λ:
        // ⌈44.8⌉ = 45 = 3²·5; 300 nm → cap 90.
        let p = SpinodalParameters(wavelengthNM: 8, boxNM: (37, 12, 300), maxCellsPerAxis: 90)
        let d = try p.gridDims()
        XCTAssertTrue(d == (54, 45, 90), "\(d)")
    }

    // MARK: Cost

    func testDefaultFieldTiming() throws {
        // The default: λ = 5 nm, a 100 × 100 × 300 nm needle box → 96³ cells, 160 Cahn–Hilliard steps.
        for (method, threads) in [(SpinodalMethod.cahnHilliard, 2), (.gaussianRandomField, 2)] {
            let p = SpinodalParameters(wavelengthNM: 5, method: method, boxNM: (100, 100, 300))
            let cpu0 = clock(), t0 = Date()
            let g = try SpinodalField.generate(p, seed: 1, threads: threads)
            let wall = Date().timeIntervalSince(t0), cpu = Double(clock() - cpu0) / Double(CLOCKS_PER_SEC)
            print(String(format: "[spinodal] default %@ field %d×%d×%d, threads %d: wall %.2f s, CPU %.2f s; "
                         + "spacing %.4f nm (%.2f cells per λ), period %.1f nm",
                         method.rawValue, g.nx, g.ny, g.nz, threads, wall, cpu, g.spacingNM, 5 / g.spacingNM, g.periodNM.x))
            XCTAssertEqual(try SpinodalField.peakWavelengthNM(g), 5, accuracy: 0.5)
        }
    }
}
