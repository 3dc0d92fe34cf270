import XCTest
@testable import MaterialsData

final class IsotopeTableTests: XCTestCase {
    func testFe56DoublyChargedMassToCharge() throws {
        let m = try XCTUnwrap(PeriodicTable.isotopeMassDa(z: 26, massNumber: 56))
        XCTAssertEqual(m, 55.934936, accuracy: 5e-7)
        XCTAssertEqual(ionMassToChargeDa(massDa: m, charge: 2), 27.967, accuracy: 0.001)
        XCTAssertEqual(PeriodicTable.isotopeMassDa(symbol: "Fe", massNumber: 56), m)
    }

    func testTableCoversElements1To118() {
        XCTAssertEqual(PeriodicTable.elements.count, 118)
        for (i, e) in PeriodicTable.elements.enumerated() { XCTAssertEqual(e.z, i + 1) }
        XCTAssertNil(PeriodicTable.element(z: 0))
        XCTAssertNil(PeriodicTable.element(z: 119))
        // Every element up to Bi except Tc and Pm has natural isotopes, plus Th, Pa, U.
        for z in 1...92 {
            let e = PeriodicTable.element(z: z)!
            let expectNone = [43, 61].contains(z) || (84...89).contains(z)
            XCTAssertEqual(e.isotopes.isEmpty, expectNone, "\(e.symbol)")
        }
        for z in 93...118 { XCTAssertTrue(PeriodicTable.element(z: z)!.isotopes.isEmpty) }
    }

    func testAbundancesSumToOne() {
        for e in PeriodicTable.elements where !e.isotopes.isEmpty {
            let sum = e.isotopes.reduce(0) { $0 + $1.abundance }
            XCTAssertEqual(sum, 1, accuracy: 1e-4, "\(e.symbol)")
            XCTAssertEqual(sum, 1, accuracy: 1e-9, "\(e.symbol) should be renormalised")
            for i in e.isotopes { XCTAssertGreaterThan(i.abundance, 0, "\(e.symbol)-\(i.massNumber)") }
        }
    }

    func testIronAndChromiumAbundances() throws {
        let fe = try XCTUnwrap(PeriodicTable.element(symbol: "Fe"))
        let expectedFe: [Int: Double] = [54: 0.05845, 56: 0.91754, 57: 0.02119, 58: 0.00282]
        XCTAssertEqual(fe.isotopes.map(\.massNumber), [54, 56, 57, 58])
        for (a, x) in expectedFe { XCTAssertEqual(try XCTUnwrap(fe.isotope(a)).abundance, x, accuracy: 1e-7) }
        let cr = try XCTUnwrap(PeriodicTable.element(symbol: "Cr"))
        let expectedCr: [Int: Double] = [50: 0.04345, 52: 0.83789, 53: 0.09501, 54: 0.02365]
        XCTAssertEqual(cr.isotopes.map(\.massNumber), [50, 52, 53, 54])
        for (a, x) in expectedCr { XCTAssertEqual(try XCTUnwrap(cr.isotope(a)).abundance, x, accuracy: 1e-7) }
        XCTAssertEqual(fe.meanMassDa, 55.845, accuracy: 0.002)
        XCTAssertEqual(cr.meanMassDa, 51.996, accuracy: 0.002)
    }

    func testPrimordialRadionuclidesIncluded() throws {
        XCTAssertEqual(try XCTUnwrap(PeriodicTable.element(symbol: "K")?.isotope(40)).abundance, 0.000117, accuracy: 1e-9)
        XCTAssertNotNil(PeriodicTable.element(symbol: "Th")?.isotope(232))
        let u = try XCTUnwrap(PeriodicTable.element(symbol: "U"))
        XCTAssertEqual(u.isotopes.map(\.massNumber), [234, 235, 238])
        XCTAssertEqual(try XCTUnwrap(u.isotope(235)).abundance, 0.0072, accuracy: 1e-5)
        XCTAssertEqual(u.meanMassDa, 238.029, accuracy: 0.001)
    }

    func testRepresentativeCompositionOfIntervalElements() throws {
        // NIST / IUPAC representative values, not interval midpoints.
        XCTAssertEqual(try XCTUnwrap(PeriodicTable.element(symbol: "Li")?.isotope(6)).abundance, 0.0759, accuracy: 1e-6)
        XCTAssertEqual(try XCTUnwrap(PeriodicTable.element(symbol: "H")?.isotope(1)).abundance, 0.999885, accuracy: 1e-7)
        XCTAssertEqual(try XCTUnwrap(PeriodicTable.element(symbol: "C")?.isotope(13)).abundance, 0.0107, accuracy: 1e-7)
        // Si: IUPAC 1997 value 0.922297 (IUPAC 2009: 0.92223); the interval midpoint would be 0.922545.
        XCTAssertEqual(try XCTUnwrap(PeriodicTable.element(symbol: "Si")?.isotope(28)).abundance, 0.9223, accuracy: 1e-4)
    }

