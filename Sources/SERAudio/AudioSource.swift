/// Which decoder reads a stream.
public enum AudioDecoderKind: String, Sendable, Codable {
    /// libsndfile, in process: WAV, AIFF, FLAC, OGG Vorbis/Opus, MP3 and more.
    case libsndfile
    /// An `ffmpeg` subprocess: MP4/M4A/AAC, WebM, MOV and anything else it knows.
    case ffmpeg
}

/// What a decoder knows about a stream before reading it.
public struct AudioStreamDescription: Sendable, Equatable {
    /// The file the stream comes from (or a name for in-memory data).
    public var path: String
    /// Container name, e.g. `WAV`, `FLAC`, `MP4`.
    public var container: String
    /// Sample encoding or codec, e.g. `PCM 16-bit`, `Vorbis`, `AAC`.
    public var codec: String
    /// Native sample rate in Hz.
    public var sampleRate: Int
    /// Native channel count.
    public var channels: Int
    /// Frames the header announces, when it announces a trustworthy count
    /// (decoding fewer is reported as truncation).
    public var declaredFrames: Int64?
    /// A best guess at the length in frames, from the header or the container's
    /// duration; used for sizing, never for validation.
    public var estimatedFrames: Int64?
    /// The decoder that reads it.
    public var decoder: AudioDecoderKind

    public init(path: String, container: String, codec: String, sampleRate: Int, channels: Int,
                declaredFrames: Int64?, estimatedFrames: Int64? = nil, decoder: AudioDecoderKind) {
        self.path = path
        self.container = container
        self.codec = codec
        self.sampleRate = sampleRate
        self.channels = channels
        self.declaredFrames = declaredFrames
        self.estimatedFrames = estimatedFrames ?? declaredFrames
        self.decoder = decoder
    }
}

/// A decoder that yields interleaved float32 frames, block by block, at the
/// stream's native rate and channel count.
///
/// Sources are not thread-safe; use one per thread. Call `close()` when done
/// (it is also called on deinit).
public protocol AudioSource: AnyObject {
    /// The stream's format.
    var streamDescription: AudioStreamDescription { get }

    /// Reads up to `buffer.count / channels` interleaved frames into `buffer`.
    ///
    /// - Returns: the number of frames read; 0 at the end of the stream.
    /// - Throws: `AudioError` when the stream is damaged or ends early.
    func read(into buffer: UnsafeMutableBufferPointer<Float>) throws -> Int

    /// Releases the decoder's resources. Safe to call more than once.
    func close()
}

/// Limits on what a header may declare before the file is refused.
enum StreamLimits {
    /// Below 1 kHz no file holds speech, and resampling it to a model's rate
    /// would multiply it thousands of times (a fuzzed AIFF claiming 1 Hz took 28 s).
    static let sampleRates = 1000...1_536_000
    static let channels = 1...256

    static func validate(_ description: AudioStreamDescription) throws {
        guard channels.contains(description.channels) else {
            throw AudioError.invalidStreamLayout(
                path: description.path,
                reason: "\(description.channels) channels (accepted: \(channels.lowerBound)–\(channels.upperBound))")
        }
        guard sampleRates.contains(description.sampleRate) else {
            throw AudioError.invalidStreamLayout(
                path: description.path,
                reason: "sample rate \(description.sampleRate) Hz (accepted: \(sampleRates.lowerBound)–\(sampleRates.upperBound) Hz)")
        }
    }
}
