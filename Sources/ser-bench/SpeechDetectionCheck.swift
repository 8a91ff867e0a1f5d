import Foundation
import SERAudio
import SERFeatures
import SERRecognition
import SERSupport

/// `ser-bench speech-detection [--condition C]... [--seed S] CORPUS_DIR...`: how
/// many speech recordings the voice activity detector finds no speech in, as
/// recorded and after each recording condition (default: clean, peak:-40,
/// gain:-40, white:10, pink:10, brown:10, white:5), with the input pipeline's
/// level normalization. Prints per condition the recordings, the misses and
/// the missed files, and the mean fraction of the recording the span covers,
/// for the detector as shipped and, as the reference in the same run, for the
/// same detector judging voicing on the full band.
enum SpeechDetectionCheck {
    static let defaultConditions = ["clean", "peak:-40", "gain:-40", "white:10", "pink:10", "brown:10", "white:5"]

    static func run(_ arguments: [String]) -> Int32 {
        var conditions: [RecordingChain] = []
        var seed: UInt64 = 20_260_701
        var folders: [String] = []
        var rest = arguments[...]
        while let argument = rest.popFirst() {
            switch argument {
            case "--condition":
                guard let text = rest.popFirst(), let chain = RecordingChain(argument: text) else { return usage() }
                conditions.append(chain)
            case "--seed":
                guard let value = rest.popFirst().flatMap({ UInt64($0) }) else { return usage() }
                seed = value
            default: folders.append(argument)
            }
        }
        if conditions.isEmpty { conditions = defaultConditions.compactMap { RecordingChain(argument: $0) } }
        let files = folders.flatMap(audioFiles(under:)).sorted()
        guard !files.isEmpty else { return usage() }
        var fullBand = VoiceActivityConfiguration()
        fullBand.voicingBandHz = nil
        let detectors = [("voicing band", VoiceActivityDetector()), ("full band", VoiceActivityDetector(configuration: fullBand))]
        var reports: [[String: Any]] = []
        for (name, detector) in detectors {
            let pipeline = InputPipeline(preset: .functionals, sampleRate: 16000, trimsToSpeech: true, levelNormalization: .standard,
                                         detector: detector, resolvedEmbedder: nil)
            var report = measure(files: files, conditions: conditions, seed: seed, pipeline: pipeline)
            report["detector"] = name
            reports.append(report)
        }
        return ConditionCost.printJSON(["detectors": reports])
    }

    static func measure(files: [String], conditions: [RecordingChain], seed: UInt64, pipeline: InputPipeline) -> [String: Any] {

        let chains = conditions, baseSeed = seed
        // Per file: nil when unreadable, else per condition the fraction of the copy its speech span covers (nil: no speech).
        let results: [[Double?]?] = parallelMap(count: files.count) { index in
            guard let samples = try? pipeline.samples(ofFile: files[index]) else { return nil }
            return chains.map { chain in
                let copy = (try? chain.applied(to: samples, sampleRate: pipeline.sampleRate, seed: baseSeed &+ UInt64(index))) ?? []
                return pipeline.speechSpan(of: copy).map { Double($0.count) / Double(max(1, copy.count)) }
            }
        }
        let unreadable = results.filter { $0 == nil }.count
        var misses = [[String]](repeating: [], count: conditions.count)
        var coverage = [Double](repeating: 0, count: conditions.count)
        for (index, result) in results.enumerated() {
            guard let result else { continue }
            for (c, fraction) in result.enumerated() {
                if let fraction { coverage[c] += fraction } else { misses[c].append(files[index]) }
            }
        }
        let readable = files.count - unreadable
        let rows: [[String: Any]] = conditions.indices.map { c in
            ["condition": conditions[c].description, "recordings": readable, "no_speech": misses[c].count,
             "missed": misses[c].sorted(), "mean_span_fraction": coverage[c] / Double(max(1, readable - misses[c].count))]
        }
        return ["unreadable": unreadable, "conditions": rows]
    }

    static func audioFiles(under folder: String) -> [String] {
        let extensions: Set<String> = ["wav", "flac", "ogg", "mp3", "aiff", "aif", "m4a"]
        guard let walker = FileManager.default.enumerator(atPath: folder) else { return [] }
        return walker.compactMap { $0 as? String }
            .filter { extensions.contains(($0 as NSString).pathExtension.lowercased()) }
            .map { (folder as NSString).appendingPathComponent($0) }
    }

    static func usage() -> Int32 {
        FileHandle.standardError.write(Data("usage: ser-bench speech-detection [--condition C]... [--seed S] CORPUS_DIR...\n".utf8))
        return 2
    }
}
