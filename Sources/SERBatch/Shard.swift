import Foundation
import SERSupport

/// One of N deterministic slices of a manifest.
///
/// An entry belongs to shard `bucket(key) mod N`, where the bucket is the first
/// eight bytes of the SHA-256 of the entry's key (its content hash when the
/// manifest lists one, otherwise its path as the manifest writes it). The
/// assignment depends on nothing but the key and N: not on the machine, the
/// listing order, or the other entries.
public struct Shard: Sendable, Equatable, CustomStringConvertible {
    /// This shard's number, 0 ..< count.
    public let index: Int
    /// How many shards the manifest is cut into.
    public let count: Int

    /// The largest shard count accepted (part names have five digits).
    public static let maximumCount = 99_999

    public init(index: Int, count: Int) throws {
        guard (1...Self.maximumCount).contains(count) else {
            throw BatchError.badShard("the shard count must be between 1 and \(Self.maximumCount) (got \(count))")
        }
        guard (0..<count).contains(index) else {
            throw BatchError.badShard("shard \(index) does not exist: with \(count) shards they are numbered 0 to \(count - 1)")
        }
        self.index = index
        self.count = count
    }

    /// Parses `I/N`, e.g. `3/16`.
    public init(parsing text: String) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]) else {
            throw BatchError.badShard("--shard takes I/N, the shard's number from 0 and the shard count, e.g. 3/16 (got \(text))")
        }
        try self.init(index: index, count: count)
    }

    public var description: String { "\(index)/\(count)" }

    /// The shard the work engine assigned this process, from its environment:
    /// a Kubernetes Indexed Job's `JOB_COMPLETION_INDEX` (with `shards`, which
    /// the Job's `completions` must equal), or a Slurm job array's
    /// `SLURM_ARRAY_TASK_ID` − `SLURM_ARRAY_TASK_MIN` of `SLURM_ARRAY_TASK_COUNT`.
    /// Nil when neither is set and `shards` is nil.
    public static func fromEnvironment(_ environment: [String: String], shards: Int?) throws -> Shard? {
        func integer(_ name: String) throws -> Int? {
            guard let text = environment[name] else { return nil }
            guard let value = Int(text.trimmingCharacters(in: .whitespaces)) else {
                throw BatchError.environment("\(name)=\(text) is not an integer")
            }
            return value
        }
        if let index = try integer("JOB_COMPLETION_INDEX") {
            guard let shards else {
                throw BatchError.environment("JOB_COMPLETION_INDEX=\(index) is set (a Kubernetes Indexed Job): give --shards N, equal to the Job's completions")
            }
            return try Shard(index: index, count: shards)
        }
        if let task = try integer("SLURM_ARRAY_TASK_ID") {
            guard let count = try integer("SLURM_ARRAY_TASK_COUNT") else {
                throw BatchError.environment("SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not: run as a job array (sbatch --array=0-N)")
            }
            let minimum = try integer("SLURM_ARRAY_TASK_MIN") ?? 0
            if let shards, shards != count {
                throw BatchError.environment("--shards \(shards) disagrees with the Slurm array's \(count) tasks (SLURM_ARRAY_TASK_COUNT)")
            }
            if let maximum = try integer("SLURM_ARRAY_TASK_MAX"), maximum - minimum + 1 != count {
                throw BatchError.environment("the Slurm array has gaps (tasks \(minimum)–\(maximum), \(count) of them): use a contiguous --array range, or a step of 1")
            }
            return try Shard(index: task - minimum, count: count)
        }
        if let shards {
            throw BatchError.environment("--shards \(shards) needs the shard's index: set JOB_COMPLETION_INDEX (a Kubernetes Indexed Job does), run under a Slurm job array, or give --shard I/\(shards)")
        }
        return nil
    }

    /// The shard, 0 ..< `count`, that an entry with this key belongs to.
    public static func bucket(of key: String, count: Int) -> Int {
        var hasher = SHA256()
        hasher.update(Data(key.utf8))
        let digest = hasher.finalize()
        var value: UInt64 = 0
        for byte in digest.prefix(8) { value = value << 8 | UInt64(byte) }
        return Int(value % UInt64(count))
    }

    /// Whether this shard takes the entry with this key.
    public func owns(key: String) -> Bool { Self.bucket(of: key, count: count) == index }

    /// The indices of `keys` this shard takes, in order.
    public func ownedIndices(of keys: [String]) -> [Int] {
        keys.indices.filter { owns(key: keys[$0]) }
    }

    /// `.part-00003-of-00016`.
    public var partSuffix: String {
        ".part-" + Self.fiveDigits(index) + "-of-" + Self.fiveDigits(count)
    }

    /// This shard's part of `output`: its stem, the part suffix, then its extension
    /// (`emotions.jsonl` → `emotions.part-00003-of-00016.jsonl`).
    public func partPath(for output: String) -> String {
        let url = URL(fileURLWithPath: output)
        let ext = url.pathExtension
        let stem = ext.isEmpty ? output : String(output.dropLast(ext.count + 1))
        return stem + partSuffix + (ext.isEmpty ? "" : "." + ext)
    }

    private static func fiveDigits(_ value: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, 5 - text.count)) + text
    }
}
