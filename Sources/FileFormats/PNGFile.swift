import CPNG
import Foundation
import TwinCore

/// An 8-bit greyscale image, rows top to bottom, `pixels.count == width * height`.
public struct GrayImage8: Sendable, Equatable {
    /// Columns.
    public var width: Int
    /// Rows.
    public var height: Int
    /// Grey levels, row-major from the top-left corner.
    public var pixels: [UInt8]
    /// Creates an image; `pixels` holds `width * height` values, row-major from the top-left corner.
    public init(width: Int, height: Int, pixels: [UInt8]) { self.width = width; self.height = height; self.pixels = pixels }
}

/// A 16-bit greyscale image, rows top to bottom, `pixels.count == width * height`.
public struct GrayImage16: Sendable, Equatable {
    /// Columns.
    public var width: Int
    /// Rows.
    public var height: Int
    /// Grey levels, row-major from the top-left corner.
    public var pixels: [UInt16]
    /// Creates an image; `pixels` holds `width * height` values, row-major from the top-left corner.
    public init(width: Int, height: Int, pixels: [UInt16]) { self.width = width; self.height = height; self.pixels = pixels }
}

/// An 8-bit RGB image, rows top to bottom, channels interleaved: `pixels.count == 3 * width * height`.
public struct RGBImage8: Sendable, Equatable {
    /// Columns.
    public var width: Int
    /// Rows.
    public var height: Int
    /// Samples r, g, b per pixel, row-major from the top-left corner.
    public var pixels: [UInt8]
    /// Creates an image; `pixels` holds `3 * width * height` values (r, g, b per pixel), row-major.
    public init(width: Int, height: Int, pixels: [UInt8]) { self.width = width; self.height = height; self.pixels = pixels }
}

/// PNG files through libpng's simplified API (the only route that needs no `setjmp`).
///
/// **Values are kept as numbers**, not as light: 8-bit images are written as 8-bit PNG and 16-bit images as
/// 16-bit PNG (libpng marks them linear, gAMA 1.0), and each reads back exactly. Reading into a different bit
/// depth rescales linearly (8 → 16 bit: v × 257; 16 → 8 bit: round(v / 257)) instead of applying libpng's
/// sRGB ↔ linear gamma conversion. 16-bit files without gamma information are taken as linear (libpng's
/// default). Colour is converted to grey, grey to colour, palettes expanded and alpha composited onto black by
/// libpng. Errors carry libpng's message and the file name.
public enum PNGFile {
    // MARK: writing

    /// Writes an 8-bit greyscale PNG atomically.
    public static func write(_ image: GrayImage8, to url: URL) throws {
        try AtomicFile.write(encode(image, name: displayName(url)), to: url)
    }

    /// Writes a 16-bit greyscale PNG atomically (values are stored unchanged).
    public static func write(_ image: GrayImage16, to url: URL) throws {
        try AtomicFile.write(encode(image, name: displayName(url)), to: url)
    }

    /// Writes an 8-bit RGB PNG atomically.
    public static func write(_ image: RGBImage8, to url: URL) throws {
        try AtomicFile.write(encode(image, name: displayName(url)), to: url)
    }

    /// Encodes an 8-bit greyscale image as PNG bytes.
    public static func encode(_ image: GrayImage8, name: String = "PNG output") throws -> Data {
        try image.pixels.withUnsafeBytes {
            try encode(width: image.width, height: image.height, channels: 1, format: APTWIN_PNG_FORMAT_GRAY,
                       bytesPerSample: 1, pixels: $0, name: name)
        }
    }

    /// Encodes a 16-bit greyscale image as PNG bytes.
    public static func encode(_ image: GrayImage16, name: String = "PNG output") throws -> Data {
        try image.pixels.withUnsafeBytes {
            try encode(width: image.width, height: image.height, channels: 1, format: APTWIN_PNG_FORMAT_LINEAR_Y,
                       bytesPerSample: 2, pixels: $0, name: name)
        }
    }

    /// Encodes an 8-bit RGB image as PNG bytes.
    public static func encode(_ image: RGBImage8, name: String = "PNG output") throws -> Data {
        try image.pixels.withUnsafeBytes {
            try encode(width: image.width, height: image.height, channels: 3, format: APTWIN_PNG_FORMAT_RGB,
                       bytesPerSample: 1, pixels: $0, name: name)
        }
    }

    // MARK: reading

    /// Reads any PNG as 8-bit grey.
    public static func read(_: GrayImage8.Type, from url: URL) throws -> GrayImage8 {
        try decode(GrayImage8.self, from: readWholeFile(url), name: displayName(url))
    }

    /// Reads any PNG as 16-bit grey.
    public static func read(_: GrayImage16.Type, from url: URL) throws -> GrayImage16 {
        try decode(GrayImage16.self, from: readWholeFile(url), name: displayName(url))
    }

    /// Reads any PNG as 8-bit RGB.
    public static func read(_: RGBImage8.Type, from url: URL) throws -> RGBImage8 {
        try decode(RGBImage8.self, from: readWholeFile(url), name: displayName(url))
    }

    /// Decodes PNG bytes as 8-bit grey; `name` is used in error messages.
    public static func decode(_: GrayImage8.Type, from data: Data, name: String) throws -> GrayImage8 {
        let r = try decodeRaw(data, name: name, color: false)
        return GrayImage8(width: r.width, height: r.height, pixels: r.as8bit())
    }

    /// Decodes PNG bytes as 16-bit grey; `name` is used in error messages.
    public static func decode(_: GrayImage16.Type, from data: Data, name: String) throws -> GrayImage16 {
        let r = try decodeRaw(data, name: name, color: false)
        return GrayImage16(width: r.width, height: r.height, pixels: r.as16bit())
    }

