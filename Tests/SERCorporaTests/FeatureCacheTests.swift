import Foundation
import SERFeatures
import Testing
@testable import SERCorpora

@Suite struct FeatureCacheTests {
    @Test func missThenHitAndInvalidation() throws {
        let folder = Folder()
        let cache = try FeatureCache(directory: folder.path + "/cache")
        let audio = try folder.audio("a.wav", seed: 1)
        let key = FeatureCache.key(preset: .classic180, sampleRate: 16000)
        var computed = 0
        let compute: () throws -> [Float] = { computed += 1; return [1, 2, 3] }
        let first = try cache.values(for: audio, key: key, compute: compute)
        let second = try cache.values(for: audio, key: key, compute: compute)
        #expect(!first.hit && second.hit && computed == 1 && second.values == [1, 2, 3])
        // Another configuration misses.
        #expect(try !cache.values(for: audio, key: FeatureCache.key(preset: .classic180, sampleRate: 22050), compute: compute).hit)
        // New content at the same path misses.
        try folder.audio("a.wav", seed: 2)
        #expect(try !cache.values(for: audio, key: key, compute: compute).hit)
        #expect(computed == 3)
    }

    @Test func aDamagedEntryIsRecomputedNotTrusted() throws {
        let folder = Folder()
        let cache = try FeatureCache(directory: folder.path + "/cache")
        let audio = try folder.audio("b.wav", seed: 3)
        let key = "k"
        _ = try cache.values(for: audio, key: key) { [4, 5] }
        // Truncate every entry, as a crash of another tool might.
        let entries = FileManager.default.enumerator(atPath: cache.directory)!.compactMap { $0 as? String }.filter { $0.hasSuffix(".npy") }
        #expect(entries.count == 1)
        for entry in entries { try Data([0x93]).write(to: URL(fileURLWithPath: cache.directory + "/" + entry)) }
        let again = try cache.values(for: audio, key: key) { [4, 5] }
        #expect(!again.hit && again.values == [4, 5])
    }

    @Test func contentHashesAreStableAndSensitive() throws {
        #expect(ContentHash.ofBytes(Array("hello".utf8)) == ContentHash.ofBytes(Array("hello".utf8)))
        #expect(ContentHash.ofBytes(Array("hello".utf8)) != ContentHash.ofBytes(Array("hellp".utf8)))
        #expect(ContentHash.ofBytes([UInt8]()) != ContentHash.ofBytes([0]))
        #expect(ContentHash.ofBytes(Array("hello".utf8)).count == 32)
        let folder = Folder()
        let file = try folder.text("t.txt", "hello")
        #expect(try ContentHash.ofFile(at: file) == ContentHash.ofBytes(Array("hello".utf8)))
    }
}
