import SERSupport
import Foundation
import Testing
@testable import SERCorpora

@Suite struct SplitTests {
    /// 12 speakers (6 female, 6 male) × 4 labels × 2 statements × 2 takes.
    static let items: [CorpusItem] = (1...12).flatMap { speaker in
        ["happy", "sad", "angry", "neutral"].flatMap { label in
            ["01", "02"].flatMap { statement in
                (1...2).map { take in
                    CorpusItem(path: "/s\(speaker)/\(label)-\(statement)-\(take).wav", corpus: .ravdess, label: label,
                               speaker: String(format: "RAVDESS:%02d", speaker), gender: speaker % 2 == 1 ? .male : .female,
                               attributes: ["statement": statement])
                }
            }
        }
    }

    @Test func kFoldIsSpeakerDisjointCompleteBalancedAndReproducible() throws {
        let split = try SpeakerSplitter.kFold(Self.items, folds: 4, seed: 7)
        let all = split.folds.flatMap(\.testSpeakers)
        #expect(all.count == 12 && Set(all).count == 12, "every speaker tested exactly once")
        for index in split.folds.indices {
            let (train, test) = split.partition(Self.items, fold: index)
            #expect(train.count + test.count == Self.items.count)
            try SpeakerSplitter.checkNoLeakage(train: train, test: test)
            // 3 speakers per fold, and both genders in every fold's test side.
            #expect(split.folds[index].testSpeakers.count == 3)
            #expect(Set(test.map(\.gender)).count == 2)
        }
        #expect(try SpeakerSplitter.kFold(Self.items, folds: 4, seed: 7) == split)
        #expect(throws: SplitError.self) { try SpeakerSplitter.kFold(Self.items, folds: 13, seed: 1) }
    }

    @Test func leaveOneSpeakerOutAndHeldOut() throws {
        let loso = try SpeakerSplitter.leaveOneSpeakerOut(Self.items)
        #expect(loso.folds.count == 12 && loso.folds.allSatisfy { $0.testSpeakers.count == 1 })
        let heldOut = try SpeakerSplitter.heldOut(Self.items, testSpeakers: ["03", "RAVDESS:04"])
        #expect(heldOut.folds[0].testSpeakers == ["RAVDESS:03", "RAVDESS:04"])
        let (_, test) = heldOut.partition(Self.items, fold: 0)
        #expect(test.count == 32)
        #expect(throws: SplitError.unknownSpeakers(["99"])) { try SpeakerSplitter.heldOut(Self.items, testSpeakers: ["99"]) }
    }

    @Test func statementIndependenceKeepsTheTestStatementOutOfTraining() throws {
        let split = try SpeakerSplitter.kFold(Self.items, folds: 3, seed: 1, statementIndependent: true)
        let (train, test) = split.partition(Self.items, fold: 0)
        #expect(test.allSatisfy { $0.attributes["statement"] == "02" })
        #expect(train.allSatisfy { $0.attributes["statement"] == "01" })
    }

    @Test func leakageIsRefused() {
        let a = Self.items[0], b = Self.items[40]
        #expect(throws: SplitError.self) { try SpeakerSplitter.checkNoLeakage(train: [a], test: [a]) }
        // Different speakers but the same audio.
        #expect(throws: SplitError.self) {
            try SpeakerSplitter.checkNoLeakage(train: [a], test: [b], contentHashes: [a.path: "x", b.path: "x"])
        }
        #expect(throws: Never.self) { try SpeakerSplitter.checkNoLeakage(train: [a], test: [b], contentHashes: [a.path: "x", b.path: "y"]) }
        let random = SpeakerSplitter.randomLeaky(Self.items, folds: 5, seed: 3)
        #expect(random.allowsLeakage)
        let (train, test) = random.partition(Self.items, fold: 0)
        #expect(throws: SplitError.self) { try SpeakerSplitter.checkNoLeakage(train: train, test: test) }
    }

    @Test func filesWithoutSpeakersCannotBeSplitBySpeaker() {
        let anonymous = [CorpusItem(path: "/x.wav", corpus: .folders, label: "sad", speaker: nil, gender: .unknown)]
        #expect(throws: SplitError.self) { try SpeakerSplitter.kFold(anonymous + Self.items, folds: 2, seed: 0) }
    }

    @Test func splitFilesRoundTrip() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("split-\(UUID().uuidString).json").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let split = try SpeakerSplitter.kFold(Self.items, folds: 3, seed: 11)
        try split.write(to: path)
        #expect(try SpeakerSplit(contentsOf: path) == split)
    }
}
