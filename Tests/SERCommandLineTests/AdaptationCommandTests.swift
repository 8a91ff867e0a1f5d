import Foundation
import Testing

/// `ser train --adaptive`, `ser evaluate --adaptation`, `ser predict --speakers/--same-speaker/--profile`
/// and `ser profile` end to end on `ModelCommandTests`' synthetic corpus (four speakers, two emotions).
@Suite(.serialized) struct AdaptationCommandTests {
    static var corpus: (workspace: Workspace, manifest: String) { ModelCommandTests.corpus }

    static let adaptive: (model: String, run: SERRun?) = {
        let model = corpus.workspace.file("adaptive.safetensors")
        let run = try? SERRun(["train", "--manifest", corpus.manifest, "--architecture", "logreg", "--features", "classic180",
                               "--cv", "speakers:2", "--adaptive", "--adaptation", "0,1,all", "--out", model, "--format", "json",
                               "--report", corpus.workspace.file("adaptive.html")])
        return (model, run)
    }()

    func json(_ run: SERRun, sourceLocation: SourceLocation = #_sourceLocation) throws -> Any {
        #expect(run.status == 0, "\(run.stderr)", sourceLocation: sourceLocation)
        return try JSONSerialization.jsonObject(with: Data(run.stdout.utf8))
    }

    func speakerFiles(_ speaker: Int) -> [String] {
        (0..<4).flatMap { take in ["sad", "happy"].map { Self.corpus.workspace.file("s\(speaker)-\($0)-\(take).wav") } }
    }

