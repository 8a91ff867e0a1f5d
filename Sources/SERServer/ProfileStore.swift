import Foundation
import GRDB
import SERRecognition
import SERSpeakers

/// Where a server keeps speaker profiles: a small protocol, so that replicas
/// can share one store. Implementations hold no state in memory that another
/// replica would need; every call reads or writes the shared store.
public protocol SpeakerProfileStore: Sendable {
    /// The feature identity of the vectors the store takes (`InputPipeline.featureIdentity`).
    var features: String { get }
    /// The vectors' length.
    var dimension: Int { get }
    /// The profile's statistics, or nil when there is no such profile.
    func statistics(of id: String) throws -> SpeakerStatistics?
    /// Counts and times of a profile, or nil.
    func summary(of id: String) throws -> ProfileStore.Summary?
    /// Adds feature vectors to the profile (creating it) atomically: concurrent
    /// additions, from any replica, all count.
    @discardableResult func add(_ vectors: [[Float]], to id: String, now: Date) throws -> ProfileStore.Summary
    /// Deletes the profile; false when there was none.
    @discardableResult func delete(_ id: String) throws -> Bool
    /// Profiles stored.
    func count() throws -> Int
}

extension SpeakerProfileStore {
    /// Adds feature vectors to the profile now.
    @discardableResult
    public func add(_ vectors: [[Float]], to id: String) throws -> ProfileStore.Summary { try add(vectors, to: id, now: Date()) }
}

/// The server's speaker profiles in one SQLite database (through GRDB): per
/// profile id, the feature configuration, the count, sum and sum of squares of
/// the feature vectors learnt, and when it was created and last updated.
///
/// Every update is one write transaction that reads the row, adds and writes it
/// back; SQLite serializes writers, so concurrent updates of one profile lose no
/// utterance, and its journal leaves the file consistent if the process dies
/// mid-write. Deleted rows are overwritten (`secure_delete`), not just unlinked.
///
/// Replicas on one host share it by opening the same file (on a local disk:
/// SQLite's locks are not reliable over network file systems); SQLite's locking
/// serializes their writers as it does one process's.
public final class ProfileStore: SpeakerProfileStore {
    /// What a profile is, without its statistics.
    public struct Summary: Sendable, Equatable, WireDocumented {
        /// The profile's identifier (1–64 letters, digits, '.', '_' or '-').
        public var id: String
        /// How many utterances its statistics hold.
        public var utterances: Int
        /// When it was created (ISO 8601, UTC).
        public var created: String
        /// When an utterance was last added (ISO 8601, UTC).
        public var updated: String
        /// Utterances the request that answers with this summary added; nil for a plain read.
        public var added: Int?

        /// The JSON schema of a summary in the OpenAPI document.
        public static var schema: [String: Any] {
            ["type": "object", "required": ["id", "utterances", "created", "updated"],
             "properties": ["id": ["type": "string"], "utterances": ["type": "integer", "minimum": 0],
                            "created": ["type": "string", "format": "date-time"], "updated": ["type": "string", "format": "date-time"],
                            "added": ["type": "integer", "description": "Utterances this request added."]]]
        }
    }

    /// Why a profile operation failed (answered by the routes as 4xx).
    public enum Failure: Error, Equatable, Sendable, CustomStringConvertible {
        case invalidIdentifier(String)
        case otherFeatures(id: String, stored: String, model: String)
        case damaged(id: String)

        /// What failed and what to do, as the client's 4xx answer says it.
        public var description: String {
            switch self {
            case .invalidIdentifier(let id):
                return "profile id \"\(id)\" is not 1–64 letters, digits, '.', '_' or '-'"
            case .otherFeatures(let id, let stored, let model):
                return "profile \(id) was learnt with other features (\(stored)) than this server's model reads (\(model)); delete it and learn it again"
            case .damaged(let id):
                return "profile \(id) holds statistics of the wrong size (the database was altered by hand?); delete it and learn it again"
            }
        }
    }

    private let database: DatabaseQueue
    /// The feature identity of the vectors this store takes (`InputPipeline.featureIdentity`).
    public let features: String
    /// The length of the vectors this store takes.
    public let dimension: Int

