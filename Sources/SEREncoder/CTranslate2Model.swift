import Foundation
import SERSupport

/// A CTranslate2 `model.bin`, read without CTranslate2.
///
/// The layout, as CTranslate2's converters write it (binary version 6; all
/// integers little-endian, strings as a `UInt16` byte count that includes a
/// trailing NUL, then the UTF-8 bytes and the NUL):
///
/// ```
/// UInt32 binary version            6 for current converters
/// string spec name                 "WhisperSpec", "TransformerSpec", …
/// UInt32 spec revision             3 for Whisper
/// UInt32 variable count
/// per variable:
///   string name                    "encoder/layer_0/self_attention/linear_0/weight"
///   UInt8  rank
///   UInt32 dimension × rank        row-major, outermost first
///   UInt8  data type               0 float32, 1 int8, 2 int16, 3 int32, 4 float16, 5 bfloat16
///   UInt32 byte count              element count × element size
///   bytes                          the values, little-endian
/// UInt32 alias count
/// per alias: string alias, string target variable
/// ```
///
/// Scalars (rank 0) carry settings such as `encoder/num_heads`. Linear layers
/// store `weight` as `outputs × inputs` and `bias` as `outputs`; Whisper's
/// encoder fuses the query, key and value projections into one
/// `linear_0/weight` of `3·width × width` (key's bias is zero).
public struct CTranslate2Model: Sendable {
    /// A stored array: its shape, data type and raw bytes.
    public struct Variable: Sendable {
        /// The array's dimensions, outermost first.
        public var shape: [Int]
        /// How each value is stored.
        public var dataType: DataType
        /// The values' little-endian bytes, as stored.
        public var bytes: Data

