import Foundation
import SERAudio
import Testing

@Suite struct CorpusCommandTests {
    func corpus(_ workspace: Workspace) throws {
        for (index, name) in ["Actor_01/03-01-03-01-01-01-01.wav", "Actor_01/03-01-04-01-01-01-01.wav",
                              "Actor_02/03-01-03-01-01-01-02.wav", "Actor_02/03-01-03-01-01-02-02.wav"].enumerated() {
            let path = workspace.file("ravdess/" + name)
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            // The last file repeats the third's audio: a duplicate.
            let frequency = 200.0 + 50 * Double(min(index, 2))
            let samples = (0..<8000).map { Float(0.3 * sin(2 * Double.pi * frequency * Double($0) / 16000)) }
            try AudioFileWriter.write(AudioSignal(samples: samples, sampleRate: 16000), to: path, format: .wav)
        }
    }

    @Test func scanReportsCountsAndDuplicates() throws {
        let workspace = Workspace()
        try corpus(workspace)
        let run = try SERRun(["corpus", "scan", workspace.file("ravdess"), "--format", "json"])
        #expect(run.status == 0, "\(run.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let corpora = try #require(report["corpora"] as? [[String: Any]])
        #expect(corpora.count == 1 && corpora[0]["files"] as? Int == 4 && corpora[0]["speakers"] as? Int == 2)
        let counts = try #require(corpora[0]["counts"] as? [String: [String: Int]])
        #expect(counts["happy"]?["male"] == 1 && counts["happy"]?["female"] == 2 && counts["sad"]?["male"] == 1)
        #expect(report["usable"] as? Int == 3 && report["excluded"] as? Int == 1)
        let table = try SERRun(["corpus", "scan", workspace.file("ravdess")])
        #expect(table.stdout.contains("RAVDESS: 4 files, 2 speakers") && table.stdout.contains("duplicate (1)"))
    }

    @Test func manifestListsCleanFilesAndHonoursMerges() throws {
        let workspace = Workspace()
        try corpus(workspace)
        let out = workspace.file("all.jsonl")
        let run = try SERRun(["corpus", "manifest", workspace.file("ravdess"), "--merge", "sad=neutral", "--out", out])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("left out") && run.stderr.contains("duplicate"))
        let lines = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 3)
        let labels = lines.compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] }.compactMap { $0["label"] as? String }
        #expect(labels.sorted() == ["happy", "happy", "neutral"])
        #expect(try SERRun(["corpus", "manifest", workspace.file("ravdess"), "--merge", "sad", "--out", out]).status != 0)
        #expect(try SERRun(["corpus", "scan", workspace.file("missing")]).status != 0)
    }

    @Test func splitWritesSpeakerDisjointFoldsAndGuardsTheLeakyOption() throws {
        let workspace = Workspace()
        try corpus(workspace)
        let out = workspace.file("split.json")
        let run = try SERRun(["corpus", "split", workspace.file("ravdess"), "--loso", "--out", out])
        #expect(run.status == 0, "\(run.stderr)")
        let split = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out))) as? [String: Any])
        let folds = try #require(split["folds"] as? [[String: Any]])
        #expect(folds.count == 2 && split["allowsLeakage"] as? Bool == false)
        #expect(try SERRun(["corpus", "split", workspace.file("ravdess"), "--random", "2", "--out", out]).status == 2)
        let leaky = try SERRun(["corpus", "split", workspace.file("ravdess"), "--random", "2", "--allow-leakage", "--out", out])
        #expect(leaky.status == 0 && leaky.stderr.contains("LEAKY"))
    }
}
