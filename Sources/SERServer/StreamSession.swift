import Foundation
import HummingbirdWebSocket
import Logging
import NIOCore
import SERRecognition
import SERSpeakers

/// One `/v1/stream` WebSocket: the client declares its PCM format in a first
/// text message, then sends binary PCM frames, and gets `ser listen`'s events
/// back as text messages.
///
/// First message: `{"encoding": "s16le"|"f32le", "sample_rate": N, "channels": N,
/// "window": seconds, "hop": seconds}` (all but `sample_rate` optional); the
/// server answers `{"type": "ready", ...}`. Each event is
/// `{"type": "event", "t", "speech", "emotion", "confidence", "probabilities", "gender"}`.
/// Events carry `adaptation {utterances}` when the model adapts to speakers: each
/// stretch of speech teaches it the voice. A text message `{"type": "reset"}`
/// forgets the voice (answered `{"type": "reset"}`); `"new_speaker_after": seconds`
/// in the first message forgets it after that long without speech.
/// A text message `{"type": "end"}` flushes the last events and closes.
/// Problems are answered `{"type": "error", "error": message}` before closing.
enum StreamSession {
    /// Holds a stream between awaits; used by one message at a time.
    final class StreamBox: @unchecked Sendable {
        let stream: LiveEmotionStream
        init(_ stream: LiveEmotionStream) { self.stream = stream }
    }

    static func run(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, service: PredictionService,
                    pool: InferencePool, maxMessageBytes: Int, logger: Logger) async throws {
        var box: StreamBox?
        func send(_ message: some Encodable) async throws {
            try await outbound.write(.text(WireJSON.text(message)))
        }
        func fail(_ message: String) async throws {
            try await send(StreamNotice(type: "error", error: message))
        }
        func send(_ events: [LiveEvent]) async throws {
            for event in events { try await send(LiveEventAnswer(event, type: "event")) }
        }
        do {
            for try await message in inbound.messages(maxSize: maxMessageBytes) {
                switch message {
                case .text(let text):
                    if let box {
                        if messageType(text) == "reset" {
                            try await pool.run { box.stream.resetSpeaker() }
                            try await send(StreamNotice(type: "reset"))
                            continue
                        }
                        guard messageType(text) == "end" else {
                            try await fail("after the format message, send binary PCM frames, {\"type\": \"reset\"} or {\"type\": \"end\"}")
                            return
                        }
                        let events = try await pool.run { try box.stream.finish() }
                        try await send(events)
                        try await send(StreamNotice(type: "end"))
                        return
                    }
                    var options = RecognitionOptions()
                    options.concurrentFeatures = true
                    let recognizer = EmotionRecognizer(model: service.model, options: options)
                    let stream: LiveEmotionStream
                    do {
                        stream = try LiveStreamFormat(message: text).makeStream(recognizer: recognizer)
                    } catch {
                        try await fail("\(error)")
                        return
                    }
                    box = StreamBox(stream)
                    try await send(StreamReady(labels: service.model.labels, encoding: stream.encoding.rawValue,
                                               sampleRate: stream.inputRate, channels: stream.channels,
                                               window: stream.windowSeconds, hop: stream.hopSeconds,
                                               adapts: service.model.usesSpeakerStatistics))
                case .binary(let buffer):
                    guard let box else { try await fail("send the format message first, then PCM frames"); return }
                    let bytes = Array(buffer.readableBytesView)
                    let events = try await pool.run { try bytes.withUnsafeBytes { try box.stream.append($0) } }
                    try await send(events)
                }
            }
        } catch let error as APIError {
            try? await fail(error.message)
        } catch {
            logger.debug("stream ended: \(error)")
            try? await fail("the stream failed: \(error)")
        }
    }

    /// The `type` of a control message (`end`, `reset`); the bare word works too.
    private static func messageType(_ text: String) -> String? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            return ["end", "reset"].contains(text) ? text : nil
        }
        return object["type"] as? String
    }
}

/// `/v1/stream`'s answer to the format message: the stream as the server will hear it.
struct StreamReady: WireDocumented {
    var type = "ready"
    var labels: [String]
    var encoding: String
    var sampleRate: Int
    var channels: Int
    var window: Double
    var hop: Double
    /// Whether answers adapt to the voice as the stream goes on (`reset` forgets it).
    var adapts: Bool

    enum CodingKeys: String, CodingKey { case type, labels, encoding, sampleRate = "sample_rate", channels, window, hop, adapts }

    static var schema: [String: Any] {
        ["type": "object", "required": ["type", "labels", "encoding", "sample_rate", "channels", "window", "hop", "adapts"],
         "properties": ["type": ["type": "string", "const": "ready"], "labels": ["type": "array", "items": ["type": "string"]],
                        "encoding": ["type": "string", "enum": ["s16le", "f32le"]], "sample_rate": ["type": "integer"],
                        "channels": ["type": "integer"], "window": ["type": "number"], "hop": ["type": "number"], "adapts": ["type": "boolean"]]]
    }
}

/// `/v1/stream`'s other control messages: `reset` and `end` acknowledged, or an `error` before closing.
struct StreamNotice: WireDocumented {
    var type: String
    var error: String?

    static var schema: [String: Any] {
        ["type": "object", "required": ["type"],
         "properties": ["type": ["type": "string", "enum": ["reset", "end", "error"]],
                        "error": ["type": "string", "description": "With type error: what went wrong and what to do."]]]
    }
}
