import Foundation
import SERNumerics
import SERSupport

/// A network over a log-mel image (`frames × bands`, frames outermost) rather than
/// a pooled feature vector. Each kind ends in statistics pooling over time (mean
/// and standard deviation of every channel), so it answers the same way wherever
/// in the window the emotional part sits, then one hidden GELU layer; the emotion
/// and gender heads are added by `NeuralNetworkClassifier`.
public struct NetworkDesign: Codable, Sendable, Equatable {
    /// The network families over images.
    public enum Kind: String, Codable, Sendable, CaseIterable {
        /// A 2-D CNN: three blocks of 3×3 convolution (16, 32, 64 channels),
        /// 2×2 max pooling, batch normalization and ReLU.
        case cnn
        /// A 1-D CNN over time with the mel bands as channels: convolutions of
        /// 5, 5 and 3 frames (128 channels each) with batch normalization and ReLU,
        /// max pooling by 2 in time after the first two.
        case cnn1d
        /// Frames averaged in pairs, then an LSTM of 128 units.
        case lstm
        /// Frames averaged in pairs, then a bidirectional LSTM of 2 × 96 units.
        case bilstm
    }

    /// Which network.
    public var kind: Kind
    /// Frames per example (time).
    public var frames: Int
    /// Mel bands per frame.
    public var bands: Int
    /// Width of the hidden layer before the heads.
    public var hiddenWidth: Int = 128
    /// Feature-vector values before the image (e.g. `rich` in `rich+logmel`), read
    /// by a dense branch of 64 GELU units joined to the pooled image; nil for none.
    public var vectorCount: Int?

    /// A `kind` network over `frames` × `bands` images, with a vector branch of `vectorCount` leading values when given.
    public init(kind: Kind, frames: Int, bands: Int, vectorCount: Int? = nil) {
        self.kind = kind
        self.frames = frames
        self.bands = bands
        self.vectorCount = vectorCount.flatMap { $0 > 0 ? $0 : nil }
    }

    /// Values per example the network reads.
    public var inputCount: Int { (vectorCount ?? 0) + frames * bands }

    /// The smallest image each kind's pooling leaves something of: three 2×2
    /// poolings for the CNN, two in time for the 1-D CNN, one for the LSTMs.
    public var minimumImage: (frames: Int, bands: Int) {
        switch kind {
        case .cnn: return (8, 8)
        case .cnn1d: return (4, 1)
        case .lstm, .bilstm: return (2, 1)
        }
    }

    /// What keeps this design from being built, or nil when it can be (a model
    /// file's design is checked before any layer is allocated).
    public var problem: String? {
        let smallest = minimumImage
        guard frames >= smallest.frames, bands >= smallest.bands else {
            return "a \(kind.rawValue) reads at least \(smallest.frames) frames × \(smallest.bands) bands (this one \(frames) × \(bands))"
        }
        guard frames <= 1 << 20, bands <= 1 << 12, (1...4096).contains(hiddenWidth), (vectorCount ?? 0) <= 1 << 20 else {
            return "sizes out of range (\(frames) frames, \(bands) bands, hidden width \(hiddenWidth), \(vectorCount ?? 0) vector values)"
        }
        return nil
    }

    /// Width of the dense branch over the feature vector.
    static let vectorBranchWidth = 64

