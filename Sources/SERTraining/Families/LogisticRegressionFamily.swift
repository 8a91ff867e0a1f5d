import SERFeatures
import SERModels

/// Multinomial logistic regression on standardized features (no hidden layer),
/// with a gender head, fitted to the optimum of its L2-regularized
/// cross-entropy by L-BFGS. Validation speakers only calibrate it; the refit on
/// all training speakers runs to convergence again.
public struct LogisticRegressionFamily: TrainingFamily {
    /// The L2 penalty per example (the objective is the mean loss plus
    /// penalty/2 × ‖W‖²) unless `TrainingOptions.l2Penalty` says otherwise.
    /// Measured by 5-fold speaker CV on RAVDESS with `functionals` and speaker
    /// normalization: 0.1 gave 67.9 %, 0.3 66.5 %, and choosing among 0.01…1 on
    /// each fit's two or three validation speakers 66.1 %: too few voices to
    /// choose by, so the penalty is fixed.
    public static let defaultL2Penalty: Float = 0.1

    /// Logistic regression.
    public init() {}

    /// `logreg`.
    public var name: String { "logreg" }
    /// What it is, in one line.
    public var summary: String { "multinomial logistic regression fitted by L-BFGS to its L2-regularized optimum" }
    /// It reads vectors.
    public var readsImages: Bool { false }
    /// `rich`.
    public var defaultFeatures: FeaturePreset { .rich }
    /// L-BFGS iterations count as epochs.
    public var trainsInEpochs: Bool { true }
    /// A convex refit on all speakers costs seconds.
    public var refitsByDefault: Bool { true }
    /// The penalty and the data settings; no stochastic optimizer settings.
    public var settings: Set<TrainingSetting> { [.l2Penalty, .corpusBalance, .labelMasks, .corpusHeads] }

    /// The classifier's settings for `options`, at most `epochs` iterations (500 by default).
    public func configuration(options: TrainingOptions, epochs: Int?) -> NeuralNetworkConfiguration {
        var c = NeuralNetworkConfiguration()
        c.seed = options.seed
        c.hiddenLayers = []
        c.dropout = 0
        c.labelSmoothing = 0
        c.stopsEarly = false
        c.l2Penalty = options.l2Penalty ?? Self.defaultL2Penalty
        c.maximumEpochs = epochs ?? 500
        return c
    }

    /// `options.maximumEpochs`, or 500.
    public func maximumEpochs(options: TrainingOptions, preset: FeaturePreset) -> Int {
        configuration(options: options, epochs: options.maximumEpochs).maximumEpochs
    }

    /// The classifier fitted on the request's rows to convergence (or its iteration budget).
    public func fit(_ request: FitRequest) -> FittedClassifier {
        NeuralNetworkFamily.fitNetwork(configuration(options: request.options, epochs: request.epochs), request)
    }

    /// The refit runs to convergence again, within the same budget.
    public func refitEpochs(after first: FittedClassifier, options: TrainingOptions) -> Int? { options.maximumEpochs }
}