        /// The values widened to float32 (float32, float16 and bfloat16 only).
        public func floats() -> [Float]? {
            let count = shape.reduce(1, *)
            switch dataType {
            case .float32:
                return bytes.withUnsafeBytes { raw in
                    (0..<count).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
                }
            case .float16:
                return bytes.withUnsafeBytes { raw in
                    (0..<count).map { Float(Float16(bitPattern: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self)))) }
                }
            case .bfloat16:
                return bytes.withUnsafeBytes { raw in
                    (0..<count).map { Float(bitPattern: UInt32(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self))) << 16) }
                }
            case .int8, .int16, .int32:
                return nil
            }
        }

        /// The value of an integer scalar or one-element array.
        public var integer: Int? {
            guard shape.reduce(1, *) == 1 else { return nil }
            switch dataType {
            case .int8: return bytes.first.map { Int(Int8(bitPattern: $0)) }
            case .int16: return bytes.count == 2 ? Int(bytes.withUnsafeBytes { Int16(littleEndian: $0.loadUnaligned(as: Int16.self)) }) : nil
            case .int32: return bytes.count == 4 ? Int(bytes.withUnsafeBytes { Int32(littleEndian: $0.loadUnaligned(as: Int32.self)) }) : nil
            default: return nil
            }
        }
    }

    /// CTranslate2's element types, by their stored identifier.
    public enum DataType: UInt8, Sendable {
        case float32 = 0, int8 = 1, int16 = 2, int32 = 3, float16 = 4, bfloat16 = 5

        var size: Int {
            switch self {
            case .float32, .int32: return 4
            case .int16, .float16, .bfloat16: return 2
            case .int8: return 1
            }
        }
    }

    /// Why a file is not a usable CTranslate2 model.
    public enum Failure: Error, Equatable, Sendable, CustomStringConvertible {
        case malformed(path: String, reason: String)

        /// What is wrong with the file, and what to do.
        public var description: String {
            switch self {
            case .malformed(let path, let reason):
                return "\(path): not a readable CTranslate2 model (\(reason)); download it again with 'ser encoder install --force'"
            }
        }
    }

    /// The `model.bin` format version.
    public var binaryVersion: Int
    /// The model specification's name (`WhisperSpec` for Whisper).
    public var specName: String
    /// The specification's revision.
    public var specRevision: Int
    /// Every stored array, by its name in the file.
    public var variables: [String: Variable]
    /// Alias → the variable it names (e.g. a decoder projection tied to the embeddings).
    public var aliases: [String: String]

    /// Parses `data`; `source` names the file in errors. `keeping` filters which
    /// variables are kept (all by default), so a large decoder can be skipped.
    public init(data: Data, source: String, keeping: (String) -> Bool = { _ in true }) throws {
        var reader = ByteReader(data: data, source: source)
        binaryVersion = Int(try reader.uint32())
        guard (1...6).contains(binaryVersion) else {
            throw Failure.malformed(path: source, reason: "binary version \(binaryVersion), expected 6")
        }
        specName = binaryVersion >= 2 ? try reader.string() : ""
        specRevision = binaryVersion >= 2 ? Int(try reader.uint32()) : 1
        let count = Int(try reader.uint32())
        guard count <= 100_000 else { throw Failure.malformed(path: source, reason: "\(count) variables") }
        var variables: [String: Variable] = [:]
        for _ in 0..<count {
            let name = try reader.string()
            let rank = Int(try reader.uint8())
            guard rank <= 8 else { throw Failure.malformed(path: source, reason: "\(name) has rank \(rank)") }
            var shape: [Int] = []
            for _ in 0..<rank { shape.append(Int(try reader.uint32())) }
            let typeCode = try reader.uint8()
            guard let type = DataType(rawValue: typeCode) else {
                throw Failure.malformed(path: source, reason: "\(name) has unknown data type \(typeCode)")
            }
            let byteCount = Int(try reader.uint32())
            guard let elements = elementCount(ofShape: shape), elements.multipliedReportingOverflow(by: type.size) == (byteCount, false) else {
                throw Failure.malformed(path: source, reason: "\(name): shape \(shape) does not fill \(byteCount) bytes")
            }
            if keeping(name) {
                variables[name] = Variable(shape: shape, dataType: type, bytes: try reader.bytes(byteCount))
            } else {
                try reader.skip(byteCount)
            }
        }
        var aliases: [String: String] = [:]
        if binaryVersion >= 3, !reader.atEnd {
            let aliasCount = Int(try reader.uint32())
            guard aliasCount <= 100_000 else { throw Failure.malformed(path: source, reason: "\(aliasCount) aliases") }
            for _ in 0..<aliasCount {
                let alias = try reader.string()
                aliases[alias] = try reader.string()
            }
        }
        self.variables = variables
        self.aliases = aliases
    }

    /// Reads and parses the file at `path`.
    public init(contentsOf path: String, keeping: (String) -> Bool = { _ in true }) throws {
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) else {
            throw Failure.malformed(path: path, reason: "cannot read the file")
        }
        try self.init(data: data, source: path, keeping: keeping)
    }

    /// Bounds-checked little-endian reads.
    private struct ByteReader {
        let data: Data
        let source: String
        var offset: Int

        init(data: Data, source: String) {
            self.data = data
            self.source = source
            offset = data.startIndex
        }

        var atEnd: Bool { offset >= data.endIndex }

        mutating func bytes(_ count: Int) throws -> Data {
            guard count >= 0, offset + count <= data.endIndex else {
                throw Failure.malformed(path: source, reason: "truncated at byte \(offset - data.startIndex)")
            }
            defer { offset += count }
            return data.subdata(in: offset..<(offset + count))
        }

        mutating func skip(_ count: Int) throws {
            guard count >= 0, offset + count <= data.endIndex else {
                throw Failure.malformed(path: source, reason: "truncated at byte \(offset - data.startIndex)")
            }
            offset += count
        }

        mutating func uint8() throws -> UInt8 { try bytes(1)[0] }

        mutating func uint16() throws -> UInt16 {
            let b = try bytes(2)
            return UInt16(b[b.startIndex]) | UInt16(b[b.startIndex + 1]) << 8
        }

        mutating func uint32() throws -> UInt32 {
            let b = try bytes(4)
            return (0..<4).reduce(UInt32(0)) { $0 | UInt32(b[b.startIndex + $1]) << (8 * UInt32($1)) }
        }

        mutating func string() throws -> String {
            let length = Int(try uint16())
            guard length >= 1 else { throw Failure.malformed(path: source, reason: "empty string at byte \(offset - data.startIndex)") }
            let raw = try bytes(length)
            guard raw.last == 0, let text = String(data: raw.dropLast(), encoding: .utf8) else {
                throw Failure.malformed(path: source, reason: "bad string at byte \(offset - data.startIndex - length)")
            }
            return text
        }
    }
}
