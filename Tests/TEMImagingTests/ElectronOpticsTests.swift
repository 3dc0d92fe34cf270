import Foundation
import XCTest
@testable import TEMImaging

final class ElectronOpticsTests: XCTestCase {
    let f200 = MicroscopeParameters()

    /// λ from the textbook short form λ = 1.2264260 / √(V(1 + 0.97847559e-6·V)) nm (h/√(2m₀e) and e/2m₀c² from
    /// CODATA 2018), independent of the module's constants.
    func textbookWavelengthNM(_ kv: Double) -> Double {
        let v = kv * 1e3
        return 1.226_425_966 / (v * (1 + 0.978_475_592e-6 * v)).squareRoot()
    }

    func testWavelengthAt200kV() {
        let lam = ElectronOptics.wavelengthNM(kv: 200)
        XCTAssertEqual(lam, 2.5079e-3, accuracy: 2.5079e-3 * 1e-4)
        XCTAssertEqual(lam, textbookWavelengthNM(200), accuracy: lam * 1e-8)
        // 300 kV: 1.9687 pm; 100 kV: 3.7014 pm (Kirkland's table 2.2).
        XCTAssertEqual(ElectronOptics.wavelengthNM(kv: 300), 1.9687e-3, accuracy: 1e-7)
        XCTAssertEqual(ElectronOptics.wavelengthNM(kv: 100), 3.7014e-3, accuracy: 1e-7)
    }

    func testInteractionConstantAt200kV() {
        let s = ElectronOptics.interactionConstantRadPerVNM(kv: 200)
        XCTAssertEqual(s, 7.29e-3, accuracy: 7.29e-3 * 0.005)
        // σ = 2π m e λ / h² with m = γm₀, evaluated from SI constants.
        let h = 6.626_070_15e-34, e = 1.602_176_634e-19, m0 = 9.109_383_7015e-31, c = 299_792_458.0
        let gamma = 1 + e * 200e3 / (m0 * c * c)
        let sigmaSI = 2 * Double.pi * gamma * m0 * e * textbookWavelengthNM(200) * 1e-9 / (h * h)   // rad/(V·m)
        XCTAssertEqual(s, sigmaSI * 1e-9, accuracy: s * 1e-6)
    }

    func testScherzerDefocusAndPointResolution() {
        XCTAssertEqual(ElectronOptics.scherzerDefocusNM(f200), 61.3, accuracy: 0.1)
        let d = ElectronOptics.pointResolutionNM(f200)
        XCTAssertEqual(d, 0.23, accuracy: 0.01)
        // It is the first zero of sin χ at Scherzer: sin χ < 0 just inside, > 0 just outside, χ = 0 at 1/d.
        var p = f200
        p.defocusNM = ElectronOptics.scherzerDefocusNM(f200)
        XCTAssertEqual(ElectronOptics.chiRad(kPerNM: 1 / d, p), 0, accuracy: 1e-9)
        XCTAssertLessThan(ElectronOptics.ctf(kPerNM: 0.99 / d, p), 0)
        XCTAssertGreaterThan(ElectronOptics.ctf(kPerNM: 1.01 / d, p), 0)
        // No earlier zero in the passband.
        for i in 1..<99 { XCTAssertLessThan(ElectronOptics.ctf(kPerNM: Double(i) / 100 / d, p), 0) }
        // Minimum of χ at Scherzer is −¾π.
        let kMin = (p.defocusNM / (p.csMM * 1e6 * pow(ElectronOptics.wavelengthNM(kv: 200), 2))).squareRoot()
        XCTAssertEqual(ElectronOptics.chiRad(kPerNM: kMin, p), -0.75 * Double.pi, accuracy: 1e-9)
    }

    func testChiMatchesTextbookFormula() {
        let lam = textbookWavelengthNM(200)
        for df in [-200.0, -61.3, 0, 30, 61.3, 500, 2000] {
            for cs in [0.0, 0.5, 1.0, 1.2] {
                var p = f200
                p.defocusNM = df; p.csMM = cs
                for k in [0.1, 0.5, 1.0, 2.0, 2.95, 4.0] {
                    // Kirkland: χ = ½πCsλ³k⁴ − πλΔf k² (Δf > 0 underfocus).
                    let expected = 0.5 * Double.pi * cs * 1e6 * pow(lam, 3) * pow(k, 4) - Double.pi * lam * df * k * k
                    let got = ElectronOptics.chiRad(kPerNM: k, p)
                    XCTAssertEqual(got, expected, accuracy: max(1e-12, abs(expected) * 1e-6), "Δf \(df) Cs \(cs) k \(k)")
                    XCTAssertEqual(ElectronOptics.ctf(kPerNM: k, p), sin(expected), accuracy: 1e-5)
                }
            }
        }
    }

