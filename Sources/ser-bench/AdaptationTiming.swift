import Foundation
import SERModels
import SERRecognition
import SERSpeakers
import SERSupport

/// `ser-bench adaptation MODEL [--repeat K]`: what answering adapted to a speaker
/// adds per utterance, beside the lone-file answer, on the model's own classifiers:
/// the lone-file classification, the adapted one (shrunk statistics, standardization,
/// the second classifier, the blend) and adding an utterance to the statistics.
/// Feature vectors are drawn around the model's population statistics.
enum AdaptationTiming {
    static func run(_ arguments: [String]) -> Int32 {
        guard let path = arguments.first else {
            FileHandle.standardError.write(Data("usage: ser-bench adaptation MODEL [--repeat K]\n".utf8))
            return 2
        }
        let repeats = arguments.firstIndex(of: "--repeat").flatMap { arguments.indices.contains($0 + 1) ? Int(arguments[$0 + 1]) : nil } ?? 200
        let model: EmotionModel
        do { model = try EmotionModel(contentsOf: path) } catch {
            FileHandle.standardError.write(Data("ser-bench: \(error)\n".utf8))
            return 1
        }
        guard let adaptation = model.adapted?.adaptation else {
            FileHandle.standardError.write(Data("ser-bench: \(path) has no speaker-adapted part\n".utf8))
            return 1
        }
        var generator = SplitMix64(seed: 5)
        let vectors: [[Float]] = (0..<repeats).map { _ in
            zip(adaptation.populationMean, adaptation.withinSpeakerVariance).map { $0 + $1.squareRoot() * Float(generator.nextStandardNormal()) }
        }
        let speaker = SpeakerStatistics(dimension: adaptation.dimension, vectors: Array(vectors.prefix(10)))
        let clock = ContinuousClock()
        func perCall(_ body: ([Float]) -> Void) -> Double {
            for vector in vectors.prefix(10) { body(vector) }   // warm-up
            let elapsed = clock.measure { for vector in vectors { body(vector) } }
            return (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18) * 1000 / Double(vectors.count)
        }
        let lone = perCall { _ = model.classifyVariants([$0]) }
        let adapted = perCall { _ = model.classifyVariants([$0], speaker: speaker) }
        var learning = SpeakerStatistics(dimension: adaptation.dimension)
        let add = perCall { learning.add($0) }
        let report: [String: Any] = ["dimension": adaptation.dimension, "utterances": vectors.count,
                                     "lone_ms": lone, "adapted_ms": adapted, "added_ms": adapted - lone, "learn_ms": add]
        guard let json = try? JSONSerialization.data(withJSONObject: report, options: [.sortedKeys]) else { return 1 }
        print(String(decoding: json, as: UTF8.self))
        return 0
    }
}
