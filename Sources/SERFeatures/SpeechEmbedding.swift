/// A pretrained speech encoder seen as a feature: one fixed-length vector per
/// recording. The `whisper` presets read one; `SEREncoder` provides it.
public protocol SpeechEmbedder: Sendable {
    /// Identifies the weights (a digest of their source), so feature caches
    /// and model files can tell encoders apart.
    var identity: String { get }
    /// The recording's vector (`SpeechEmbedding.dimension` values), from mono samples at `sampleRate`.
    func embedding(of samples: [Float], sampleRate: Int) throws -> [Float]
}

/// What the `whisper` presets' encoder part holds: the mean, then the standard
/// deviation, over frames of each of `whisperLayers`' hidden states.
public enum SpeechEmbedding {
    /// Hidden-state layers pooled (0: the convolutions' output; 6: the last
    /// block, after the final LayerNorm), chosen by the layer-by-layer curve in
    /// docs/RESULTS.md.
    public static let whisperLayers = [2, 4, 6]
    /// Width of each layer's hidden state.
    public static let whisperWidth = 512
    public static var dimension: Int { whisperLayers.count * 2 * whisperWidth }

    /// `whisper_l2_mean_0 …`, layer by layer, means before deviations.
    public static var columnNames: [String] {
        whisperLayers.flatMap { layer in
            ["mean", "std"].flatMap { statistic in (0..<whisperWidth).map { "whisper_l\(layer)_\(statistic)_\($0)" } }
        }
    }
}
