import Analysis
import Foundation
import MaterialsData
import SpecimenBuilder
import TwinCore
import XCTest

/// Ground-truth specimens: lattices, needle shape, chemistry and microstructures, measured on the built atoms.
final class SpecimenFactoryTests: XCTestCase {
    let fe = CompositionEntry(z: 26, fraction: 0.486), cr = CompositionEntry(z: 24, fraction: 0.514)

    func spec(_ lattice: CrystalLattice, _ comp: [CompositionEntry], radius: Double = 8, angle: Double = 5, length: Double = 30,
              hkl: SIMD3<Double> = SIMD3(0, 0, 1)) throws -> SpecimenSpec {
        SpecimenSpec(geometry: try NeedleGeometry(apexRadiusNM: radius, shankHalfAngleDeg: angle, lengthNM: length),
                     lattice: lattice, composition: comp, orientation: try Rotation3(crystalDirectionAlongSpecimenZ: hkl))
    }

    /// Mean number of atoms in spheres of radius r at random centres well inside the needle, per nm³.
    func density(_ a: TruthAtoms, radiusNM r: Double, centreZ: ClosedRange<Double>, samples: Int = 40) -> Double {
        var rng = TwinRNG(seed: 99)
        var total = 0
        for _ in 0..<samples {
            let c = SIMD3(rng.uniform() - 0.5, rng.uniform() - 0.5, centreZ.lowerBound + rng.uniform() * (centreZ.upperBound - centreZ.lowerBound))
            for i in 0..<a.count {
                let dx = Double(a.xNM[i]) - c.x, dy = Double(a.yNM[i]) - c.y, dz = Double(a.zNM[i]) - c.z
                if dx * dx + dy * dy + dz * dz <= r * r { total += 1 }
            }
        }
        return Double(total) / Double(samples) / (4.0 / 3.0 * .pi * r * r * r)
    }

    func testNumberDensityOfBccFeAndFccAl() throws {
        let a = 0.28665
        let bcc = try SpecimenFactory.build(try spec(CrystalLattice(kind: .bcc, aNM: a), [CompositionEntry(z: 26, fraction: 1)],
                                                     hkl: SIMD3(1, 1, 0)), seed: 1, threads: 2).atoms
        let nb = density(bcc, radiusNM: 4, centreZ: -22 ... -14)
        XCTAssertEqual(nb, 2 / (a * a * a), accuracy: 0.005 * 2 / (a * a * a), "bcc Fe density \(nb)")
        let al = 0.40495
        let fcc = try SpecimenFactory.build(try spec(CrystalLattice(kind: .fcc, aNM: al), [CompositionEntry(z: 13, fraction: 1)],
                                                     hkl: SIMD3(1, 1, 1)), seed: 1, threads: 2).atoms
        let nf = density(fcc, radiusNM: 4, centreZ: -22 ... -14)
        XCTAssertEqual(nf, 4 / (al * al * al), accuracy: 0.005 * 4 / (al * al * al), "fcc Al density \(nf)")
    }

    func testCompositionAndIsotopesWithinThreeSigma() throws {
        let b = try SpecimenFactory.build(try spec(CrystalLattice(kind: .bcc, aNM: 0.2877), [fe, cr], radius: 10, length: 40),
                                          seed: 3, threads: 2).atoms
        let n = Double(b.count)
        let nCr = Double(b.elementZ.filter { $0 == 24 }.count)
        XCTAssertLessThan(abs(nCr / n - 0.514), 3 * (0.514 * 0.486 / n).squareRoot())
        for (z, count) in [(26, n - nCr), (24, nCr)] {
            for iso in PeriodicTable.element(z: z)!.isotopes {
                var k = 0.0
                for i in 0..<b.count where Int(b.elementZ[i]) == z && Int(b.massNumber[i]) == iso.massNumber { k += 1 }
                let sigma = (iso.abundance * (1 - iso.abundance) / count).squareRoot()
                XCTAssertLessThan(abs(k / count - iso.abundance), 3 * sigma, "Z=\(z) A=\(iso.massNumber): \(k / count) vs \(iso.abundance)")
            }
        }
    }

    func testSameSeedAnyThreadCountGivesIdenticalAtoms() throws {
        var s = try spec(CrystalLattice(kind: .bcc, aNM: 0.2877), [fe, cr], radius: 6, length: 25, hkl: SIMD3(1, 1, 2))
        s.staticDisplacementNM = 0.01
        let field = try SpinodalField.generate(SpinodalParameters(wavelengthNM: 4, boxNM: (14, 14, 25), maxCellsPerAxis: 32), seed: 4)
        s.spinodal = SpinodalChemistry(field: field, soluteZ: 24, amplitudeAtFrac: 0.3)
        let a = try SpecimenFactory.build(s, seed: 8, threads: 1).atoms
        let b = try SpecimenFactory.build(s, seed: 8, threads: 2).atoms
        XCTAssertEqual(a, b)
        let c = try SpecimenFactory.build(s, seed: 9, threads: 2).atoms
        XCTAssertNotEqual(a.elementZ, c.elementZ)
    }

