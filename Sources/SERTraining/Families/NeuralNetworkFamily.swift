import SERFeatures
import SERModels

/// The networks trained by stochastic gradient descent with early stopping on
/// the validation speakers: the MLP on feature vectors (two hidden ReLU layers
/// of 256 and 128 with dropout) and the CNNs and LSTMs on log-mel images
/// (`NetworkDesign.Kind`). Each has an emotion and a gender head.
public struct NeuralNetworkFamily: TrainingFamily {
    /// The image network, or nil for the MLP on vectors.
    public let design: NetworkDesign.Kind?

    /// The MLP (`design` nil) or an image network.
    public init(design: NetworkDesign.Kind?) { self.design = design }

    /// `mlp`, or the design's name (`cnn`, `cnn1d`, `lstm`, `bilstm`).
    public var name: String { design?.rawValue ?? "mlp" }

    /// What the network is, in one line.
    public var summary: String {
        switch design {
        case nil: return "two hidden ReLU layers (256, 128) with dropout, emotion and gender heads"
        case .cnn: return "a 2-D CNN on the log-mel image"
        case .cnn1d: return "a 1-D CNN over time on log-mel frames"
        case .lstm: return "an LSTM on log-mel frames"
        case .bilstm: return "a bidirectional LSTM on log-mel frames"
        }
    }

    /// The image networks read log-mel images; the MLP reads vectors.
    public var readsImages: Bool { design != nil }
    /// `logmel` for the image networks, `rich` for the MLP.
    public var defaultFeatures: FeaturePreset { design != nil ? .logmel : .rich }
    /// Networks train in epochs.
    public var trainsInEpochs: Bool { true }
    /// The MLP refits (a second fit costs seconds, and held-out speakers are a
    /// sixth of the voices: on RAVDESS three fewer training speakers cost about
    /// 2 points); the image networks do not, as a second fit would double a long run.
    public var refitsByDefault: Bool { design == nil }
    /// Every optimizer and data setting.
    public var settings: Set<TrainingSetting> {
        [.optimizer, .schedule, .learningRate, .weightDecay, .corpusBalance, .labelMasks, .corpusHeads]
    }

    /// The network's settings for `options` on `preset` (which gives an image network its shape), at most `epochs` epochs.
    public func configuration(options: TrainingOptions, preset: FeaturePreset, epochs: Int?) -> NeuralNetworkConfiguration {
        var c = NeuralNetworkConfiguration()
        c.seed = options.seed
        if let design, let (frames, bands) = preset.imageShape {
            c.design = NetworkDesign(kind: design, frames: frames, bands: bands, vectorCount: preset.imageOffset)
            c.batchSize = 32
            c.maximumEpochs = 40
            c.patience = 12
            c.schedule = .cosine
            c.dropout = 0.3
            c.specAugment = true
        }
        if let epochs { c.maximumEpochs = epochs }
        if let optimizer = options.optimizer { c.optimizer = optimizer }
        if let schedule = options.schedule { c.schedule = schedule }
        if let rate = options.learningRate { c.learningRate = rate }
        if let decay = options.weightDecay { c.weightDecay = decay }
        return c
    }

    /// `options.maximumEpochs`, or the network's default.
    public func maximumEpochs(options: TrainingOptions, preset: FeaturePreset) -> Int {
        configuration(options: options, preset: preset, epochs: options.maximumEpochs).maximumEpochs
    }

    /// A network fitted on the request's rows, stopping early on its validation rows.
    public func fit(_ request: FitRequest) -> FittedClassifier {
        Self.fitNetwork(configuration(options: request.options, preset: request.dataset.preset, epochs: request.epochs), request)
    }

    /// The epoch whose weights early stopping kept (best validation UAR, the earliest of equals).
    public func refitEpochs(after first: FittedClassifier, options: TrainingOptions) -> Int? {
        let history = first.history
        return history.indices.max { (history[$0].validationUAR ?? -1, -$0) < (history[$1].validationUAR ?? -1, -$1) }.map { $0 + 1 }
    }

    /// A `NeuralNetworkClassifier` with `configuration` fitted on `request`'s
    /// rows (corpora balanced and labels masked as its options say).
    static func fitNetwork(_ configuration: NeuralNetworkConfiguration, _ request: FitRequest) -> FittedClassifier {
        let options = request.options
        let training = request.dataset.trainingMatrix(request.rows, labels: request.labels, balancingCorpora: options.balancesCorpora,
                                                      maskingLabels: options.masksLabelsByCorpus)
        let network = NeuralNetworkClassifier(labels: request.labels, configuration: configuration)
        network.fit(training, validation: request.validation, checkpoint: request.checkpoint)
        return FittedClassifier(classifier: network, history: network.history, resumedAfterEpoch: network.resumedAfterEpoch)
    }
}
