import Foundation
import SERBatch
import SERSupport
import Testing

@Suite struct ShardTests {
    @Test func parsesAndRejectsShardSpecifications() throws {
        let shard = try Shard(parsing: "3/16")
        #expect(shard.index == 3 && shard.count == 16)
        #expect(shard.partSuffix == ".part-00003-of-00016")
        for bad in ["16/16", "-1/4", "1/0", "3", "a/b", "1/2/3", "0/100000"] {
            #expect(throws: BatchError.self, "\(bad)") { try Shard(parsing: bad) }
        }
    }

    @Test func partNamesFollowTheOutputsStemAndExtension() throws {
        let shard = try Shard(index: 3, count: 16)
        #expect(shard.partPath(for: "out/emotions.jsonl") == "out/emotions.part-00003-of-00016.jsonl")
        #expect(shard.partPath(for: "/data/table.v2.npy") == "/data/table.v2.part-00003-of-00016.npy")
        #expect(shard.partPath(for: "table") == "table.part-00003-of-00016")
    }

    /// The shard of an entry depends on its key alone: not on the listing order,
    /// nor on which other entries exist; every entry is in exactly one shard; and
    /// the shards are roughly even.
    @Test func assignmentIsStableAndComplete() throws {
        var generator = SplitMix64(seed: 7)
        let keys = (0..<3000).map { "speaker\($0 % 37)/take-\($0).wav" }
        let count = 4
        let shards = try (0..<count).map { try Shard(index: $0, count: count) }
        let owners = keys.map { key in shards.filter { $0.owns(key: key) }.map(\.index) }
        #expect(owners.allSatisfy { $0.count == 1 })
        var shuffled = keys
        for i in stride(from: shuffled.count - 1, to: 0, by: -1) {
            shuffled.swapAt(i, Int(generator.next() % UInt64(i + 1)))
        }
        let byKey = Dictionary(uniqueKeysWithValues: zip(keys, owners.map { $0[0] }))
        let subset = Array(shuffled.prefix(500))
        for shard in shards {
            for index in shard.ownedIndices(of: subset) { #expect(byKey[subset[index]] == shard.index) }
        }
        let sizes = (0..<count).map { shard in owners.filter { $0 == [shard] }.count }
        #expect(sizes.allSatisfy { abs($0 - keys.count / count) < keys.count / count / 5 }, "\(sizes)")
        // Values from Python's hashlib (first 8 bytes of SHA-256, big-endian, mod N): a change
        // of hash would move every file of a running job to another shard.
        #expect(Shard.bucket(of: "a.wav", count: 1_000_003) == 912_510)
        #expect(Shard.bucket(of: "a.wav", count: 16) == 4)
        #expect(Shard.bucket(of: "sha256:" + String(repeating: "0", count: 64), count: 1_000_003) == 945_708)
        #expect(Shard.bucket(of: "a.wav", count: 1) == 0)
    }

    @Test func theEnginesVariablesPickTheShard() throws {
        let kubernetes = try Shard.fromEnvironment(["JOB_COMPLETION_INDEX": "5"], shards: 8)
        #expect(kubernetes == (try Shard(index: 5, count: 8)))
        #expect(throws: BatchError.self) { try Shard.fromEnvironment(["JOB_COMPLETION_INDEX": "5"], shards: nil) }
        #expect(throws: BatchError.self) { try Shard.fromEnvironment(["JOB_COMPLETION_INDEX": "8"], shards: 8) }
        #expect(throws: BatchError.self) { try Shard.fromEnvironment(["JOB_COMPLETION_INDEX": "x"], shards: 8) }

        let slurm = ["SLURM_ARRAY_TASK_ID": "12", "SLURM_ARRAY_TASK_MIN": "10", "SLURM_ARRAY_TASK_MAX": "13", "SLURM_ARRAY_TASK_COUNT": "4"]
        #expect(try Shard.fromEnvironment(slurm, shards: nil) == (try Shard(index: 2, count: 4)))
        #expect(try Shard.fromEnvironment(slurm, shards: 4) == (try Shard(index: 2, count: 4)))
        #expect(throws: BatchError.self) { try Shard.fromEnvironment(slurm, shards: 5) }
        var gappy = slurm
        gappy["SLURM_ARRAY_TASK_MAX"] = "20"
        #expect(throws: BatchError.self) { try Shard.fromEnvironment(gappy, shards: nil) }
        #expect(throws: BatchError.self) { try Shard.fromEnvironment(["SLURM_ARRAY_TASK_ID": "1"], shards: nil) }

        #expect(try Shard.fromEnvironment([:], shards: nil) == nil)
        #expect(throws: BatchError.self) { try Shard.fromEnvironment([:], shards: 4) }
    }
}

@Suite struct FileManifestTests {
    @Test func listsRelativePathsWithSizesAndHashesAndReadsThemBack() throws {
        let folder = try TemporaryFolder()
        try folder.write("a/one.wav", Data("first".utf8))
        try folder.write("b/two.flac", Data("second file".utf8))
        let outside = try TemporaryFolder()
        try outside.write("x.wav", Data("elsewhere".utf8))
        let manifestPath = folder.path + "/files.jsonl"
        let (manifest, failures) = FileManifest.listing([folder.path + "/a/one.wav", folder.path + "/b/two.flac", outside.path + "/x.wav"],
                                                        manifestPath: manifestPath, sizes: true, hashes: true)
        #expect(failures.isEmpty)
        #expect(manifest.entries.map(\.path) == ["a/one.wav", "b/two.flac", outside.path + "/x.wav"])
        #expect(manifest.entries.map(\.size) == [5, 11, 9])
        #expect(manifest.entries[0].sha256 == SHA256.hexDigest(of: Data("first".utf8)))
        try AtomicFile.write(manifest.jsonLinesData(), to: manifestPath)

        let read = try FileManifest(contentsOf: manifestPath)
        #expect(read.entries == manifest.entries)
        #expect(read.resolvedPath(of: read.entries[1]) == folder.path + "/b/two.flac")
        #expect(read.resolvedPath(of: read.entries[2]) == outside.path + "/x.wav")
        #expect(read.entries[0].shardKey.hasPrefix("sha256:"))
        #expect(read.digest == manifest.digest)
        var reordered = manifest
        reordered.entries.swapAt(0, 1)
        #expect(reordered.digest != manifest.digest, "the digest follows the order, which the merged output follows")
    }

