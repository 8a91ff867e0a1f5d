import SERModels
import SERRecognition

/// An ensemble (`TrainingOptions.ensembleSize` > 1): single models with
/// successive seeds whose probabilities are averaged (`EnsembleClassifier`).
struct EnsembleComposition: TrainingComposition {
    func applies(to options: TrainingOptions) -> Bool { options.ensembleSize > 1 }

    /// `options.ensembleSize` single models with successive seeds, each with its own
    /// validation speakers, calibration and refit, averaged. The outcome's history,
    /// validation metrics and speakers are the first member's (the others have
    /// been refitted on those speakers, so the ensemble has no held-out speakers).
    func train(_ dataset: FeatureDataset, indices: [Int]?, labels: [String], options: TrainingOptions,
               checkpoint: TrainingCheckpointing?) -> TrainingOutcome {
        var memberOptions = options
        memberOptions.ensembleSize = 1
        var outcomes: [TrainingOutcome] = []
        for member in 0..<options.ensembleSize {
            memberOptions.seed = Trainer.memberSeed(options.seed, member)
            let memberCheckpoint = checkpoint.map {
                TrainingCheckpointing(path: Trainer.memberCheckpointPath($0.path, member),
                                      fingerprint: $0.fingerprint + ";member:\(member)", onEpoch: $0.onEpoch)
            }
            outcomes.append(Trainer.train(dataset, indices: indices, labels: labels, options: memberOptions, checkpoint: memberCheckpoint))
        }
        var description = outcomes[0].model.description
        description.ensembleSize = options.ensembleSize
        description.seed = options.seed
        let ensemble = EnsembleClassifier(members: outcomes.map(\.model.classifier))
        return TrainingOutcome(model: EmotionModel(classifier: ensemble, preset: dataset.preset, description: description),
                               validation: outcomes[0].validation, history: outcomes[0].history,
                               validationSpeakers: outcomes[0].validationSpeakers, refitEpochs: outcomes[0].refitEpochs,
                               resumedAfterEpoch: outcomes[0].resumedAfterEpoch)
    }
}

extension Trainer {
    /// The seed of ensemble member `member` (the first keeps the run's seed).
    static func memberSeed(_ seed: UInt64, _ member: Int) -> UInt64 { seed &+ UInt64(member) &* 7919 }

    /// Where ensemble member `member` keeps its checkpoint (the first uses the run's).
    static func memberCheckpointPath(_ checkpointPath: String, _ member: Int) -> String {
        member == 0 ? checkpointPath : checkpointPath + "-member\(member)"
    }
}
