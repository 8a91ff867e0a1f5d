import Foundation
import SERAudio
import SERCorpora
import SERFeatures
import SERModels
import SERSupport

/// Speaker-independent k-fold cross-validation of an MLP on a feature preset at
/// 16 kHz: the honest protocol, ahead of `ser train` (issue 5).
enum Experiment {
    static func run(_ arguments: [String]) -> Int32 {
        guard arguments.count >= 3, let preset = FeaturePreset(rawValue: arguments[0]), let folds = Int(arguments[1]) else {
            print("usage: ser-bench experiment classic180|x193|rich FOLDS PATH...")
            return 2
        }
        do {
            let started = Date()
            let (items, _) = try CorpusReader().read(Array(arguments.dropFirst(2)))
            let labels = Emotion.allCases.map(\.rawValue).filter { label in items.contains { $0.label == label } }
            let cache = try FeatureCache(directory: FeatureCache.defaultDirectory)
            let key = FeatureCache.key(preset: preset, sampleRate: 16000)
            useSingleThreadedBLAS()
            let vectors: [[Float]?] = parallelMap(count: items.count) { index in
                try? cache.values(for: items[index].path, key: key) {
                    // The models' rate: 16 kHz mono, like librosa.load(sr=16000).
                    try preset.vector(samples: AudioSignal(contentsOf: items[index].path, sampleRate: 16000).samples,
                                      sampleRate: 16000)
                }.values
            }
            let usable = items.indices.filter { vectors[$0] != nil }
            let kept = usable.map { items[$0] }
            let featureTime = Date().timeIntervalSince(started)
            let split = try SpeakerSplitter.kFold(kept, folds: folds, seed: 1)
            let vectorIndex = Dictionary(uniqueKeysWithValues: kept.enumerated().map { ($1.path, usable[$0]) })
            var accuracies: [Double] = [], uars: [Double] = []
            var generator = SplitMix64(seed: 42)
            let trainingStarted = Date()
            for fold in split.folds.indices {
                let (train, test) = split.partition(kept, fold: fold)
                // Early stopping watches two training speakers, never the test fold.
                let validationSpeakers = Set(Set(train.compactMap(\.speaker)).sorted().shuffled(using: &generator).prefix(2))
                let fitting = train.filter { !validationSpeakers.contains($0.speaker!) }
                let validation = train.filter { validationSpeakers.contains($0.speaker!) }
                func matrix(_ subset: [CorpusItem]) -> (Matrix, [Int]) {
                    let rows = subset.map { vectors[vectorIndex[$0.path]!]! }
                    return (Matrix(rows: rows.count, columns: rows[0].count, values: rows.flatMap { $0 }),
                            subset.map { labels.firstIndex(of: $0.label)! })
                }
                let (x, y) = matrix(fitting), (vx, vy) = matrix(validation), (tx, ty) = matrix(test)
                let model = MLPClassifier(labels: labels)
                model.fit(x, targets: y, validation: (vx, vy))
                let metrics = ClassificationMetrics(labels: labels, truth: ty, predicted: model.predict(tx))
                accuracies.append(metrics.accuracy)
                uars.append(metrics.uar)
                print(String(format: "fold %d: accuracy %.3f, UAR %.3f (%d epochs; test speakers %@)", fold + 1, metrics.accuracy,
                             metrics.uar, model.history.count, split.folds[fold].testSpeakers.joined(separator: " ")))
            }
            func summary(_ values: [Double]) -> String {
                let mean = values.reduce(0, +) / Double(values.count)
                let std = (values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count)).squareRoot()
                return String(format: "%.1f ± %.1f %%", 100 * mean, 100 * std)
            }
            print("\(preset.rawValue) + MLP, \(kept.count) files, \(labels.count) classes, \(folds)-fold by speaker:")
            print("  accuracy \(summary(accuracies)), UAR \(summary(uars))")
            print(String(format: "  features %.1f s (cached after the first run), training %.1f s", featureTime,
                         Date().timeIntervalSince(trainingStarted)))
            return 0
        } catch {
            print("experiment failed: \(error)")
            return 1
        }
    }
}
