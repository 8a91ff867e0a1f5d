import Foundation
import SERAudio

/// How a client's PCM stream is laid out, as it declares it in the first
/// message of `/v1/stream`: `{"encoding": "s16le"|"f32le", "sample_rate": N,
/// "channels": N, "window": seconds, "hop": seconds, "new_speaker_after": seconds}`,
/// all but `sample_rate` optional. Parsing checks every value, so the stream it
/// makes never allocates or computes beyond what the bounds allow.
public struct LiveStreamFormat: Sendable, Equatable {
    /// How the bytes encode samples (default s16le).
    public var encoding: LiveEmotionStream.Encoding
    /// The stream's sample rate.
    public var sampleRate: Int
    /// Interleaved channels (default 1).
    public var channels: Int
    /// Seconds of audio each answer hears (default 2).
    public var windowSeconds: Double
    /// Seconds between answers (default 0.5).
    public var hopSeconds: Double
    /// Forget the voice after this long without speech; nil: never.
    public var newSpeakerAfterSeconds: Double?

    /// Why a format message was refused; `message` says so to the client.
    public struct Invalid: Error, Equatable, Sendable, CustomStringConvertible {
        /// What is wrong with the message, for the client.
        public let message: String
        /// The message.
        public var description: String { message }
    }

    private struct Message: Decodable {
        var encoding: String?
        var sampleRate: Int
        var channels: Int?
        var window: Double?
        var hop: Double?
        var newSpeakerAfter: Double?
        enum CodingKeys: String, CodingKey { case encoding, sampleRate = "sample_rate", channels, window, hop, newSpeakerAfter = "new_speaker_after" }
    }

    /// A format with these values, unchecked (parsing a client's message checks them).
    public init(encoding: LiveEmotionStream.Encoding, sampleRate: Int, channels: Int = 1, windowSeconds: Double = 2,
                hopSeconds: Double = 0.5, newSpeakerAfterSeconds: Double? = nil) {
        self.encoding = encoding
        self.sampleRate = sampleRate
        self.channels = channels
        self.windowSeconds = windowSeconds
        self.hopSeconds = hopSeconds
        self.newSpeakerAfterSeconds = newSpeakerAfterSeconds
    }

    /// Parses and checks a format message; throws `Invalid` saying what to send instead.
    public init(message text: String) throws {
        guard text.utf8.count <= 4096, let message = try? JSONDecoder().decode(Message.self, from: Data(text.utf8)) else {
            throw Invalid(message: "the first message must be JSON such as {\"encoding\": \"s16le\", \"sample_rate\": 16000, \"channels\": 1}")
        }
        guard let encoding = LiveEmotionStream.Encoding(rawValue: message.encoding ?? "s16le") else {
            throw Invalid(message: "encoding must be s16le or f32le (got \(message.encoding ?? ""))")
        }
        self.encoding = encoding
        sampleRate = message.sampleRate
        channels = message.channels ?? 1
        windowSeconds = message.window ?? 2
        hopSeconds = message.hop ?? 0.5
        newSpeakerAfterSeconds = message.newSpeakerAfter
        if let seconds = newSpeakerAfterSeconds, !(seconds > 0 && seconds <= 86_400) {
            throw Invalid(message: "new_speaker_after must be between 0 and 86400 seconds")
        }
    }

    /// A stream of this format into `recognizer`; throws when a value is out of
    /// the stream's bounds (rate, channels, window, hop).
    public func makeStream(recognizer: EmotionRecognizer) throws -> LiveEmotionStream {
        let stream: LiveEmotionStream
        do {
            stream = try LiveEmotionStream(recognizer: recognizer, encoding: encoding, sampleRate: sampleRate, channels: channels,
                                           windowSeconds: windowSeconds, hopSeconds: hopSeconds)
        } catch let error as AudioError {
            throw Invalid(message: "\(error)")
        }
        stream.newSpeakerAfterSeconds = newSpeakerAfterSeconds
        return stream
    }
}
