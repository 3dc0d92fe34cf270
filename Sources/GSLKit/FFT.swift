@preconcurrency import CGSL
import Dispatch

/// Three-dimensional discrete Fourier transform on a row-major grid, built from GSL's one-dimensional mixed-radix
/// complex FFT (`gsl_fft_complex_forward` / `gsl_fft_complex_backward`; GSL Reference Manual, "Fast Fourier
/// Transforms", mixed-radix routines after Temperton, J. Comput. Phys. 52 (1983) 1).
///
/// **Layout.** A grid of `nx × ny × nz` points is stored row-major, `z` fastest: point `(ix, iy, iz)` has the flat
/// index `(ix·ny + iy)·nz + iz`. Complex data are interleaved `(re, im)` pairs (GSL's "packed" format), so a complex
/// grid is an array of `2·nx·ny·nz` Doubles.
///
/// **Convention.** `forward` computes X(k) = Σ_j x(j) exp(−2πi k·j / n) along each axis (GSL's sign, unnormalised);
/// `inverse` computes x(j) = (1/(nx·ny·nz)) Σ_k X(k) exp(+2πi k·j / n), so `inverse(forward(x)) == x` to rounding.
/// Wavenumber index `m` along an axis of length `n` stands for the angular wavenumber 2π·m/n per grid step for
/// `m ≤ n/2` and 2π·(m − n)/n above.
///
/// **Real fields.** `forwardReal`/`inverseReal` transform a real grid to and from its half spectrum (the
/// `nz/2 + 1` non-negative `kz` planes; the others follow from Hermitian symmetry X(−k) = X(k)*). They pack two real
/// `z` lines into one complex line (Press et al., Numerical Recipes, 3rd ed., §12.3, "FFT of two real functions
/// simultaneously") and transform only the half spectrum along `x` and `y`, so they cost about half a complex
/// transform of the same grid.
///
/// **Cost and threads.** Any axis lengths are accepted; GSL factorises them into radices 2, 3, 4, 5, 6, 7 and
/// handles any remaining prime factor with an O(p²) general step, so lengths whose factors are all ≤ 7 are fast.
/// One wavetable per distinct axis length and one workspace per thread are allocated in `init` and reused by every
/// call. Lines are split over `threads` threads in fixed contiguous ranges; every line is transformed independently,
/// so results are bit-identical for any thread count.
///
/// An instance holds scratch state: use it from one thread at a time (it is deliberately not `Sendable`).
public final class FFT3D {
    /// Grid points along x (slowest), y and z (fastest, contiguous).
    public let nx: Int, ny: Int, nz: Int
    /// Number of threads the line transforms are split over (≥ 1).
    public let threads: Int

    /// Number of grid points, nx·ny·nz. A complex grid holds `2·count` Doubles.
    public var count: Int { nx * ny * nz }
    /// Number of complex coefficients in the half spectrum of a real grid: nx·ny·(nz/2 + 1).
    /// The half spectrum holds `2·halfSpectrumCount` Doubles, with point `(ix, iy, kz)` at complex index
    /// `(ix·ny + iy)·(nz/2 + 1) + kz`, `kz` in `0 ... nz/2`.
    public var halfSpectrumCount: Int { nx * ny * (nz / 2 + 1) }

    private let plans: [Int: AxisPlan]
    /// `threads` line buffers of `lineStride` Doubles each (one complex line of the longest axis).
    private let lineBuffers: UnsafeMutablePointer<Double>
    private let lineStride: Int
    /// Copy of a half spectrum for `inverseReal`, which must not modify its input.
    private let scratch: UnsafeMutablePointer<Double>

    private static let errorHandlerOff: Bool = {
        gsl_set_error_handler_off()   // GSL's default handler aborts; statuses are checked instead (swift-practice.md)
        return true
    }()

