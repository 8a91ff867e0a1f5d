import Foundation
import SERAudio
import SERFeatures
import SERModels
import SERSpeakers
import SERSupport

/// One answer of a live stream: the window ending at `time` seconds.
public struct LiveEvent: Sendable {
    /// Seconds of audio received when the window ended.
    public var time: Double
    /// What was heard in the window.
    public var estimate: EmotionEstimate
    /// Seconds spent computing this event.
    public var computeSeconds: Double
    /// Utterances of the speaker the answer was adapted with (0: answered
    /// alone), for a model that adapts to speakers; nil for one that cannot.
    public var adaptedUtterances: Int?

    /// An event for the window ending at `time` seconds.
    public init(time: Double, estimate: EmotionEstimate, computeSeconds: Double, adaptedUtterances: Int? = nil) {
        self.time = time
        self.estimate = estimate
        self.computeSeconds = computeSeconds
        self.adaptedUtterances = adaptedUtterances
    }
}

/// Emotion over a sliding window of live audio: feed it PCM as it arrives, get
/// an event every hop once a full window has been heard. Raw PCM in any
/// encoding, rate and channel count is converted to the model's mono rate.
public final class LiveEmotionStream {
    /// How the incoming bytes encode samples.
    public enum Encoding: String, Sendable, CaseIterable {
        case s16le, f32le
        var bytesPerSample: Int { self == .s16le ? 2 : 4 }
    }

    /// Answers every window, with its model and options.
    public let recognizer: EmotionRecognizer
    /// How the incoming bytes encode samples.
    public let encoding: Encoding
    /// The incoming audio's sample rate.
    public let inputRate: Int
    /// The incoming audio's channel count (interleaved; mixed to mono).
    public let channels: Int
    /// Seconds of audio each answer hears.
    public let windowSeconds: Double
    /// Seconds between answers.
    public let hopSeconds: Double

    /// What the stream has learnt of the speaker's voice: each stretch of
    /// speech a window long adds its feature vector, and every later answer is
    /// adapted with it (for models that adapt, `EmotionModel.usesSpeakerStatistics`).
    public private(set) var speaker: SpeakerStatistics
    /// After this many seconds without speech the voice is forgotten (a new
    /// speaker is assumed); nil: never.
    public var newSpeakerAfterSeconds: Double?
    private var lastLearnedEnd = Int.min      // sample index where the last learnt window ended
    private var silenceStart: Int?            // sample index where the current run of no-speech windows began

    private let resampler: Resampler?
    private var pendingBytes: [UInt8] = []
    private var window: [Float] = []
    private var received = 0            // samples at the model's rate so far
    private var nextEventAt: Int

    /// The window's bounds: shorter holds too little speech to judge, longer
    /// mixes moments and holds samples no answer needs.
    public static let shortestWindowSeconds = 0.5, longestWindowSeconds = 30.0
    /// The shortest hop: answers more often than this only repeat themselves at a high cost.
    public static let shortestHopSeconds = 0.05

    /// A stream of `encoding` PCM at `sampleRate` with `channels` interleaved, answered over `windowSeconds` every `hopSeconds`; throws when a value is out of bounds.
    public init(recognizer: EmotionRecognizer, encoding: Encoding, sampleRate: Int, channels: Int,
                windowSeconds: Double = 2, hopSeconds: Double = 0.5) throws {
        guard (1...32).contains(channels) else { throw AudioError.invalidParameter("channels must be 1 to 32 (got \(channels))") }
        guard (4000...384_000).contains(sampleRate) else { throw AudioError.invalidParameter("sample rate \(sampleRate) Hz is out of range") }
        guard (Self.shortestWindowSeconds...Self.longestWindowSeconds).contains(windowSeconds),
              (Self.shortestHopSeconds...windowSeconds).contains(hopSeconds) else {
            throw AudioError.invalidParameter("the window must be \(Self.shortestWindowSeconds) to \(Self.longestWindowSeconds) s "
                                              + "and the hop \(Self.shortestHopSeconds) s to the window (got \(windowSeconds) and \(hopSeconds))")
        }
        self.recognizer = recognizer
        self.encoding = encoding
        self.inputRate = sampleRate
        self.channels = channels
        self.windowSeconds = windowSeconds
        self.hopSeconds = hopSeconds
        let rate = recognizer.model.sampleRate
        resampler = sampleRate == rate ? nil : try Resampler(from: Double(sampleRate), to: Double(rate), channels: 1)
        nextEventAt = Int(windowSeconds * Double(rate))
        speaker = recognizer.options.speaker ?? SpeakerStatistics(dimension: recognizer.model.preset.dimension)
    }

