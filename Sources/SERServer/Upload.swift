import Foundation
import HTTPTypes
import Hummingbird
import SERSupport

/// The audio bytes of a `POST /v1/predict`: a raw body in any format ser reads,
/// or the file part of a `multipart/form-data` form.
struct Upload {
    var bytes: [UInt8]
    /// The client's file name, when a form carried one.
    var fileName: String?

    /// Media types taken as a raw audio body. Anything else but a form is 415.
    static func acceptsRaw(_ mediaType: String) -> Bool {
        mediaType.hasPrefix("audio/") || mediaType.hasPrefix("video/")
            || ["application/octet-stream", "application/ogg", "application/x-flac", "application/mp4"].contains(mediaType)
    }

    /// Reads the request body, refusing (413) past `limit` bytes as soon as the
    /// declared length or the bytes received pass it, and unwraps a form.
    static func read(_ request: Request, limit: Int) async throws -> Upload {
        let contentType = request.headers[.contentType] ?? "application/octet-stream"
        let mediaType = contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        let isForm = mediaType == "multipart/form-data"
        guard isForm || acceptsRaw(mediaType) else {
            throw APIError(.unsupportedMediaType,
                           "media type \(mediaType) is not audio; send the file as the raw body (audio/*, video/* or application/octet-stream) or as multipart/form-data")
        }
        let megabytes = String(format: "%.0f MB", Double(limit) / 1_048_576)
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > limit {
            throw APIError(.contentTooLarge, "the upload is \(declared) bytes, over the server's limit of \(megabytes); trim or compress the recording")
        }
        var bytes: [UInt8] = []
        do {
            for try await chunk in request.body {
                guard bytes.count + chunk.readableBytes <= limit else {
                    throw APIError(.contentTooLarge, "the upload is over the server's limit of \(megabytes); trim or compress the recording")
                }
                bytes.append(contentsOf: chunk.readableBytesView)
            }
        } catch let error as APIError {
            throw error
        } catch {
            throw APIError.malformed("the upload ended early after \(bytes.count) bytes (the connection closed or stalled mid-body); send it again")
        }
        guard !bytes.isEmpty else { throw APIError.malformed("the request has no body; send audio as the body or as a form field named file") }
        guard isForm else { return Upload(bytes: bytes, fileName: nil) }
        guard let boundary = MultipartForm.boundary(in: contentType) else {
            throw APIError.malformed("multipart/form-data without a boundary parameter")
        }
        guard let part = MultipartForm.filePart(of: bytes, boundary: boundary) else {
            throw APIError.malformed("the form has no file part; send the audio in a field named file (or any field with a filename)")
        }
        guard !part.bytes.isEmpty else { throw APIError.malformed("the form's file part is empty") }
        return Upload(bytes: part.bytes, fileName: part.fileName)
    }

    /// Writes the bytes to a private temporary file (the decoders read files;
    /// ffmpeg needs one for containers) and returns its path.
    func spool() throws -> String {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("ser-upload-\(getpid())-\(UUID().uuidString)").path
        try AtomicFile.write(Data(bytes), to: path)
        return path
    }
}

/// A minimal `multipart/form-data` reader (RFC 7578): enough to find an
/// uploaded file among a form's parts.
enum MultipartForm {
    struct Part {
        var name: String?
        var fileName: String?
        var bytes: [UInt8]
    }

    /// The `boundary` parameter of a Content-Type value.
    static func boundary(in contentType: String) -> String? {
        for parameter in contentType.split(separator: ";").dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2, pair[0].lowercased() == "boundary" else { continue }
            let value = pair[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            return value.isEmpty || value.count > 200 ? nil : value
        }
        return nil
    }

    /// The parts of a form body, or nil when it is not one.
    static func parts(of body: [UInt8], boundary: String) -> [Part]? {
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
    static func filePart(of body: [UInt8], boundary: String) -> Part? {
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