    /// Apex radius and shank angle measured on the built atoms: the outermost atom of each 0.25 nm slice traces
    /// the profile; a circle fit on the cap and a line fit on the shank.
    func testMeasuredApexRadiusAndShankAngle() throws {
        for (radius, angle) in [(20.0, 8.0), (12.0, 3.0)] {
            let g = try NeedleGeometry(apexRadiusNM: radius, shankHalfAngleDeg: angle, lengthNM: 70)
            let s = SpecimenSpec(geometry: g, lattice: try CrystalLattice(kind: .bcc, aNM: 0.2877), composition: [fe, cr],
                                 orientation: try Rotation3(crystalDirectionAlongSpecimenZ: SIMD3(0, 1, 1)))
            let a = try SpecimenFactory.build(s, seed: 2, threads: 2).atoms
            let slice = 0.25
            var rmax = [Int: Double]()
            for i in 0..<a.count {
                let k = Int((Double(-a.zNM[i]) / slice).rounded(.down))
                let rho = Double(a.xNM[i] * a.xNM[i] + a.yNM[i] * a.yNM[i]).squareRoot()
                rmax[k] = max(rmax[k] ?? 0, rho)
            }
            let profile = rmax.keys.sorted().map { (z: -(Double($0) + 0.5) * slice, r: rmax[$0]!) }
            // Shank: the lower half of the needle, well below the cap.
            let shank = profile.filter { $0.z < -35 && $0.z > -65 }
            let mz = shank.map(\.z).reduce(0, +) / Double(shank.count), mr = shank.map(\.r).reduce(0, +) / Double(shank.count)
            let slope = shank.reduce(0) { $0 + ($1.z - mz) * ($1.r - mr) } / shank.reduce(0) { $0 + ($1.z - mz) * ($1.z - mz) }
            let measuredAngle = atan(-slope) * 180 / .pi
            XCTAssertEqual(measuredAngle, angle, accuracy: 0.2, "shank angle for R=\(radius), α=\(angle)")
            // Cap: fit ρ² + z² = 2 zc z + K over the slices above the tangency circle (excluding the last atom layers).
            let cap = profile.filter { $0.z > g.tangencyZNM + 0.5 && $0.z < -0.5 }
            var s11 = 0.0, s12 = 0.0, s22 = 0.0, b1 = 0.0, b2 = 0.0
            for p in cap {
                let y = p.r * p.r + p.z * p.z
                s11 += p.z * p.z * 4; s12 += 2 * p.z; s22 += 1; b1 += 2 * p.z * y; b2 += y
            }
            let det = s11 * s22 - s12 * s12
            let zc = (b1 * s22 - b2 * s12) / det, k = (s11 * b2 - s12 * b1) / det
            let measuredR = (k + zc * zc).squareRoot()
            XCTAssertEqual(measuredR, radius, accuracy: 0.02 * radius, "apex radius for R=\(radius)")
        }
    }

    func testBicrystalMisorientationRecoveredFromAtomPositions() throws {
        let a = 0.2877
        var s = try spec(CrystalLattice(kind: .bcc, aNM: a), [CompositionEntry(z: 26, fraction: 1)], radius: 8, length: 40)
        let plane = try BoundaryPlane(pointNM: SIMD3(0, 0, -20), normal: SIMD3(0.2, 0, 1))
        let gb = try GrainBoundarySpec(plane: plane, misorientationAxis: SIMD3(1, 1, 0), angleDeg: 35)
        let base = s.grains.orientations[0]
        s.grains = GrainSetup(map: PlanarGrains(specs: [gb]), orientations: GrainBoundarySpec.grainOrientations(base: base, boundaries: [gb]))
        let b = try SpecimenFactory.build(s, seed: 1, threads: 2)
        let atoms = b.atoms
        XCTAssertEqual(Set(atoms.grain), [0, 1])
        // Interior atoms of each grain: ≥ 2 nm from the boundary, ≤ 5 nm from the axis.
        var idx: [[Int]] = [[], []]
        for i in 0..<atoms.count {
            let d = plane.signedDistanceNM(xNM: Double(atoms.xNM[i]), yNM: Double(atoms.yNM[i]), zNM: Double(atoms.zNM[i]))
            let rho2 = atoms.xNM[i] * atoms.xNM[i] + atoms.yNM[i] * atoms.yNM[i]
            if abs(d) > 2, rho2 < 25, atoms.zNM[i] < -10 { idx[Int(atoms.grain[i])].append(i) }
        }
        let o0 = try LatticeOrientation.estimateCubic(xNM: atoms.xNM, yNM: atoms.yNM, zNM: atoms.zNM, indices: Array(idx[0].prefix(4000)), latticeConstantNM: a)
        let o1 = try LatticeOrientation.estimateCubic(xNM: atoms.xNM, yNM: atoms.yNM, zNM: atoms.zNM, indices: Array(idx[1].prefix(4000)), latticeConstantNM: a)
        XCTAssertEqual(LatticeOrientation.misorientationDeg(o0, o1), 35, accuracy: 0.5)
        // No pair of atoms closer than 0.6 nearest-neighbour distances survives at the boundary.
        XCTAssertGreaterThan(b.removedAtBoundaries, 0)
    }

