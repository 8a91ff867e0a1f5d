import Foundation

/// What went wrong in a manifest, a shard or a merge, naming the file and what to do.
public enum BatchError: Error, CustomStringConvertible, Equatable, Sendable {
    case unreadableManifest(path: String, reason: String)
    case badManifestLine(path: String, line: Int, reason: String)
    case badShard(String)
    case environment(String)
    case missingPart(path: String, shard: Int, shards: Int)
    case incompletePart(path: String, reason: String)
    case damagedPart(path: String, reason: String)
    case mismatchedParts(String)
    case output(path: String, reason: String)

    public var description: String {
        switch self {
        case .unreadableManifest(let path, let reason):
            return "\(path): cannot read the manifest (\(reason)); check the path, or write one with `ser manifest`"
        case .badManifestLine(let path, let line, let reason):
            return "\(path), line \(line): \(reason)"
        case .badShard(let reason):
            return reason
        case .environment(let reason):
            return reason
        case .missingPart(let path, let shard, let shards):
            return "missing part \(path) (shard \(shard) of \(shards)): run that shard, then merge again"
        case .incompletePart(let path, let reason):
            return "part \(path) is not complete: \(reason); rerun its shard (it resumes where it stopped)"
        case .damagedPart(let path, let reason):
            return "part \(path) is damaged: \(reason); delete it and its .complete record, and rerun its shard"
        case .mismatchedParts(let reason):
            return "the parts do not belong to one run: \(reason)"
        case .output(let path, let reason):
            return "cannot write \(path): \(reason)"
        }
    }
}