    /// Prepares transforms of an `nx × ny × nz` grid.
    ///
    /// - Parameters:
    ///   - threads: number of threads for the line transforms; clamped to 1 ... 64. Results do not depend on it.
    /// - Throws: `GSL.Failure` with `GSL_EINVAL` when a size is < 1, or the status of a failed GSL allocation.
    public init(nx: Int, ny: Int, nz: Int, threads: Int = 1) throws {
        _ = FFT3D.errorHandlerOff
        guard nx >= 1, ny >= 1, nz >= 1 else {
            throw GSL.Failure(status: Int32(GSL_EINVAL), function: "FFT3D(nx: \(nx), ny: \(ny), nz: \(nz)): sizes must be >= 1")
        }
        let t = min(64, max(1, threads))
        self.nx = nx; self.ny = ny; self.nz = nz; self.threads = t
        var plans: [Int: AxisPlan] = [:]
        for n in Set([nx, ny, nz]) where n > 1 { plans[n] = try AxisPlan(n: n, threads: t) }
        self.plans = plans
        lineStride = 2 * max(nx, ny, nz)
        lineBuffers = .allocate(capacity: lineStride * t)
        lineBuffers.initialize(repeating: 0, count: lineStride * t)
        let h = 2 * nx * ny * (nz / 2 + 1)
        scratch = .allocate(capacity: h)
        scratch.initialize(repeating: 0, count: h)
    }

    deinit {
        lineBuffers.deallocate()
        scratch.deallocate()
    }

    // MARK: Complex grids

    /// In-place forward transform of a complex grid: X(k) = Σ_j x(j) exp(−2πi k·j/n) over all three axes.
    ///
    /// - Parameter data: `2·count` Doubles, interleaved (re, im), row-major as described on the type.
    /// - Throws: `GSL.Failure` (`GSL_EBADLEN` for a wrong length, or the status of a failed GSL transform).
    /// - Complexity: O(N log N) for lengths with small prime factors, N = nx·ny·nz.
    public func forward(_ data: inout [Double]) throws {
        try checkLength(data.count, 2 * count, "FFT3D.forward")
        try data.withUnsafeMutableBufferPointer { try transformComplex($0.baseAddress!, forward: true) }
    }

    /// In-place inverse transform of a complex grid, normalised: x(j) = (1/N) Σ_k X(k) exp(+2πi k·j/n),
    /// N = nx·ny·nz, so that `inverse` undoes `forward` to rounding.
    ///
    /// - Parameter data: `2·count` Doubles, interleaved (re, im), row-major.
    /// - Throws: `GSL.Failure` (`GSL_EBADLEN` for a wrong length, or the status of a failed GSL transform).
    public func inverse(_ data: inout [Double]) throws {
        try checkLength(data.count, 2 * count, "FFT3D.inverse")
        try data.withUnsafeMutableBufferPointer { buf in
            let p = buf.baseAddress!
            try transformComplex(p, forward: false)
            let s = 1.0 / Double(count)
            for i in 0..<(2 * count) { p[i] *= s }
        }
    }

    // MARK: Real grids

    /// Forward transform of a real grid to its half spectrum (the coefficients with `kz = 0 ... nz/2` of the full
    /// forward transform; same sign and normalisation as `forward`).
    ///
    /// - Parameters:
    ///   - input: `count` real values, row-major.
    ///   - spectrum: receives `2·halfSpectrumCount` Doubles (interleaved complex); replaced if its size differs.
    /// - Throws: `GSL.Failure` (`GSL_EBADLEN` for a wrong input length, or the status of a failed GSL transform).
    public func forwardReal(_ input: [Double], into spectrum: inout [Double]) throws {
        try checkLength(input.count, count, "FFT3D.forwardReal(input)")
        if spectrum.count != 2 * halfSpectrumCount { spectrum = [Double](repeating: 0, count: 2 * halfSpectrumCount) }
        try input.withUnsafeBufferPointer { inp in
            try spectrum.withUnsafeMutableBufferPointer { sp in
                try realToHalf(inp.baseAddress!, sp.baseAddress!)
            }
        }
    }

