import SERModels
import SERRecognition

/// Shared layers with one softmax per corpus (`TrainingOptions.trainsCorpusHeads`, `CorpusHeadsClassifier`).
struct CorpusHeadsComposition: TrainingComposition {
    func applies(to options: TrainingOptions) -> Bool { options.trainsCorpusHeads }

    /// A shared classifier trained on the corpus-qualified labels of the
    /// training rows (each row's softmax over its own corpus's head), wrapped
    /// as a `CorpusHeadsClassifier` over `labels`. Heads exist for the corpora
    /// among the training rows only: a corpus no training speaker comes from is
    /// classified with the heads combined.
    func train(_ dataset: FeatureDataset, indices: [Int]?, labels: [String], options: TrainingOptions,
                  checkpoint: TrainingCheckpointing?) -> TrainingOutcome {
        let all = indices ?? Array(dataset.items.indices)
        let heads = dataset.corpusHeads(all, labels: labels)
        var sharedOptions = options
        sharedOptions.trainsCorpusHeads = false
        guard !heads.isEmpty else { return Trainer.train(dataset, indices: all, labels: labels, options: sharedOptions, checkpoint: checkpoint) }
        let qualified = CorpusHeadsClassifier.qualifiedLabels(heads)
        sharedOptions.masksLabelsByCorpus = true
        var outcome = Trainer.train(dataset.withCorpusQualifiedLabels(), indices: all, labels: qualified, options: sharedOptions,
                            checkpoint: checkpoint)
        let classifier: CorpusHeadsClassifier
        do {
            classifier = try CorpusHeadsClassifier(shared: outcome.model.classifier, labels: labels, heads: heads)
        } catch {
            preconditionFailure("heads built from the training rows fit the classifier trained on them: \(error)")
        }
        // Each qualified label is its plain label; a head's predictions never
        // leave it, so accuracy and calibration error carry over unchanged.
        let mapping = heads.flatMap { head in head.labels.map { labels.firstIndex(of: $0) ?? 0 } }
        outcome.validation = outcome.validation?.merged(into: labels, mapping: mapping)
        var description = outcome.model.description
        description.labels = labels
        description.training?.counts = dataset.counts(all)
        description.validation = outcome.validation
        outcome.model = EmotionModel(classifier: classifier, preset: dataset.preset, description: description)
        return outcome
    }

}
