import Foundation
import SERSpeakers
@testable import SERServer
import Testing

/// The PostgreSQL profile store, against a real server: `scripts/start-test-postgres.sh`
/// (run by CI) starts one at the URL below; without it the tests say so and skip.
@Suite("speaker profile store (PostgreSQL)", .serialized)
struct PostgresProfileStoreTests {
    static let url = ProcessInfo.processInfo.environment["SER_TEST_POSTGRES_URL"] ?? "postgres://ser:ser-test@127.0.0.1:5432/ser_test"
    static let dimension = 5

    /// A store on the test database, or nil (with the reason printed) when there is none.
    static func store(features: String = "preset=test") throws -> PostgresProfileStore? {
        let location = try #require(PostgresProfileStore.Location(url: url))
        do {
            return try PostgresProfileStore(location: location, features: features, dimension: dimension)
        } catch {
            print("PostgresProfileStoreTests: skipped, no PostgreSQL at \(location.redacted) (run scripts/start-test-postgres.sh): \(error)")
            return nil
        }
    }

    func vector(_ value: Float) -> [Float] { (0..<Self.dimension).map { value * Float($0 + 1) } }

    /// Runs `body` on a Dispatch thread: the store blocks its caller until the
    /// database answers, which must never be a thread of Swift's cooperative pool
    /// (the server calls it from its inference threads for the same reason).
    static func onDispatchThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try body() }) }
        }
    }

    @Test func locationsAreParsedAndBadOnesRefused() {
        let location = PostgresProfileStore.Location(url: "postgres://ser:secret@db.internal:6543/profiles")
        #expect(location == PostgresProfileStore.Location(url: "postgresql://ser:secret@db.internal:6543/profiles"))
        #expect(location?.host == "db.internal" && location?.port == 6543 && location?.password == "secret" && location?.database == "profiles")
        #expect(location?.redacted == "postgres://ser@db.internal:6543/profiles", "messages never show the password")
        #expect(PostgresProfileStore.Location(url: "postgres://db/profiles")?.port == nil, "a user is required")
        for bad in ["mysql://u@h/d", "postgres://u@h", "postgres://u@h/a/b", "/var/lib/profiles.sqlite"] {
            #expect(PostgresProfileStore.Location(url: bad) == nil, "\(bad)")
        }
    }

    @Test func profilesRoundTripAndOtherFeaturesAreRefused() async throws {
        try await Self.onDispatchThread { try self.roundTrip() }
    }

    func roundTrip() throws {
        guard let store = try Self.store() else { return }
        let id = "pg-\(UUID().uuidString.prefix(8))"
        #expect(try store.statistics(of: id) == nil && store.summary(of: id) == nil)
        try store.add([vector(1), vector(2)], to: id)
        try store.add([vector(4)], to: id)
        #expect(try store.statistics(of: id) == SpeakerStatistics(dimension: Self.dimension, vectors: [vector(1), vector(2), vector(4)]))
        let summary = try #require(try store.summary(of: id))
        #expect(summary.utterances == 3 && summary.updated >= summary.created)
        let other = try #require(try Self.store(features: "preset=other"))
        #expect(throws: ProfileStore.Failure.otherFeatures(id: id, stored: "preset=test", model: "preset=other")) { try other.statistics(of: id) }
        #expect(throws: ProfileStore.Failure.invalidIdentifier("a;b")) { try store.add([vector(1)], to: "a;b") }
        #expect(try store.delete(id))
        #expect(try store.statistics(of: id) == nil && !store.delete(id))
    }

    /// Two stores stand for two replicas on different hosts: concurrent updates
    /// of one profile through both keep every utterance.
    @Test func concurrentUpdatesThroughTwoReplicasLoseNothing() async throws {
        try await Self.onDispatchThread { try self.concurrentUpdates() }
    }

    func concurrentUpdates() throws {
        guard let first = try Self.store(), let second = try Self.store() else { return }
        let id = "pg-shared-\(UUID().uuidString.prefix(8))"
        let writers = 6, each = 15
        DispatchQueue.concurrentPerform(iterations: writers) { writer in
            let store = writer % 2 == 0 ? first : second
            for update in 0..<each { _ = try? store.add([vector(Float(writer * 100 + update))], to: id) }
        }
        let statistics = try #require(try second.statistics(of: id))
        #expect(statistics.count == writers * each)
        var expected = 0.0
        for writer in 0..<writers {
            for update in 0..<each { expected += Double(writer * 100 + update) }
        }
        #expect(statistics.sum[0] == expected)
        #expect(try first.delete(id))
    }
}
