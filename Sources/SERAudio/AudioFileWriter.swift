import CSndFile
import Foundation
import SERSupport

/// Output containers `ser convert` and the library can write.
public enum AudioFileFormat: String, Sendable, CaseIterable, Codable {
    case wav
    case flac

    /// The format implied by a file name's extension, if any.
    public init?(pathExtension: String) {
        switch pathExtension.lowercased() {
        case "wav", "wave": self = .wav
        case "flac": self = .flac
        default: return nil
        }
    }

    /// The usual file extension.
    public var fileExtension: String { rawValue }
}

/// How samples are stored in an output file.
public enum SampleEncoding: String, Sendable, CaseIterable, Codable {
    case pcm16 = "16"
    case pcm24 = "24"
    case pcm32 = "32"
    case float32 = "32f"

    /// Bits of an integer encoding; nil for float.
    var integerBits: Int? {
        switch self {
        case .pcm16: return 16
        case .pcm24: return 24
        case .pcm32: return 32
        case .float32: return nil
        }
    }

    var sndfileSubtype: Int32 {
        switch self {
        case .pcm16: return Int32(SF_FORMAT_PCM_16)
        case .pcm24: return Int32(SF_FORMAT_PCM_24)
        case .pcm32: return Int32(SF_FORMAT_PCM_32)
        case .float32: return Int32(SF_FORMAT_FLOAT)
        }
    }
}

/// Writes audio files with libsndfile, atomically: the destination only ever
/// holds a complete file.
///
/// Integer encodings are quantised here, not by libsndfile: a sample `x` becomes
/// `round(x · 2^(bits−1))`, clipped to the format's range. That is the exact
/// inverse of how libsndfile (and soundfile, and librosa) read integer PCM, so
/// converting a 16-bit file to 16 bits leaves every sample unchanged.
/// (libsndfile's own float-to-integer path scales by 2^(bits−1) − 1.)
public final class AudioFileWriter {
    private var handle: OpaquePointer?
    private let path: String
    private let integerBits: Int?
    private var integerBlock: [Int32] = []
    /// Channels per frame.
    public let channels: Int
    /// Frames written so far.
    public private(set) var writtenFrames: Int64 = 0

    private init(handle: OpaquePointer, path: String, channels: Int, integerBits: Int?) {
        self.handle = handle
        self.path = path
        self.channels = channels
        self.integerBits = integerBits
    }

    /// Creates `path` and calls `body` with a writer for it; the file appears
    /// only after `body` returns without throwing.
    ///
    /// - Parameter expectedFrames: the length, if known. WAV output is plain
    ///   RIFF/WAVE when it surely fits in 4 GiB, the form every reader accepts;
    ///   otherwise RF64, which libsndfile downgrades to WAVE_FORMAT_EXTENSIBLE
    ///   when the file turns out small.
    public static func write<Result>(
        to path: String, format: AudioFileFormat, encoding: SampleEncoding = .pcm16,
        sampleRate: Int, channels: Int, expectedFrames: Int64? = nil,
        _ body: (AudioFileWriter) throws -> Result
    ) throws -> Result {
        if format == .flac && !(encoding == .pcm16 || encoding == .pcm24) {
            throw AudioError.invalidParameter("FLAC stores 16- or 24-bit integers; use --bit-depth 16 or 24 for FLAC")
        }
        guard StreamLimits.sampleRates.contains(sampleRate), StreamLimits.channels.contains(channels) else {
            throw AudioError.invalidParameter("cannot write \(channels) channels at \(sampleRate) Hz")
        }
        do {
            return try AtomicFile.write(to: path) { temporaryPath in
                var info = SF_INFO()
                info.samplerate = Int32(sampleRate)
                info.channels = Int32(channels)
                let bytesPerFrame = Int64(channels * ((encoding.integerBits ?? 32) / 8))
                let fitsInRIFF = expectedFrames.map { $0 * bytesPerFrame < 3 << 30 } ?? false
                let major: Int32
                switch format {
                case .wav: major = fitsInRIFF ? Int32(SF_FORMAT_WAV) : Int32(SF_FORMAT_RF64)
                case .flac: major = Int32(SF_FORMAT_FLAC)
                }
                info.format = major | encoding.sndfileSubtype
                guard sf_format_check(&info) != 0 else {
                    throw AudioError.invalidParameter("libsndfile cannot write \(format.rawValue) with \(encoding.rawValue)-bit samples at \(sampleRate) Hz")
                }
                guard let handle = sf_open(temporaryPath, Int32(SFM_WRITE), &info) else {
                    throw AudioError.writeFailed(path: path, reason: String(cString: sf_strerror(nil)))
                }
                if major == Int32(SF_FORMAT_RF64) {
                    sf_command(handle, Int32(SFC_RF64_AUTO_DOWNGRADE), nil, Int32(SF_TRUE))
                }
                sf_command(handle, Int32(SFC_SET_CLIPPING), nil, Int32(SF_TRUE))
                let writer = AudioFileWriter(handle: handle, path: path, channels: channels,
                                             integerBits: encoding.integerBits)
                do {
                    let result = try body(writer)
                    try writer.finish()
                    return result
                } catch {
                    writer.abandon()
                    throw error
                }
            }
        } catch let failure as AtomicFile.Failure {
            throw AudioError.writeFailed(path: path, reason: failure.description)
        }
    }

    /// Writes a whole signal to `path`.
    public static func write(_ signal: AudioSignal, to path: String, format: AudioFileFormat,
                             encoding: SampleEncoding = .pcm16) throws {
        try write(to: path, format: format, encoding: encoding, sampleRate: signal.sampleRate,
                  channels: signal.channels, expectedFrames: Int64(signal.frameCount)) { writer in
            try signal.samples.withUnsafeBufferPointer { try writer.append($0) }
        }
    }

    /// Appends interleaved frames.
    public func append(_ samples: UnsafeBufferPointer<Float>) throws {
        guard let handle, let base = samples.baseAddress else { return }
        let frames = samples.count / channels
        let written: sf_count_t
        if let bits = integerBits {
            quantise(samples, bits: bits)
            written = integerBlock.withUnsafeBufferPointer { sf_writef_int(handle, $0.baseAddress, sf_count_t(frames)) }
        } else {
            written = sf_writef_float(handle, base, sf_count_t(frames))
        }
        guard written == frames else {
            throw AudioError.writeFailed(path: path, reason: String(cString: sf_strerror(handle)))
        }
        writtenFrames += Int64(written)
    }

    /// Fills `integerBlock` with samples rounded to `bits` bits, left-aligned in
    /// 32-bit integers as libsndfile's integer interface expects.
    private func quantise(_ samples: UnsafeBufferPointer<Float>, bits: Int) {
        if integerBlock.count < samples.count { integerBlock = [Int32](repeating: 0, count: samples.count) }
        let scale = Double(1 << (bits - 1))
        let maximum = scale - 1
        let shift = Int32(32 - bits)
        integerBlock.withUnsafeMutableBufferPointer { out in
            for i in 0..<samples.count {
                var level = (Double(samples[i]) * scale).rounded()
                if !(level >= -scale) { level = -scale }  // also maps NaN to the floor
                if level > maximum { level = maximum }
                out[i] = Int32(level) << shift
            }
        }
    }

    private func finish() throws {
        guard let handle else { return }
        self.handle = nil
        let status = sf_close(handle)
        if status != 0 {
            throw AudioError.writeFailed(path: path, reason: String(cString: sf_error_number(status)))
        }
    }

    private func abandon() {
        if let handle { sf_close(handle) }
        handle = nil
    }
}
