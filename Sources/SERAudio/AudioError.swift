import Foundation

/// Why an audio file could not be read or written.
///
/// Every case names the file it concerns and its description says what to do
/// about it, so a batch can report one line per failed file and carry on.
public enum AudioError: Error, Equatable, Sendable, CustomStringConvertible, LocalizedError {
    /// Nothing exists at the path.
    case fileNotFound(path: String)
    /// The path is a directory where a file was expected.
    case isDirectory(path: String)
    /// The path is a device, socket or pipe, which cannot be decoded safely.
    case notARegularFile(path: String)
    /// The file has no bytes.
    case emptyFile(path: String)
    /// The file exists but cannot be opened (permissions, I/O).
    case unreadable(path: String, reason: String)
    /// The content is not audio any decoder recognises.
    case unsupportedFormat(path: String, reason: String)
    /// The content claims a known format but is damaged.
    case malformed(path: String, reason: String)
    /// The stream ended before the frames its header announced.
    case truncated(path: String, expectedFrames: Int64, decodedFrames: Int64)
    /// The decoded signal holds NaN or infinite samples.
    case nonFiniteSamples(path: String, frame: Int64)
    /// The header declares a layout outside what the reader accepts.
    case invalidStreamLayout(path: String, reason: String)
    /// The file needs ffmpeg, which is not installed.
    case ffmpegUnavailable(path: String)
    /// ffmpeg ran but could not decode the file.
    case ffmpegFailed(path: String, reason: String)
    /// Decoding failed part-way through.
    case decodeFailed(path: String, reason: String)
    /// Writing an output file failed; nothing was left at the destination.
    case writeFailed(path: String, reason: String)
    /// A caller-supplied parameter is out of range.
    case invalidParameter(String)

    /// The file the error concerns, if any.
    public var path: String? {
        switch self {
        case .fileNotFound(let p), .isDirectory(let p), .notARegularFile(let p), .emptyFile(let p),
             .unreadable(let p, _), .unsupportedFormat(let p, _), .malformed(let p, _),
             .truncated(let p, _, _), .nonFiniteSamples(let p, _), .invalidStreamLayout(let p, _),
             .ffmpegUnavailable(let p), .ffmpegFailed(let p, _), .decodeFailed(let p, _),
             .writeFailed(let p, _):
            return p
        case .invalidParameter:
            return nil
        }
    }

    /// A sentence without the path: what went wrong and what to do.
    public var reason: String {
        switch self {
        case .fileNotFound:
            return "no such file; check the path"
        case .isDirectory:
            return "is a directory; pass the audio files inside it"
        case .notARegularFile:
            return "is not a regular file (device, socket or pipe); save the audio to a file first"
        case .emptyFile:
            return "file is empty (0 bytes); the recording or download did not complete"
        case .unreadable(_, let reason):
            return "cannot be opened: \(reason)"
        case .unsupportedFormat(_, let reason):
            return "not a recognised audio format (\(reason)); check that it is an audio or video file"
        case .malformed(_, let reason):
            return "damaged audio file (\(reason)); re-export or re-download it"
        case .truncated(_, let expected, let decoded):
            return "file is truncated: header announces \(expected) frames but only \(decoded) could be decoded; re-export or re-download it"
        case .nonFiniteSamples(_, let frame):
            return "holds NaN or infinite samples (first at frame \(frame)); the file is corrupt or was written by a faulty program"
        case .invalidStreamLayout(_, let reason):
            return "unusable stream layout: \(reason)"
        case .ffmpegUnavailable:
            return "this format needs ffmpeg, which is not installed; install it (apt-get install ffmpeg) or convert the file to WAV/FLAC"
        case .ffmpegFailed(_, let reason):
            return "ffmpeg could not decode it: \(reason)"
        case .decodeFailed(_, let reason):
            return "decoding failed: \(reason)"
        case .writeFailed(_, let reason):
            return "cannot write output: \(reason)"
        case .invalidParameter(let reason):
            return reason
        }
    }

    public var description: String {
        if let path { return "\(path): \(reason)" }
        return reason
    }

    public var errorDescription: String? { description }
}
