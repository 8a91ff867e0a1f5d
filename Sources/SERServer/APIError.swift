import Foundation
import HTTPTypes
import Hummingbird
import SERRecognition

/// An error answered to the client as JSON, `{"error": message, "status": code}`,
/// with a message that says what to do. Nothing else reaches the client: other
/// errors are logged and answered with a generic 500.
public struct APIError: Error, HTTPResponseError, CustomStringConvertible {
    /// The HTTP status the client gets.
    public var status: HTTPResponse.Status
    /// What went wrong and what to do, in the body's `error` field.
    public var message: String
    /// Extra headers, such as `Retry-After` on 503.
    public var headers: HTTPFields = [:]

    /// An error answered with `status` and `message` (and `headers`, such as `Retry-After`).
    public init(_ status: HTTPResponse.Status, _ message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.message = message
        self.headers = headers
    }

    /// The status code and message, as the server's log shows them.
    public var description: String { "\(status.code) \(message)" }

    /// 400: the request itself is wrong (bad parameter, broken multipart body).
    static func malformed(_ message: String) -> APIError { APIError(.badRequest, message) }

    /// The JSON response Hummingbird sends for this error.
    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var fields = headers
        fields[.contentType] = "application/json; charset=utf-8"
        let body = WireJSON.text(ErrorAnswer(error: message, status: Int(status.code)))
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}

/// JSON responses.
enum JSONBody {
    static func response(_ object: Any, status: HTTPResponse.Status = .ok) -> Response {
        response(text: RecognitionJSON.text(object), status: status)
    }

    static func response(text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json; charset=utf-8"],
                 body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