    /// Inverse of `forwardReal`, normalised by 1/(nx·ny·nz): rebuilds the real grid from its half spectrum.
    ///
    /// The half spectrum must be that of a real field, i.e. Hermitian within the `kz = 0` plane (and the `kz = nz/2`
    /// plane when nz is even): X(−kx, −ky, kz) = X(kx, ky, kz)*. Multiplying a valid half spectrum by any real
    /// function of |k| keeps it valid. `spectrum` is not modified.
    ///
    /// - Parameters:
    ///   - spectrum: `2·halfSpectrumCount` Doubles.
    ///   - output: receives `count` real values; replaced if its size differs.
    /// - Throws: `GSL.Failure` (`GSL_EBADLEN` for a wrong spectrum length, or the status of a failed GSL transform).
    public func inverseReal(_ spectrum: [Double], into output: inout [Double]) throws {
        try checkLength(spectrum.count, 2 * halfSpectrumCount, "FFT3D.inverseReal(spectrum)")
        if output.count != count { output = [Double](repeating: 0, count: count) }
        spectrum.withUnsafeBufferPointer { sp in
            scratch.update(from: sp.baseAddress!, count: 2 * halfSpectrumCount)
        }
        try output.withUnsafeMutableBufferPointer { out in
            try halfToReal(scratch, out.baseAddress!)
        }
    }

    // MARK: Implementation

    private func checkLength(_ got: Int, _ expected: Int, _ what: String) throws {
        guard got == expected else {
            throw GSL.Failure(status: Int32(GSL_EBADLEN),
                              function: "\(what): \(got) Doubles for a \(nx)×\(ny)×\(nz) grid, expected \(expected)")
        }
    }

    private func transformComplex(_ p: UnsafeMutablePointer<Double>, forward: Bool) throws {
        try transformAxis(p, n0: nx, n1: ny, n2: nz, axis: 2, forward: forward)
        try transformAxis(p, n0: nx, n1: ny, n2: nz, axis: 1, forward: forward)
        try transformAxis(p, n0: nx, n1: ny, n2: nz, axis: 0, forward: forward)
    }

    /// Transforms every line along `axis` of the complex array `p` of dimensions (n0, n1, n2), row-major.
    private func transformAxis(_ p: UnsafeMutablePointer<Double>, n0: Int, n1: Int, n2: Int,
                               axis: Int, forward: Bool) throws {
        let n = axis == 0 ? n0 : (axis == 1 ? n1 : n2)
        guard n > 1, let plan = plans[n] else { return }
        let lines = n0 * n1 * n2 / n
        let job = LineJob(data: p, buffers: lineBuffers, lineStride: lineStride, plan: plan.handles, forward: forward)
        let status = parallel(lines, work: lines * n) { w, range in
            let wt = job.plan.wavetable, ws = job.plan.workspaces[w]
            let buf = job.buffers + w * job.lineStride
            for l in range {
                let base: Int, stride: Int
                switch axis {
                case 2: base = l * n2; stride = 1
                case 1: base = (l / n2) * n1 * n2 + l % n2; stride = n2
                default: base = l; stride = n1 * n2   // l = i1·n2 + i2
                }
                if stride == 1 {
                    let s = job.run(job.data + 2 * base, n, wt, ws)
                    if s != 0 { return s }
                    continue
                }
                var q = job.data + 2 * base
                for j in 0..<n { buf[2 * j] = q[0]; buf[2 * j + 1] = q[1]; q += 2 * stride }
                let s = job.run(buf, n, wt, ws)
                if s != 0 { return s }
                q = job.data + 2 * base
                for j in 0..<n { q[0] = buf[2 * j]; q[1] = buf[2 * j + 1]; q += 2 * stride }
            }
            return 0
        }
        if status != 0 {
            throw GSL.Failure(status: status, function: forward ? "gsl_fft_complex_forward(n: \(n))" : "gsl_fft_complex_backward(n: \(n))")
        }
    }

