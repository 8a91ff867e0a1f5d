import Foundation

/// A check of a WAV file's chunk layout before libsndfile parses it. Every chunk
/// before the audio (`data`) must end inside the file, and every sub-chunk of a
/// `LIST` chunk inside its list: libsndfile 1.2 loops (for minutes) over a
/// header whose `LIST` chunk claims gigabytes in a 313-byte file, and over a
/// `LIST`/`INFO` entry whose size reads as −12 (two fuzzer findings). A chunk
/// that overruns the file before the audio begins means there is no audio to
/// read, and well-formed writers keep list entries inside their list, so
/// nothing usable is refused.
enum RIFFLayout {
    /// Why the WAV whose first bytes are `header` (of `fileSize` bytes in all)
    /// cannot be read, or nil when it is not a little-endian RIFF/WAVE or its
    /// chunks before `data` fit.
    static func problem(header bytes: [UInt8], fileSize: Int) -> String? {
        guard bytes.count >= 12, bytes[0..<4] == [0x52, 0x49, 0x46, 0x46][...], bytes[8..<12] == [0x57, 0x41, 0x56, 0x45][...] else { return nil }
        var offset = 12
        while offset + 8 <= min(fileSize, bytes.count) {
            let id = String(decoding: bytes[offset..<(offset + 4)], as: UTF8.self)
            let size = littleEndianUInt32(bytes, at: offset + 4)
            if id == "data" { return nil }
            if offset + 8 + size > fileSize {
                return "its \(printable(id)) chunk at byte \(offset) claims \(size) bytes, past the end of the \(fileSize)-byte file, before any audio"
            }
            if id == "LIST", let problem = listProblem(bytes, listAt: offset, size: size) { return problem }
            offset += 8 + size + (size & 1)
        }
        return nil
    }

    /// Why the entries of the `LIST` chunk at `listAt` (of `size` bytes after its
    /// header) do not fit inside it, or nil. Entries past the bytes at hand are
    /// not checked.
    private static func listProblem(_ bytes: [UInt8], listAt offset: Int, size: Int) -> String? {
        let end = offset + 8 + size
        var entry = offset + 12  // after the chunk header and the list type (INFO, adtl, …)
        while entry + 8 <= min(end, bytes.count) {
            let entrySize = littleEndianUInt32(bytes, at: entry + 4)
            if entry + 8 + entrySize > end {
                let id = String(decoding: bytes[entry..<(entry + 4)], as: UTF8.self)
                return "the \(printable(id)) entry at byte \(entry) of its LIST chunk claims \(entrySize) bytes, past the end of the list at byte \(end)"
            }
            entry += 8 + entrySize + (entrySize & 1)
        }
        return nil
    }

    private static func littleEndianUInt32(_ bytes: [UInt8], at offset: Int) -> Int {
        (0..<4).reduce(0) { $0 | Int(bytes[offset + $1]) << (8 * $1) }
    }

    /// A chunk id as text when it is printable ASCII, "?" otherwise.
    private static func printable(_ id: String) -> String {
        id.unicodeScalars.allSatisfy { $0.isASCII && $0.value >= 32 && $0.value < 127 } ? id : "?"
    }
}
