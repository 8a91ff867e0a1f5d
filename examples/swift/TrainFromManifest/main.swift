// Trains a model from a CSV or JSONL manifest (path, label, speaker, …) and writes it,
// holding out whole speakers for validation and calibration: `ser train` in a few lines.
//
//   swift run example-train-from-manifest train.csv model.safetensors
import Foundation
import SERCorpora
import SERFeatures
import SERModels
import SERRecognition
import SERTraining

let arguments = Array(CommandLine.arguments.dropFirst())
guard arguments.count == 2 else {
    FileHandle.standardError.write(Data("usage: example-train-from-manifest MANIFEST.csv|.jsonl OUT.safetensors\n".utf8))
    exit(2)
}

do {
    let items = try CorpusReader().readManifest(arguments[0])
    // Handcrafted features: no encoder needed. `.whisperBlocksFunctionals` is what the shipped model reads.
    let dataset = FeatureDataset(items: items, preset: .rich, cache: nil)
    for failure in dataset.failures { FileHandle.standardError.write(Data("skipped \(failure)\n".utf8)) }
    let labels = Array(Set(dataset.items.map(\.label))).sorted()
    var options = TrainingOptions()
    options.architecture = .logreg
    let outcome = Trainer.train(dataset, labels: labels, options: options)
    if let validation = outcome.validation {
        print(String(format: "validation speakers %@: accuracy %.1f %%, UAR %.1f %%",
                     outcome.validationSpeakers.joined(separator: ", "), validation.accuracy * 100, validation.uar * 100))
    }
    try outcome.model.write(to: arguments[1])
    print("wrote \(arguments[1]): \(labels.count) labels, \(dataset.items.count) recordings")
} catch {
    FileHandle.standardError.write(Data("\(error)\n".utf8))
    exit(1)
}
