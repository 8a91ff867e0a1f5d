import Foundation
import SERSupport

/// The JSON shapes of answers, shared by `ser predict`, `ser listen` and the
/// HTTP/WebSocket API so every surface says the same thing the same way.
///
/// Probabilities and confidences are rounded to 4 decimals, times to
/// milliseconds. Objects are plain `[String: Any]` trees for
/// `JSONSerialization`; `text(_:pretty:)` renders them with sorted keys.
public enum RecognitionJSON {
    /// One file's answer: `path, duration, sample_rate, channels, speech, emotion,
    /// confidence, probabilities, gender{label, confidence}`, `speech_start` and
    /// `speech_end` when speech was found, `segments` when segmented, and
    /// `timings` when asked.
    /// How adapted an answer is: `{"utterances": n}` plus the speaker group or profile when named.
    public static func adaptationObject(group: String? = nil, recordings: Int) -> [String: Any] {
        var object: [String: Any] = ["utterances": recordings]
        if let group { object["speaker"] = group }
        return object
    }

    public static func object(for recognition: Recognition, path: String, includeTimings: Bool = false) -> [String: Any] {
        var object = estimateObject(recognition.estimate)
        object["path"] = path
        object["duration"] = rounded(recognition.duration, 3)
        object["sample_rate"] = recognition.sampleRate
        object["channels"] = recognition.channels
        object["gender"] = genderObject(recognition.estimate) ?? NSNull()
        if let span = recognition.speechSpan {
            object["speech_start"] = rounded(span.start, 3)
            object["speech_end"] = rounded(span.end, 3)
        }
        if let segments = recognition.segments {
            object["segments"] = segments.map { segment -> [String: Any] in
                var item = estimateObject(segment.estimate)
                item["start"] = rounded(segment.start, 3)
                item["end"] = rounded(segment.end, 3)
                return item
            }
        }
        if includeTimings {
            let t = recognition.timings
            object["timings"] = ["decode": rounded(t.decode, 5), "resample": rounded(t.resample, 5),
                                 "speech_detection": rounded(t.voiceActivity, 5),
                                 "features": rounded(t.features, 5), "model": rounded(t.model, 5)]
        }
        return object
    }

    /// A file that got no answer: `{path, error}`.
    public static func failure(path: String, message: String) -> [String: Any] {
        ["path": path, "error": message]
    }

    /// One live event: `t, speech, emotion, confidence, probabilities`,
    /// `gender` when the model has a gender head, and `adaptation {utterances}`
    /// when the model adapts to speakers.
    public static func object(for event: LiveEvent) -> [String: Any] {
        var object = estimateObject(event.estimate)
        object["t"] = rounded(event.time, 3)
        if let gender = genderObject(event.estimate) { object["gender"] = gender }
        if let utterances = event.adaptedUtterances { object["adaptation"] = adaptationObject(recordings: utterances) }
        return object
    }

    /// `speech, emotion, confidence, probabilities` of one estimate (nulls when no speech).
    public static func estimateObject(_ estimate: EmotionEstimate) -> [String: Any] {
        [
            "speech": estimate.speech,
            "emotion": estimate.emotion ?? NSNull(),
            "confidence": estimate.confidence.map { rounded($0, 4) } ?? NSNull(),
            "probabilities": estimate.probabilities.map { $0.mapValues { rounded($0, 4) } } ?? NSNull(),
        ]
    }

    static func genderObject(_ estimate: EmotionEstimate) -> [String: Any]? {
        estimate.gender.map { ["label": $0.label, "confidence": rounded($0.confidence, 4)] }
    }

    /// Renders a JSON tree with sorted keys and unescaped slashes.
    public static func text(_ object: Any, pretty: Bool = false) -> String {
        var options: JSONSerialization.WritingOptions = [.sortedKeys, .withoutEscapingSlashes]
        if pretty { options.insert(.prettyPrinted) }
        guard JSONSerialization.isValidJSONObject(object),
              let data = try? JSONSerialization.data(withJSONObject: object, options: options) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    /// `value` rounded to `digits` decimals.
    public static func rounded(_ value: Double, _ digits: Int) -> Double {
        guard value.isFinite else { return 0 }
        let scale = pow(10, Double(digits))
        return (value * scale).rounded() / scale
    }
}
