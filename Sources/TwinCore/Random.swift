import Foundation

/// Deterministic random numbers.
///
/// Results must not depend on the thread count, so every parallel chunk draws from its own stream derived from
/// (seed, stream index) with SplitMix64, and a stream is a xoshiro256** generator
/// (Blackman & Vigna, "Scrambled linear pseudorandom number generators", ACM TOMS 47 (2021) 36).

/// SplitMix64 step (Steele, Lea & Flood, OOPSLA 2014); also used as a stateless 64-bit hash.
@inlinable
public func splitMix64(_ x: inout UInt64) -> UInt64 {
    x &+= 0x9E37_79B9_7F4A_7C15
    var z = x
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}

/// A xoshiro256** stream. Value type: copying it copies the stream state.
public struct TwinRNG: RandomNumberGenerator, Sendable {
    @usableFromInline var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    /// The stream `stream` of the experiment seeded with `seed`.
    public init(seed: UInt64, stream: UInt64 = 0) {
        var x = seed ^ (stream &* 0xD1B5_4A32_D192_ED03) ^ 0x6A09_E667_F3BC_C908
        s0 = splitMix64(&x); s1 = splitMix64(&x); s2 = splitMix64(&x); s3 = splitMix64(&x)
        if (s0 | s1 | s2 | s3) == 0 { s0 = 1 }
    }

    @inlinable
    public mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t
        s3 = (s3 << 45) | (s3 >> 19)
        return result
    }

    /// Uniform double in [0, 1) with 53 random bits.
    @inlinable
    public mutating func uniform() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// Standard normal deviate (Box–Muller; deterministic, uses two uniforms).
    @inlinable
    public mutating func normal() -> Double {
        let u1 = 1.0 - uniform(), u2 = uniform()
        return (-2.0 * log(u1)).squareRoot() * cos(2.0 * Double.pi * u2)
    }
}

