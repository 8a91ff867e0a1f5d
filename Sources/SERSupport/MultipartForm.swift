import Foundation

/// A minimal `multipart/form-data` reader (RFC 7578): enough to find an
/// uploaded file among a form's parts.
public enum MultipartForm {
    /// One part of a form: its field name, its file name when it is a file, and its bytes.
    public struct Part: Sendable, Equatable {
        public var name: String?
        public var fileName: String?
        public var bytes: [UInt8]
    }

    /// The `boundary` parameter of a Content-Type value.
    public static func boundary(in contentType: String) -> String? {
        for parameter in contentType.split(separator: ";").dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2, pair[0].lowercased() == "boundary" else { continue }
            let value = pair[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            return value.isEmpty || value.count > 200 ? nil : value
        }
        return nil
    }

    /// The parts of a form body, or nil when it is not one.
    public static func parts(of body: [UInt8], boundary: String) -> [Part]? {
        let delimiter = Array("--\(boundary)".utf8)
        var starts: [Int] = []
        var searchFrom = 0
        while let found = find(delimiter, in: body, from: searchFrom) {
            starts.append(found)
            searchFrom = found + delimiter.count
        }
        guard starts.count >= 2 else { return nil }
        var parts: [Part] = []
        for (index, start) in starts.dropLast().enumerated() {
            var cursor = start + delimiter.count
            // "--" after a delimiter closes the form.
            if cursor + 1 < body.count && body[cursor] == 45 && body[cursor + 1] == 45 { break }
            cursor = skipLineBreak(body, cursor)
            let end = starts[index + 1]
            guard let headerEnd = find(Array("\r\n\r\n".utf8), in: body, from: cursor), headerEnd < end else { return nil }
            let headerText = String(decoding: body[cursor..<headerEnd], as: UTF8.self)
            var contentEnd = end
            // The CRLF before the next delimiter belongs to the delimiter.
            if contentEnd >= 2 && body[contentEnd - 2] == 13 && body[contentEnd - 1] == 10 { contentEnd -= 2 }
            let contentStart = headerEnd + 4
            guard contentStart <= contentEnd else { return nil }
            var part = Part(name: nil, fileName: nil, bytes: Array(body[contentStart..<contentEnd]))
            for line in headerText.components(separatedBy: "\r\n") where line.lowercased().hasPrefix("content-disposition:") {
                part.name = parameter("name", in: line)
                part.fileName = parameter("filename", in: line)
            }
            parts.append(part)
        }
        return parts
    }

    /// The part holding the upload: the field named `file` or `audio`, else the first with a filename.
    public static func filePart(of body: [UInt8], boundary: String) -> Part? {
        guard let parts = parts(of: body, boundary: boundary) else { return nil }
        return parts.first { ["file", "audio"].contains($0.name ?? "") } ?? parts.first { $0.fileName != nil }
    }

    private static func parameter(_ key: String, in line: String) -> String? {
        for piece in line.split(separator: ";").dropFirst() {
            let pair = piece.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if pair.count == 2 && pair[0].lowercased() == key {
                return pair[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            }
        }
        return nil
    }

    private static func skipLineBreak(_ body: [UInt8], _ index: Int) -> Int {
        var i = index
        if i < body.count && body[i] == 13 { i += 1 }
        if i < body.count && body[i] == 10 { i += 1 }
        return i
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard !needle.isEmpty, haystack.count >= needle.count, start <= haystack.count - needle.count else { return nil }
        let first = needle[0]
        var i = start
        let last = haystack.count - needle.count
        while i <= last {
            if haystack[i] == first {
                var matched = true
                for j in 1..<needle.count where haystack[i + j] != needle[j] { matched = false; break }
                if matched { return i }
            }
            i += 1
        }
        return nil
    }
}
