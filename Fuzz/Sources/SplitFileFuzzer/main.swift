import Foundation
import FuzzSupport
import SERCorpora

/// Split files (`ser corpus split`, read by `ser train --split`): every input
/// must load as a split whose every fold partitions a corpus, or fail with a typed error.
let items: [CorpusItem] = (0..<12).map { index in
    CorpusItem(path: "/c/\(index).wav", corpus: .manifest, label: ["angry", "sad", "happy"][index % 3],
               speaker: "s\(index % 4)", gender: index % 2 == 0 ? .female : .male,
               attributes: ["statement": index % 2 == 0 ? "01" : "02"])
}

func fuzzSplitFile(_ data: Data) {
    guard let split = expectTyped([SplitError.self], { try SpeakerSplit(data: data, source: "fuzz-split.json") }) else { return }
    for fold in split.folds.indices {
        let (train, test) = split.partition(items, fold: fold)
        precondition(train.count + test.count <= items.count, "a partition invented items")
        if !split.allowsLeakage { _ = try? SpeakerSplitter.checkNoLeakage(train: train, test: test) }
    }
}

func splitSeeds() throws -> [String: Data] {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    return [
        "kfold.json": try encoder.encode(SpeakerSplitter.kFold(items, folds: 2, seed: 3)),
        "held-out.json": try encoder.encode(SpeakerSplitter.heldOut(items, testSpeakers: ["s1"], statementIndependent: true)),
        "loso.json": try encoder.encode(SpeakerSplitter.leaveOneSpeakerOut(items)),
        "random.json": try encoder.encode(SpeakerSplitter.randomLeaky(items, folds: 3, seed: 1)),
    ]
}

runFuzzTarget(seeds: splitSeeds, body: fuzzSplitFile)
