import Foundation
import SERRecognition
@testable import SERServer
import SERTestSupport
import Testing

/// Checks a JSON tree against a schema fragment of the OpenAPI document: types
/// (with null), `required`, `const`, `enum`, array items and nested objects. An
/// object schema with `properties` admits no other key, so a field the types
/// send but the document does not list fails as surely as a listed one missing.
struct SchemaCheck {
    let components: [String: Any]
    var problems: [String] = []

    init(components: [String: Any]) { self.components = components }

    mutating func check(_ value: Any, against schema: [String: Any], at path: String = "$") {
        var schema = schema
        if let reference = schema["$ref"] as? String {
            let name = String(reference.split(separator: "/").last ?? "")
            guard let resolved = components[name] as? [String: Any] else { problems.append("\(path): unresolved \(reference)"); return }
            schema = resolved
        }
        let types: [String] = (schema["type"] as? [String]) ?? (schema["type"] as? String).map { [$0] } ?? []
        if !types.isEmpty, !types.contains(where: { Self.value(value, is: $0) }) {
            problems.append("\(path): \(type(of: value)) \(value) is not \(types.joined(separator: " or "))")
            return
        }
        if let constant = schema["const"] as? String, value as? String != constant { problems.append("\(path): not \(constant)") }
        if let allowed = schema["enum"] as? [String], let text = value as? String, !allowed.contains(text) {
            problems.append("\(path): \(text) is not one of \(allowed)")
        }
        if let object = value as? [String: Any] {
            for key in schema["required"] as? [String] ?? [] where object[key] == nil { problems.append("\(path): \(key) missing") }
            if let properties = schema["properties"] as? [String: Any] {
                for (key, member) in object {
                    guard let memberSchema = properties[key] as? [String: Any] else { problems.append("\(path): \(key) is not documented"); continue }
                    check(member, against: memberSchema, at: "\(path).\(key)")
                }
            } else if let additional = schema["additionalProperties"] as? [String: Any] {
                for (key, member) in object { check(member, against: additional, at: "\(path).\(key)") }
            }
        }
        if let array = value as? [Any], let items = schema["items"] as? [String: Any] {
            for (index, item) in array.enumerated() { check(item, against: items, at: "\(path)[\(index)]") }
        }
    }

    static func value(_ value: Any, is type: String) -> Bool {
        switch type {
        case "null": return value is NSNull
        case "object": return value is [String: Any]
        case "array": return value is [Any]
        case "string": return value is String
        case "boolean": return (value as? NSNumber).map { String(cString: $0.objCType) == "c" } ?? false
        case "integer": return (value as? NSNumber).map { !Self.value(value, is: "boolean") && $0.doubleValue.rounded() == $0.doubleValue } ?? false
        case "number": return value is NSNumber && !Self.value(value, is: "boolean")
        default: return false
        }
    }
}

@Suite(.serialized) struct WireFormatTests {
    static func parse(_ text: String) throws -> Any { try JSONSerialization.jsonObject(with: Data(text.utf8)) }

    static func components(_ document: [String: Any]) throws -> [String: Any] {
        try #require((document["components"] as? [String: Any])?["schemas"] as? [String: Any])
    }

    @Test func theCheckerCatchesWhatItShould() throws {
        let schema = AdaptationAnswer.schema
        var check = SchemaCheck(components: [:])
        check.check(["utterances": 3, "speaker": "alice"], against: schema)
        #expect(check.problems.isEmpty)
        for wrong in [["speaker": "alice"], ["utterances": "3"], ["utterances": 3, "voice": "x"]] as [[String: Any]] {
            var failing = SchemaCheck(components: [:])
            failing.check(wrong, against: schema)
            #expect(!failing.problems.isEmpty, "\(wrong) passed")
        }
    }

