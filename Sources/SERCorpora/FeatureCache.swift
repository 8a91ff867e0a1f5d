import Foundation
import SERFeatures
import SERSupport

/// Features extracted once per (audio content, feature configuration) and kept
/// on disk.
///
/// Each entry is one `.npy` file named by a hash of the audio file's bytes and a
/// hash of everything that decides the numbers (preset or feature, its
/// configuration, the cache format version). Entries are written with
/// `AtomicFile`, so two processes filling the same cache can at worst both write
/// identical content, a `kill -9` leaves no partial entry (at most a hidden
/// temporary file), an interrupted extraction resumes where it stopped, and a
/// changed configuration simply misses and recomputes.
public final class FeatureCache: Sendable {
    public let directory: String
    /// Bumped whenever feature code changes its numbers.
    public static let formatVersion = 1

    public init(directory: String) throws {
        self.directory = directory
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw CorpusError.invalidOption("cannot create the feature cache at \(directory): \(error.localizedDescription)")
        }
    }

    /// `$XDG_CACHE_HOME/ser/features`, or `~/.cache/ser/features`.
    public static var defaultDirectory: String {
        let environment = ProcessInfo.processInfo.environment
        let base = environment["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (NSHomeDirectory() as NSString).appendingPathComponent(".cache")
        return (base as NSString).appendingPathComponent("ser/features")
    }

    /// The cached values for `path` under `key`, computing and storing them on a miss.
    /// An entry that cannot be read, or holds another count than `expectedCount`,
    /// counts as a miss and is replaced.
    /// - Parameter key: what decides the values, e.g. from `FeatureCache.key(preset:sampleRate:)`.
    public func values(for path: String, key: String, expectedCount: Int? = nil,
                       compute: () throws -> [Float]) throws -> (values: [Float], hit: Bool) {
        let entry = try entryPath(for: path, key: key)
        if let cached = try? NumPyArray(contentsOf: entry), cached.shape.count == 1,
           expectedCount.map({ $0 == cached.values.count }) ?? true {
            return (cached.values, true)
        }
        let values = try compute()
        try NumPyArray(shape: [values.count], values: values).write(to: entry)
        return (values, false)
    }

    /// The cached values for `path` under `key`, or nil when there are none (or
    /// they cannot be read, or hold another count than `expectedCount`). Never computes.
    public func cachedValues(for path: String, key: String, expectedCount: Int? = nil) -> [Float]? {
        guard let entry = try? entryPath(for: path, key: key), let cached = try? NumPyArray(contentsOf: entry),
              cached.shape.count == 1, expectedCount.map({ $0 == cached.values.count }) ?? true else { return nil }
        return cached.values
    }

    /// The key of a preset's vector at a sample rate.
    /// `encoderIdentity`: the `SpeechEmbedder.identity` of presets that read one.
    public static func key(preset: FeaturePreset, sampleRate: Int, encoderIdentity: String? = nil) -> String {
        let configuration = preset.configuration(sampleRate: sampleRate)
        // The log-mel image's framing (crop, pad, floor) is not in the configuration: version it here.
        let image = preset.imageShape.map { ";image=\($0.frames)x\($0.bands),v2" } ?? ""
        // The encoder's weights and pooled layers decide its part.
        let encoder = preset.embedding.map { ";encoder=\(encoderIdentity ?? "none");\($0.cacheKey)" } ?? ""
        return "preset=\(preset.rawValue);v=\(formatVersion);" + configurationText(configuration) + image + encoder
    }

    /// The key of one pooled feature.
    public static func key(feature: FeatureKind, pooling: Pooling, configuration: FeatureConfiguration) -> String {
        "feature=\(feature.rawValue);pool=\(pooling.rawValue);v=\(formatVersion);" + configurationText(configuration)
    }

    private static func configurationText(_ configuration: FeatureConfiguration) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: (try? encoder.encode(configuration)) ?? Data(), as: UTF8.self)
    }

    private func entryPath(for path: String, key: String) throws -> String {
        let content = try ContentHash.ofFile(at: path)
        let configuration = ContentHash.ofBytes(Array(key.utf8))
        let shard = String(content.prefix(2))
        let folder = (directory as NSString).appendingPathComponent(shard)
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return (folder as NSString).appendingPathComponent("\(content)-\(configuration).npy")
    }
}

/// Stable 128-bit content hashes (two independent 64-bit FNV-1a-style lanes),
/// the same on every machine and run.
public enum ContentHash {
    public static func ofBytes<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        var state = State()
        state.add(bytes)
        return state.hex
    }

    /// A 64-bit seed drawn from `text` (the first half of its hash): how a
    /// recording's path and copy number seed that copy's random draws.
    public static func seed(of text: String) -> UInt64 {
        var state = State()
        state.add(Array(text.utf8))
        return UInt64(state.hex.prefix(16), radix: 16) ?? 0
    }

    /// Hashes a file's bytes in 1 MiB blocks.
    public static func ofFile(at path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw CorpusError.notFound(path: path) }
        defer { try? handle.close() }
        var state = State()
        while let block = try handle.read(upToCount: 1 << 20), !block.isEmpty {
            block.withUnsafeBytes { state.add($0.bindMemory(to: UInt8.self)) }
        }
        return state.hex
    }

    struct State {
        var a: UInt64 = 0xcbf2_9ce4_8422_2325
        var b: UInt64 = 0x8422_2325_cbf2_9ce4
        var count: UInt64 = 0

        mutating func add<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
            for byte in bytes {
                a = (a ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
                b = (b ^ UInt64(byte) ^ (b >> 29)) &* 0x9E37_79B9_7F4A_7C15
                count &+= 1
            }
        }

        var hex: String {
            var x = a ^ count, y = b ^ (count &* 0xff51_afd7_ed55_8ccd)
            x ^= x >> 33; x &*= 0xc4ce_b9fe_1a85_ec53; x ^= x >> 33
            y ^= y >> 31; y &*= 0xff51_afd7_ed55_8ccd; y ^= y >> 29
            return String(format: "%016llx%016llx", x, y)
        }
    }
}
