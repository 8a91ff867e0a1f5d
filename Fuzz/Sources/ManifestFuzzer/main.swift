import Foundation
import FuzzSupport
import SERBatch
import SERCorpora

/// Manifests: the batch file lists (`ser manifest`, sharding) and the corpus
/// manifests training reads, each as CSV and as JSON lines. The first input
/// byte picks the reader and format; the rest is the file.
func fuzzManifest(_ data: Data) {
    guard let kind = data.first else { return }
    let body = Data(data.dropFirst())
    let path = "/fuzz/dir/" + (kind % 2 == 0 ? "manifest.csv" : "manifest.jsonl")
    if kind % 4 < 2 {
        guard let manifest = expectTyped([BatchError.self], { try FileManifest(data: body, path: path) }) else { return }
        for entry in manifest.entries.prefix(100) { _ = manifest.resolvedPath(of: entry) }
        _ = manifest.digest
        _ = manifest.jsonLinesData()
    } else {
        guard let text = String(data: body, encoding: .utf8) else { return }
        guard let (items, _) = expectTyped([CorpusError.self], { try CorpusReader().readManifest(text: text, path: path) }) else { return }
        // What training does next with the items: a speaker-independent split.
        if let split = try? SpeakerSplitter.kFold(items, folds: 2, seed: 1) {
            for fold in split.folds.indices { _ = split.partition(items, fold: fold) }
        }
    }
}

func manifestSeeds() -> [String: Data] {
    func seed(_ kind: UInt8, _ text: String) -> Data { Data([kind]) + Data(text.utf8) }
    return [
        "batch.csv": seed(0, "path,size,sha256\na.wav,10,\nsub/b.flac,,\(String(repeating: "ab", count: 32))\n\"c,d.wav\",3,\n"),
        "batch.jsonl": seed(1, "{\"path\":\"a.wav\",\"size\":10}\n{\"path\":\"/abs/b.flac\",\"sha256\":\"\(String(repeating: "0f", count: 32))\"}\n"),
        "corpus.csv": seed(2, "path,label,speaker,gender,corpus\nx/03-01-05-01-01-01-12.wav,angry,12,female,ravdess\ny.wav,hap,s1,m,\n1001_DFA_ANG_XX.wav,,,,\n"),
        "corpus.jsonl": seed(3, "{\"path\":\"a.wav\",\"label\":\"sad\",\"speaker\":\"p1\",\"gender\":\"f\"}\n{\"path\":\"DC_a01.wav\"}\n{\"path\":\"b.wav\",\"label\":\"calm\",\"speaker\":7}\n"),
    ]
}

runFuzzTarget(seeds: manifestSeeds, body: fuzzManifest)
