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

    @Test func repeatedKFoldHoldsDistinctCompletePartitions() throws {
        let split = try SpeakerSplitter.kFold(Self.items, folds: 4, seed: 7, repeats: 3)
        #expect(split.partitions == 3 && split.partitionCount == 3 && split.folds.count == 12)
        #expect(Array(split.folds.prefix(4)) == (try SpeakerSplitter.kFold(Self.items, folds: 4, seed: 7)).folds,
                "the first partition is the unrepeated split")
        var seen: [Set<Set<String>>] = []
        for partition in 0..<3 {
            let folds = (0..<12).filter { split.partition(ofFold: $0) == partition }
            #expect(folds == Array((4 * partition)..<(4 * partition + 4)))
            let speakers = folds.flatMap { split.folds[$0].testSpeakers }
            #expect(speakers.count == 12 && Set(speakers).count == 12, "partition \(partition) tests every speaker once")
            let grouping = Set(folds.map { Set(split.folds[$0].testSpeakers) })
            #expect(!seen.contains(grouping), "partition \(partition) repeats an earlier one")
            seen.append(grouping)
        }
        #expect(try SpeakerSplitter.kFold(Self.items, folds: 4, seed: 7, repeats: 1) == SpeakerSplitter.kFold(Self.items, folds: 4, seed: 7))

        // Saved and read back, the partitions stay; folds that cannot make them are refused.
        let data = try JSONEncoder().encode(split)
        #expect(try SpeakerSplit(data: data, source: "repeated.json") == split)
        var broken = split
        broken.folds.removeLast()
        #expect(throws: SplitError.self) { try SpeakerSplit(data: try JSONEncoder().encode(broken), source: "broken.json") }

        // Two speakers in two folds can be grouped one way only.
        let two = Self.items.filter { ["RAVDESS:01", "RAVDESS:02"].contains($0.speaker) }
        #expect(throws: SplitError.tooFewPartitions(have: 1, need: 2)) { try SpeakerSplitter.kFold(two, folds: 2, seed: 1, repeats: 2) }
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

/// Split files as `ser train --split` reads them: anything that is not a split
/// every fold of which can partition a corpus is refused with a message naming the file.
@Suite struct SplitFileTests {
    let items = (0..<8).map { CorpusItem(path: "/c/\($0).wav", corpus: .manifest, label: "sad", speaker: "s\($0 % 4)", gender: .unknown) }

    @Test func aWrittenSplitReadsBack() throws {
        let split = try SpeakerSplitter.kFold(items, folds: 2, seed: 1)
        let data = try JSONEncoder().encode(split)
        #expect(try SpeakerSplit(data: data, source: "s.json") == split)
    }

    @Test(arguments: [
        #"{"method":"k-fold","seed":1,"folds":[],"allowsLeakage":false}"#,
        #"{"method":"random","seed":1,"folds":[{"testSpeakers":[]},{"testSpeakers":[]}],"allowsLeakage":true,"randomTestPaths":[["/c/1.wav"]]}"#,
        #"{"method":"random","seed":1,"folds":[{"testSpeakers":[]}],"allowsLeakage":false,"randomTestPaths":[["/c/1.wav"]]}"#,
        #"{"method":"k-fold","seed":-1,"folds":[{"testSpeakers":["s1"]}],"allowsLeakage":false}"#,
        "[]", "",
    ])
    func unusableSplitFilesAreRefused(_ text: String) {
        let error = #expect(throws: SplitError.self) { try SpeakerSplit(data: Data(text.utf8), source: "s.json") }
        #expect(error.map { "\($0)".hasPrefix("s.json: ") } ?? false, "the message names the file")
    }
}