    func testLookupBySymbolAndZAgree() {
        for e in PeriodicTable.elements {
            XCTAssertEqual(PeriodicTable.element(symbol: e.symbol), e)
            XCTAssertEqual(PeriodicTable.element(z: e.z), e)
            XCTAssertFalse(e.name.isEmpty)
        }
        XCTAssertEqual(Set(PeriodicTable.elements.map(\.symbol)).count, 118)
        XCTAssertEqual(PeriodicTable.element(symbol: "W")?.z, 74)
        XCTAssertEqual(PeriodicTable.element(symbol: "Al")?.name, "Aluminium")
    }

    func testUnknownSymbolReturnsNil() {
        XCTAssertNil(PeriodicTable.element(symbol: "Xx"))
        XCTAssertNil(PeriodicTable.element(symbol: ""))
        XCTAssertNil(PeriodicTable.element(symbol: "fe"))   // case-sensitive
        XCTAssertNil(PeriodicTable.element(symbol: "FE"))
        XCTAssertNil(PeriodicTable.isotopeMassDa(z: 26, massNumber: 55))   // not naturally occurring
        XCTAssertNil(PeriodicTable.isotopeMassDa(symbol: "Qq", massNumber: 1))
        XCTAssertNil(PeriodicTable.evaporation(symbol: "Xx"))
        XCTAssertNil(PeriodicTable.lattice(symbol: "Xx"))
    }

    func testNoDuplicateMassNumbersAndSorted() {
        for e in PeriodicTable.elements {
            let a = e.isotopes.map(\.massNumber)
            XCTAssertEqual(Set(a).count, a.count, "\(e.symbol)")
            XCTAssertEqual(a, a.sorted(), "\(e.symbol)")
        }
    }

    func testMassesCloseToMassNumber() {
        for e in PeriodicTable.elements {
            for i in e.isotopes {
                XCTAssertLessThan(abs(i.massDa - Double(i.massNumber)), 0.5, "\(e.symbol)-\(i.massNumber)")
            }
        }
        XCTAssertEqual(PeriodicTable.isotopeMassDa(z: 6, massNumber: 12), 12.0)
    }

    func testMassToChargeConvention() {
        XCTAssertEqual(ionMassToChargeDa(massDa: 26.98153841, charge: 1), 26.98153841)
        XCTAssertEqual(ionMassToChargeDa(massDa: 183.95093, charge: 3), 61.31698, accuracy: 1e-5)
    }
}

final class EvaporationDataTests: XCTestCase {
    static let required = ["H", "C", "N", "O", "Al", "Si", "Cr", "Fe", "Ni", "Cu", "Ga", "Ag", "W"]
    static let optional = ["Mo", "Ti", "Mg", "Zn", "Au", "Pt", "V", "Mn", "Co"]

    func testRequiredElementsHaveDataAndIncreasingIonisationEnergies() throws {
        for s in Self.required + Self.optional {
            let p = try XCTUnwrap(PeriodicTable.evaporation(symbol: s), s)
            XCTAssertGreaterThan(p.evaporationFieldVPerNM, 0, s)
            XCTAssertTrue((1...4).contains(p.usualChargeState), s)
            XCTAssertFalse(p.ionisationEnergiesEV.isEmpty, s)
            XCTAssertLessThanOrEqual(p.ionisationEnergiesEV.count, 4, s)
            XCTAssertGreaterThanOrEqual(p.ionisationEnergiesEV.count, min(p.usualChargeState, 2), s)
            for k in 1..<p.ionisationEnergiesEV.count {
                XCTAssertGreaterThan(p.ionisationEnergiesEV[k], p.ionisationEnergiesEV[k - 1], s)
            }
            XCTAssertFalse(p.source.isEmpty, s)
            if let phi = p.workFunctionEV { XCTAssertTrue((2...7).contains(phi), s) }
        }
        XCTAssertEqual(Set(PeriodicTable.elementsWithEvaporationData),
                       Set((Self.required + Self.optional).map { PeriodicTable.element(symbol: $0)!.z }))
    }