    @Test func trainingPrintsTheCurveAndTheModelHoldsBothParts() throws {
        let run = try #require(Self.adaptive.run)
        let summary = try #require(try json(run) as? [String: Any])
        let curve = try #require((summary["cross_validation"] as? [String: Any])?["adaptation"] as? [[String: Any]])
        #expect(curve.map { "\($0["k"] ?? "")" } == ["0", "1", "all"])
        #expect(curve.allSatisfy { $0["n"] as? Int == 32 && $0["accuracy"] is Double && $0["uar"] is Double })
        let table = try SERRun(["train", "--manifest", Self.corpus.manifest, "--architecture", "logreg", "--features", "classic180",
                                "--cv", "speakers:2", "--adaptive"])
        // The default curve: 0, 1, 3, 5, 10, 20 and all.
        #expect(table.stdout.contains("adaptation curve") && table.stdout.contains("\n20 ") && table.stdout.contains("\nall "), "\(table.stdout)")
        let info = try SERRun(["model", "info", Self.adaptive.model])
        #expect(info.status == 0 && info.stdout.contains("a lone-file classifier") && info.stdout.contains("a speaker-adapted classifier"), "\(info.stdout)")
        let report = try String(contentsOfFile: Self.corpus.workspace.file("adaptive.html"), encoding: .utf8)
        #expect(report.contains("Adaptation to the speaker") && report.contains("by recordings known (k)"))
        let refused = try SERRun(["train", "--manifest", Self.corpus.manifest, "--architecture", "mlp", "--cv", "speakers:2", "--adaptation", "0,1"])
        #expect(refused.status != 0 && refused.stderr.contains("--adaptive"))
        // Repeated over two partitions of the speakers: each partition's figure beside the pooled one.
        let repeated = try SERRun(["train", "--manifest", Self.corpus.manifest, "--architecture", "logreg", "--features", "classic180",
                                   "--cv", "speakers:2", "--cv-repeats", "2", "--adaptive", "--adaptation", "0,all"])
        #expect(repeated.status == 0, "\(repeated.stderr)")
        #expect(repeated.stdout.contains("(2 folds × 2 partitions)") && repeated.stdout.contains("accuracy of each partition: ")
                && repeated.stdout.contains("each partition"), "\(repeated.stdout)")
        let alone = try SERRun(["train", "--manifest", Self.corpus.manifest, "--cv-repeats", "2", "--out", Self.corpus.workspace.file("x.safetensors")])
        #expect(alone.status != 0 && alone.stderr.contains("give --cv too"), "\(alone.stderr)")
        // The same protocol saved by `ser corpus split --repeats` and reused with --split.
        let splitFile = Self.corpus.workspace.file("repeated-split.json")
        let saved = try SERRun(["corpus", "split", "--manifest", Self.corpus.manifest, "--cv", "speakers:2", "--repeats", "2", "--out", splitFile])
        #expect(saved.status == 0 && saved.stdout.contains("partition 2, fold 4:"), "\(saved.stdout)\(saved.stderr)")
        let reused = try SERRun(["train", "--manifest", Self.corpus.manifest, "--architecture", "logreg", "--features", "classic180",
                                 "--split", splitFile, "--adaptive", "--adaptation", "0,all"])
        #expect(reused.status == 0 && reused.stdout.contains("(2 folds × 2 partitions)"), "\(reused.stdout)\(reused.stderr)")
        let tooMany = try SERRun(["corpus", "split", "--manifest", Self.corpus.manifest, "--cv", "speakers:2", "--repeats", "9", "--out", splitFile])
        #expect(tooMany.status != 0 && tooMany.stderr.contains("ask for fewer repeats"), "\(tooMany.stderr)")
    }

    @Test func evaluateMeasuresTheCurve() throws {
        _ = Self.adaptive
        let run = try SERRun(["evaluate", "--model", Self.adaptive.model, "--manifest", Self.corpus.manifest,
                              "--adaptation", "0,3,all", "--format", "json"])
        let output = try #require(try json(run) as? [String: Any])
        let curve = try #require(output["adaptation"] as? [[String: Any]])
        #expect(curve.map { "\($0["k"] ?? "")" } == ["0", "3", "all"])
        // k = 0 is the plain evaluation of the lone-file classifier.
        #expect(curve[0]["accuracy"] as? Double == output["accuracy"] as? Double)
        let lone = try SERRun(["evaluate", "--model", ModelCommandTests.trained.model, "--manifest", Self.corpus.manifest, "--adaptation", "0"])
        #expect(lone.status != 0 && lone.stderr.contains("--adaptive"), "a lone-file model cannot draw a curve")
    }

    @Test func predictAdaptsWithinSpeakerGroups() throws {
        _ = Self.adaptive
        let files = speakerFiles(0) + speakerFiles(1)
        let table = Self.corpus.workspace.file("speakers.csv")
        let rows = ["path,speaker"] + speakerFiles(0).map { "\($0),zero" } + speakerFiles(1).prefix(3).map { "\($0),one" }
        try Data((rows.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: table))
        let run = try SERRun(["predict"] + files + ["--model", Self.adaptive.model, "--speakers", table, "--format", "json"])
        let answers = try #require(try json(run) as? [[String: Any]])
        #expect(answers.count == 16)
        let adaptation = answers.map { $0["adaptation"] as? [String: Any] }
        #expect(adaptation.prefix(8).allSatisfy { $0?["speaker"] as? String == "zero" && $0?["utterances"] as? Int == 8 })
        #expect(adaptation[8...10].allSatisfy { $0?["speaker"] as? String == "one" && $0?["utterances"] as? Int == 3 })
        #expect(adaptation[11...].allSatisfy { $0 == nil }, "files in no group are answered alone")
        let same = try SERRun(["predict"] + speakerFiles(2) + ["--model", Self.adaptive.model, "--same-speaker", "--format", "csv"])
        #expect(same.status == 0 && same.stdout.contains("adapted_to") && same.stdout.contains("all inputs,8"), "\(same.stdout)")
        let both = try SERRun(["predict", files[0], "--same-speaker", "--speakers", "by-folder"])
        #expect(both.status != 0)
    }

    @Test func profilesAreMadeGrownAndUsed() throws {
        _ = Self.adaptive
        let profile = Self.corpus.workspace.file("zero.json")
        let created = try SERRun(["profile", "create", "zero"] + Array(speakerFiles(0).prefix(5)) + ["--out", profile, "--model", Self.adaptive.model])
        #expect(created.status == 0, "\(created.stderr)")
        let updated = try SERRun(["profile", "update", profile] + Array(speakerFiles(0).suffix(3)) + ["--model", Self.adaptive.model])
        #expect(updated.status == 0 && updated.stderr.contains("3 utterance(s) added, 8 in all"), "\(updated.stderr)")
        let info = try #require(try json(try SERRun(["profile", "info", profile, "--format", "json"])) as? [String: Any])
        #expect(info["name"] as? String == "zero" && info["utterances"] as? Int == 8)
        #expect(info["sum"] == nil, "info never prints the statistics")
        let predicted = try SERRun(["predict", speakerFiles(0)[0], "--model", Self.adaptive.model, "--profile", profile, "--format", "json"])
        let answer = try #require((try json(predicted) as? [[String: Any]])?.first)
        #expect((answer["adaptation"] as? [String: Any])?["speaker"] as? String == "zero")
        #expect((answer["adaptation"] as? [String: Any])?["utterances"] as? Int == 8)
        // A model reading other features refuses the profile and says why.
        let other = Self.corpus.workspace.file("adaptive-rich.safetensors")
        let trained = try SERRun(["train", "--manifest", Self.corpus.manifest, "--architecture", "logreg", "--features", "functionals",
                                  "--adaptive", "--out", other])
        #expect(trained.status == 0, "\(trained.stderr)")
        let refused = try SERRun(["predict", speakerFiles(0)[0], "--model", other, "--profile", profile])
        #expect(refused.status != 0 && refused.stderr.contains("other features"), "\(refused.stderr)")
        let broken = Self.corpus.workspace.file("broken.json")
        try Data("{\"name\": 3}".utf8).write(to: URL(fileURLWithPath: broken))
        let unreadable = try SERRun(["profile", "info", broken])
        #expect(unreadable.status != 0 && unreadable.stderr.contains("not a usable speaker profile"))
    }
}