    func testCTFTableAgreesWithChi() {
        var p = f200
        p.defocusNM = 61.3
        let table = ElectronOptics.ctfTable(maxKPerNM: 5, steps: 500, p)
        XCTAssertEqual(table.count, 501)
        XCTAssertEqual(table.first!.kPerNM, 0)
        XCTAssertEqual(table.last!.kPerNM, 5, accuracy: 1e-12)
        for row in table {
            XCTAssertEqual(row.chiRad, ElectronOptics.chiRad(kPerNM: row.kPerNM, p))
            XCTAssertEqual(row.ctf, sin(row.chiRad), accuracy: 1e-15)
        }
        let damped = ElectronOptics.ctfTable(maxKPerNM: 5, steps: 50, p, withEnvelopes: true)
        for row in damped {
            let e = ElectronOptics.aperture(kPerNM: row.kPerNM, p) * ElectronOptics.temporalEnvelope(kPerNM: row.kPerNM, p)
                * ElectronOptics.spatialEnvelope(kPerNM: row.kPerNM, p)
            XCTAssertEqual(row.ctf, sin(row.chiRad) * e, accuracy: 1e-15)
        }
    }

    func testEnvelopesAndTransferFunction() {
        let lam = textbookWavelengthNM(200)
        // Focal spread: Cc·(ΔE_FWHM/2.3548)/E·(1 + E/E₀)/(1 + E/2E₀) = 2.372 nm for the F200 defaults.
        let delta = ElectronOptics.focalSpreadNM(f200)
        XCTAssertEqual(delta, 2.372, accuracy: 0.002)
        for k in [0.5, 2.0, 3.5] {
            XCTAssertEqual(ElectronOptics.temporalEnvelope(kPerNM: k, f200),
                           exp(-0.5 * pow(Double.pi * lam * delta * k * k, 2)), accuracy: 1e-9)
        }
        // Spatial envelope is exactly 1 where χ is stationary (k² = Δf/(Csλ²)) and < 1 elsewhere.
        var p = f200
        p.defocusNM = 61.3
        p.convergenceSemiAngleMrad = 0.5
        let k0 = (p.defocusNM / (1e6 * lam * lam)).squareRoot()
        XCTAssertEqual(ElectronOptics.spatialEnvelope(kPerNM: k0, p), 1, accuracy: 1e-9)
        XCTAssertLessThan(ElectronOptics.spatialEnvelope(kPerNM: 2 * k0, p), 0.99)
        XCTAssertLessThan(ElectronOptics.spatialEnvelope(kPerNM: 0.5 * k0, p), 1)
        // Aperture: cut at α/λ = 3.99 nm⁻¹ for 10 mrad; none when 0.
        XCTAssertEqual(ElectronOptics.aperture(kPerNM: 3.98, f200), 1)
        XCTAssertEqual(ElectronOptics.aperture(kPerNM: 4.0, f200), 0)
        var open = f200
        open.objectiveApertureSemiAngleMrad = 0
        XCTAssertEqual(ElectronOptics.aperture(kPerNM: 100, open), 1)
        // H = A·E·exp(−iχ).
        for k in [0.3, 1.7, 3.0] {
            let h = ElectronOptics.transferFunction(kPerNM: k, p)
            let chi = ElectronOptics.chiRad(kPerNM: k, p)
            let e = ElectronOptics.temporalEnvelope(kPerNM: k, p) * ElectronOptics.spatialEnvelope(kPerNM: k, p)
            XCTAssertEqual(h.re, e * cos(chi), accuracy: 1e-12)
            XCTAssertEqual(h.im, -e * sin(chi), accuracy: 1e-12)
            let bare = ElectronOptics.transferFunction(kPerNM: k, p, withEnvelopes: false)
            XCTAssertEqual(bare.re * bare.re + bare.im * bare.im, 1, accuracy: 1e-12)
        }
        // Delocalisation: Δf·λ·k dominates at large defocus.
        var far = open
        far.defocusNM = 1000; far.csMM = 0; far.energySpreadEV = 0; far.convergenceSemiAngleMrad = 0
        XCTAssertEqual(ElectronOptics.delocalisationNM(maxKPerNM: 2, far), 1000 * lam * 2, accuracy: 1e-6)
    }
}
