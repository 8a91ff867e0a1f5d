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

    /// Reads the request body (see `body(of:context:configuration:)`) and unwraps a form.
    static func read(_ request: Request, context: ServerRequestContext, configuration: ServerConfiguration) async throws -> Upload {
        let (bytes, contentType) = try await body(of: request, context: context, configuration: configuration)
        guard let boundary = formBoundary(contentType) else { return Upload(bytes: bytes, fileName: nil) }
        guard let part = MultipartForm.filePart(of: bytes, boundary: boundary) else {
            throw APIError.malformed("the form has no file part; send the audio in a field named file (or any field with a filename)")
        }
        guard !part.bytes.isEmpty else { throw APIError.malformed("the form's file part is empty") }
        return Upload(bytes: part.bytes, fileName: part.fileName)
    }

    /// The files of a `POST /v1/predict/batch` form: every part with a file
    /// name, or named `file`, in order; at most `maximum` of them, none empty.
    static func readFiles(_ request: Request, context: ServerRequestContext, configuration: ServerConfiguration,
                          maximum: Int) async throws -> [Upload] {
        let (bytes, contentType) = try await body(of: request, context: context, configuration: configuration)
        guard let boundary = formBoundary(contentType) else {
            throw APIError(.unsupportedMediaType, "a batch is a multipart/form-data form with one file part per recording")
        }
        guard let parts = MultipartForm.parts(of: bytes, boundary: boundary) else { throw APIError.malformed("the body is not a multipart/form-data form") }
        let files = parts.filter { $0.fileName != nil || $0.name == "file" }
        guard !files.isEmpty else { throw APIError.malformed("the form has no file parts; send each recording in a part with a filename") }
        guard files.count <= maximum else {
            throw APIError.malformed("the batch holds \(files.count) files, over the server's limit of \(maximum); send it in smaller batches")
        }
        for (index, file) in files.enumerated() where file.bytes.isEmpty {
            throw APIError.malformed("file part \(index + 1) (\(file.fileName ?? "unnamed")) is empty")
        }
        return files.enumerated().map { Upload(bytes: $0.element.bytes, fileName: $0.element.fileName ?? "file-\($0.offset + 1)") }
    }

    /// The boundary of a form's Content-Type (checked by `body`); nil for a raw body.
    private static func formBoundary(_ contentType: String) -> String? {
        let mediaType = contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        return mediaType == "multipart/form-data" ? MultipartForm.boundary(in: contentType) : nil
    }

    /// Reads the request body, refusing (413) past the upload limit as soon as the
    /// declared length or the bytes received pass it, and (408) a body that after
    /// the grace period arrives slower than the minimum rate; returns it with its Content-Type.
    private static func body(of request: Request, context: ServerRequestContext,
                             configuration: ServerConfiguration) async throws -> (bytes: [UInt8], contentType: String) {
        let limit = configuration.maxUploadBytes
        let started = ContinuousClock.now
        // Refusals that leave the body unread close the connection: reading the rest
        // of an oversize or trickled body would hold the connection open for nothing.
        let closing: HTTPFields = [.connection: "close"]
        func refuse(_ error: APIError) -> APIError {
            context.stopReading()
            return error
        }
        let contentType = request.headers[.contentType] ?? "application/octet-stream"
        let mediaType = contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        let isForm = mediaType == "multipart/form-data"
        guard isForm || acceptsRaw(mediaType) else {
            throw APIError(.unsupportedMediaType,
                           "media type \(mediaType) is not audio; send the file as the raw body (audio/*, video/* or application/octet-stream) or as multipart/form-data")
        }
        let megabytes = String(format: "%.0f MB", Double(limit) / 1_048_576)
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > limit {
            throw refuse(APIError(.contentTooLarge, "the upload is \(declared) bytes, over the server's limit of \(megabytes); trim or compress the recording",
                                  headers: closing))
        }
        var bytes: [UInt8] = []
        do {
            for try await chunk in request.body {
                guard bytes.count + chunk.readableBytes <= limit else {
                    throw refuse(APIError(.contentTooLarge, "the upload is over the server's limit of \(megabytes); trim or compress the recording",
                                          headers: closing))
                }
                bytes.append(contentsOf: chunk.readableBytesView)
                let elapsed = started.duration(to: .now)
                if elapsed > configuration.slowUploadGrace {
                    let rate = Double(bytes.count) / elapsed.seconds
                    if rate < Double(configuration.minimumUploadBytesPerSecond) {
                        throw refuse(APIError(.requestTimeout, String(format: "the upload arrives at %.0f bytes per second, under the server's minimum of %d; send it over a faster connection",
                                                               rate, configuration.minimumUploadBytesPerSecond), headers: closing))
                    }
                }
            }
        } catch let error as APIError {
            throw error
        } catch {
            throw APIError.malformed("the upload ended early after \(bytes.count) bytes (the connection closed or stalled mid-body); send it again")
        }
        guard !bytes.isEmpty else { throw APIError.malformed("the request has no body; send audio as the body or as a form field named file") }
        if isForm && MultipartForm.boundary(in: contentType) == nil {
            throw APIError.malformed("multipart/form-data without a boundary parameter")
        }
        return (bytes, contentType)
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