    /// The trunk's layers, with its dropout layers listed separately (training
    /// reseeds them every epoch) and the width it ends in.
    func trunk(dropout rate: Float, generator: inout SplitMix64) -> (layers: [Layer], dropouts: [Dropout], width: Int) {
        var layers: [Layer] = []
        let pooled: TemporalPooling
        switch kind {
        case .cnn:
            var map = FeatureMapShape(height: frames, width: bands, channels: 1)
            for channels in [16, 32, 64] {
                let convolution = Convolution(input: map, outputChannels: channels, kernelHeight: 3, kernelWidth: 3, generator: &generator)
                let pooling = MapPooling(input: convolution.output, kind: .max, poolHeight: 2, poolWidth: 2)
                // Pooling before normalization and ReLU: the same shapes, a quarter of the elementwise work.
                layers += [convolution, pooling, BatchNormalization(channels: channels), ReLU()]
                map = pooling.output
            }
            pooled = TemporalPooling(length: map.height, channels: map.width * map.channels, kind: .meanAndDeviation)
        case .cnn1d:
            var map = FeatureMapShape.sequence(length: frames, features: bands)
            for (kernel, pools) in [(5, true), (5, true), (3, false)] {
                let convolution = Convolution.overTime(length: map.height, inputChannels: map.channels, outputChannels: 128,
                                                       kernel: kernel, generator: &generator)
                layers += [convolution, BatchNormalization(channels: 128), ReLU()]
                map = convolution.output
                if pools {
                    let pooling = MapPooling(input: map, kind: .max, poolHeight: 2, poolWidth: 1)
                    layers.append(pooling)
                    map = pooling.output
                }
            }
            pooled = TemporalPooling(length: map.height, channels: map.channels, kind: .meanAndDeviation)
        case .lstm, .bilstm:
            let halving = MapPooling(input: .sequence(length: frames, features: bands), kind: .average, poolHeight: 2, poolWidth: 1)
            let length = halving.output.height
            layers.append(halving)
            if kind == .lstm {
                layers.append(LSTM(length: length, inputs: bands, hidden: 128, generator: &generator))
                pooled = TemporalPooling(length: length, channels: 128, kind: .meanAndDeviation)
            } else {
                layers.append(BidirectionalLSTM(length: length, inputs: bands, hidden: 96, generator: &generator))
                pooled = TemporalPooling(length: length, channels: 192, kind: .meanAndDeviation)
            }
        }
        layers.append(pooled)
        var joinedWidth = pooled.outputCount
        if let vectorCount {
            let vectorBranch: [Layer] = [Dense(inputs: vectorCount, outputs: Self.vectorBranchWidth, generator: &generator), GELU()]
            layers = [ParallelBranches(leading: vectorCount, first: vectorBranch, second: layers)]
            joinedWidth += Self.vectorBranchWidth
        }
        var dropouts: [Dropout] = []
        func dropout() {
            guard rate > 0 else { return }
            let layer = Dropout(rate: rate, seed: generator.next())
            dropouts.append(layer)
            layers.append(layer)
        }
        dropout()
        layers += [Dense(inputs: joinedWidth, outputs: hiddenWidth, generator: &generator), GELU()]
        dropout()
        return (layers, dropouts, hiddenWidth)
    }

    /// One line per stage, for `ser model info`.
    var summary: [String] {
        let vectorLine = vectorCount.map { ["feature vector of \($0) → dense \(Self.vectorBranchWidth) + GELU, joined to the pooled image"] } ?? []
        return imageSummary + vectorLine
    }

    private var imageSummary: [String] {
        switch kind {
        case .cnn:
            return ["log-mel image \(frames)×\(bands)",
                    "3 × [conv 3×3 → max-pool 2×2 → BN → ReLU], 16/32/64 channels",
                    "statistics pooling over time", "dense → \(hiddenWidth) + GELU"]
        case .cnn1d:
            return ["log-mel sequence \(frames)×\(bands)",
                    "conv1d 5 → BN → ReLU → pool 2, conv1d 5 → BN → ReLU → pool 2, conv1d 3 → BN → ReLU (128 channels)",
                    "statistics pooling over time", "dense → \(hiddenWidth) + GELU"]
        case .lstm, .bilstm:
            return ["log-mel sequence \(frames)×\(bands), frames averaged in pairs",
                    kind == .lstm ? "LSTM 128" : "BiLSTM 2×96",
                    "statistics pooling over time", "dense → \(hiddenWidth) + GELU"]
        }
    }
}

extension NetworkDesign {
    /// SpecAugment on standardized images (0 is a band's mean): a circular time
    /// shift, one band mask and two frame masks per example. A leading feature
    /// vector is left alone.
    func specAugment(_ images: inout Matrix, seed: UInt64) {
        var generator = SplitMix64(seed: seed)
        let frames = self.frames, bands = self.bands
        func draw(_ upTo: Int) -> Int { Int(generator.next() % UInt64(max(1, upTo + 1))) }
        for example in 0..<images.rows {
            let base = example * images.columns + (vectorCount ?? 0)
            let reach = min(20, frames / 8)
            let shift = draw(2 * reach) - reach
            if shift != 0 {
                let original = Array(images.values[base..<(base + frames * bands)])
                for t in 0..<frames {
                    let source = ((t - shift) % frames + frames) % frames
                    for b in 0..<bands { images.values[base + t * bands + b] = original[source * bands + b] }
                }
            }
            let width = draw(min(8, bands / 4)), first = draw(bands - width)
            for t in 0..<frames { for b in first..<(first + width) { images.values[base + t * bands + b] = 0 } }
            for _ in 0..<2 {
                let length = draw(min(20, frames / 8)), start = draw(frames - length)
                for t in start..<(start + length) { for b in 0..<bands { images.values[base + t * bands + b] = 0 } }
            }
        }
    }
}
