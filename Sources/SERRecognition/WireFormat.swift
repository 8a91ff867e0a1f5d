import Foundation

/// A wire type that describes itself as a JSON Schema fragment (OpenAPI 3.1
/// dialect). The server's OpenAPI document is assembled from these, and a test
/// encodes instances and checks them against their schema, so the types and
/// the document cannot drift apart.
public protocol WireDocumented: Encodable {
    /// The schema of the type's encoded form.
    static var schema: [String: Any] { get }
}

/// Renders wire values: sorted keys, unescaped slashes, and explicit nulls where
/// a type encodes them, exactly as `RecognitionJSON.text` renders a tree.
public enum WireJSON {
    /// `value` as JSON text, compact or pretty.
    public static func text(_ value: some Encodable, pretty: Bool = false) -> String {
        RecognitionJSON.text(tree(value), pretty: pretty)
    }

    /// `value` as a `JSONSerialization` tree (`[String: Any]`, `[Any]`, numbers, strings, `NSNull`).
    public static func tree(_ value: some Encodable) -> Any {
        guard let data = try? JSONEncoder().encode(value),
              let tree = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) else { return [String: Any]() }
        return tree
    }
}

/// Speech, emotion, confidence and probabilities of one stretch of audio; the
/// last three are null without speech. Shared by answers, segments and live events.
enum EstimateFields {
    enum Key: String, CodingKey { case speech, emotion, confidence, probabilities }

    static func encode(_ estimate: EmotionEstimate, to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(estimate.speech, forKey: .speech)
        try c.encode(estimate.emotion, forKey: .emotion)
        try c.encode(estimate.confidence.map { RecognitionJSON.rounded($0, 4) }, forKey: .confidence)
        try c.encode(estimate.probabilities.map { $0.mapValues { RecognitionJSON.rounded($0, 4) } }, forKey: .probabilities)
    }

    static var properties: [String: Any] {
        [
            "speech": ["type": "boolean", "description": "False for silence, noise and other non-speech."],
            "emotion": ["type": ["string", "null"], "description": "The most probable emotion, \"uncertain\" under min_confidence, null without speech."],
            "confidence": ["type": ["number", "null"]],
            "probabilities": ["type": ["object", "null"], "additionalProperties": ["type": "number", "minimum": 0, "maximum": 1],
                              "description": "Probability per emotion label; null when there is no speech."],
        ]
    }
}

/// The speaker's gender as the model hears it.
public struct GenderAnswer: WireDocumented, Equatable {
    public var label: String
    public var confidence: Double

    public init(label: String, confidence: Double) {
        self.label = label
        self.confidence = RecognitionJSON.rounded(confidence, 4)
    }

    init?(_ estimate: EmotionEstimate) {
        guard let gender = estimate.gender else { return nil }
        self.init(label: gender.label, confidence: gender.confidence)
    }

    public static var schema: [String: Any] {
        ["type": "object", "required": ["label", "confidence"],
         "properties": ["label": ["type": "string", "enum": ["female", "male"]], "confidence": ["type": "number"]]]
    }
}

/// How adapted an answer is: the utterances of the speaker known when answering
/// (0: answered alone), and the speaker group or profile when one was named.
public struct AdaptationAnswer: WireDocumented, Equatable {
    public var utterances: Int
    public var speaker: String?

    public init(utterances: Int, speaker: String? = nil) {
        self.utterances = utterances
        self.speaker = speaker
    }

    public static var schema: [String: Any] {
        ["type": "object", "required": ["utterances"],
         "description": "How adapted the answer is: the utterances of the speaker known when answering (0: answered alone).",
         "properties": ["utterances": ["type": "integer", "minimum": 0], "speaker": ["type": "string"]]]
    }
}

/// One stretch of a timeline: its start and end in seconds and its estimate.
public struct SegmentAnswer: WireDocumented {
    public var start: Double
    public var end: Double
    public var estimate: EmotionEstimate
    public var speechLevelDBFS: Double?

    public init(_ segment: SegmentEstimate) {
        start = RecognitionJSON.rounded(segment.start, 3)
        end = RecognitionJSON.rounded(segment.end, 3)
        estimate = segment.estimate
        speechLevelDBFS = segment.speechLevelDBFS.map { RecognitionJSON.rounded($0, 1) }
    }

    enum Key: String, CodingKey { case start, end, speechLevelDBFS = "speech_level_dbfs" }

    public func encode(to encoder: Encoder) throws {
        try EstimateFields.encode(estimate, to: encoder)
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(start, forKey: .start)
        try c.encode(end, forKey: .end)
        try c.encodeIfPresent(speechLevelDBFS, forKey: .speechLevelDBFS)
    }