    /// The spinodal chemistry on the atoms: Cr fractions folded into one period of the field reproduce the
    /// requested wavelength (structure-factor peak within 10 %) and a bimodal distribution at mean ± amplitude.
    func testSpinodalWavelengthAndBimodalityOnAtoms() throws {
        let lambda = 5.0, amplitude = 0.35
        var s = try spec(CrystalLattice(kind: .bcc, aNM: 0.2877), [fe, cr], radius: 10, length: 40)
        let field = try SpinodalField.generate(SpinodalParameters(wavelengthNM: lambda, boxNM: (24, 24, 40), maxCellsPerAxis: 32), seed: 12)
        s.spinodal = SpinodalChemistry(field: field, soluteZ: 24, amplitudeAtFrac: amplitude)
        let atoms = try SpecimenFactory.build(s, seed: 12, threads: 2).atoms
        let (nx, ny, nz) = field.dims
        let h = field.spacingNM
        // Fold every atom into one period of the field (grid layout: z fastest, (ix·ny + iy)·nz + iz).
        var total = [Int](repeating: 0, count: nx * ny * nz), crCount = total
        func wrap(_ v: Double, _ n: Int) -> Int { let k = Int((v / h).rounded(.down)) % n; return k < 0 ? k + n : k }
        for i in 0..<atoms.count {
            let c = (wrap(Double(atoms.xNM[i]), nx) * ny + wrap(Double(atoms.yNM[i]), ny)) * nz + wrap(Double(atoms.zNM[i]), nz)
            total[c] += 1
            if atoms.elementZ[i] == 24 { crCount[c] += 1 }
        }
        let mean = Double(crCount.reduce(0, +)) / Double(total.reduce(0, +))
        let values = zip(crCount, total).map { $1 > 0 ? Float(Double($0) / Double($1) - mean) : 0 }
        let folded = try PeriodicScalarGrid(nx: nx, ny: ny, nz: nz, spacingNM: h, values: values)
        let peak = try SpinodalField.peakWavelengthNM(folded)
        XCTAssertEqual(peak, lambda, accuracy: 0.1 * lambda, "structure-factor peak from atoms")
        // Bimodal: the histogram of the Cr fraction in 2×2×2-cell voxels (≥ 60 atoms each, so counting noise
        // stays below the phase separation) has maxima near mean ± amplitude and a minimum between them.
        var hist = [Int](repeating: 0, count: 20)
        for bx in 0..<(nx / 2) { for by in 0..<(ny / 2) { for bz in 0..<(nz / 2) {
            var t = 0, c = 0
            for dx in 0..<2 { for dy in 0..<2 { for dz in 0..<2 {
                let k = ((2 * bx + dx) * ny + 2 * by + dy) * nz + 2 * bz + dz
                t += total[k]; c += crCount[k]
            } } }
            if t >= 60 { hist[min(19, Int(Double(c) / Double(t) * 20))] += 1 }
        } } }
        let lowPeak = (0..<10).max { hist[$0] < hist[$1] }!, highPeak = (10..<20).max { hist[$0] < hist[$1] }!
        let centre = Double(hist[9] + hist[10]) / 2
        XCTAssertLessThan(centre, 0.6 * Double(min(hist[lowPeak], hist[highPeak])), "histogram \(hist)")
        XCTAssertEqual((Double(lowPeak) + 0.5) / 20, 0.514 - amplitude, accuracy: 0.1, "histogram \(hist)")
        XCTAssertEqual((Double(highPeak) + 0.5) / 20, 0.514 + amplitude, accuracy: 0.1, "histogram \(hist)")
        // Cr-rich regions reach well above the paper's 28 at% isosurface level, and phases are labelled.
        XCTAssertGreaterThan(Double(highPeak) / 20, 0.6)
        XCTAssertTrue(atoms.phase.contains(PhaseLabel.soluteRich.rawValue))
        XCTAssertLessThan(abs(mean - 0.514), 0.01)
    }