    @Test func readsCSVAndLabelledManifestsAndReportsBadLines() throws {
        let folder = try TemporaryFolder()
        let csv = try folder.write("m.csv", Data("label,path,speaker\nangry,\"clips/a, b.wav\",s1\nsad,c.wav,s2\n".utf8))
        let manifest = try FileManifest(contentsOf: csv)
        #expect(manifest.entries.map(\.path) == ["clips/a, b.wav", "c.wav"])
        #expect(manifest.entries.allSatisfy { $0.sha256 == nil && $0.shardKey == $0.path })
        let corpusManifest = try folder.write("c.jsonl", Data(#"{"corpus":"RAVDESS","label":"calm","path":"/x/03-01-02.wav","speaker":"01"}"#.utf8 + [0x0A]))
        #expect(try FileManifest(contentsOf: corpusManifest).entries.map(\.path) == ["/x/03-01-02.wav"])

        let cases: [(String, String, Int)] = [
            ("bad1.jsonl", "{\"path\": \"a.wav\"}\nnot json\n", 2),
            ("bad2.jsonl", "{\"file\": \"a.wav\"}\n", 1),
            ("bad3.jsonl", "{\"path\": \"a.wav\", \"sha256\": \"xyz\"}\n", 1),
            ("bad4.jsonl", "{\"path\": \"a.wav\", \"size\": -4}\n", 1),
            ("bad5.csv", "path,size\na.wav,many\n", 2),
        ]
        for (name, text, line) in cases {
            let path = try folder.write(name, Data(text.utf8))
            #expect(throws: BatchError.badManifestLine(path: path, line: line, reason: "")) {
                do { _ = try FileManifest(contentsOf: path) } catch BatchError.badManifestLine(let p, let l, _) {
                    throw BatchError.badManifestLine(path: p, line: l, reason: "")
                }
            }
        }
        #expect(throws: BatchError.self) { try FileManifest(contentsOf: folder.path + "/absent.jsonl") }
        let noPath = try folder.write("nopath.csv", Data("file,label\na.wav,sad\n".utf8))
        #expect(throws: BatchError.self) { try FileManifest(contentsOf: noPath) }
    }
}

/// A folder under /tmp, removed when the value goes away.
final class TemporaryFolder {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("ser-batch-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    @discardableResult
    func write(_ name: String, _ data: Data) throws -> String {
        let file = path + "/" + name
        try FileManager.default.createDirectory(atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try data.write(to: URL(fileURLWithPath: file))
        return file
    }
}