    /// Forgets the speaker's voice (a new speaker starts; a profile given in
    /// the recognizer's options is forgotten too).
    public func resetSpeaker() {
        speaker = SpeakerStatistics(dimension: recognizer.model.preset.dimension)
        lastLearnedEnd = Int.min
        silenceStart = nil
    }

    /// Adds raw PCM bytes (any split, even mid-sample) and returns the events they complete.
    public func append(_ bytes: UnsafeRawBufferPointer) throws -> [LiveEvent] {
        pendingBytes.append(contentsOf: bytes)
        let frameBytes = encoding.bytesPerSample * channels
        let frames = pendingBytes.count / frameBytes
        guard frames > 0 else { return [] }
        // Decode to interleaved floats (non-finite values become silence), then take the channel mean.
        var interleaved = [Float](repeating: 0, count: frames * channels)
        pendingBytes.withUnsafeBytes { raw in
            for i in interleaved.indices {
                let value: Float
                switch encoding {
                case .s16le: value = Float(Int16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self))) / 32768
                case .f32le: value = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                }
                interleaved[i] = value.isFinite ? value : 0
            }
        }
        var mono = [Float](repeating: 0, count: frames)
        interleaved.withUnsafeBufferPointer { input in
            mono.withUnsafeMutableBufferPointer { mixToMono(input, channels: channels, into: $0) }
        }
        pendingBytes.removeFirst(frames * frameBytes)
        return try append(samples: mono)
    }

    /// Adds mono samples at the input rate and returns the events they complete.
    public func append(samples: [Float]) throws -> [LiveEvent] {
        var converted: [Float] = []
        if let resampler {
            try samples.withUnsafeBufferPointer { try resampler.process($0, appendingTo: &converted) }
        } else {
            converted = samples
        }
        return consume(converted)
    }

    /// At the end of the input: flushes the resampler and returns the events the
    /// held-back samples complete.
    public func finish() throws -> [LiveEvent] {
        guard let resampler else { return [] }
        var tail: [Float] = []
        try resampler.flush(appendingTo: &tail)
        return consume(tail)
    }

    private func consume(_ samples: [Float]) -> [LiveEvent] {
        let rate = recognizer.model.sampleRate
        let windowLength = Int(windowSeconds * Double(rate)), hop = max(1, Int(hopSeconds * Double(rate)))
        var events: [LiveEvent] = []
        var index = 0
        while index < samples.count {
            let take = min(samples.count - index, nextEventAt - received)
            window.append(contentsOf: samples[index..<(index + take)])
            received += take
            index += take
            if received == nextEventAt {
                if window.count > windowLength { window.removeFirst(window.count - windowLength) }
                let started = ContinuousClock.now
                let adapts = recognizer.model.usesSpeakerStatistics
                let result = recognizer.recognize(samples: window, speaker: adapts ? speaker : nil)
                let used = speaker.count
                if adapts { learn(from: result, windowLength: windowLength) }
                let elapsed = ContinuousClock.now - started
                events.append(LiveEvent(time: Double(received) / Double(rate), estimate: result.estimate, computeSeconds: elapsed.seconds,
                                        adaptedUtterances: adapts ? used : nil))
                nextEventAt += hop
            }
        }
        if window.count > windowLength { window.removeFirst(window.count - windowLength) }
        return events
    }

    /// Adds the window just answered to the speaker's statistics when it holds
    /// speech and does not overlap the last window learnt (so each stretch of
    /// speech counts once), and forgets the voice after a long silence.
    private func learn(from result: Recognition, windowLength: Int) {
        guard result.estimate.speech, let vector = result.featureVectors.first else {
            silenceStart = silenceStart ?? received - windowLength
            if let limit = newSpeakerAfterSeconds, let start = silenceStart,
               Double(received - start) >= limit * Double(recognizer.model.sampleRate), speaker.count > 0 {
                resetSpeaker()
                silenceStart = start
            }
            return
        }
        silenceStart = nil
        guard received - windowLength >= lastLearnedEnd else { return }
        speaker.add(vector)
        lastLearnedEnd = received
    }
}
