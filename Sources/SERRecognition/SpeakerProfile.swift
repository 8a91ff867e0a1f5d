import Foundation
import SERFeatures
import SERModels
import SERSpeakers
import SERSupport

/// A speaker's voice as a model adapts to it: a name, the statistics of the
/// feature vectors of the recordings heard (never audio, never labels), and the
/// feature configuration they were computed with (`InputPipeline.featureIdentity`),
/// since statistics of other features mean nothing. Stored as JSON.
public struct SpeakerProfile: Codable, Sendable, Equatable {
    /// The profile format this version writes and reads.
    public static let formatVersion = 1

    /// The format the profile was written in.
    public var formatVersion: Int
    /// The speaker's name (or any label the user gives).
    public var name: String
    /// The `InputPipeline.featureIdentity` of the vectors summed.
    public var features: String
    /// Count, sum and sum of squares of the feature vectors heard.
    public var statistics: SpeakerStatistics
    /// ISO 8601 times of creation and of the last update.
    public var created: String
    /// When an utterance was last added.
    public var updated: String

    enum CodingKeys: String, CodingKey { case name, features, statistics, created, updated, formatVersion = "format_version" }

    /// An empty profile for vectors of `pipeline`.
    public init(name: String, pipeline: InputPipeline, now: Date = Date()) {
        formatVersion = Self.formatVersion
        self.name = name
        features = pipeline.featureIdentity
        statistics = SpeakerStatistics(dimension: pipeline.preset.dimension)
        created = ISO8601DateFormatter().string(from: now)
        updated = created
    }

    /// Why a profile cannot be used.
    public enum Failure: Error, Equatable, Sendable, CustomStringConvertible {
        case unreadable(path: String)
        case corrupt(path: String, reason: String)
        case otherFeatures(path: String, profile: String, model: String)

        /// What is wrong with the profile file and what to do.
        public var description: String {
            switch self {
            case .unreadable(let path): return "\(path): cannot read the speaker profile; check the path"
            case .corrupt(let path, let reason): return "\(path): not a usable speaker profile (\(reason)); create it again with 'ser profile create'"
            case .otherFeatures(let path, let profile, let model):
                return "\(path): the profile was computed with other features (\(profile)) than the model reads (\(model)); create a profile with this model: 'ser profile create NAME FILE... --model MODEL'"
            }
        }
    }

    /// Reads a profile written by `write(to:)`.
    public init(contentsOf path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else { throw Failure.unreadable(path: path) }
        try self.init(data: data, source: path)
    }

    /// Parses a profile's JSON; `path` names it in errors.
    public init(data: Data, source path: String) throws {
        let profile: SpeakerProfile
        do {
            profile = try JSONDecoder().decode(SpeakerProfile.self, from: data)
        } catch {
            throw Failure.corrupt(path: path, reason: "not the JSON of a profile")
        }
        guard profile.formatVersion == Self.formatVersion else {
            throw Failure.corrupt(path: path, reason: "format version \(profile.formatVersion); this ser reads \(Self.formatVersion)")
        }
        self = profile
    }

    /// Writes the profile atomically (an interrupted write leaves the old file).
    public func write(to path: String) throws {
        try AtomicFile.write(Data(sortedJSONText(self).utf8), to: path)
    }

    /// Throws `Failure.otherFeatures` unless the profile's vectors are `pipeline`'s.
    public func check(against pipeline: InputPipeline, path: String) throws {
        guard features == pipeline.featureIdentity, statistics.dimension == pipeline.preset.dimension else {
            throw Failure.otherFeatures(path: path, profile: features, model: pipeline.featureIdentity)
        }
    }

    /// Adds recordings' feature vectors and stamps the update time; returns how many were added.
    @discardableResult
    public mutating func add(_ vectors: [[Float]], now: Date = Date()) -> Int {
        let added = vectors.reduce(0) { $0 + (statistics.add($1) ? 1 : 0) }
        if added > 0 { updated = ISO8601DateFormatter().string(from: now) }
        return added
    }
}