    func testReferenceValues() throws {
        let expected: [(String, Double, Int, [Double], Double)] = [
            ("Fe", 33, 2, [7.87, 16.18, 30.65, 54.8], 4.4),
            ("Cr", 29, 2, [6.77, 16.5, 30.96, 49.1], 4.6),
            ("W", 57, 3, [7.86403, 16.37, 26.0, 38.2], 4.5),
            ("Al", 19, 1, [5.99, 18.83, 28.45, 119.99], 3.7),
            ("Ag", 24, 1, [7.58, 21.49, 34.83, 56], 4.6),
            ("Cu", 30, 1, [7.73, 20.29, 36.83, 55.2], 4.6),
        ]
        for (s, f, n, ie, phi) in expected {
            let p = try XCTUnwrap(PeriodicTable.evaporation(symbol: s))
            XCTAssertEqual(p.evaporationFieldVPerNM, f, s)
            XCTAssertEqual(p.usualChargeState, n, s)
            XCTAssertEqual(p.ionisationEnergiesEV, ie, s)
            XCTAssertEqual(p.workFunctionEV, phi, s)
            XCTAssertFalse(p.fieldIsEstimate, s)
        }
        XCTAssertEqual(PeriodicTable.evaporation(symbol: "Ni")?.evaporationFieldVPerNM, 35)
        XCTAssertEqual(PeriodicTable.evaporation(symbol: "Ga")?.usualChargeState, 1)
        XCTAssertEqual(PeriodicTable.evaporation(symbol: "Si")?.usualChargeState, 2)
        for s in ["H", "C", "N", "O"] { XCTAssertEqual(PeriodicTable.evaporation(symbol: s)?.fieldIsEstimate, true, s) }
        XCTAssertEqual(PeriodicTable.evaporation(symbol: "H")?.ionisationEnergiesEV.count, 1)
        XCTAssertNil(PeriodicTable.evaporation(z: 2))
    }
}

final class LatticeDataTests: XCTestCase {
    func testIronNumberDensity() throws {
        let fe = try XCTUnwrap(PeriodicTable.lattice(symbol: "Fe"))
        XCTAssertEqual(fe.type, .bcc)
        XCTAssertEqual(fe.aNM, 0.28665)
        XCTAssertEqual(fe.atomsPerCell, 2)
        XCTAssertGreaterThanOrEqual(fe.numberDensityPerNM3, 84.9)
        XCTAssertLessThanOrEqual(fe.numberDensityPerNM3, 85.0)
        XCTAssertEqual(fe.atomicVolumeNM3 * fe.numberDensityPerNM3, 1, accuracy: 1e-12)
    }

    func testRequiredLattices() throws {
        let expected: [(String, LatticeType, Double)] = [
            ("Fe", .bcc, 0.28665), ("Cr", .bcc, 0.2884), ("W", .bcc, 0.3165), ("Al", .fcc, 0.40495),
            ("Ag", .fcc, 0.4086), ("Cu", .fcc, 0.3615), ("Ni", .fcc, 0.3524), ("Si", .diamond, 0.5431),
        ]
        for (s, t, a) in expected {
            let l = try XCTUnwrap(PeriodicTable.lattice(symbol: s), s)
            XCTAssertEqual(l.type, t, s)
            XCTAssertEqual(l.aNM, a, s)
            XCTAssertNil(l.cNM, s)
        }
        for s in ["Mo", "V", "Ta", "Nb"] { XCTAssertEqual(PeriodicTable.lattice(symbol: s)?.type, .bcc, s) }
        for s in ["Au", "Pt", "Pd"] { XCTAssertEqual(PeriodicTable.lattice(symbol: s)?.type, .fcc, s) }
        for s in ["Ti", "Mg", "Zn"] {
            let l = try XCTUnwrap(PeriodicTable.lattice(symbol: s), s)
            XCTAssertEqual(l.type, .hcp, s)
            XCTAssertNotNil(l.cNM, s)
        }
    }

    func testAtomsPerCellAndDensities() throws {
        XCTAssertEqual(LatticeType.bcc.atomsPerCell, 2)
        XCTAssertEqual(LatticeType.fcc.atomsPerCell, 4)
        XCTAssertEqual(LatticeType.diamond.atomsPerCell, 8)
        XCTAssertEqual(LatticeType.hcp.atomsPerCell, 2)
        // Known number densities (atoms/nm³): Al 60.2, Cu 84.7, Si 50.0, Ti 56.7, W 63.1.
        let known: [(String, Double)] = [("Al", 60.2), ("Cu", 84.7), ("Si", 49.9), ("Ti", 56.7), ("W", 63.1)]
        for (s, n) in known {
            XCTAssertEqual(try XCTUnwrap(PeriodicTable.lattice(symbol: s)).numberDensityPerNM3, n, accuracy: 0.2, s)
        }
        // Mass density check against handbook values (g/cm³) with the isotope table's mean mass.
        let rho: [(String, Double)] = [("Fe", 7.87), ("Al", 2.70), ("Cu", 8.96), ("W", 19.3), ("Ni", 8.91)]
        for (s, r) in rho {
            let m = try XCTUnwrap(PeriodicTable.element(symbol: s)).meanMassDa * 1.66053906660e-24 // g
            let n = try XCTUnwrap(PeriodicTable.lattice(symbol: s)).numberDensityPerNM3 * 1e21  // per cm³
            XCTAssertEqual(m * n, r, accuracy: 0.03 * r, s)
        }
    }
}
