import Foundation

/// The container a file's first bytes announce, whatever its extension says.
public enum AudioContainer: String, Sendable, CaseIterable {
    case wav = "WAV"
    case rf64 = "RF64"
    case wave64 = "W64"
    case aiff = "AIFF"
    case flac = "FLAC"
    case ogg = "OGG"
    case mp3 = "MP3"
    case au = "AU"
    case caf = "CAF"
    case mp4 = "MP4"
    case matroska = "Matroska/WebM"
    case unknown = "unknown"

    /// Containers whose damage should be reported as such rather than handed to
    /// another decoder: libsndfile reads them natively.
    var isNativeToSndFile: Bool {
        switch self {
        case .wav, .rf64, .wave64, .aiff, .flac, .au, .caf: return true
        case .ogg, .mp3, .mp4, .matroska, .unknown: return false
        }
    }

    /// Identifies the container from the leading bytes of a file (16 are enough).
    public static func sniff<Bytes: Collection>(_ bytes: Bytes) -> AudioContainer where Bytes.Element == UInt8 {
        let b = Array(bytes.prefix(16))
        func ascii(_ range: Range<Int>) -> String {
            guard range.upperBound <= b.count else { return "" }
            return String(decoding: b[range], as: UTF8.self)
        }
        switch ascii(0..<4) {
        case "RIFF", "RIFX": return .wav
        case "RF64", "BW64": return .rf64
        case "riff": return .wave64
        case "FORM": return .aiff
        case "fLaC": return .flac
        case "OggS": return .ogg
        case "caff": return .caf
        case ".snd": return .au
        default: break
        }
        if ascii(0..<3) == "ID3" { return .mp3 }
        if ascii(4..<8) == "ftyp" { return .mp4 }
        if b.count >= 4, b[0] == 0x1A, b[1] == 0x45, b[2] == 0xDF, b[3] == 0xA3 { return .matroska }
        // An MPEG audio frame sync: 11 set bits, a valid layer and bitrate.
        if b.count >= 3, b[0] == 0xFF, b[1] & 0xE0 == 0xE0, b[1] & 0x06 != 0, b[2] & 0xF0 != 0xF0 {
            return .mp3
        }
        return .unknown
    }

    /// Identifies the container of the file at `path` from its first bytes.
    public static func sniff(path: String) -> AudioContainer {
        guard let handle = FileHandle(forReadingAtPath: path) else { return .unknown }
        defer { try? handle.close() }
        let head = (try? handle.read(upToCount: 16)) ?? Data()
        return sniff(head)
    }
}
