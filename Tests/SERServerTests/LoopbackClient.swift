import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A deliberately plain HTTP/1.1 and WebSocket client over a POSIX socket, so
/// tests control every byte: truncated bodies, stalls, declared lengths that lie.
final class LoopbackConnection: @unchecked Sendable {
    let descriptor: Int32

    init(port: Int, receiveTimeout: Double = 60) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw ClientError("socket() failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { close(descriptor); throw ClientError("connect to port \(port) failed") }
        var timeout = timeval(tv_sec: Int(receiveTimeout), tv_usec: Int((receiveTimeout - receiveTimeout.rounded(.down)) * 1e6))
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(descriptor) }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard written > 0 else { throw ClientError("send failed after \(offset) bytes") }
            offset += written
        }
    }

    func send(_ text: String) throws { try send(Array(text.utf8)) }

    /// Reads what arrives until `count` bytes, end of stream or the receive timeout.
    func receive(atMost count: Int = 1 << 16) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: count)
        let received = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, count, 0) }
        return received > 0 ? Array(buffer[0..<received]) : nil
    }

    func receive(exactly count: Int) throws -> [UInt8] {
        var out: [UInt8] = []
        while out.count < count {
            guard let chunk = receive(atMost: count - out.count) else { throw ClientError("connection ended after \(out.count) of \(count) bytes") }
            out += chunk
        }
        return out
    }

    /// Everything until the server closes the connection (or the timeout).
    func receiveAll() -> [UInt8] {
        var out: [UInt8] = []
        while let chunk = receive() { out += chunk }
        return out
    }

    /// One HTTP response: the head, then as many body bytes as Content-Length
    /// says (or everything until the server closes when it says none).
    func receiveResponse() -> [UInt8] {
        var out: [UInt8] = []
        while let chunk = receive() {
            out += chunk
            guard let split = out.indices.dropLast(3).first(where: { out[$0] == 13 && out[$0 + 1] == 10 && out[$0 + 2] == 13 && out[$0 + 3] == 10 }) else { continue }
            let head = String(decoding: out[..<split], as: UTF8.self).lowercased()
            guard let line = head.components(separatedBy: "\r\n").first(where: { $0.hasPrefix("content-length:") }),
                  let length = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) else { continue }
            if out.count >= split + 4 + length { break }
        }
        return out
    }

    func shutdownWriting() { shutdown(descriptor, Int32(SHUT_WR)) }
}

struct ClientError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A parsed HTTP response.
struct HTTPAnswer: @unchecked Sendable {
    var status: Int
    var headers: [String: String]
    var body: [UInt8]

    var text: String { String(decoding: body, as: UTF8.self) }
    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:] }

    /// Parses one response (with Content-Length) from raw bytes.
    init?(_ raw: [UInt8]) {
        guard let split = raw.indices.dropLast(3).first(where: { raw[$0] == 13 && raw[$0 + 1] == 10 && raw[$0 + 2] == 13 && raw[$0 + 3] == 10 }) else { return nil }
        let head = String(decoding: raw[..<split], as: UTF8.self).components(separatedBy: "\r\n")
        guard let statusLine = head.first, statusLine.split(separator: " ").count >= 2, let code = Int(statusLine.split(separator: " ")[1]) else { return nil }
        status = code
        headers = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        var rest = Array(raw[(split + 4)...])
        if let length = headers["content-length"].flatMap(Int.init) { rest = Array(rest.prefix(length)) }
        body = rest
    }
}

enum HTTP {
    /// One request on a fresh connection (`Connection: close`).
    static func request(port: Int, method: String = "GET", path: String, headers: [String: String] = [:],
                        body: [UInt8] = [], timeout: Double = 120) throws -> HTTPAnswer {
        let connection = try LoopbackConnection(port: port, receiveTimeout: timeout)
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
        var fields = headers
        if method != "GET" && fields["Content-Length"] == nil { fields["Content-Length"] = "\(body.count)" }
        for (name, value) in fields.sorted(by: { $0.key < $1.key }) { head += "\(name): \(value)\r\n" }
        try connection.send(Array((head + "\r\n").utf8) + body)
        let raw = connection.receiveResponse()
        guard let answer = HTTPAnswer(raw) else { throw ClientError("no HTTP response (\(raw.count) bytes) to \(method) \(path)") }
        return answer
    }

