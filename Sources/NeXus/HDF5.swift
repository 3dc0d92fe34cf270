import CHDF5
import Foundation
import HDF5Probe
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// A small internal layer over the HDF5 C API: one owner per handle, every status checked, HDF5's own error
// printing off, failures turned into `H5Failure` with the innermost message of HDF5's error stack. The NXapm
// layer adds the file name and turns these into `TwinError`.

/// A failed HDF5 call: `path` is the HDF5 object path concerned.
struct H5Failure: Error, CustomStringConvertible {
    var path: String
    var message: String
    var description: String { path.isEmpty ? message : "\(path): \(message)" }
}

/// Silences HDF5's automatic error printing on the calling thread (the thread-safe build keeps one error stack
/// per thread, so every entry point calls this).
func h5Silence() { aptwin_h5_silence_errors() }

/// Held around every use of HDF5 in this module, so that no thread is inside HDF5 when the reader forks its probe.
let h5Lock = NSLock()

/// The innermost HDF5 error message of this thread's stack (empty if none); clears the stack.
func h5LastError() -> String {
    var buf = [CChar](repeating: 0, count: 256)
    aptwin_h5_last_error(&buf)
    return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

@inline(__always) func h5Check(_ rc: herr_t, _ path: String, _ what: @autoclosure () -> String) throws {
    if rc < 0 { throw H5Failure(path: path, message: "\(what()) failed\(detail())") }
}

@inline(__always) func h5ID(_ id: hid_t, _ path: String, _ what: @autoclosure () -> String) throws -> hid_t {
    if id < 0 { throw H5Failure(path: path, message: "\(what()) failed\(detail())") }
    return id
}

private func detail() -> String {
    let e = h5LastError()
    return e.isEmpty ? "" : " (HDF5: \(e))"
}

/// Owns one HDF5 identifier and closes it with the matching H5?close.
final class H5ID {
    let id: hid_t
    private let closer: (hid_t) -> herr_t
    init(_ id: hid_t, _ closer: @escaping (hid_t) -> herr_t) { self.id = id; self.closer = closer }
    deinit { _ = closer(id) }
}

/// Element types stored in numeric datasets and attributes. `fileType` is the little-endian type written,
/// `memType` the native type read into; `isFloat` selects the HDF5 type class a reader insists on.
protocol H5Numeric {
    static var memType: hid_t { get }
    static var fileType: hid_t { get }
    static var isFloat: Bool { get }
    init()
}
extension Float: H5Numeric {
    static var memType: hid_t { aptwin_h5t_native_float() }
    static var fileType: hid_t { aptwin_h5t_ieee_f32le() }
    static var isFloat: Bool { true }
}
extension Double: H5Numeric {
    static var memType: hid_t { aptwin_h5t_native_double() }
    static var fileType: hid_t { aptwin_h5t_ieee_f64le() }
    static var isFloat: Bool { true }
}
extension Int8: H5Numeric {
    static var memType: hid_t { aptwin_h5t_native_int8() }
    static var fileType: hid_t { aptwin_h5t_std_i8le() }
    static var isFloat: Bool { false }
}
extension UInt8: H5Numeric {
    static var memType: hid_t { aptwin_h5t_native_uint8() }
    static var fileType: hid_t { aptwin_h5t_std_u8le() }
    static var isFloat: Bool { false }
}
extension UInt16: H5Numeric {
    static var memType: hid_t { aptwin_h5t_native_uint16() }
    static var fileType: hid_t { aptwin_h5t_std_u16le() }
    static var isFloat: Bool { false }
}
extension Int32: H5Numeric {
    static var memType: hid_t { aptwin_h5t_native_int32() }
    static var fileType: hid_t { aptwin_h5t_std_i32le() }
    static var isFloat: Bool { false }
}
extension UInt32: H5Numeric {
    static var memType: hid_t { aptwin_h5t_native_uint32() }
    static var fileType: hid_t { aptwin_h5t_std_u32le() }
    static var isFloat: Bool { false }
}
extension Int64: H5Numeric {
    static var memType: hid_t { aptwin_h5t_native_int64() }
    static var fileType: hid_t { aptwin_h5t_std_i64le() }
    static var isFloat: Bool { false }
}
extension UInt64: H5Numeric {
    static var memType: hid_t { aptwin_h5t_native_uint64() }
    static var fileType: hid_t { aptwin_h5t_std_u64le() }
    static var isFloat: Bool { false }
}

/// A variable-length UTF-8 string type (what h5py writes for `str`).
private func utf8StringType() throws -> H5ID {
    let t = try h5ID(H5Tcopy(aptwin_h5t_c_s1()), "", "H5Tcopy")
    let owner = H5ID(t, H5Tclose)
    try h5Check(H5Tset_size(t, aptwin_h5t_variable()), "", "H5Tset_size")
    try h5Check(H5Tset_cset(t, H5T_CSET_UTF8), "", "H5Tset_cset")
    return owner
}

/// The boolean type h5py writes for numpy `bool`: an 8-bit enum FALSE = 0, TRUE = 1 (read back by h5py as bool,
/// which NX_BOOLEAN checks expect).
private func boolType() throws -> H5ID {
    let t = try h5ID(H5Tenum_create(aptwin_h5t_native_int8()), "", "H5Tenum_create")
    let owner = H5ID(t, H5Tclose)
    var f: Int8 = 0, tr: Int8 = 1
    try h5Check(H5Tenum_insert(t, "FALSE", &f), "", "H5Tenum_insert")
    try h5Check(H5Tenum_insert(t, "TRUE", &tr), "", "H5Tenum_insert")
    return owner
}

// MARK: - Writing

/// Builds an HDF5 file in memory (core driver, no backing store) and returns its image, so the caller can write it
/// atomically. Object modification times are not stored (H5Pset_obj_track_times false) and objects are created in
/// the caller's fixed order, so the same calls give byte-identical images.
final class H5MemoryWriter {
    private let file: H5ID
    private let gcpl: H5ID
    private let dcpl: H5ID
    private let stringType: H5ID
    private let booleanType: H5ID

    init() throws {
        h5Silence()
        let fapl = H5ID(try h5ID(H5Pcreate(aptwin_h5p_file_access()), "", "H5Pcreate(file access)"), H5Pclose)
        try h5Check(H5Pset_fapl_core(fapl.id, 1 << 20, false), "", "H5Pset_fapl_core")
        try h5Check(H5Pset_fclose_degree(fapl.id, H5F_CLOSE_STRONG), "", "H5Pset_fclose_degree")
        let fcpl = H5ID(try h5ID(H5Pcreate(aptwin_h5p_file_create()), "", "H5Pcreate(file create)"), H5Pclose)
        try h5Check(H5Pset_obj_track_times(fcpl.id, false), "", "H5Pset_obj_track_times")
        // A unique name per writer: the core driver without backing store never touches the file system.
        let name = "aptwin-memory-\(UInt64.random(in: 0...UInt64.max)).h5"
        file = H5ID(try h5ID(H5Fcreate(name, aptwin_h5f_acc_trunc(), fcpl.id, fapl.id), "/", "H5Fcreate (in memory)"), H5Fclose)
        gcpl = H5ID(try h5ID(H5Pcreate(aptwin_h5p_group_create()), "", "H5Pcreate(group)"), H5Pclose)
        try h5Check(H5Pset_obj_track_times(gcpl.id, false), "", "H5Pset_obj_track_times")
        dcpl = H5ID(try h5ID(H5Pcreate(aptwin_h5p_dataset_create()), "", "H5Pcreate(dataset)"), H5Pclose)
        try h5Check(H5Pset_obj_track_times(dcpl.id, false), "", "H5Pset_obj_track_times")
        stringType = try utf8StringType()
        booleanType = try boolType()
    }

    /// Creates the group at absolute `path` (its parent must exist) with attribute `NX_class`.
    func group(_ path: String, nxClass: String) throws {
        let g = try h5ID(H5Gcreate2(file.id, path, aptwin_h5p_default(), gcpl.id, aptwin_h5p_default()), path, "H5Gcreate")
        _ = H5Gclose(g)
        try attribute(path, "NX_class", nxClass)
    }

    /// A string attribute (variable-length UTF-8) on the object at `path`.
    func attribute(_ path: String, _ name: String, _ value: String) throws {
        let space = H5ID(try h5ID(H5Screate(H5S_SCALAR), path, "H5Screate"), H5Sclose)
        let a = H5ID(try h5ID(H5Acreate_by_name(file.id, path, name, stringType.id, space.id, aptwin_h5p_default(),
                                                aptwin_h5p_default(), aptwin_h5p_default()), path, "H5Acreate @\(name)"), H5Aclose)
        try value.withCString { p in
            var ptr: UnsafePointer<CChar>? = p
            try h5Check(H5Awrite(a.id, stringType.id, &ptr), path, "H5Awrite @\(name)")
        }
    }

    /// A numeric attribute (scalar when `values` has one element and `asArray` is false).
    func attribute<T: H5Numeric>(_ path: String, _ name: String, _ values: [T], asArray: Bool = false) throws {
        let space: H5ID
        if values.count == 1 && !asArray {
            space = H5ID(try h5ID(H5Screate(H5S_SCALAR), path, "H5Screate"), H5Sclose)
        } else {
            var d = [hsize_t(values.count)]
            space = H5ID(try h5ID(H5Screate_simple(1, &d, nil), path, "H5Screate_simple"), H5Sclose)
        }
        let a = H5ID(try h5ID(H5Acreate_by_name(file.id, path, name, T.fileType, space.id, aptwin_h5p_default(),
                                                aptwin_h5p_default(), aptwin_h5p_default()), path, "H5Acreate @\(name)"), H5Aclose)
        try values.withUnsafeBytes { try h5Check(H5Awrite(a.id, T.memType, $0.baseAddress), path, "H5Awrite @\(name)") }
    }

    /// An array of strings as a 1-D string attribute (e.g. NXdata `@axes` with several axes).
    func attribute(_ path: String, _ name: String, strings: [String]) throws {
        var d = [hsize_t(strings.count)]
        let space = H5ID(try h5ID(H5Screate_simple(1, &d, nil), path, "H5Screate_simple"), H5Sclose)
        let a = H5ID(try h5ID(H5Acreate_by_name(file.id, path, name, stringType.id, space.id, aptwin_h5p_default(),
                                                aptwin_h5p_default(), aptwin_h5p_default()), path, "H5Acreate @\(name)"), H5Aclose)
        let c = strings.map { strdup($0) }
        defer { c.forEach { free($0) } }
        var ptrs: [UnsafePointer<CChar>?] = c.map { UnsafePointer($0) }
        try h5Check(H5Awrite(a.id, stringType.id, &ptrs), path, "H5Awrite @\(name)")
    }

    /// A numeric dataset of the given `shape` (row-major; `[]` for a scalar), with a `units` attribute if given.
    func dataset<T: H5Numeric>(_ path: String, _ values: [T], shape: [Int]? = nil, units: String? = nil) throws {
        let dims = shape ?? [values.count]
        precondition(dims.reduce(1, *) == values.count, "\(path): \(values.count) values for shape \(dims)")
        try writeDataset(path, type: T.fileType, memType: T.memType, dims: dims) { ds in
            try values.withUnsafeBytes { try h5Check(H5Dwrite(ds, T.memType, aptwin_h5s_all(), aptwin_h5s_all(), aptwin_h5p_default(), $0.baseAddress), path, "H5Dwrite") }
        }
        if let units { try attribute(path, "units", units) }
    }

    /// A scalar numeric dataset.
    func scalar<T: H5Numeric>(_ path: String, _ value: T, units: String? = nil) throws {
        try dataset(path, [value], shape: [], units: units)
    }

    /// A scalar variable-length UTF-8 string dataset.
    func string(_ path: String, _ value: String) throws {
        try writeDataset(path, type: stringType.id, memType: stringType.id, dims: []) { ds in
            try value.withCString { p in
                var ptr: UnsafePointer<CChar>? = p
                try h5Check(H5Dwrite(ds, stringType.id, aptwin_h5s_all(), aptwin_h5s_all(), aptwin_h5p_default(), &ptr), path, "H5Dwrite")
            }
        }
    }

    /// A scalar boolean dataset (h5py's enum representation).
    func boolean(_ path: String, _ value: Bool) throws {
        var v: Int8 = value ? 1 : 0
        try writeDataset(path, type: booleanType.id, memType: booleanType.id, dims: []) { ds in
            try h5Check(H5Dwrite(ds, booleanType.id, aptwin_h5s_all(), aptwin_h5s_all(), aptwin_h5p_default(), &v), path, "H5Dwrite")
        }
    }

    private func writeDataset(_ path: String, type: hid_t, memType: hid_t, dims: [Int], _ body: (hid_t) throws -> Void) throws {
        let space: H5ID
        if dims.isEmpty {
            space = H5ID(try h5ID(H5Screate(H5S_SCALAR), path, "H5Screate"), H5Sclose)
        } else {
            var d = dims.map { hsize_t($0) }
            space = H5ID(try h5ID(H5Screate_simple(Int32(d.count), &d, nil), path, "H5Screate_simple"), H5Sclose)
        }
        let ds = H5ID(try h5ID(H5Dcreate2(file.id, path, type, space.id, aptwin_h5p_default(), dcpl.id, aptwin_h5p_default()),
                               path, "H5Dcreate"), H5Dclose)
        // Writing zero elements is a no-op HDF5 rejects on some versions; the empty dataset is complete as created.
        if dims.reduce(1, *) > 0 { try body(ds.id) }
    }

    /// Flushes and returns the complete file image.
    func image() throws -> Data {
        try h5Check(H5Fflush(file.id, H5F_SCOPE_GLOBAL), "/", "H5Fflush")
        let n = H5Fget_file_image(file.id, nil, 0)
        guard n > 0 else { throw H5Failure(path: "/", message: "H5Fget_file_image failed\(detail())") }
        var data = Data(count: n)
        let got = data.withUnsafeMutableBytes { H5Fget_file_image(file.id, $0.baseAddress, n) }
        guard got == n else { throw H5Failure(path: "/", message: "H5Fget_file_image returned \(got) of \(n) bytes\(detail())") }
        return data
    }
}

// MARK: - Reading

/// What a dataset holds, as the reader checks it before reading.
struct H5DatasetInfo {
    /// Dimensions (empty for a scalar).
    var shape: [Int]
    var typeClass: H5T_class_t
    /// Size of one element in bytes.
    var elementSize: Int
    var isVariableString: Bool
    var count: Int { shape.reduce(1, *) }
}

/// Reads objects from an HDF5 file opened read-only. Every accessor names the HDF5 path in its errors; shapes and
/// type classes are checked before data are read, and a dataset whose shape claims far more data than are stored
/// for it is refused before any allocation.
final class H5FileReader {
    private let file: H5ID
    /// Size of the file, bytes: no dataset's storage can be larger.
    private let fileBytes: Int

    /// Opens `path`. Throws when it is not an HDF5 file or HDF5 cannot open it.
    init(path: String) throws {
        h5Silence()
        let attrs = try? FileManager.default.attributesOfItem(atPath: path)
        fileBytes = (attrs?[.size] as? NSNumber)?.intValue ?? 0
        let isH5 = H5Fis_hdf5(path)
        if isH5 <= 0 {
            _ = h5LastError()
            throw H5Failure(path: "", message: isH5 == 0 ? "not an HDF5 file" : "cannot read the file as HDF5")
        }
        try Self.checkGlobalHeaps(path)
        try Self.probe(path)
        let fapl = H5ID(try h5ID(H5Pcreate(aptwin_h5p_file_access()), "", "H5Pcreate(file access)"), H5Pclose)
        try h5Check(H5Pset_fclose_degree(fapl.id, H5F_CLOSE_STRONG), "", "H5Pset_fclose_degree")
        file = H5ID(try h5ID(H5Fopen(path, aptwin_h5f_acc_rdonly(), fapl.id), "/", "H5Fopen"), H5Fclose)
    }

    /// Reads the whole file once in a forked child (``aptwin_hdf5_probe``) and refuses it if HDF5 crashed there.
    ///
    /// HDF5 1.10.8 trusts some sizes and indices of a damaged file: e.g. a variable-length string whose global heap
    /// index or length was damaged makes `H5HG_read` read out of bounds and kill the process (found by the fuzz
    /// test). The child visits every object, reads every attribute and every dataset up to 512 MiB (larger ones:
    /// one element), so the reads this reader then makes have already succeeded once.
    static func probe(_ path: String) throws {
        var sig: Int32 = 0
        let r = aptwin_hdf5_probe(path, 512 * 1024 * 1024, 300, &sig)
        switch r {
        case APTWIN_PROBE_CRASHED:
            throw H5Failure(path: "", message: "damaged HDF5 file: libhdf5 crashed reading it (signal \(sig)) in a probe process")
        case APTWIN_PROBE_READ_FAILED:
            throw H5Failure(path: "", message: "damaged HDF5 file: an attribute or dataset cannot be read (or would need more than 2 GiB of memory)")
        case APTWIN_PROBE_TIMEOUT:
            throw H5Failure(path: "", message: "damaged HDF5 file: reading it did not finish within 300 s")
        default:
            return   // OK, or unreadable (H5Fopen below reports it), or no fork (read without the probe)
        }
    }

    /// Refuses a file whose global heap collections (where variable-length strings live) do not fit.
    ///
    /// HDF5 1.10.8 allocates a collection as large as its header says and trusts the object sizes inside it: a
    /// damaged size made it allocate 18 GB (found by the fuzz test). Every collection (signature `GCOL`, version 1,
    /// three zero bytes, 8-byte size ≥ 4096) must lie inside the file, and each object's header and padded data
    /// inside the collection. Collections whose own header is damaged are left to HDF5, which refuses them.
    static func checkGlobalHeaps(_ path: String) throws {
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) else { return }
        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            guard let base = raw.baseAddress, raw.count >= 32 else { return }
            let n = raw.count
            func u64(_ at: Int) -> UInt64 { var v: UInt64 = 0; memcpy(&v, base + at, 8); return UInt64(littleEndian: v) }
            func u16(_ at: Int) -> UInt16 { var v: UInt16 = 0; memcpy(&v, base + at, 2); return UInt16(littleEndian: v) }
            var from = 0
            while from + 16 <= n, let hit = memchr(base + from, 0x47 /* G */, n - from) {
                let at = base.distance(to: UnsafeRawPointer(hit))
                from = at + 1
                guard at + 16 <= n, raw[at + 1] == 0x43, raw[at + 2] == 0x4F, raw[at + 3] == 0x4C, raw[at + 4] == 1,
                      raw[at + 5] == 0, raw[at + 6] == 0, raw[at + 7] == 0 else { continue }
                let size = u64(at + 8)
                guard size >= 4096 else { continue }
                guard size <= UInt64(n - at) else {
                    throw H5Failure(path: "", message: "global heap collection at byte \(at) claims \(size) bytes, past the end of the file (damaged or truncated)")
                }
                let end = at + Int(size)
                var pos = at + 16
                while pos + 16 <= end {
                    let index = u16(pos), objSize = u64(pos + 8)
                    if index == 0 { break }   // free space: the rest of the collection
                    let padded = (objSize &+ 7) & ~7
                    guard objSize < UInt64(n), padded <= UInt64(end - pos - 16) else {
                        throw H5Failure(path: "", message: "global heap collection at byte \(at): object \(index) of \(objSize) bytes runs past the collection (damaged)")
                    }
                    pos += 16 + Int(padded)
                }
            }
        }
    }

    /// True when every link along the absolute `path` exists and resolves to an object.
    func exists(_ path: String) -> Bool {
        h5Silence()
        var prefix = ""
        for part in path.split(separator: "/") {
            prefix += "/" + part
            if H5Lexists(file.id, prefix, aptwin_h5p_default()) <= 0 { _ = h5LastError(); return false }
            if H5Oexists_by_name(file.id, prefix, aptwin_h5p_default()) <= 0 { _ = h5LastError(); return false }
        }
        return true
    }

    func objectType(_ path: String) -> H5O_type_t? {
        guard exists(path) else { return nil }
        var info = H5O_info_t()
        if H5Oget_info_by_name1(file.id, path, &info, aptwin_h5p_default()) < 0 { _ = h5LastError(); return nil }
        return info.type
    }

    func isGroup(_ path: String) -> Bool { objectType(path) == H5O_TYPE_GROUP }
    func isDataset(_ path: String) -> Bool { objectType(path) == H5O_TYPE_DATASET }

    /// Names of the links in the group at `path`, in name order.
    func children(_ path: String) throws -> [String] {
        let g = H5ID(try h5ID(H5Gopen2(file.id, path, aptwin_h5p_default()), path, "H5Gopen"), H5Gclose)
        var info = H5G_info_t()
        try h5Check(H5Gget_info(g.id, &info), path, "H5Gget_info")
        guard info.nlinks < 100_000 else { throw H5Failure(path: path, message: "group claims \(info.nlinks) members") }
        var names: [String] = []
        for i in 0..<info.nlinks {
            let n = H5Lget_name_by_idx(g.id, ".", H5_INDEX_NAME, H5_ITER_INC, i, nil, 0, aptwin_h5p_default())
            guard n >= 0, n < 4096 else { throw H5Failure(path: path, message: "cannot read the name of member \(i)\(detail())") }
            var buf = [CChar](repeating: 0, count: Int(n) + 1)
            _ = H5Lget_name_by_idx(g.id, ".", H5_INDEX_NAME, H5_ITER_INC, i, &buf, Int(n) + 1, aptwin_h5p_default())
            names.append(String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return names
    }

    /// A string attribute of the object at `path`, or nil when absent or not a string.
    func stringAttribute(_ path: String, _ name: String) -> String? {
        h5Silence()
        guard exists(path) else { return nil }
        guard H5Aexists_by_name(file.id, path, name, aptwin_h5p_default()) > 0 else { _ = h5LastError(); return nil }
        let a = H5Aopen_by_name(file.id, path, name, aptwin_h5p_default(), aptwin_h5p_default())
        guard a >= 0 else { _ = h5LastError(); return nil }
        let attr = H5ID(a, H5Aclose)
        let t = H5ID(H5Aget_type(attr.id), H5Tclose)
        let s = H5ID(H5Aget_space(attr.id), H5Sclose)
        guard t.id >= 0, s.id >= 0, H5Tget_class(t.id) == H5T_STRING, H5Sget_simple_extent_npoints(s.id) == 1 else {
            _ = h5LastError(); return nil
        }
        if H5Tis_variable_str(t.id) > 0 {
            guard let mt = try? utf8StringType() else { return nil }
            var ptr: UnsafeMutablePointer<CChar>? = nil
            guard H5Aread(attr.id, mt.id, &ptr) >= 0, let p = ptr else { _ = h5LastError(); return nil }
            let out = String(cString: p)
            _ = H5Dvlen_reclaim(mt.id, s.id, aptwin_h5p_default(), &ptr)
            return out
        }
        let size = H5Tget_size(t.id)
        guard size > 0, size < 1 << 20 else { return nil }
        var buf = [UInt8](repeating: 0, count: size)
        guard H5Aread(attr.id, t.id, &buf) >= 0 else { _ = h5LastError(); return nil }
        return String(decoding: buf.prefix { $0 != 0 }, as: UTF8.self)
    }

    /// Shape and type of the dataset at `path`.
    func info(_ path: String) throws -> H5DatasetInfo {
        guard isDataset(path) else { throw H5Failure(path: path, message: "missing (expected a dataset)") }
        let ds = H5ID(try h5ID(H5Dopen2(file.id, path, aptwin_h5p_default()), path, "H5Dopen"), H5Dclose)
        return try info(ds.id, path)
    }

    private func info(_ ds: hid_t, _ path: String) throws -> H5DatasetInfo {
        let t = H5ID(try h5ID(H5Dget_type(ds), path, "H5Dget_type"), H5Tclose)
        let s = H5ID(try h5ID(H5Dget_space(ds), path, "H5Dget_space"), H5Sclose)
        let rank = H5Sget_simple_extent_ndims(s.id)
        guard rank >= 0, rank <= 8 else { throw H5Failure(path: path, message: "unreadable dataspace (rank \(rank))") }
        var dims = [hsize_t](repeating: 0, count: Int(max(rank, 1)))
        if rank > 0 { try h5Check(H5Sget_simple_extent_dims(s.id, &dims, nil), path, "H5Sget_simple_extent_dims") }
        let shape = rank == 0 ? [] : dims.prefix(Int(rank)).map { Int(clamping: $0) }
        let cls = H5Tget_class(t.id)
        let size = H5Tget_size(t.id)
        return H5DatasetInfo(shape: shape, typeClass: cls, elementSize: size, isVariableString: cls == H5T_STRING && H5Tis_variable_str(t.id) > 0)
    }

    /// Reads a numeric dataset as `T`. The stored type class must match (float for `Float`/`Double`, integer for
    /// the integer types); HDF5 converts sizes. Returns the values and the shape.
    func numeric<T: H5Numeric>(_ path: String, as: T.Type) throws -> (values: [T], shape: [Int]) {
        guard isDataset(path) else { throw H5Failure(path: path, message: "missing (expected a dataset)") }
        let ds = H5ID(try h5ID(H5Dopen2(file.id, path, aptwin_h5p_default()), path, "H5Dopen"), H5Dclose)
        let inf = try info(ds.id, path)
        let want = T.isFloat ? H5T_FLOAT : H5T_INTEGER
        guard inf.typeClass == want else {
            throw H5Failure(path: path, message: "wrong data type (\(className(inf.typeClass)), expected \(T.isFloat ? "floating point" : "integer"))")
        }
        guard inf.elementSize > 0, inf.elementSize <= 16 else { throw H5Failure(path: path, message: "unsupported element size \(inf.elementSize)") }
        let n = inf.count
        // The data cannot exceed the storage allocated for them by more than compression could explain (gzip
        // stays below ~1000×); a damaged shape claiming more is refused before anything is allocated.
        let stored = min(fileBytes, Int(clamping: H5Dget_storage_size(ds.id)))   // a damaged layout can claim more
        let limit = max(1 << 20, stored.multipliedReportingOverflow(by: 1100).partialValue)
        let bytes = n.multipliedReportingOverflow(by: max(MemoryLayout<T>.size, inf.elementSize))
        guard n >= 0, !bytes.overflow, bytes.partialValue <= limit else {
            throw H5Failure(path: path, message: "shape \(inf.shape) holds more data than the \(stored) bytes stored for it")
        }
        var out = [T](repeating: T(), count: n)
        if n > 0 {
            try out.withUnsafeMutableBytes {
                try h5Check(H5Dread(ds.id, T.memType, aptwin_h5s_all(), aptwin_h5s_all(), aptwin_h5p_default(), $0.baseAddress), path, "H5Dread")
            }
        }
        return (out, inf.shape)
    }

    /// A scalar (or one-element) numeric dataset as Double, integer or float.
    func number(_ path: String) throws -> Double {
        let inf = try info(path)
        guard inf.count == 1 else { throw H5Failure(path: path, message: "shape \(inf.shape), expected a single value") }
        switch inf.typeClass {
        case H5T_FLOAT: return try numeric(path, as: Double.self).values[0]
        case H5T_INTEGER: return Double(try numeric(path, as: Int64.self).values[0])
        default: throw H5Failure(path: path, message: "wrong data type (\(className(inf.typeClass)), expected a number)")
        }
    }

    /// A boolean dataset: h5py's enum, or any integer (non-zero true).
    func boolean(_ path: String) throws -> Bool {
        let inf = try info(path)
        guard inf.count == 1 else { throw H5Failure(path: path, message: "shape \(inf.shape), expected a single value") }
        guard inf.typeClass == H5T_ENUM || inf.typeClass == H5T_INTEGER, inf.elementSize <= 8 else {
            throw H5Failure(path: path, message: "wrong data type (\(className(inf.typeClass)), expected a boolean)")
        }
        let ds = H5ID(try h5ID(H5Dopen2(file.id, path, aptwin_h5p_default()), path, "H5Dopen"), H5Dclose)
        var v: Int64 = 0
        if inf.typeClass == H5T_ENUM {
            var raw = [UInt8](repeating: 0, count: 8)
            let t = H5ID(try h5ID(H5Dget_type(ds.id), path, "H5Dget_type"), H5Tclose)
            try h5Check(H5Dread(ds.id, t.id, aptwin_h5s_all(), aptwin_h5s_all(), aptwin_h5p_default(), &raw), path, "H5Dread")
            v = raw.prefix(inf.elementSize).contains { $0 != 0 } ? 1 : 0
        } else {
            try h5Check(H5Dread(ds.id, aptwin_h5t_native_int64(), aptwin_h5s_all(), aptwin_h5s_all(), aptwin_h5p_default(), &v), path, "H5Dread")
        }
        return v != 0
    }

    /// A scalar string dataset (variable-length or fixed-length).
    func string(_ path: String) throws -> String {
        let inf = try info(path)
        guard inf.typeClass == H5T_STRING else {
            throw H5Failure(path: path, message: "wrong data type (\(className(inf.typeClass)), expected a string)")
        }
        guard inf.count == 1 else { throw H5Failure(path: path, message: "shape \(inf.shape), expected a single string") }
        let ds = H5ID(try h5ID(H5Dopen2(file.id, path, aptwin_h5p_default()), path, "H5Dopen"), H5Dclose)
        if inf.isVariableString {
            let mt = try utf8StringType()
            let s = H5ID(try h5ID(H5Dget_space(ds.id), path, "H5Dget_space"), H5Sclose)
            var ptr: UnsafeMutablePointer<CChar>? = nil
            try h5Check(H5Dread(ds.id, mt.id, aptwin_h5s_all(), aptwin_h5s_all(), aptwin_h5p_default(), &ptr), path, "H5Dread")
            guard let p = ptr else { return "" }
            let out = String(cString: p)
            _ = H5Dvlen_reclaim(mt.id, s.id, aptwin_h5p_default(), &ptr)
            return out
        }
        guard inf.elementSize > 0, inf.elementSize < 1 << 26 else { throw H5Failure(path: path, message: "unsupported string size \(inf.elementSize)") }
        let t = H5ID(try h5ID(H5Dget_type(ds.id), path, "H5Dget_type"), H5Tclose)
        var buf = [UInt8](repeating: 0, count: inf.elementSize)
        try h5Check(H5Dread(ds.id, t.id, aptwin_h5s_all(), aptwin_h5s_all(), aptwin_h5p_default(), &buf), path, "H5Dread")
        return String(decoding: buf.prefix { $0 != 0 }, as: UTF8.self)
    }

    private func className(_ c: H5T_class_t) -> String {
        switch c {
        case H5T_INTEGER: return "integer"
        case H5T_FLOAT: return "floating point"
        case H5T_STRING: return "string"
        case H5T_ENUM: return "enum"
        case H5T_COMPOUND: return "compound"
        case H5T_ARRAY: return "array"
        case H5T_VLEN: return "variable length"
        default: return "HDF5 type class \(c.rawValue)"
        }
    }
}
