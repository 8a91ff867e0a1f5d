/// A pretrained speech encoder seen as a feature: one fixed-length vector per
/// recording. The `whisper` presets read one; `SEREncoder` provides it.
public protocol SpeechEmbedder: Sendable {
    /// Identifies the weights (a digest of their source), so feature caches
    /// and model files can tell encoders apart.
    var identity: String { get }
    /// The recording's vector (`layout.dimension` values), from mono samples at `sampleRate`.
    func embedding(of samples: [Float], sampleRate: Int, layout: SpeechEmbedding) throws -> [Float]
}

/// How an encoder's hidden states become one vector: which layers are pooled,
/// each as its mean over the recording's frames, then its population standard
/// deviation, every frame alike or weighted by its power.
public struct SpeechEmbedding: Hashable, Sendable {
    /// Hidden-state layers pooled, in order (0: the convolutions' output;
    /// 1…6: the transformer blocks, 6 after the final LayerNorm).
    public let layers: [Int]
    /// Each frame weighs its power (mean square of the samples it covers) to
    /// this exponent in the mean and deviation; 0: every frame alike.
    public let frameWeightExponent: Float

    /// A layout pooling `layers`, frames weighted by their power to `frameWeightExponent` (0: alike).
    public init(layers: [Int], frameWeightExponent: Float = 0) {
        self.layers = layers
        self.frameWeightExponent = frameWeightExponent
    }

    /// The `whisper` presets: layers 2, 4 and 6.
    public static let middleLayers = SpeechEmbedding(layers: [2, 4, 6])
    /// The `whisper-blocks` presets: every transformer block's output, chosen
    /// by the layer-by-layer curve in docs/RESULTS.md.
    public static let everyBlock = SpeechEmbedding(layers: [1, 2, 3, 4, 5, 6])
    /// The `whisper-blocks-weighted` presets: every block, each frame weighted by
    /// the square root of its power, so the voice that dominates each moment
    /// counts more than quieter sounds (other voices, noise) in its pauses.
    public static let everyBlockPowerWeighted = SpeechEmbedding(layers: [1, 2, 3, 4, 5, 6], frameWeightExponent: 0.5)

    /// Width of each Whisper-base layer's hidden state.
    public static let whisperWidth = 512
    public var dimension: Int { layers.count * 2 * Self.whisperWidth }

    /// `whisper_l2_mean_0 …`, layer by layer, means before deviations.
    public var columnNames: [String] {
        layers.flatMap { layer in
            ["mean", "std"].flatMap { statistic in (0..<Self.whisperWidth).map { "whisper_l\(layer)_\(statistic)_\($0)" } }
        }
    }

    /// What a feature cache key holds of the layout.
    public var cacheKey: String {
        "layers=\(layers.map(String.init).joined(separator: ",")),v1" + (frameWeightExponent == 0 ? "" : ",power^\(frameWeightExponent)")
    }
}