    public static var schema: [String: Any] {
        ["type": "object", "required": ["start", "end", "speech", "emotion", "confidence", "probabilities"],
         "properties": EstimateFields.properties.merging(["start": ["type": "number"], "end": ["type": "number"],
                                                          "speech_level_dbfs": ["type": "number", "description": "The segment's speech level in dBFS (active level), when it has speech."]]) { a, _ in a }]
    }
}

/// Seconds spent in each stage of one recognition (`ser predict --timings`).
public struct TimingsAnswer: WireDocumented, Equatable {
    public var decode, resample, speechDetection, features, model: Double

    public init(_ timings: StageTimings) {
        decode = RecognitionJSON.rounded(timings.decode, 5)
        resample = RecognitionJSON.rounded(timings.resample, 5)
        speechDetection = RecognitionJSON.rounded(timings.voiceActivity, 5)
        features = RecognitionJSON.rounded(timings.features, 5)
        model = RecognitionJSON.rounded(timings.model, 5)
    }

    enum CodingKeys: String, CodingKey { case decode, resample, speechDetection = "speech_detection", features, model }

    public static var schema: [String: Any] {
        ["type": "object", "required": ["decode", "resample", "speech_detection", "features", "model"],
         "description": "Seconds spent in each stage.",
         "properties": ["decode": ["type": "number"], "resample": ["type": "number"], "speech_detection": ["type": "number"],
                        "features": ["type": "number"], "model": ["type": "number"]]]
    }
}

/// One recording's answer, as `ser predict --format json` and `POST /v1/predict`
/// give it. `gender` is null for a model without a gender head; `speech_start`
/// and `speech_end` are present when speech was found, `segments` when the
/// recording was segmented, `timings` when asked for, `adaptation` when the
/// answer was adapted to a speaker.
public struct PredictionAnswer: WireDocumented {
    public var path: String
    public var duration: Double
    public var sampleRate: Int
    public var channels: Int
    public var estimate: EmotionEstimate
    public var gender: GenderAnswer?
    public var speechStart: Double?
    public var speechEnd: Double?
    /// The speech's active level in dBFS, when speech was found in an unsegmented recording.
    public var speechLevelDBFS: Double?
    public var segments: [SegmentAnswer]?
    public var timings: TimingsAnswer?
    public var adaptation: AdaptationAnswer?

    public init(_ recognition: Recognition, path: String, includeTimings: Bool = false, adaptation: AdaptationAnswer? = nil) {
        self.path = path
        duration = RecognitionJSON.rounded(recognition.duration, 3)
        sampleRate = recognition.sampleRate
        channels = recognition.channels
        estimate = recognition.estimate
        gender = GenderAnswer(recognition.estimate)
        speechStart = recognition.speechSpan.map { RecognitionJSON.rounded($0.start, 3) }
        speechEnd = recognition.speechSpan.map { RecognitionJSON.rounded($0.end, 3) }
        speechLevelDBFS = recognition.speechLevelDBFS.map { RecognitionJSON.rounded($0, 1) }
        segments = recognition.segments?.map(SegmentAnswer.init)
        timings = includeTimings ? TimingsAnswer(recognition.timings) : nil
        self.adaptation = adaptation
    }

    enum Key: String, CodingKey {
        case path, duration, sampleRate = "sample_rate", channels, gender, speechStart = "speech_start", speechEnd = "speech_end"
        case speechLevelDBFS = "speech_level_dbfs", segments, timings, adaptation
    }

    public func encode(to encoder: Encoder) throws {
        try EstimateFields.encode(estimate, to: encoder)
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(path, forKey: .path)
        try c.encode(duration, forKey: .duration)
        try c.encode(sampleRate, forKey: .sampleRate)
        try c.encode(channels, forKey: .channels)
        try c.encode(gender, forKey: .gender)
        try c.encodeIfPresent(speechStart, forKey: .speechStart)
        try c.encodeIfPresent(speechEnd, forKey: .speechEnd)
        try c.encodeIfPresent(speechLevelDBFS, forKey: .speechLevelDBFS)
        try c.encodeIfPresent(segments, forKey: .segments)
        try c.encodeIfPresent(timings, forKey: .timings)
        try c.encodeIfPresent(adaptation, forKey: .adaptation)
    }

