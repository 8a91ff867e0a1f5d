import Foundation

/// A model file in the safetensors layout, which Python's `safetensors` opens too:
/// an 8-byte little-endian header length, a JSON header naming each tensor's
/// dtype, shape and byte range (plus a `__metadata__` map of strings), then the
/// little-endian float32 data.
public struct SafeTensorsFile: Equatable, Sendable {
    /// A shaped float32 array, the same value type `.npy` files hold.
    public typealias Tensor = NumPyArray

    /// Why a model file cannot be used.
    public enum Failure: Error, Equatable, Sendable, CustomStringConvertible {
        case unreadable(path: String)
        case truncated(path: String, reason: String)
        case corrupt(path: String, reason: String)
        case unsupported(path: String, reason: String)

        public var description: String {
            switch self {
            case .unreadable(let path): return "\(path): cannot read the model file; check the path"
            case .truncated(let path, let reason): return "\(path): the model file is truncated (\(reason)); copy or download it again"
            case .corrupt(let path, let reason): return "\(path): the model file is damaged (\(reason)); copy or download it again"
            case .unsupported(let path, let reason): return "\(path): unsupported model file (\(reason)); retrain it with this version of ser"
            }
        }
    }

    public var metadata: [String: String]
    public var tensors: [String: Tensor]

    public init(metadata: [String: String] = [:], tensors: [String: Tensor] = [:]) {
        self.metadata = metadata
        self.tensors = tensors
    }

