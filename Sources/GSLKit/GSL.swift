@preconcurrency import CGSL

/// Swift entry points to the GNU Scientific Library. Only this module imports `CGSL`.
///
/// GSL's default error handler aborts the process; it is switched off once, before the first call, and every
/// status is checked instead (swift-practice.md, "Wrapping GSL").
public enum GSL {
    private static let initialised: Bool = {
        gsl_set_error_handler_off()
        return true
    }()

    /// Errors reported by GSL, with GSL's own description of the status.
    public struct Failure: Error, CustomStringConvertible {
        public let status: Int32
        public let function: String
        public var description: String { "\(function): \(String(cString: gsl_strerror(status)))" }
    }

    /// Clopper–Pearson ("exact") two-sided confidence interval for a binomial proportion k/n
    /// (Clopper & Pearson, Biometrika 26 (1934) 404), from the inverse beta CDF:
    /// lower = B⁻¹(α/2; k, n−k+1), upper = B⁻¹(1−α/2; k+1, n−k).
    /// Used for compositions from ion counts, where the normal approximation fails at small counts.
    public static func binomialInterval(successes k: Int, trials n: Int, confidence: Double = 0.95) -> (lower: Double, upper: Double) {
        _ = initialised
        precondition(n >= 0 && k >= 0 && k <= n && confidence > 0 && confidence < 1)
        if n == 0 { return (0, 1) }
        let a = (1 - confidence) / 2
        let lower = k == 0 ? 0 : betaQuantile(a, Double(k), Double(n - k + 1))
        let upper = k == n ? 1 : betaQuantile(1 - a, Double(k + 1), Double(n - k))
        return (lower, upper)
    }

    /// Quantile of Beta(p, q). GSL's inverse (`gsl_cdf_beta_Pinv`) returns NaN when both shape parameters are large
    /// (seen at k ≈ 7 × 10⁵ of n ≈ 9 × 10⁵, an ordinary ion count); there the beta distribution is Gaussian to
    /// O(1/√n), so its mean p/(p+q) and standard deviation √(pq/((p+q)²(p+q+1))) give the quantile.
    static func betaQuantile(_ prob: Double, _ p: Double, _ q: Double) -> Double {
        let x = gsl_cdf_beta_Pinv(prob, p, q)
        if x.isFinite { return x }
        let s = p + q, mean = p / s, sd = (p * q / (s * s * (s + 1))).squareRoot()
        return min(1, max(0, mean + gsl_cdf_ugaussian_Pinv(prob) * sd))
    }

    /// Garwood exact two-sided confidence interval for a Poisson mean given `counts` observed events
    /// (Garwood, Biometrika 28 (1936) 437): lower = χ²⁻¹(α/2; 2k)/2, upper = χ²⁻¹(1−α/2; 2k+2)/2.
    /// Used for error bars on spectrum bins and background estimates.
    public static func poissonInterval(counts k: Int, confidence: Double = 0.95) -> (lower: Double, upper: Double) {
        _ = initialised
        precondition(k >= 0 && confidence > 0 && confidence < 1)
        let a = (1 - confidence) / 2
        let lower = k == 0 ? 0 : gsl_cdf_chisq_Pinv(a, Double(2 * k)) / 2
        let upper = gsl_cdf_chisq_Pinv(1 - a, Double(2 * k + 2)) / 2
        return (lower, upper)
    }
}