    /// What the server really sends (answers with every optional part, errors,
    /// profiles and the stream's messages) checked against the document it serves.
    @Test func theServersBodiesMatchItsDocument() async throws {
        try await withServer { server in
            let document = try await HTTP.get(port: server.port, "/openapi.json").json
            var check = SchemaCheck(components: try Self.components(document))
            let ref = { (name: String) in ["$ref": "#/components/schemas/\(name)"] }

            let rich = try await HTTP.post(port: server.port, "/v1/predict?segments=true&visuals=true&profile=wire&learn=true", body: Clips.voice)
            #expect(rich.status == 200, "\(rich.text)")
            let richTree = try #require(try Self.parse(rich.text) as? [String: Any])
            #expect(["segments", "waveform", "spectrogram", "profile"].allSatisfy { richTree[$0] != nil }, "every optional part was checked")
            check.check(richTree, against: ref("Prediction"), at: "predict")
            let silent = try await HTTP.post(port: server.port, "/v1/predict", body: Clips.silence)
            check.check(try Self.parse(silent.text), against: ref("Prediction"), at: "silence")
            let missing = try await HTTP.post(port: server.port, "/v1/predict?profile=nobody", body: Clips.voice)
            #expect(missing.status == 404)
            check.check(try Self.parse(missing.text), against: ref("Error"), at: "404")
            let profile = try await HTTP.get(port: server.port, "/v1/profiles/wire")
            check.check(try Self.parse(profile.text), against: ref("Profile"), at: "profile")

            let port = server.port
            let messages: [String] = try await offThread {
                let socket = try WebSocketClient(port: port, path: "/v1/stream")
                try socket.send(text: "{\"encoding\": \"f32le\", \"sample_rate\": 16000}")
                var received: [String] = []
                if let ready = try socket.receiveText() { received.append(ready) }
                let bytes = Clips.voiceSamples.withUnsafeBytes { Array($0) }
                try socket.send(binary: bytes)
                try socket.send(text: "{\"type\": \"reset\"}")
                try socket.send(text: "{\"type\": \"end\"}")
                while let text = try socket.receiveText() {
                    received.append(text)
                    if text.contains("\"end\"") { break }
                }
                return received
            }
            #expect(messages.count >= 4, "ready, events, reset and end: \(messages)")
            for (index, text) in messages.enumerated() {
                let object = try #require(try Self.parse(text) as? [String: Any])
                let name = switch object["type"] as? String {
                case "ready": "StreamReady"
                case "event": "StreamEvent"
                default: "StreamNotice"
                }
                check.check(object, against: ref(name), at: "stream[\(index)]")
            }
            #expect(messages.contains { $0.contains("\"event\"") })
            #expect(check.problems.isEmpty, "\(check.problems)")
        }
    }

    /// The command line's shapes (timings, a speaker group, a failed file, a live
    /// event) against the same schemas.
    @Test func theCommandLinesShapesMatchTheSchemas() throws {
        let model = try #require(shippedModel)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ser-wire-\(UUID().uuidString).wav").path
        try Data(Clips.voice).write(to: URL(fileURLWithPath: path))
        defer { unlink(path) }
        let recognition = try EmotionRecognizer(model: model).recognize(path: path)
        var check = SchemaCheck(components: OpenAPIDocument.schemas)
        let answer = PredictionAnswer(recognition, path: path, includeTimings: true, adaptation: AdaptationAnswer(utterances: 4, speaker: "folder"))
        let tree = try #require(try Self.parse(WireJSON.text(answer)) as? [String: Any])
        check.check(tree, against: PredictionAnswer.schema, at: "predict")
        #expect(tree["timings"] != nil && (tree["adaptation"] as? [String: Any])?["speaker"] as? String == "folder")
        #expect(tree["gender"] != nil, "gender is always present, null without a gender head")
        check.check(try Self.parse(WireJSON.text(FailureAnswer(path: path, error: "broken"))), against: FailureAnswer.schema, at: "failure")
        let event = LiveEvent(time: 2.5, estimate: recognition.estimate, computeSeconds: 0.01, adaptedUtterances: 2)
        let eventTree = try #require(try Self.parse(WireJSON.text(LiveEventAnswer(event))) as? [String: Any])
        check.check(eventTree, against: LiveEventAnswer.schema, at: "listen")
        #expect(eventTree["type"] == nil && eventTree["t"] as? Double == 2.5)
        #expect(check.problems.isEmpty, "\(check.problems)")
    }
}

