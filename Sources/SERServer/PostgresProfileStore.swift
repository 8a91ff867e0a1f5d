import Foundation
import Logging
import PostgresNIO
import SERSpeakers

/// Speaker profiles in PostgreSQL (through PostgresNIO), for server replicas on
/// many hosts: point every replica's `--profiles` at one database URL.
///
/// The table and its rows are those of the SQLite `ProfileStore` (id, feature
/// identity, count, the two sums as little-endian float64 bytes, times). An
/// update is one transaction that locks the profile's row (`SELECT … FOR
/// UPDATE`, after creating it if it is new), adds and writes back, so
/// concurrent updates from any replica all count; deleted rows are gone when
/// the transaction commits.
///
/// The store's calls block their thread until the database answers, while the
/// query runs on Swift's concurrency pool: call them from Dispatch threads (the
/// server uses its inference pool's), never from an event loop or an async task,
/// whose blocked thread the query might need.
public final class PostgresProfileStore: SpeakerProfileStore {
    /// The feature identity of the vectors this store takes (`InputPipeline.featureIdentity`).
    public let features: String
    /// The length of those vectors.
    public let dimension: Int
    private let client: PostgresClient
    private let running: Task<Void, Never>
    private let logger: Logger

    /// How to reach the database, from `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE`.
    public struct Location: Sendable, Equatable {
        /// The server's host name or address.
        public var host: String
        /// The server's port (5432 when the URL names none).
        public var port: Int
        /// The role to connect as.
        public var username: String
        /// The role's password, when the URL gives one.
        public var password: String?
        /// The database holding the `ser_profile` table.
        public var database: String

        /// Parses a `postgres://` or `postgresql://` URL; nil for anything else.
        public init?(url: String) {
            guard let components = URLComponents(string: url), ["postgres", "postgresql"].contains(components.scheme ?? ""),
                  let host = components.host, !host.isEmpty, let username = components.user, !username.isEmpty else { return nil }
            let database = String(components.path.drop(while: { $0 == "/" }))
            guard !database.isEmpty, !database.contains("/") else { return nil }
            self.host = host
            self.port = components.port ?? 5432
            self.username = username
            self.password = components.password
            self.database = database
        }

        /// The URL without its password, for messages.
        public var redacted: String { "postgres://\(username)@\(host):\(port)/\(database)" }
    }

    /// Connects (a small pool, TLS off: keep the database on a private network),
    /// creates the table when missing, and checks that the database answers.
    public init(location: Location, features: String, dimension: Int, logger: Logger = Logger(label: "ser.profiles")) throws {
        self.features = features
        self.dimension = dimension
        self.logger = logger
        var configuration = PostgresClient.Configuration(host: location.host, port: location.port, username: location.username,
                                                         password: location.password, database: location.database, tls: .disable)
        configuration.options.maximumConnections = 8
        configuration.options.connectionIdleTimeout = .seconds(60)
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.client = client
        running = Task.detached { await client.run() }
        do {
            try Self.blocking {
                try await client.query("""
                    CREATE TABLE IF NOT EXISTS ser_profile (
                        id text PRIMARY KEY, features text NOT NULL, utterances bigint NOT NULL,
                        sum bytea NOT NULL, sum_of_squares bytea NOT NULL, created text NOT NULL, updated text NOT NULL)
                    """, logger: logger)
            }
        } catch {
            running.cancel()
            throw Failure.unreachable(location: location.redacted, reason: String(reflecting: error))
        }
    }

    deinit { running.cancel() }

    /// Why the database could not be used.
    public enum Failure: Error, CustomStringConvertible {
        case unreachable(location: String, reason: String)

        /// What failed and what to check, for the log and the command line.
        public var description: String {
            switch self {
            case .unreachable(let location, let reason):
                return "cannot use the profile database \(location): \(reason). Check that PostgreSQL runs there and the role may create tables"
            }
        }
    }

    /// The statistics of profile `id`, or nil when there is none; throws when the id is invalid or the row was learnt with other features.
    public func statistics(of id: String) throws -> SpeakerStatistics? {
        try ProfileStore.checkIdentifier(id)
        let (features, dimension) = (self.features, self.dimension)
        return try Self.blocking { [client, logger] in
            let rows = try await client.query("SELECT features, utterances, sum, sum_of_squares FROM ser_profile WHERE id = \(id)", logger: logger)
            for try await (stored, count, sum, squares) in rows.decode((String, Int64, Data, Data).self) {
                guard stored == features else { throw ProfileStore.Failure.otherFeatures(id: id, stored: stored, model: features) }
                return try ProfileStore.statistics(id: id, count: Int(count), sum: sum, squares: squares, dimension: dimension)
            }
            return nil
        }
    }