    static func request(port: Int, method: String = "GET", path: String, headers: [String: String] = [:],
                        body: [UInt8] = [], timeout: Double = 120) async throws -> HTTPAnswer {
        try await offThread { try request(port: port, method: method, path: path, headers: headers, body: body, timeout: timeout) }
    }

    static func get(port: Int, _ path: String) async throws -> HTTPAnswer { try await request(port: port, path: path) }

    static func post(port: Int, _ path: String, body: [UInt8], contentType: String = "audio/wav") async throws -> HTTPAnswer {
        try await request(port: port, method: "POST", path: path, headers: ["Content-Type": contentType], body: body)
    }

    /// A multipart/form-data body with one file part per (file name, bytes), each named `file`.
    static func form(files: [(fileName: String, bytes: [UInt8])], boundary: String = "ser-test-boundary-7MA4YWxk") -> (body: [UInt8], contentType: String) {
        var body: [UInt8] = []
        for file in files {
            body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\(file.fileName)\"\r\nContent-Type: audio/wav\r\n\r\n".utf8)
            body += file.bytes + Array("\r\n".utf8)
        }
        body += Array("--\(boundary)--\r\n".utf8)
        return (body, "multipart/form-data; boundary=\(boundary)")
    }

    /// A multipart/form-data body with one file field.
    static func form(field: String, fileName: String, bytes: [UInt8], boundary: String = "ser-test-boundary-7MA4YWxk") -> (body: [UInt8], contentType: String) {
        var body = Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n".utf8)
        body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(field)\"; filename=\"\(fileName)\"\r\nContent-Type: audio/wav\r\n\r\n".utf8)
        body += bytes
        body += Array("\r\n--\(boundary)--\r\n".utf8)
        return (body, "multipart/form-data; boundary=\(boundary)")
    }
}

/// A minimal WebSocket client (RFC 6455): handshake, masked frames out, frames in.
final class WebSocketClient {
    let connection: LoopbackConnection
    private var buffered: [UInt8] = []

    init(port: Int, path: String) throws {
        connection = try LoopbackConnection(port: port, receiveTimeout: 300)
        try connection.send("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        var head: [UInt8] = []
        while !(head.count >= 4 && Array(head.suffix(4)) == [13, 10, 13, 10]) {
            guard let byte = connection.receive(atMost: 1) else { throw ClientError("no upgrade response") }
            head += byte
        }
        let statusLine = String(decoding: head, as: UTF8.self).components(separatedBy: "\r\n").first ?? ""
        guard statusLine.contains(" 101 ") else { throw ClientError("upgrade refused: \(statusLine)") }
    }

    func send(text: String) throws { try sendFrame(opcode: 1, payload: Array(text.utf8)) }
    func send(binary: [UInt8]) throws { try sendFrame(opcode: 2, payload: binary) }

    private func sendFrame(opcode: UInt8, payload: [UInt8]) throws {
        var frame: [UInt8] = [0x80 | opcode]
        if payload.count < 126 {
            frame.append(0x80 | UInt8(payload.count))
        } else if payload.count < 65536 {
            frame += [0x80 | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        } else {
            frame.append(0x80 | 127)
            for shift in stride(from: 56, through: 0, by: -8) { frame.append(UInt8((payload.count >> shift) & 0xFF)) }
        }
        let mask: [UInt8] = [0x12, 0x34, 0x56, 0x78]
        frame += mask
        frame += payload.enumerated().map { $0.element ^ mask[$0.offset % 4] }
        try connection.send(frame)
    }

    /// The next text message, or nil when the server closed.
    func receiveText() throws -> String? {
        while true {
            let header = try connection.receive(exactly: 2)
            let opcode = header[0] & 0x0F
            var length = Int(header[1] & 0x7F)
            if length == 126 {
                let extended = try connection.receive(exactly: 2)
                length = Int(extended[0]) << 8 | Int(extended[1])
            } else if length == 127 {
                length = try connection.receive(exactly: 8).reduce(0) { $0 << 8 | Int($1) }
            }
            let payload = length > 0 ? try connection.receive(exactly: length) : []
            switch opcode {
            case 1: return String(decoding: payload, as: UTF8.self)
            case 8: return nil
            // A ping must be answered, or the server's keep-alive closes a slow stream.
            case 9: try sendFrame(opcode: 0xA, payload: payload)
            default: continue   // pong, binary
            }
        }
    }
}
