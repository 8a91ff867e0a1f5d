import Foundation
import FuzzSupport
import SERSupport

/// Multipart uploads to `/v1/predict`: the first line of an input is the
/// Content-Type header, the rest the body. Every input gives the upload's part
/// or nil, and a part's bytes always lie inside the body.
func fuzzMultipart(_ data: Data) {
    let (contentType, rest) = firstLineAndRest(data)
    let body = [UInt8](rest)
    guard let boundary = MultipartForm.boundary(in: contentType) else { return }
    if let parts = MultipartForm.parts(of: body, boundary: boundary) {
        precondition(parts.reduce(0) { $0 + $1.bytes.count } <= body.count, "parts hold more bytes than the body")
    }
    _ = MultipartForm.filePart(of: body, boundary: boundary)
}

func multipartSeeds() -> [String: Data] {
    func form(_ boundary: String, _ parts: [String]) -> Data {
        var text = "multipart/form-data; boundary=\(boundary)\n"
        for part in parts { text += "--\(boundary)\r\n\(part)\r\n" }
        return Data((text + "--\(boundary)--\r\n").utf8)
    }
    return [
        "file.txt": form("xyz", ["Content-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\nContent-Type: audio/wav\r\n\r\nRIFF....WAVE"]),
        "two.txt": form("\"q-1\"", ["Content-Disposition: form-data; name=\"note\"\r\n\r\nhello",
                                     "Content-Disposition: form-data; name=\"audio\"; filename=\"b.flac\"\r\n\r\nfLaC\u{0}\u{0}"]),
        "empty.txt": form("b", ["Content-Disposition: form-data; name=\"file\"\r\n\r\n"]),
    ]
}

runFuzzTarget(seeds: multipartSeeds, body: fuzzMultipart)
