import SERModels

/// A way training builds one model out of single fits: a speaker-adapted pair,
/// an ensemble, shared layers with a head per corpus. Each is one type in this
/// folder; `Trainer.train` hands a request to the first of
/// `Trainer.compositions` whose option is set, and that one trains its parts by
/// calling `Trainer.train` again with its own option cleared.
protocol TrainingComposition: Sendable {
    /// Whether `options` ask for this composition.
    func applies(to options: TrainingOptions) -> Bool
    /// The composed model trained on `indices` (all rows when nil).
    func train(_ dataset: FeatureDataset, indices: [Int]?, labels: [String], options: TrainingOptions,
               checkpoint: TrainingCheckpointing?) -> TrainingOutcome
}
