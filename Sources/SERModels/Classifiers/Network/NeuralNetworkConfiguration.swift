import Foundation
import SERNumerics

/// Training settings for a neural network: the MLP over feature vectors, or a
/// `NetworkDesign` (CNN, LSTM) over log-mel images.
public struct NeuralNetworkConfiguration: Codable, Sendable, Equatable {
    /// Hidden layer widths of the MLP; empty gives multinomial logistic regression.
    /// Ignored when `design` is set.
    public var hiddenLayers: [Int] = [256, 128]
    /// A network over log-mel images instead of the MLP.
    public var design: NetworkDesign?
    /// AdamW when nil (model files written before the choice existed).
    public var optimizer: OptimizerChoice?
    /// The learning rate's course over the epochs; constant when nil.
    public var schedule: LearningRateSchedule?
    /// For networks over images: SpecAugment-style masking during training (per
    /// example, one band range of up to 8 bands and two frame ranges of up to 20
    /// frames set to the band mean, and a circular shift in time by up to 20 frames).
    public var specAugment: Bool?
    /// Dropout rate after each hidden layer during training.
    public var dropout: Float = 0.3
    /// The optimizer's base learning rate.
    public var learningRate: Float = 1e-3
    /// Decoupled weight decay of the stochastic optimizers.
    public var weightDecay: Float = 1e-4
    /// Examples per minibatch.
    public var batchSize: Int = 64
    /// The most epochs (L-BFGS iterations for logistic regression) training runs.
    public var maximumEpochs: Int = 200
    /// Stop after this many epochs without a better validation UAR.
    public var patience: Int = 20
    /// Whether validation stops training and picks the epoch whose weights are
    /// kept (nil: yes, as in model files written before the choice existed).
    /// When false, validation is only measured and training runs every epoch:
    /// for convex models (logistic regression) that should be fitted to
    /// convergence rather than stopped where a few speakers' UAR peaks.
    public var stopsEarly: Bool?
    /// Logistic regression only (no hidden layers, no design): fit the convex
    /// objective, mean weighted cross-entropy plus `l2Penalty`/2 times the squared
    /// weights (biases free), to convergence by full-batch L-BFGS from zero
    /// weights, with at most `maximumEpochs` iterations (each recorded as an
    /// epoch). Nil: the stochastic optimizer with its weight decay.
    public var l2Penalty: Float?
    /// Label smoothing ε of the emotion loss: the true label's target is 1 − ε, and ε is spread evenly over the labels the row may carry.
    public var labelSmoothing: Float = 0.05
    /// Weight classes inversely to their frequency.
    public var balanceClasses: Bool = true
    /// Weight of the gender head's loss against the emotion loss (multi-task training).
    public var genderLossWeight: Float = 0.3
    /// Seed of initialisation, shuffling, dropout and augmentation.
    public var seed: UInt64 = 1

    /// The MLP defaults: hidden layers of 256 and 128, AdamW, early stopping.
    public init() {}
}