    /// The encoded file: header padded with spaces to an 8-byte boundary, tensors in name order.
    public func encoded() -> Data {
        var header: [String: Any] = [:]
        var offset = 0
        let names = tensors.keys.sorted()
        for name in names {
            let tensor = tensors[name]!
            let size = tensor.values.count * 4
            header[name] = ["dtype": "F32", "shape": tensor.shape, "data_offsets": [offset, offset + size]]
            offset += size
        }
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var json = (try? JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])) ?? Data("{}".utf8)
        while (8 + json.count) % 8 != 0 { json.append(0x20) }
        var data = Data()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(json)
        for name in names {
            tensors[name]!.values.withUnsafeBufferPointer { buffer in
                var littleEndian = buffer.map { $0.bitPattern.littleEndian }
                data.append(Data(bytes: &littleEndian, count: littleEndian.count * 4))
            }
        }
        return data
    }

    /// Atomically writes the file.
    public func write(to path: String) throws {
        try AtomicFile.write(encoded(), to: path)
    }

    /// Reads and validates a file; `source` names it in errors.
    public init(data: Data, source: String) throws {
        guard data.count >= 8 else { throw Failure.truncated(path: source, reason: "\(data.count) bytes, no header length") }
        let headerLength = data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard headerLength <= 100_000_000 else { throw Failure.corrupt(path: source, reason: "header length \(headerLength) is absurd") }
        guard 8 + Int(headerLength) <= data.count else {
            throw Failure.truncated(path: source, reason: "header of \(headerLength) bytes but the file has \(data.count)")
        }
        let headerData = data.subdata(in: 8..<(8 + Int(headerLength)))
        guard let header = (try? JSONSerialization.jsonObject(with: headerData)) as? [String: Any] else {
            throw Failure.corrupt(path: source, reason: "the header is not a JSON object")
        }
        let bodyStart = 8 + Int(headerLength)
        let bodyCount = data.count - bodyStart
        var metadata: [String: String] = [:], tensors: [String: Tensor] = [:]
        var ranges: [(Int, Int)] = []
        for (name, value) in header {
            if name == "__metadata__" {
                guard let map = value as? [String: Any] else { throw Failure.corrupt(path: source, reason: "__metadata__ is not an object") }
                for (key, entry) in map {
                    guard let text = entry as? String else { throw Failure.corrupt(path: source, reason: "metadata \(key) is not a string") }
                    metadata[key] = text
                }
                continue
            }
            guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String,
                  let shape = entry["shape"] as? [Int], let offsets = entry["data_offsets"] as? [Int], offsets.count == 2
            else { throw Failure.corrupt(path: source, reason: "tensor \(name) is described incompletely") }
            guard dtype == "F32" else { throw Failure.unsupported(path: source, reason: "tensor \(name) has dtype \(dtype), only F32 is read") }
            guard shape.count <= 8, shape.allSatisfy({ $0 >= 0 }), offsets[0] >= 0, offsets[1] >= offsets[0] else {
                throw Failure.corrupt(path: source, reason: "tensor \(name) has an invalid shape or byte range")
            }
            // The element count, checked against the byte range before anything is allocated.
            guard let count = elementCount(ofShape: shape), count <= Int.max / 4, count * 4 == offsets[1] - offsets[0] else {
                throw Failure.corrupt(path: source, reason: "tensor \(name): shape \(shape) does not fill bytes \(offsets[0])..<\(offsets[1])")
            }
            guard offsets[1] <= bodyCount else {
                throw Failure.truncated(path: source, reason: "tensor \(name) ends at byte \(offsets[1]) of \(bodyCount)")
            }
            ranges.append((offsets[0], offsets[1]))
            let values: [Float] = data.withUnsafeBytes { all in
                let raw = UnsafeRawBufferPointer(rebasing: all[(bodyStart + offsets[0])..<(bodyStart + offsets[1])])
                return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                    if count > 0 { UnsafeMutableRawBufferPointer(buffer).copyMemory(from: raw) }
                    #if _endian(big)
                    for i in 0..<count { buffer[i] = Float(bitPattern: UInt32(littleEndian: buffer[i].bitPattern)) }
                    #endif
                    initialized = count
                }
            }
            tensors[name] = Tensor(shape: shape, values: values)
        }
        let sorted = ranges.sorted { $0.0 < $1.0 }
        for (a, b) in zip(sorted, sorted.dropFirst()) where b.0 < a.1 {
            throw Failure.corrupt(path: source, reason: "tensor byte ranges overlap")
        }
        self.metadata = metadata
        self.tensors = tensors
    }

    /// Reads the file at `path` (memory-mapped, so a large file is copied once, into its tensors).
    public init(contentsOf path: String) throws {
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) else { throw Failure.unreadable(path: path) }
        try self.init(data: data, source: path)
    }

    /// Only the metadata of the file at `path`, without reading its tensors.
    public static func header(ofFileAt path: String) throws -> (metadata: [String: String], tensorNames: [String]) {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw Failure.unreadable(path: path) }
        defer { try? handle.close() }
        guard let lengthBytes = try? handle.read(upToCount: 8), lengthBytes.count == 8 else {
            throw Failure.truncated(path: path, reason: "no header length")
        }
        let headerLength = lengthBytes.enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard headerLength <= 100_000_000 else { throw Failure.corrupt(path: path, reason: "header length \(headerLength) is absurd") }
        guard let headerData = try? handle.read(upToCount: Int(headerLength)), headerData.count == Int(headerLength),
              let header = (try? JSONSerialization.jsonObject(with: headerData)) as? [String: Any] else {
            throw Failure.corrupt(path: path, reason: "the header is not a JSON object")
        }
        let metadata = (header["__metadata__"] as? [String: Any] ?? [:]).compactMapValues { $0 as? String }
        return (metadata, header.keys.filter { $0 != "__metadata__" }.sorted())
    }
}

extension SafeTensorsFile {
    /// Stores `part` inside this file under `key`: its metadata as one JSON
    /// string at `metadata[key]`, its tensors renamed `key.<name>`. How a
    /// classifier built of other classifiers (an ensemble, corpus heads on a
    /// shared network) keeps them in one file.
    public mutating func embed(_ part: SafeTensorsFile, as key: String) {
        metadata[key] = sortedJSONText(part.metadata)
        for (name, tensor) in part.tensors { tensors["\(key).\(name)"] = tensor }
    }

    /// The file `embed(_:as:)` stored under `key`; `source` and `role` name it in errors.
    public func embedded(_ key: String, source: String, role: String) throws -> SafeTensorsFile {
        guard let text = metadata[key],
              let partMetadata = try? JSONDecoder().decode([String: String].self, from: Data(text.utf8)) else {
            throw Failure.corrupt(path: source, reason: "\(role) has no metadata")
        }
        let prefix = key + "."
        var partTensors: [String: Tensor] = [:]
        for (name, tensor) in tensors where name.hasPrefix(prefix) { partTensors[String(name.dropFirst(prefix.count))] = tensor }
        return SafeTensorsFile(metadata: partMetadata, tensors: partTensors)
    }
}