    /// Real grid → half spectrum. Two real z lines a, b form z = a + i·b; after the 1-D transform
    /// A(k) = (Z(k) + Z(n−k)*)/2 and B(k) = (Z(k) − Z(n−k)*)/(2i) (Numerical Recipes §12.3).
    private func realToHalf(_ input: UnsafePointer<Double>, _ out: UnsafeMutablePointer<Double>) throws {
        let nz = self.nz, nzh = nz / 2 + 1, lines = nx * ny, pairs = (lines + 1) / 2
        let plan = plans[nz]?.handles
        let job = RealJob(input: UnsafeMutablePointer(mutating: input), output: out, buffers: lineBuffers,
                          lineStride: lineStride, plan: plan)
        let status = parallel(pairs, work: pairs * nz) { w, range in
            let buf = job.buffers + w * job.lineStride
            for pr in range {
                let a = 2 * pr, b = 2 * pr + 1, hasB = b < lines
                let ra = job.input + a * nz, rb = job.input + b * nz
                for j in 0..<nz { buf[2 * j] = ra[j]; buf[2 * j + 1] = hasB ? rb[j] : 0 }
                if let plan = job.plan {
                    let s = gsl_fft_complex_forward(buf, 1, nz, plan.wavetable, plan.workspaces[w])
                    if s != 0 { return s }
                }
                let ha = job.output + 2 * a * nzh, hb = job.output + 2 * b * nzh
                for k in 0..<nzh {
                    let m = k == 0 ? 0 : nz - k
                    let zr = buf[2 * k], zi = buf[2 * k + 1], wr = buf[2 * m], wi = buf[2 * m + 1]
                    ha[2 * k] = 0.5 * (zr + wr); ha[2 * k + 1] = 0.5 * (zi - wi)
                    if hasB { hb[2 * k] = 0.5 * (zi + wi); hb[2 * k + 1] = -0.5 * (zr - wr) }
                }
            }
            return 0
        }
        if status != 0 { throw GSL.Failure(status: status, function: "gsl_fft_complex_forward(n: \(nz))") }
        try transformAxis(out, n0: nx, n1: ny, n2: nzh, axis: 1, forward: true)
        try transformAxis(out, n0: nx, n1: ny, n2: nzh, axis: 0, forward: true)
    }

    /// Half spectrum (destroyed) → real grid, normalised by 1/N. Inverse of `realToHalf`: the full z spectrum of
    /// line a is A(k) for k ≤ nz/2 and A(nz−k)* above; z = A + i·B is transformed back, Re → a, Im → b.
    private func halfToReal(_ half: UnsafeMutablePointer<Double>, _ out: UnsafeMutablePointer<Double>) throws {
        let nz = self.nz, nzh = nz / 2 + 1, lines = nx * ny, pairs = (lines + 1) / 2
        try transformAxis(half, n0: nx, n1: ny, n2: nzh, axis: 0, forward: false)
        try transformAxis(half, n0: nx, n1: ny, n2: nzh, axis: 1, forward: false)
        let plan = plans[nz]?.handles
        let scale = 1.0 / Double(count)
        let job = RealJob(input: half, output: out, buffers: lineBuffers, lineStride: lineStride, plan: plan)
        let status = parallel(pairs, work: pairs * nz) { w, range in
            let buf = job.buffers + w * job.lineStride
            for pr in range {
                let a = 2 * pr, b = 2 * pr + 1, hasB = b < lines
                let ha = job.input + 2 * a * nzh, hb = job.input + 2 * b * nzh
                for k in 0..<nz {
                    let (m, conj) = k < nzh ? (k, 1.0) : (nz - k, -1.0)
                    let ar = ha[2 * m], ai = conj * ha[2 * m + 1]
                    let br = hasB ? hb[2 * m] : 0, bi = hasB ? conj * hb[2 * m + 1] : 0
                    buf[2 * k] = ar - bi; buf[2 * k + 1] = ai + br
                }
                if let plan = job.plan {
                    let s = gsl_fft_complex_backward(buf, 1, nz, plan.wavetable, plan.workspaces[w])
                    if s != 0 { return s }
                }
                let ra = job.output + a * nz, rb = job.output + b * nz
                for j in 0..<nz {
                    ra[j] = scale * buf[2 * j]
                    if hasB { rb[j] = scale * buf[2 * j + 1] }
                }
            }
            return 0
        }
        if status != 0 { throw GSL.Failure(status: status, function: "gsl_fft_complex_backward(n: \(nz))") }
    }

