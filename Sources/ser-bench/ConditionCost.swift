import Foundation
import SERAudio
import SERCorpora
import SERFeatures
import SERRecognition
import SERSupport
import SERTraining

/// What robustness to the recording chain costs, each figure beside its reference
/// measured in the same run:
///
/// `ser-bench level-cost [--preset P] [--repeat K] FILE...`: the per-file time of
/// prediction's input path (decode, resample, speech detection, features) with
/// level normalization against the same pipeline without it, fastest of K passes
/// each, passes interleaved.
///
/// `ser-bench training-cost [--preset P] [--copies N] [--limit M] CORPUS_DIR...`:
/// the time of a shipped-recipe training run (features with no cache, then the
/// final model) with N multi-condition copies of every file against none, on the
/// first M labelled files of the corpora (spread over their speakers).
enum ConditionCost {
    static func value(_ name: String, in arguments: [String]) -> String? {
        arguments.firstIndex(of: name).flatMap { arguments.indices.contains($0 + 1) ? arguments[$0 + 1] : nil }
    }

    static func operands(_ arguments: [String]) -> [String] {
        var operands: [String] = [], skip = false
        for argument in arguments {
            if skip { skip = false; continue }
            if argument.hasPrefix("--") { skip = true; continue }
            operands.append(argument)
        }
        return operands
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    static func printJSON(_ report: [String: Any]) -> Int32 {
        guard let json = try? JSONSerialization.data(withJSONObject: report, options: [.sortedKeys]) else { return 1 }
        print(String(decoding: json, as: UTF8.self))
        return 0
    }

    static func fail(_ message: String) -> Int32 {
        FileHandle.standardError.write(Data("ser-bench: \(message)\n".utf8))
        return 1
    }

    static func levelCost(_ arguments: [String]) -> Int32 {
        let files = operands(arguments)
        let repeats = value("--repeat", in: arguments).flatMap(Int.init) ?? 3
        guard !files.isEmpty, repeats > 0, let preset = FeaturePreset(rawValue: value("--preset", in: arguments) ?? "whisper-blocks+functionals") else {
            FileHandle.standardError.write(Data("usage: ser-bench level-cost [--preset P] [--repeat K] FILE...\n".utf8))
            return 2
        }
        let normalized: InputPipeline, raw: InputPipeline
        do {
            normalized = try InputPipeline(preset: preset, levelNormalization: .standard)
            raw = try InputPipeline(preset: preset, levelNormalization: nil)
        } catch { return fail("\(error)") }
        let clock = ContinuousClock()
        func pass(_ pipeline: InputPipeline) -> Double {
            seconds(clock.measure { for file in files { _ = try? pipeline.vector(ofFile: file) } })
        }
        _ = pass(raw); _ = pass(normalized)   // warm-up: the encoder, the filter banks, the page cache
        var fastestRaw = Double.infinity, fastestNormalized = Double.infinity
        for _ in 0..<repeats {
            fastestRaw = min(fastestRaw, pass(raw))
            fastestNormalized = min(fastestNormalized, pass(normalized))
        }
        return printJSON(["preset": preset.rawValue, "files": files.count, "repeats": repeats,
                          "raw_ms_per_file": 1000 * fastestRaw / Double(files.count),
                          "normalized_ms_per_file": 1000 * fastestNormalized / Double(files.count),
                          "ratio": fastestNormalized / fastestRaw])
    }

    static func trainingCost(_ arguments: [String]) -> Int32 {
        let corpora = operands(arguments)
        let copies = value("--copies", in: arguments).flatMap(Int.init) ?? 1
        let limit = value("--limit", in: arguments).flatMap(Int.init) ?? 160
        guard !corpora.isEmpty, copies > 0, limit >= 8,
              let preset = FeaturePreset(rawValue: value("--preset", in: arguments) ?? TrainingRecipe.shipped.resolvedFeatures.rawValue) else {
            FileHandle.standardError.write(Data("usage: ser-bench training-cost [--preset P] [--copies N] [--limit M] CORPUS_DIR...\n".utf8))
            return 2
        }
        let all: [CorpusItem]
        do { all = try CorpusReader().read(corpora).items } catch { return fail("\(error)") }
        // Every k-th file, so that the sample holds every speaker and label.
        let stride = max(1, all.count / limit)
        let items = Array(all.sorted { $0.path < $1.path }.enumerated().filter { $0.offset % stride == 0 }.map(\.element).prefix(limit))
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("ser-bench-\(UUID().uuidString).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: output) }
        let clock = ContinuousClock()
        func timedRun(copies: Int) -> Double? {
            var recipe = TrainingRecipe.shipped
            recipe.features = preset
            recipe.conditionCopies = copies
            var run = TrainingRun(recipe: recipe, items: items, provenance: .init(command: "ser-bench training-cost", version: "bench"))
            run.output = output
            var failed = false
            let elapsed = clock.measure { do { _ = try run.run() } catch { failed = true } }
            return failed ? nil : seconds(elapsed)
        }
        guard let plain = timedRun(copies: 0), let withCopies = timedRun(copies: copies) else { return fail("a training run failed") }
        return printJSON(["preset": preset.rawValue, "files": items.count, "copies": copies,
                          "without_copies_s": plain, "with_copies_s": withCopies, "ratio": withCopies / plain])
    }
}
