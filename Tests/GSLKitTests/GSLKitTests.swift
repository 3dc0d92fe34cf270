import GSLKit
import XCTest

final class GSLKitTests: XCTestCase {
    func testClopperPearsonAgainstTabulatedValues() {
        // Reference values (e.g. R: binom.test(7, 20)$conf.int = 0.1539092 0.5921885).
        let ci = GSL.binomialInterval(successes: 7, trials: 20)
        XCTAssertEqual(ci.lower, 0.1539092, accuracy: 1e-6)
        XCTAssertEqual(ci.upper, 0.5921885, accuracy: 1e-6)
        let zero = GSL.binomialInterval(successes: 0, trials: 10)
        XCTAssertEqual(zero.lower, 0)
        XCTAssertEqual(zero.upper, 0.3084971, accuracy: 1e-6)   // 1 - 0.025^(1/10)
    }

    /// Ion counts of a real dataset: GSL's inverse beta gives NaN there; the interval must stay finite, ordered and
    /// within 1 % of the normal-approximation half-width 1.96 √(f(1−f)/n) around k/n.
    func testClopperPearsonAtLargeCounts() {
        for (k, n) in [(737_000, 900_000), (3_400, 900_000), (450_000, 900_000), (5, 900_000)] {
            let ci = GSL.binomialInterval(successes: k, trials: n)
            let f = Double(k) / Double(n)
            XCTAssertTrue(ci.lower.isFinite && ci.upper.isFinite, "\(k)/\(n)")
            XCTAssertLessThan(ci.lower, f); XCTAssertGreaterThan(ci.upper, f)
            if k > 1000 {
                let half = 1.959964 * (f * (1 - f) / Double(n)).squareRoot()
                XCTAssertEqual((ci.upper - ci.lower) / 2, half, accuracy: 0.01 * half, "\(k)/\(n)")
            }
        }
    }

    func testGarwoodPoissonInterval() {
        // k = 10: 4.795389 … 18.390356 (Garwood 1936 / R poisson.test).
        let ci = GSL.poissonInterval(counts: 10)
        XCTAssertEqual(ci.lower, 4.795389, accuracy: 1e-5)
        XCTAssertEqual(ci.upper, 18.390356, accuracy: 1e-5)
        XCTAssertEqual(GSL.poissonInterval(counts: 0).upper, 3.688879, accuracy: 1e-5)   // -ln(0.025)
    }
}