    func testPrecipitatesSurfaceLayerAndBands() throws {
        var s = try spec(CrystalLattice(kind: .fcc, aNM: 0.405), [CompositionEntry(z: 13, fraction: 0.995), CompositionEntry(z: 47, fraction: 0.005)],
                         radius: 10, length: 40)
        s.precipitates = PrecipitateSpec(numberDensityPerNM3: 0.002, shape: .sphere, radiusNM: 1.5, radiusRelSpread: 0,
                                         composition: [CompositionEntry(z: 47, fraction: 0.6), CompositionEntry(z: 13, fraction: 0.4)])
        s.surfaceLayerThicknessNM = 0.8
        s.surfaceLayerComposition = [CompositionEntry(z: 8, fraction: 1)]
        let b = try SpecimenFactory.build(s, seed: 5, threads: 2)
        XCTAssertEqual(Double(b.precipitates.count), 0.002 * s.geometry.volumeNM3, accuracy: 1)
        let a = b.atoms
        // Inside precipitates (phase label) Ag ≈ 60 %; the layer is all O and lies at the surface.
        var pAg = 0, pAll = 0, layer = 0
        for i in 0..<a.count {
            if a.phase[i] == PhaseLabel.precipitate.rawValue { pAll += 1; if a.elementZ[i] == 47 { pAg += 1 } }
            if a.phase[i] == PhaseLabel.surfaceLayer.rawValue {
                layer += 1
                XCTAssertEqual(a.elementZ[i], 8)
                XCTAssertLessThan(s.geometry.depthBelowSurfaceNM(xNM: Double(a.xNM[i]), yNM: Double(a.yNM[i]), zNM: Double(a.zNM[i])), 0.8 + 1e-6)
            }
        }
        XCTAssertGreaterThan(pAll, 500)
        XCTAssertEqual(Double(pAg) / Double(pAll), 0.6, accuracy: 3 * (0.24 / Double(pAll)).squareRoot() + 0.01)
        // Each precipitate holds the atoms expected from its volume (those not overridden by the surface layer).
        let p = b.precipitates[0]
        let expected = 4.0 / 3.0 * .pi * pow(p.radiusNM, 3) * s.lattice.numberDensityPerNM3
        var inside = 0
        for i in 0..<a.count {
            let d = SIMD3(Double(a.xNM[i]), Double(a.yNM[i]), Double(a.zNM[i])) - p.centreNM
            if (d * d).sum() <= p.radiusNM * p.radiusNM { inside += 1 }
        }
        XCTAssertEqual(Double(inside), expected, accuracy: 0.15 * expected)
        XCTAssertGreaterThan(layer, 1000)
    }

    func testBadParametersGiveClearErrors() throws {
        XCTAssertThrowsError(try NeedleGeometry(apexRadiusNM: -5, shankHalfAngleDeg: 5, lengthNM: 30)) {
            XCTAssertTrue("\($0)".contains("apex_radius_nm"), "\($0)")
        }
        XCTAssertThrowsError(try NeedleGeometry(apexRadiusNM: 20, shankHalfAngleDeg: 5, lengthNM: 10)) {
            XCTAssertTrue("\($0)".contains("length_nm"), "\($0)")
        }
        let bad = try spec(CrystalLattice(kind: .bcc, aNM: 0.2877), [CompositionEntry(z: 26, fraction: 0.5), CompositionEntry(z: 24, fraction: 0.4)])
        XCTAssertThrowsError(try SpecimenFactory.build(bad, seed: 1, threads: 1)) {
            XCTAssertTrue("\($0)".contains("sums to 0.9"), "\($0)")
        }
        XCTAssertThrowsError(try CrystalLattice(kind: .bcc, aNM: 0)) { XCTAssertTrue("\($0)".contains("lattice_constant_nm"), "\($0)") }
        let missing = try PlanarGrains(specs: [GrainBoundarySpec(plane: BoundaryPlane(pointNM: SIMD3(0, 0, -500), normal: SIMD3(0, 0, 1)),
                                                                 misorientationAxis: SIMD3(0, 0, 1), angleDeg: 10)])
        XCTAssertThrowsError(try missing.validate(zMinNM: -30, zMaxNM: 0, radiusNM: 10)) {
            XCTAssertTrue("\($0)".contains("does not cross the needle"), "\($0)")
        }
    }
}