/// Which addresses keep the server on this machine (`ser serve` warns for the others).
@Suite struct LoopbackAddressTests {
    @Test func loopbackAddressesAreRecognisedAndOthersAreNot() {
        for host in ["127.0.0.1", "127.1.2.3", "localhost", "LOCALHOST", "::1", "[::1]"] {
            #expect(ServerConfiguration.isLoopback(host: host), "\(host)")
        }
        for host in ["0.0.0.0", "::", "192.168.1.10", "10.0.0.1", "127.0.0.256", "127.0.0", "128.0.0.1", "example.com", ""] {
            #expect(!ServerConfiguration.isLoopback(host: host), "\(host)")
        }
        #expect(ServerConfiguration.exposureWarning(host: "0.0.0.0").contains("--allow-remote"))
    }
}

/// The per-client request rate limit: a token bucket per address, off on
/// loopback unless asked for, answering 429 with Retry-After when spent.
@Suite struct RateLimitTests {
    @Test func aBurstIsAdmittedThenTheRateRefillsIt() {
        let limiter = ClientRateLimiter(RateLimit(perSecond: 2, burst: 3))
        let start = ContinuousClock.now
        #expect((0..<3).allSatisfy { _ in limiter.admit("a", now: start) == nil })
        let wait = limiter.admit("a", now: start)
        #expect(wait != nil && wait! > .zero && wait! <= .milliseconds(500))
        #expect(limiter.admit("b", now: start) == nil, "another address has its own bucket")
        #expect(limiter.admit("a", now: start + .milliseconds(600)) == nil, "half a second refills one request at 2 per second")
        #expect(limiter.admit("a", now: start + .milliseconds(600)) != nil)
    }

    @Test func aFloodOfAddressesKeepsTheTableBounded() {
        let limiter = ClientRateLimiter(RateLimit(perSecond: 1, burst: 1), maximumClients: 100)
        let start = ContinuousClock.now
        for index in 0..<5_000 { _ = limiter.admit("10.0.\(index / 256).\(index % 256)", now: start + .milliseconds(index)) }
        #expect(limiter.clientCount <= 101)
    }

    @Test func theDefaultIsOffOnLoopbackAndOnElsewhere() {
        #expect(ServerConfiguration.defaultRateLimit(host: "127.0.0.1", requested: nil) == nil)
        #expect(ServerConfiguration.defaultRateLimit(host: "0.0.0.0", requested: nil) == RateLimit(perSecond: 10, burst: 20))
        #expect(ServerConfiguration.defaultRateLimit(host: "0.0.0.0", requested: 0) == nil)
        #expect(ServerConfiguration.defaultRateLimit(host: "127.0.0.1", requested: 3) == RateLimit(perSecond: 3, burst: 6))
    }

    @Test func aServerWithALimitAnswers429WithRetryAfter() async throws {
        // One request per 100 s after a burst of 2: however slowly a loaded machine answers,
        // the bucket cannot refill between these requests.
        try await withServer({ $0.rateLimit = RateLimit(perSecond: 0.01, burst: 2) }) { server in
            var statuses: [Int] = []
            var retryAfter: String?
            for _ in 0..<4 {
                let answer = try await HTTP.get(port: server.port, "/healthz")
                statuses.append(answer.status)
                if answer.status == 429 { retryAfter = answer.headers["retry-after"] }
            }
            #expect(statuses.prefix(2) == [200, 200])
            #expect(statuses.suffix(2).contains(429), "\(statuses)")
            #expect(retryAfter.flatMap(Int.init).map { $0 >= 1 } == true)
        }
    }
}
