/// What `ser info` reports about one file: its format and measured levels.
public struct AudioFileSummary: Sendable, Equatable, Codable {
    public var path: String
    public var container: String
    public var codec: String
    public var decoder: AudioDecoderKind
    public var sampleRate: Int
    public var channels: Int
    /// Frames actually decoded (not the header's claim).
    public var frames: Int64
    /// Seconds.
    public var duration: Double
    public var peakDBFS: Double?
    public var rmsDBFS: Double?

    enum CodingKeys: String, CodingKey {
        case path, container, codec, decoder, channels, frames, duration
        case sampleRate = "sample_rate"
        case peakDBFS = "peak_dbfs"
        case rmsDBFS = "rms_dbfs"
    }

    /// Encodes every key, with `null` levels for digital silence.
    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(path, forKey: .path)
        try container.encode(self.container, forKey: .container)
        try container.encode(codec, forKey: .codec)
        try container.encode(decoder, forKey: .decoder)
        try container.encode(sampleRate, forKey: .sampleRate)
        try container.encode(channels, forKey: .channels)
        try container.encode(frames, forKey: .frames)
        try container.encode(duration, forKey: .duration)
        try container.encode(peakDBFS, forKey: .peakDBFS)
        try container.encode(rmsDBFS, forKey: .rmsDBFS)
    }

    /// Decodes the whole file at its native rate, in bounded memory, to count
    /// frames and measure peak and RMS over all channels.
    public init(path: String) throws {
        let stream = try AudioStream(path: path, sampleRate: nil, mono: false)
        var levels = AudioLevels()
        try stream.forEachBlock { levels.add($0) }
        let description = stream.sourceDescription
        self.path = path
        self.container = description.container
        self.codec = description.codec
        self.decoder = description.decoder
        self.sampleRate = description.sampleRate
        self.channels = description.channels
        self.frames = stream.decodedFrames
        self.duration = Double(stream.decodedFrames) / Double(description.sampleRate)
        self.peakDBFS = levels.peakDBFS
        self.rmsDBFS = levels.rmsDBFS
    }
}
