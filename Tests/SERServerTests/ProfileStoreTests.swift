import Foundation
import SERSpeakers
@testable import SERServer
import Testing

@Suite("speaker profile store (SQLite)")
struct ProfileStoreTests {
    static let dimension = 6

    func databasePath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("ser-profiles-\(UUID().uuidString)/profiles.sqlite").path
    }

    func vector(_ value: Float) -> [Float] { (0..<Self.dimension).map { value + Float($0) } }

    @Test("profiles round-trip their statistics, and other features are refused")
    func roundTrip() throws {
        let path = databasePath()
        let store = try ProfileStore(path: path, features: "preset=test", dimension: Self.dimension)
        #expect(try store.statistics(of: "alice") == nil)
        try store.add([vector(1), vector(3)], to: "alice")
        try store.add([vector(5)], to: "alice")
        let expected = SpeakerStatistics(dimension: Self.dimension, vectors: [vector(1), vector(3), vector(5)])
        #expect(try store.statistics(of: "alice") == expected)
        let summary = try #require(try store.summary(of: "alice"))
        #expect(summary.utterances == 3 && !summary.created.isEmpty && summary.updated >= summary.created)
        // The same file opened for other features refuses the profile with a clear reason.
        let other = try ProfileStore(path: path, features: "preset=other", dimension: Self.dimension)
        #expect(throws: ProfileStore.Failure.otherFeatures(id: "alice", stored: "preset=test", model: "preset=other")) {
            try other.statistics(of: "alice")
        }
        #expect(throws: ProfileStore.Failure.invalidIdentifier("../x")) { try store.add([vector(1)], to: "../x") }
    }

    @Test("concurrent updates of one profile keep every utterance")
    func concurrentUpdatesLoseNothing() async throws {
        let store = try ProfileStore(path: databasePath(), features: "preset=test", dimension: Self.dimension)
        let writers = 8, each = 25
        await withTaskGroup(of: Void.self) { group in
            for writer in 0..<writers {
                group.addTask {
                    for update in 0..<each { _ = try? store.add([self.vector(Float(writer * 100 + update))], to: "shared") }
                }
            }
        }
        let statistics = try #require(try store.statistics(of: "shared"))
        #expect(statistics.count == writers * each)
        var expectedFirstSum = 0.0
        for writer in 0..<writers {
            for update in 0..<each { expectedFirstSum += Double(writer * 100 + update) }
        }
        #expect(statistics.sum[0] == expectedFirstSum)
    }

    @Test("DELETE leaves nothing behind, not even the bytes of the statistics")
    func deleteLeavesNothing() throws {
        let path = databasePath()
        let store = try ProfileStore(path: path, features: "preset=test", dimension: Self.dimension)
        // A distinctive value whose float64 bytes can be searched for in the file.
        let marker: Float = 12345.678
        try store.add([vector(marker)], to: "secret")
        try store.add([vector(2)], to: "kept")
        let bytes = withUnsafeBytes(of: Double(marker).bitPattern.littleEndian) { Data($0) }
        func fileHoldsMarker() -> Bool {
            let folder = (path as NSString).deletingLastPathComponent
            let files = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
            return files.contains { name in
                (FileManager.default.contents(atPath: folder + "/" + name) ?? Data()).range(of: bytes) != nil
            }
        }
        #expect(fileHoldsMarker(), "the marker should be stored before the delete")
        #expect(try store.delete("secret"))
        #expect(try store.statistics(of: "secret") == nil)
        #expect(try !store.delete("secret"))
        #expect(try store.count() == 1)
        #expect(!fileHoldsMarker(), "deleted statistics must not survive in the database files")
    }
}
