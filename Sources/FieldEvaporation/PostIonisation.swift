import Foundation
import MaterialsData
import TwinCore

/// Charge states from field-induced post-ionisation (Kingham, Surf. Sci. 116 (1982) 273).
///
/// An ion leaves the surface as M⁺ and may lose further electrons by tunnelling back into the tip while it is
/// still within a few ångströms to a nanometre of the surface. For M^{n+} → M^{(n+1)+} the electron (binding energy
/// I_{n+1}) can only tunnel into empty metal states, i.e. once the ion is beyond the critical distance where
/// I_{n+1} − φ = e[Φ(0) − Φ(x)]. Its tunnelling rate is k(x) = ν_e exp(−G(x)), with the WKB exponent
/// G = 2 ∫ √(2mₑ(U(u) − E)) / ħ du through the barrier
/// U(u) = −1.44 (n+1)/u − [Φ(x − u) − Φ(x)] − 1.44 / (4(x − u))   (eV, nm: ion-core attraction, applied field,
/// electron image), E = −I_{n+1}, and ν_e = I_{n+1}/h the electron's orbital frequency. The field decays as from a
/// sphere of the apex radius R: Φ(s) = F₀R²/(R + s). The ion flies with v(x) = √(2neΔΦ(x)/m), so
/// P_{n→n+1} = 1 − exp(−∫ k(x)/v(x) dx). Successive steps give the charge-state distribution; only the
/// ionisation energies and work function of the materials data enter. Like Kingham's, the model ignores the
/// ion-level shifts (polarisation, ion image), so ratios are indicative within a few V/nm of the crossover fields.
/// Measured against the usual charge states: Al⁺, Ag⁺, Cr²⁺ and Fe²⁺ dominate at their evaporation fields as
/// observed; Cu comes out 2+ at 30 V/nm (Cu⁺ is common in experiments) and W 4+ at 57 V/nm (W³⁺ and W⁴⁺ are both
/// seen, W³⁺ usually dominant): the barrier for the third and fourth electron is too low in this simple form.
public struct PostIonisationModel: Sendable {
    /// Per element (Z): field grid and P_{n→n+1} at each grid field for n = 1, 2, 3.
    private var tables: [Int: Table] = [:]
    public let apexRadiusNM: Double

    struct Table: Sendable {
        var fieldsVPerNM: [Double]
        /// probabilities[n-1][k]: P_{n→n+1} at fieldsVPerNM[k].
        var probabilities: [[Double]]
        var maxCharge: Int
    }

    /// Builds tables for the elements `zs` at apex radius `apexRadiusNM` over fields 5–120 V/nm.
    public init(elements zs: [Int], apexRadiusNM: Double) {
        self.apexRadiusNM = apexRadiusNM
        for z in zs {
            guard let ev = PeriodicTable.evaporation(z: z) else { continue }
            let phi = ev.workFunctionEV ?? 4.5
            let massDa = PeriodicTable.element(z: z)?.meanMassDa ?? Double(2 * z)
            let ies = ev.ionisationEnergiesEV
            let fields = stride(from: 5.0, through: 120.0, by: 0.5).map { $0 }
            var probs: [[Double]] = []
            // n → n+1 needs I_{n+1}: ies[n].
            var n = 1
            while n < ies.count && n <= 3 {
                probs.append(fields.map { PostIonisationModel.probability(charge: n, ionisationEV: ies[n], workFunctionEV: phi,
                                                                         fieldVPerNM: $0, radiusNM: apexRadiusNM, massDa: massDa) })
                n += 1
            }
            tables[z] = Table(fieldsVPerNM: fields, probabilities: probs, maxCharge: probs.count + 1)
        }
    }

    /// P(M^{n+} → M^{(n+1)+}) at surface field `fieldVPerNM` (linear interpolation in the table); 0 if unknown.
    public func probability(z: Int, charge n: Int, fieldVPerNM f: Double) -> Double {
        guard let t = tables[z], n >= 1, n - 1 < t.probabilities.count else { return 0 }
        let fs = t.fieldsVPerNM
        let u = (f - fs[0]) / (fs[1] - fs[0])
        if u <= 0 { return t.probabilities[n - 1][0] }
        let k = Int(u)
        if k >= fs.count - 1 { return t.probabilities[n - 1][fs.count - 1] }
        let w = u - Double(k)
        return t.probabilities[n - 1][k] * (1 - w) + t.probabilities[n - 1][k + 1] * w
    }

    /// Fractions of charge states 1, 2, … at field `f` (sums to 1).
    public func chargeStateFractions(z: Int, fieldVPerNM f: Double) -> [Double] {
        guard let t = tables[z] else { return [1] }
        var out: [Double] = []
        var reach = 1.0
        for n in 1..<t.maxCharge {
            let p = probability(z: z, charge: n, fieldVPerNM: f)
            out.append(reach * (1 - p)); reach *= p
        }
        out.append(reach)
        return out
    }

    /// Draws a charge state at field `f` with the random number source `uniform` (values in [0, 1)).
    public func sampleCharge(z: Int, fieldVPerNM f: Double, uniform: () -> Double) -> Int {
        guard let t = tables[z] else { return PeriodicTable.evaporation(z: z)?.usualChargeState ?? 1 }
        var n = 1
        while n < t.maxCharge {
            if uniform() < probability(z: z, charge: n, fieldVPerNM: f) { n += 1 } else { break }
        }
        return n
    }

    /// Kingham post-ionisation probability for one step (see the type's doc).
    static func probability(charge n: Int, ionisationEV ie: Double, workFunctionEV phi: Double, fieldVPerNM f0: Double,
                            radiusNM r: Double, massDa: Double) -> Double {
        @inline(__always) func phiAt(_ s: Double) -> Double { f0 * r * r / (r + s) }
        let drop0 = phiAt(0)
        // Critical distance: Φ(0) − Φ(x) = I − φ ⇒ x_c = R (I − φ)/(F₀R − (I − φ)).
        let need = ie - phi
        guard need > 0, f0 * r > need else { return 0 }
        let xc = r * need / (f0 * r - need)
        let sqrt2me = 5.1231  // √(2mₑ)/ħ in eV^-1/2 nm^-1
        let nuE = ie * 2.417989e14
        let massKG = massDa * PhysicalConstants.daltonKG
        let xs = 40.0  // integrate x from x_c over a few nm in steps
        let xMax = xc + 3.0
        let dx = (xMax - xc) / xs
        var integral = 0.0
        for k in 0..<Int(xs) {
            let x = xc + (Double(k) + 0.5) * dx
            // Barrier along u ∈ (0, x).
            let nu = 60
            var g = 0.0
            let du = x / Double(nu)
            for j in 0..<nu {
                let u = (Double(j) + 0.5) * du
                let uu = -1.44 * Double(n + 1) / u - (phiAt(x - u) - phiAt(x)) - 1.44 / (4 * (x - u))
                let over = uu + ie
                if over > 0 { g += over.squareRoot() * du }
            }
            let rate = nuE * exp(-2 * sqrt2me * g)
            let drop = drop0 - phiAt(x)
            let v = (2 * Double(n) * PhysicalConstants.elementaryChargeC * drop / massKG).squareRoot()  // m/s
            integral += rate * (dx * 1e-9) / v
        }
        return 1 - exp(-integral)
    }
}