    /// Runs `body(thread, range)` over `0..<items` split into fixed contiguous ranges, one per thread; returns the
    /// first non-zero status in thread order (0 if all succeeded). Small jobs (`work` < 2¹⁵) run on one thread.
    private func parallel(_ items: Int, work: Int,
                          _ body: @escaping @Sendable (Int, Range<Int>) -> Int32) -> Int32 {
        let t = work < 32_768 ? 1 : min(threads, items)
        if t <= 1 { return items > 0 ? body(0, 0..<items) : 0 }
        let statuses = StatusSlots(count: t)
        defer { statuses.p.deallocate() }
        DispatchQueue.concurrentPerform(iterations: t) { w in
            statuses.p[w] = body(w, (items * w / t)..<(items * (w + 1) / t))
        }
        for w in 0..<t where statuses.p[w] != 0 { return statuses.p[w] }
        return 0
    }
}

/// Wavetable and per-thread workspaces for one axis length; the only owner of these GSL handles.
private final class AxisPlan {
    let handles: PlanHandles

    init(n: Int, threads: Int) throws {
        guard let wt = gsl_fft_complex_wavetable_alloc(n) else {
            throw GSL.Failure(status: Int32(GSL_ENOMEM), function: "gsl_fft_complex_wavetable_alloc(\(n))")
        }
        var ws: [UnsafeMutablePointer<gsl_fft_complex_workspace>] = []
        for _ in 0..<threads {
            guard let w = gsl_fft_complex_workspace_alloc(n) else {
                ws.forEach { gsl_fft_complex_workspace_free($0) }
                gsl_fft_complex_wavetable_free(wt)
                throw GSL.Failure(status: Int32(GSL_ENOMEM), function: "gsl_fft_complex_workspace_alloc(\(n))")
            }
            ws.append(w)
        }
        handles = PlanHandles(wavetable: wt, workspaces: ws)
    }

    deinit {
        handles.workspaces.forEach { gsl_fft_complex_workspace_free($0) }
        gsl_fft_complex_wavetable_free(handles.wavetable)
    }
}

/// Borrowed GSL handles, passed to worker threads. The wavetable is only read by GSL (`const`); each thread uses its
/// own workspace, so sharing is safe.
private struct PlanHandles: @unchecked Sendable {
    let wavetable: UnsafeMutablePointer<gsl_fft_complex_wavetable>
    let workspaces: [UnsafeMutablePointer<gsl_fft_complex_workspace>]
}

/// Pointers for a complex line pass; each thread touches only its own lines, buffer and workspace.
private struct LineJob: @unchecked Sendable {
    let data: UnsafeMutablePointer<Double>
    let buffers: UnsafeMutablePointer<Double>
    let lineStride: Int
    let plan: PlanHandles
    let forward: Bool

    @inline(__always)
    func run(_ p: UnsafeMutablePointer<Double>, _ n: Int,
             _ wt: UnsafeMutablePointer<gsl_fft_complex_wavetable>,
             _ ws: UnsafeMutablePointer<gsl_fft_complex_workspace>) -> Int32 {
        forward ? gsl_fft_complex_forward(p, 1, n, wt, ws) : gsl_fft_complex_backward(p, 1, n, wt, ws)
    }
}

/// Pointers for the real ↔ half-spectrum z pass.
private struct RealJob: @unchecked Sendable {
    let input: UnsafeMutablePointer<Double>
    let output: UnsafeMutablePointer<Double>
    let buffers: UnsafeMutablePointer<Double>
    let lineStride: Int
    let plan: PlanHandles?
}

/// One status slot per thread, each written by exactly one thread.
private struct StatusSlots: @unchecked Sendable {
    let p: UnsafeMutablePointer<Int32>
    init(count: Int) { p = .allocate(capacity: count); p.initialize(repeating: 0, count: count) }
}