    /// Opens (creating when needed) the database at `path` for vectors of `features` (`dimension` long).
    public init(path: String, features: String, dimension: Int) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA secure_delete = ON")
        }
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        database = try DatabaseQueue(path: path, configuration: configuration)
        self.features = features
        self.dimension = dimension
        var migrator = DatabaseMigrator()
        migrator.registerMigration("profiles-v1") { db in
            try db.create(table: "profile") { table in
                table.primaryKey("id", .text)
                table.column("features", .text).notNull()
                table.column("utterances", .integer).notNull()
                table.column("sum", .blob).notNull()
                table.column("sum_of_squares", .blob).notNull()
                table.column("created", .text).notNull()
                table.column("updated", .text).notNull()
            }
        }
        try migrator.migrate(database)
    }

    /// Whether `id` may name a profile.
    public static func isValidIdentifier(_ id: String) -> Bool {
        (1...64).contains(id.count) && id.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }
    }

    /// The profile's statistics, or nil when there is no such profile.
    public func statistics(of id: String) throws -> SpeakerStatistics? {
        try check(id)
        return try database.read { db in try row(id, db).map { try decode($0, id: id) } }
    }

    /// What the store says of a profile, or nil.
    public func summary(of id: String) throws -> Summary? {
        try check(id)
        return try database.read { db in
            try row(id, db).map { Summary(id: id, utterances: $0["utterances"], created: $0["created"], updated: $0["updated"]) }
        }
    }

    /// Adds feature vectors to the profile (creating it), in one transaction.
    @discardableResult
    public func add(_ vectors: [[Float]], to id: String, now: Date) throws -> Summary {
        try check(id)
        let time = ISO8601DateFormatter().string(from: now)
        return try database.write { db in
            let existing = try row(id, db)
            var statistics = try existing.map { try decode($0, id: id) } ?? SpeakerStatistics(dimension: dimension)
            for vector in vectors { statistics.add(vector) }
            let created: String = existing?["created"] ?? time
            try db.execute(sql: """
                INSERT INTO profile (id, features, utterances, sum, sum_of_squares, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(id) DO UPDATE SET utterances = excluded.utterances, sum = excluded.sum,
                    sum_of_squares = excluded.sum_of_squares, updated = excluded.updated
                """, arguments: [id, features, statistics.count, Self.blob(statistics.sum), Self.blob(statistics.sumOfSquares), created, time])
            return Summary(id: id, utterances: statistics.count, created: created, updated: time)
        }
    }

    /// Deletes the profile; false when there was none.
    @discardableResult
    public func delete(_ id: String) throws -> Bool {
        try check(id)
        return try database.write { db in
            try db.execute(sql: "DELETE FROM profile WHERE id = ?", arguments: [id])
            return db.changesCount > 0
        }
    }

    /// Profiles stored (for tests and health).
    public func count() throws -> Int {
        try database.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM profile") ?? 0 }
    }

    func check(_ id: String) throws { try Self.checkIdentifier(id) }

    /// Throws `Failure.invalidIdentifier` unless `id` may name a profile.
    static func checkIdentifier(_ id: String) throws {
        guard isValidIdentifier(id) else { throw Failure.invalidIdentifier(id) }
    }

    private func row(_ id: String, _ db: Database) throws -> Row? {
        try Row.fetchOne(db, sql: "SELECT * FROM profile WHERE id = ?", arguments: [id])
    }

    private func decode(_ row: Row, id: String) throws -> SpeakerStatistics {
        let stored: String = row["features"]
        guard stored == features else { throw Failure.otherFeatures(id: id, stored: stored, model: features) }
        return try Self.statistics(id: id, count: row["utterances"], sum: row["sum"], squares: row["sum_of_squares"], dimension: dimension)
    }

    /// A stored row's statistics, checked: the blobs must hold `dimension` values each.
    static func statistics(id: String, count: Int, sum: Data?, squares: Data?, dimension: Int) throws -> SpeakerStatistics {
        let sum = doubles(sum), squares = doubles(squares)
        guard sum.count == dimension, squares.count == dimension, count >= 0,
              let statistics = try? SpeakerStatistics(count: count, sum: sum, sumOfSquares: squares) else {
            throw Failure.damaged(id: id)
        }
        return statistics
    }

    static func blob(_ values: [Double]) -> Data {
        var data = Data(capacity: values.count * 8)
        for value in values { withUnsafeBytes(of: value.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        return data
    }

    static func doubles(_ data: Data?) -> [Double] {
        guard let data, data.count % 8 == 0 else { return [] }
        return data.withUnsafeBytes { raw in
            (0..<(data.count / 8)).map { Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * $0, as: UInt64.self))) }
        }
    }
}