    public static var schema: [String: Any] {
        var properties = EstimateFields.properties
        properties["path"] = ["type": "string", "description": "The file's path, the uploaded file's name, or \"upload\" for a raw body."]
        properties["duration"] = ["type": "number", "description": "Seconds."]
        properties["sample_rate"] = ["type": "integer"]
        properties["channels"] = ["type": "integer"]
        var gender = GenderAnswer.schema
        gender["type"] = ["object", "null"]
        properties["gender"] = gender
        properties["speech_start"] = ["type": "number"]
        properties["speech_end"] = ["type": "number"]
        properties["speech_level_dbfs"] = ["type": "number", "description": "The speech's active level in dBFS (mean power of its louder half of 20 ms frames): how loud the recording chain made the voice. Models bring every input to one level, so it does not change the answer."]
        properties["segments"] = ["type": "array", "items": SegmentAnswer.schema]
        properties["timings"] = TimingsAnswer.schema
        properties["adaptation"] = AdaptationAnswer.schema
        return ["type": "object", "properties": properties,
                "required": ["path", "duration", "sample_rate", "channels", "speech", "emotion", "confidence", "probabilities", "gender"]]
    }
}

/// A file in a batch that got no answer, and why.
public struct FailureAnswer: WireDocumented, Equatable {
    public var path: String
    public var error: String

    public init(path: String, error: String) {
        self.path = path
        self.error = error
    }

    public static var schema: [String: Any] {
        ["type": "object", "required": ["path", "error"],
         "properties": ["path": ["type": "string"], "error": ["type": "string", "description": "What went wrong and what to do."]]]
    }
}

/// One file of a batch on the wire (`ser predict --format json`, `POST
/// /v1/predict/batch`): its answer, or why it has none.
public enum BatchItemAnswer: WireDocumented {
    case answer(PredictionAnswer)
    case failure(FailureAnswer)

    /// `outcome` as the wire carries it, with stage timings when asked for.
    public init(_ outcome: PredictionOutcome, includeTimings: Bool = false) {
        switch outcome.result {
        case .failure(let failure): self = .failure(FailureAnswer(path: outcome.input.name, error: failure.message))
        case .success(let recognition):
            self = .answer(PredictionAnswer(recognition, path: outcome.input.name, includeTimings: includeTimings,
                                            adaptation: outcome.adaptation.map { AdaptationAnswer(utterances: $0.recordings, speaker: $0.speaker) }))
        }
    }

    /// Encodes the answer's or the failure's object.
    public func encode(to encoder: Encoder) throws {
        switch self {
        case .answer(let answer): try answer.encode(to: encoder)
        case .failure(let failure): try failure.encode(to: encoder)
        }
    }

    /// An answer's object or a failure's.
    public static var schema: [String: Any] { ["oneOf": [PredictionAnswer.schema, FailureAnswer.schema]] }
}

/// One live event, as `ser listen --format jsonl` prints it and `/v1/stream`
/// sends it (there with `type` "event"). `gender` is present when the model has
/// a gender head, `adaptation` when the model adapts to speakers.
public struct LiveEventAnswer: WireDocumented {
    public var type: String?
    public var time: Double
    public var estimate: EmotionEstimate
    public var gender: GenderAnswer?
    public var adaptation: AdaptationAnswer?

    public init(_ event: LiveEvent, type: String? = nil) {
        self.type = type
        time = RecognitionJSON.rounded(event.time, 3)
        estimate = event.estimate
        gender = GenderAnswer(event.estimate)
        adaptation = event.adaptedUtterances.map { AdaptationAnswer(utterances: $0) }
    }

    enum Key: String, CodingKey { case type, time = "t", gender, adaptation }

    public func encode(to encoder: Encoder) throws {
        try EstimateFields.encode(estimate, to: encoder)
        var c = encoder.container(keyedBy: Key.self)
        try c.encodeIfPresent(type, forKey: .type)
        try c.encode(time, forKey: .time)
        try c.encodeIfPresent(gender, forKey: .gender)
        try c.encodeIfPresent(adaptation, forKey: .adaptation)
    }

    public static var schema: [String: Any] {
        var properties = EstimateFields.properties
        properties["type"] = ["type": "string", "const": "event", "description": "On /v1/stream only."]
        properties["t"] = ["type": "number", "description": "Seconds of audio heard when the event was computed."]
        properties["gender"] = GenderAnswer.schema
        properties["adaptation"] = AdaptationAnswer.schema
        return ["type": "object", "required": ["t", "speech", "emotion", "confidence", "probabilities"], "properties": properties]
    }
}

/// An HTTP error body: what went wrong and what to do, and the status code.
public struct ErrorAnswer: WireDocumented, Equatable {
    public var error: String
    public var status: Int

    public init(error: String, status: Int) {
        self.error = error
        self.status = status
    }

    public static var schema: [String: Any] {
        ["type": "object", "required": ["error", "status"],
         "properties": ["error": ["type": "string", "description": "What went wrong and what to do."], "status": ["type": "integer"]]]
    }
}