    /// What profile `id` is (utterances, dates), without its statistics; nil when there is none.
    public func summary(of id: String) throws -> ProfileStore.Summary? {
        try ProfileStore.checkIdentifier(id)
        return try Self.blocking { [client, logger] in
            let rows = try await client.query("SELECT utterances, created, updated FROM ser_profile WHERE id = \(id)", logger: logger)
            for try await (count, created, updated) in rows.decode((Int64, String, String).self) {
                return ProfileStore.Summary(id: id, utterances: Int(count), created: created, updated: updated)
            }
            return nil
        }
    }

    /// Adds `vectors` (one per utterance) to profile `id` in one transaction, creating it when needed, and returns what it now is.
    @discardableResult
    public func add(_ vectors: [[Float]], to id: String, now: Date) throws -> ProfileStore.Summary {
        try ProfileStore.checkIdentifier(id)
        let time = ISO8601DateFormatter().string(from: now)
        let (features, dimension) = (self.features, self.dimension)
        let empty = ProfileStore.blob([Double](repeating: 0, count: dimension))
        return try Self.blocking { [client, logger] in
            try await client.withTransaction(logger: logger) { connection in
                // Create the row if it is new, then lock it: concurrent writers wait here.
                try await connection.query("""
                    INSERT INTO ser_profile (id, features, utterances, sum, sum_of_squares, created, updated)
                    VALUES (\(id), \(features), 0, \(empty), \(empty), \(time), \(time)) ON CONFLICT (id) DO NOTHING
                    """, logger: logger)
                let rows = try await connection.query(
                    "SELECT features, utterances, sum, sum_of_squares, created FROM ser_profile WHERE id = \(id) FOR UPDATE", logger: logger)
                var statistics: SpeakerStatistics?
                var created = time
                for try await (stored, count, sum, squares, since) in rows.decode((String, Int64, Data, Data, String).self) {
                    guard stored == features else { throw ProfileStore.Failure.otherFeatures(id: id, stored: stored, model: features) }
                    statistics = try ProfileStore.statistics(id: id, count: Int(count), sum: sum, squares: squares, dimension: dimension)
                    created = since
                }
                guard var statistics else { throw ProfileStore.Failure.damaged(id: id) }
                for vector in vectors { statistics.add(vector) }
                let count = Int64(statistics.count)
                let sum = ProfileStore.blob(statistics.sum), squares = ProfileStore.blob(statistics.sumOfSquares)
                try await connection.query("""
                    UPDATE ser_profile SET utterances = \(count), sum = \(sum), sum_of_squares = \(squares), updated = \(time) WHERE id = \(id)
                    """, logger: logger)
                return ProfileStore.Summary(id: id, utterances: statistics.count, created: created, updated: time)
            }
        }
    }

    /// Deletes profile `id`; false when there was none.
    @discardableResult
    public func delete(_ id: String) throws -> Bool {
        try ProfileStore.checkIdentifier(id)
        return try Self.blocking { [client, logger] in
            let rows = try await client.query("DELETE FROM ser_profile WHERE id = \(id) RETURNING id", logger: logger)
            var deleted = false
            for try await _ in rows { deleted = true }
            return deleted
        }
    }

    /// How many profiles the store holds.
    public func count() throws -> Int {
        try Self.blocking { [client, logger] in
            let rows = try await client.query("SELECT COUNT(*) FROM ser_profile", logger: logger)
            for try await (count) in rows.decode(Int64.self) { return Int(count) }
            return 0
        }
    }

    /// Runs `operation` on the concurrency pool and waits for it on this
    /// (non-cooperative) thread.
    private static func blocking<T: Sendable>(_ operation: @escaping @Sendable () async throws -> T) throws -> T {
        let box = ResultBox<T>()
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            do { box.result = .success(try await operation()) } catch { box.result = .failure(error) }
            done.signal()
        }
        done.wait()
        return try box.result!.get()
    }
}

/// A result handed from a task to the thread waiting for it (the semaphore orders the accesses).
private final class ResultBox<T>: @unchecked Sendable {
    var result: Result<T, Error>?
}
