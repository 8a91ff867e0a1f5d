import Foundation

/// An n-dimensional array in NumPy's `.npy` format (versions 1.0–3.0),
/// little-endian, C order.
///
/// Reading accepts `<f4`, `<f8`, `<i2`, `<i4`, `<i8`, `|u1` and `|b1` data and
/// converts it to `Float`; writing produces `<f4` (the numpy default for
/// librosa's float32 outputs).
public struct NumPyArray: Equatable, Sendable {
    /// The array's shape; `[]` for a scalar.
    public var shape: [Int]
    /// The values in C (row-major) order.
    public var values: [Float]

    public init(shape: [Int], values: [Float]) {
        precondition(shape.reduce(1, *) == values.count, "shape \(shape) does not match \(values.count) values")
        self.shape = shape
        self.values = values
    }

    /// Errors when reading a `.npy` file.
    public enum Failure: Error, CustomStringConvertible, Equatable {
        case notNumPy(path: String)
        case unsupported(path: String, reason: String)

        public var description: String {
            switch self {
            case .notNumPy(let path):
                return "\(path) is not a NumPy .npy file (missing the \\x93NUMPY magic)."
            case .unsupported(let path, let reason):
                return "\(path): unsupported .npy content: \(reason)."
            }
        }
    }

    // MARK: Reading

