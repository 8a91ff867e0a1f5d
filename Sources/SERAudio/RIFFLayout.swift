import Foundation

/// A check of a WAV file's chunk layout before libsndfile parses it. Every chunk
/// before the audio (`data`) must end inside the file: libsndfile 1.2 loops
/// (for minutes) over a header whose `LIST` chunk claims gigabytes in a
/// 313-byte file, a fuzzer's finding. A chunk that overruns the file before the
/// audio begins means there is no audio to read, so nothing usable is refused.
enum RIFFLayout {
    /// Why the WAV whose first bytes are `header` (of `fileSize` bytes in all)
    /// cannot be read, or nil when it is not a little-endian RIFF/WAVE or its
    /// chunks before `data` fit.
    static func problem(header: Data, fileSize: Int) -> String? {
        let bytes = [UInt8](header)
        guard bytes.count >= 12, bytes[0..<4] == [0x52, 0x49, 0x46, 0x46][...], bytes[8..<12] == [0x57, 0x41, 0x56, 0x45][...] else { return nil }
        var offset = 12
        while offset + 8 <= min(fileSize, bytes.count) {
            let id = String(decoding: bytes[offset..<(offset + 4)], as: UTF8.self)
            let size = (0..<4).reduce(0) { $0 | Int(bytes[offset + 4 + $1]) << (8 * $1) }
            if id == "data" { return nil }
            if offset + 8 + size > fileSize {
                let printable = id.unicodeScalars.allSatisfy { $0.isASCII && $0.value >= 32 && $0.value < 127 } ? id : "?"
                return "its \(printable) chunk at byte \(offset) claims \(size) bytes, past the end of the \(fileSize)-byte file, before any audio"
            }
            offset += 8 + size + (size & 1)
        }
        return nil
    }
}