    /// Decodes PNG bytes as 8-bit RGB; `name` is used in error messages.
    public static func decode(_: RGBImage8.Type, from data: Data, name: String) throws -> RGBImage8 {
        let r = try decodeRaw(data, name: name, color: true)
        return RGBImage8(width: r.width, height: r.height, pixels: r.as8bit())
    }

    // MARK: internals

    private static func message(_ image: inout png_image) -> String {
        withUnsafeBytes(of: &image.message) { raw in
            let bytes = raw.prefix { $0 != 0 }
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    private static func encode(width: Int, height: Int, channels: Int, format: UInt32, bytesPerSample: Int,
                               pixels: UnsafeRawBufferPointer, name: String) throws -> Data {
        guard width > 0, height > 0, width <= Int(Int32.max) / channels, height <= Int(Int32.max) else {
            throw TwinError.invalidInput("\(name): PNG size \(width) × \(height) is invalid (both must be 1…2³¹−1)")
        }
        let (px, o) = width.multipliedReportingOverflow(by: height)
        guard !o, px * channels * bytesPerSample == pixels.count else {
            throw TwinError.invalidInput("\(name): \(pixels.count / bytesPerSample) samples given for a "
                                         + "\(width) × \(height) image with \(channels) channel(s)")
        }
        var image = png_image()
        image.version = png_uint_32(APTWIN_PNG_IMAGE_VERSION)
        image.width = png_uint_32(width)
        image.height = png_uint_32(height)
        image.format = png_uint_32(format)
        // First try a buffer that fits any realistic output; libpng reports the needed size if it does not.
        var capacity = pixels.count + height + pixels.count / 8 + 4096
        for _ in 0..<2 {
            var out = Data(count: capacity)
            var size = png_alloc_size_t(capacity)
            let ok = out.withUnsafeMutableBytes { dst in
                png_image_write_to_memory(&image, dst.baseAddress, &size, 0, pixels.baseAddress, 0, nil)
            }
            if ok != 0 {
                out.count = Int(size)
                return out
            }
            let msg = message(&image)
            if Int(size) > capacity {  // buffer too small: retry with the size libpng asked for
                capacity = Int(size)
                image = png_image()
                image.version = png_uint_32(APTWIN_PNG_IMAGE_VERSION)
                image.width = png_uint_32(width)
                image.height = png_uint_32(height)
                image.format = png_uint_32(format)
                continue
            }
            throw TwinError.io("\(name): libpng could not encode the image: \(msg)")
        }
        throw TwinError.io("\(name): libpng could not encode the image (output size kept changing)")
    }

    /// Decoded samples in the file's native depth (8 or 16 bit), grey or RGB as requested.
    private struct Raw {
        var width: Int, height: Int
        var samples8: [UInt8]?
        var samples16: [UInt16]?
        func as8bit() -> [UInt8] {
            if let s = samples8 { return s }
            // 16 → 8 bit: round(v / 257), exact inverse of v × 257.
            return (samples16 ?? []).map { UInt8((UInt32($0) + 128) / 257) }
        }
        func as16bit() -> [UInt16] {
            if let s = samples16 { return s }
            return (samples8 ?? []).map { UInt16($0) &* 257 }
        }
    }

    private static func decodeRaw(_ data: Data, name: String, color: Bool) throws -> Raw {
        if data.isEmpty { throw TwinError.invalidInput("\(name): empty file; not a PNG") }
        return try data.withUnsafeBytes { (src: UnsafeRawBufferPointer) -> Raw in
            var image = png_image()
            image.version = png_uint_32(APTWIN_PNG_IMAGE_VERSION)
            guard png_image_begin_read_from_memory(&image, src.baseAddress, src.count) != 0 else {
                throw TwinError.invalidInput("\(name): not a readable PNG: \(message(&image))")
            }
            let is16 = aptwin_png_is_16bit(&image) != 0
            let w = Int(image.width), h = Int(image.height)
            let channels = color ? 3 : 1
            let (px, o1) = w.multipliedReportingOverflow(by: h)
            let (n, o2) = px.multipliedReportingOverflow(by: channels)
            guard !o1, !o2, n <= (1 << 31) else {
                png_image_free(&image)
                throw TwinError.invalidInput("\(name): PNG of \(w) × \(h) pixels is too large to read")
            }
            var fmt: UInt32
            if is16 {
                fmt = color ? UInt32(PNG_FORMAT_FLAG_LINEAR | PNG_FORMAT_FLAG_COLOR) : APTWIN_PNG_FORMAT_LINEAR_Y
            } else {
                fmt = color ? APTWIN_PNG_FORMAT_RGB : APTWIN_PNG_FORMAT_GRAY
            }
            image.format = png_uint_32(fmt)
            var raw = Raw(width: w, height: h)
            var ok: Int32 = 0
            if is16 {
                var buf = [UInt16](repeating: 0, count: n)
                ok = buf.withUnsafeMutableBytes { png_image_finish_read(&image, nil, $0.baseAddress, 0, nil) }
                raw.samples16 = buf
            } else {
                var buf = [UInt8](repeating: 0, count: n)
                ok = buf.withUnsafeMutableBytes { png_image_finish_read(&image, nil, $0.baseAddress, 0, nil) }
                raw.samples8 = buf
            }
            guard ok != 0 else {
                let msg = message(&image)
                png_image_free(&image)
                throw TwinError.invalidInput("\(name): PNG data are damaged: \(msg)")
            }
            return raw
        }
    }
}