    /// Reads a `.npy` file.
    public init(contentsOf path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Failure.notNumPy(path: path)
        }
        try self.init(npyData: data, source: path)
    }

    /// Parses `.npy` bytes; `source` names them in errors.
    public init(npyData data: Data, source: String = "<data>") throws {
        let bytes = [UInt8](data)
        let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else { throw Failure.notNumPy(path: source) }
        let major = bytes[6]
        let headerLength: Int
        let headerStart: Int
        switch major {
        case 1:
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw Failure.notNumPy(path: source) }
            headerLength = (0..<4).reduce(0) { $0 | Int(bytes[8 + $1]) << (8 * $1) }
            headerStart = 12
        default:
            throw Failure.unsupported(path: source, reason: "format version \(major)")
        }
        guard headerStart + headerLength <= bytes.count,
              let header = String(bytes: bytes[headerStart..<(headerStart + headerLength)], encoding: .utf8)
        else { throw Failure.unsupported(path: source, reason: "truncated header") }

        let descr = try Self.headerValue("descr", in: header, source: source)
            .trimmingCharacters(in: CharacterSet(charactersIn: "'\""))
        let fortranOrder = try Self.headerValue("fortran_order", in: header, source: source).hasPrefix("True")
        let shapeText = try Self.headerValue("shape", in: header, source: source)
        let dimensions = shapeText
            .trimmingCharacters(in: CharacterSet(charactersIn: "()"))
            .split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        let shape = dimensions.compactMap { Int($0) }
        guard shape.count == dimensions.count, shape.count <= 32, shape.allSatisfy({ $0 >= 0 }) else {
            throw Failure.unsupported(path: source, reason: "shape \(shapeText)")
        }
        // The element count, refused before any allocation when it overflows.
        guard let count = elementCount(ofShape: shape) else { throw Failure.unsupported(path: source, reason: "shape \(shape) is too large") }
        let payload = bytes[(headerStart + headerLength)...]

        let itemSize: Int
        let decode: (ArraySlice<UInt8>, Int) -> Float
        switch descr {
        case "<f4":
            itemSize = 4
            decode = { b, o in Float(bitPattern: Self.littleEndianUInt32(b, o)) }
        case "<f8":
            itemSize = 8
            decode = { b, o in Float(Double(bitPattern: Self.littleEndianUInt64(b, o))) }
        case "<i2":
            itemSize = 2
            decode = { b, o in Float(Int16(bitPattern: UInt16(b[o]) | UInt16(b[o + 1]) << 8)) }
        case "<i4":
            itemSize = 4
            decode = { b, o in Float(Int32(bitPattern: Self.littleEndianUInt32(b, o))) }
        case "<i8":
            itemSize = 8
            decode = { b, o in Float(Int64(bitPattern: Self.littleEndianUInt64(b, o))) }
        case "|u1", "|b1":
            itemSize = 1
            decode = { b, o in Float(b[o]) }
        default:
            throw Failure.unsupported(path: source, reason: "dtype \(descr)")
        }
        guard count <= payload.count / itemSize else {
            throw Failure.unsupported(path: source, reason: "data shorter than shape \(shape)")
        }
        let base = payload.startIndex
        let stored = (0..<count).map { decode(payload, base + $0 * itemSize) }
        self.shape = shape
        self.values = fortranOrder ? Self.rowMajor(fromColumnMajor: stored, shape: shape) : stored
    }

    /// Reorders column-major (Fortran) values into row-major (C) order.
    private static func rowMajor(fromColumnMajor values: [Float], shape: [Int]) -> [Float] {
        guard shape.count > 1 else { return values }
        var out = [Float](repeating: 0, count: values.count)
        var index = [Int](repeating: 0, count: shape.count)
        for position in values.indices {
            // `index` walks the array in C order; its Fortran offset has the first axis fastest.
            var fortranOffset = 0, stride = 1
            for axis in 0..<shape.count {
                fortranOffset += index[axis] * stride
                stride *= shape[axis]
            }
            out[position] = values[fortranOffset]
            var axis = shape.count - 1
            while axis >= 0 {
                index[axis] += 1
                if index[axis] < shape[axis] { break }
                index[axis] = 0
                axis -= 1
            }
        }
        return out
    }

    private static func littleEndianUInt32(_ b: ArraySlice<UInt8>, _ o: Int) -> UInt32 {
        UInt32(b[o]) | UInt32(b[o + 1]) << 8 | UInt32(b[o + 2]) << 16 | UInt32(b[o + 3]) << 24
    }

    private static func littleEndianUInt64(_ b: ArraySlice<UInt8>, _ o: Int) -> UInt64 {
        UInt64(littleEndianUInt32(b, o)) | UInt64(littleEndianUInt32(b, o + 4)) << 32
    }

    private static func headerValue(_ key: String, in header: String, source: String) throws -> String {
        guard let keyRange = header.range(of: "'\(key)':") else {
            throw Failure.unsupported(path: source, reason: "header has no '\(key)'")
        }
        let rest = header[keyRange.upperBound...].drop(while: { $0 == " " })
        if rest.first == "(" {
            guard let close = rest.firstIndex(of: ")") else {
                throw Failure.unsupported(path: source, reason: "unterminated shape")
            }
            return String(rest[...close])
        }
        return String(rest.prefix(while: { $0 != "," && $0 != "}" })).trimmingCharacters(in: .whitespaces)
    }

    // MARK: Writing

    /// The header of a `.npy` version 1.0 file of little-endian float32 values of
    /// this shape: what precedes the values, padded so they start on a 64-byte boundary.
    public static func header(shape: [Int]) -> Data {
        let shapeText: String
        switch shape.count {
        case 0: shapeText = "()"
        case 1: shapeText = "(\(shape[0]),)"
        default: shapeText = "(" + shape.map(String.init).joined(separator: ", ") + ")"
        }
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shapeText), }"
        // Pad so that the data starts on a 64-byte boundary, header ends in '\n'.
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var data = Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0])
        let length = UInt16(header.utf8.count)
        data.append(contentsOf: [UInt8(length & 0xFF), UInt8(length >> 8)])
        data.append(contentsOf: Array(header.utf8))
        return data
    }

    /// `values` as the little-endian float32 bytes a `.npy` file holds.
    public static func littleEndianBytes(_ values: [Float]) -> Data {
        values.withUnsafeBufferPointer { buffer in
            var littleEndian = buffer.map { $0.bitPattern.littleEndian }
            return Data(bytes: &littleEndian, count: littleEndian.count * 4)
        }
    }

    /// The array encoded as `.npy` version 1.0 with dtype `<f4`.
    public func npyData() -> Data {
        var data = Self.header(shape: shape)
        data.append(Self.littleEndianBytes(values))
        return data
    }

    /// Atomically writes the array as a `.npy` file.
    public func write(to path: String) throws {
        try AtomicFile.write(npyData(), to: path)
    }
}
