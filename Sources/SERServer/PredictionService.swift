import Foundation
import HTTPTypes
import SERAudio
import SERFeatures
import SERNumerics
import SERRecognition
import SERSpeakers
import SERSupport

/// What a client may ask of one prediction (the query of `POST /v1/predict`),
/// mirroring `ser predict`'s options.
public struct PredictionRequest: Sendable, Equatable {
    /// How a recording is cut: whole, into utterances, or fixed windows (`segments`, `window`, `hop`).
    public var segmentation: Segmentation = .automatic
    /// Answers less confident than this report no emotion (`min_confidence`).
    public var minimumConfidence: Double?
    /// Adds `waveform` and `spectrogram` for drawing (the web page asks for them).
    public var visuals = false
    /// Adapt the answer to this stored speaker profile.
    public var profile: String?
    /// Add the recording to `profile` after answering (creating the profile).
    public var learn = false
    /// Batches: every recording is the same speaker, and each answer is adapted
    /// to the statistics of all of them (`same_speaker`).
    public var sameSpeaker = false

    /// The defaults of `ser predict`: automatic segmentation, every answer reported.
    public init() {}

    /// Reads `segments`, `window`, `hop`, `min_confidence` and `visuals`, with the
    /// same limits as the command line; a bad value is a 400 that names it.
    public init(query: [String: String]) throws {
        func flag(_ name: String) throws -> Bool? {
            guard let value = query[name]?.lowercased() else { return nil }
            switch value {
            case "", "1", "true", "yes": return true
            case "0", "false", "no": return false
            default: throw APIError.malformed("\(name) must be true or false (got \(value))")
            }
        }
        func number(_ name: String) throws -> Double? {
            guard let text = query[name] else { return nil }
            guard let value = Double(text), value.isFinite else { throw APIError.malformed("\(name) must be a number (got \(text))") }
            return value
        }
        let segments = try flag("segments")
        if let window = try number("window") {
            switch Segmentation.checkedWindow(seconds: window, hop: try number("hop")) {
            case .success(let windows): segmentation = windows
            case .failure(let error): throw APIError.malformed(error.message)
            }
        } else if query["hop"] != nil {
            throw APIError.malformed("hop needs window")
        } else if let segments {
            segmentation = segments ? .speech : .whole
        }
        if let p = try number("min_confidence") {
            guard (0...1).contains(p) else { throw APIError.malformed("min_confidence is a probability between 0 and 1") }
            minimumConfidence = p
        }
        visuals = try flag("visuals") ?? false
        if let id = query["profile"] {
            guard ProfileStore.isValidIdentifier(id) else { throw APIError.malformed(ProfileStore.Failure.invalidIdentifier(id).description) }
            profile = id
        }
        learn = try flag("learn") ?? false
        if learn && profile == nil { throw APIError.malformed("learn=true needs profile=ID: the recording is learnt into that profile") }
        sameSpeaker = try flag("same_speaker") ?? false
        if sameSpeaker && profile != nil { throw APIError.malformed("choose one of same_speaker and profile: each says who speaks") }
    }

    var recognitionOptions: RecognitionOptions {
        var options = RecognitionOptions()
        options.segmentation = segmentation
        options.minimumConfidence = minimumConfidence
        return options
    }
}

/// The model behind the server and what it answers: predictions in
/// `ser predict --format json`'s shape, and the model's description.
public final class PredictionService: Sendable {
    /// The model every answer comes from.
    public let model: EmotionModel
    /// The model file's name, as `/healthz` and `/v1/model` report it.
    public let modelName: String
    /// `GET /v1/model`'s body, rendered once.
    public let modelDocument: String
    let maxVisualSeconds: Double
    /// Stored speaker profiles, when the server keeps them.
    public let profiles: (any SpeakerProfileStore)?

    /// Wraps a loaded model; `modelPath` locates its card (`MODEL_CARD.md` beside it).
    public init(model: EmotionModel, modelPath: String, maxVisualSeconds: Double = 600, profiles: (any SpeakerProfileStore)? = nil) {
        self.model = model
        self.profiles = profiles
        self.modelName = URL(fileURLWithPath: modelPath).lastPathComponent
        self.maxVisualSeconds = maxVisualSeconds
        var document: [String: Any] = [:]
        if let data = sortedJSONText(model.description).data(using: .utf8),
           let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] {
            document = object
        }
        document["file"] = modelName
        document["labels"] = model.labels
        document["sample_rate"] = model.sampleRate
        let cardPath = URL(fileURLWithPath: modelPath).deletingLastPathComponent().appendingPathComponent("MODEL_CARD.md").path
        document["card"] = (try? String(contentsOfFile: cardPath, encoding: .utf8)) ?? NSNull()
        modelDocument = RecognitionJSON.text(document)
    }

    /// Recognises the audio file at `path` and returns the JSON answer;
    /// `name` is the `path` the answer reports. Undecodable audio is a 422.
    public func predict(path: String, name: String, request: PredictionRequest) throws -> String {
        var speaker: SpeakerStatistics?
        if let id = request.profile {
            let store = try profileStore()
            speaker = try Self.answering { try store.statistics(of: id) }
            if speaker == nil && !request.learn {
                throw APIError(.notFound, "no profile \(id): create it with PUT /v1/profiles/\(id) (audio as the body), or predict with learn=true")
            }
        }
        let recognition = try recognize(path: path, name: name, options: request.recognitionOptions, speaker: speaker)
        var answer = ServerPrediction(answer: PredictionAnswer(recognition, path: name))
        if let id = request.profile, model.usesSpeakerStatistics {
            answer.answer.adaptation = AdaptationAnswer(utterances: speaker?.count ?? 0, speaker: id)
        }
        if let id = request.profile, request.learn {
            let store = try profileStore()
            var summary = try Self.answering { try store.add(recognition.featureVectors, to: id) }
            summary.added = recognition.featureVectors.count
            answer.profile = summary
        }
        if request.visuals {
            if recognition.duration <= maxVisualSeconds, let visuals = try? AudioVisuals(path: path, sampleRate: model.sampleRate) {
                answer.waveform = visuals.waveform
                answer.spectrogram = visuals.spectrogramAnswer
            } else {
                answer.visualsNote = String(format: "no waveform or spectrogram for recordings over %.0f s", maxVisualSeconds)
            }
        }
        return WireJSON.text(answer)
    }
}

extension PredictionService {
    /// `POST /v1/predict/batch`: several recordings answered together, as
    /// `ser predict` answers a batch. With `same_speaker` (or a profile) every
    /// answer is adapted to the voice: the statistics of all the batch's
    /// recordings (or the profile's). `files` are (spooled path, reported name);
    /// the batch runs on the calling thread (one inference slot).
    public func predictBatch(files: [(path: String, name: String)], request: PredictionRequest) throws -> String {
        if request.learn { throw APIError.malformed("learn is for /v1/predict and PUT /v1/profiles: a batch does not change a profile") }
        var rule = SpeakerRule.unknown
        if let id = request.profile {
            let store = try profileStore()
            guard let statistics = try Self.answering({ try store.statistics(of: id) }) else {
                throw APIError(.notFound, "no profile \(id): create it with PUT /v1/profiles/\(id) (audio as the body)")
            }
            rule = .knownSpeaker(name: id, statistics: statistics)
        } else if request.sameSpeaker {
            rule = .sameSpeaker
        }
        var run: PredictionRun
        do {
            run = try PredictionRun(recognizer: EmotionRecognizer(model: model, options: request.recognitionOptions),
                                    inputs: files.map { PredictionInput(path: $0.path, name: $0.name) }, speakers: rule)
        } catch let failure as PredictionRun.Failure {
            throw APIError(.conflict, "\(failure.description); send same_speaker=true or a profile")
        }
        run.workers = 1
        let all = Array(files.indices)
        let outcomes = run.answers(all, statistics: run.speakerStatistics(among: all)).map { outcome -> PredictionOutcome in
            // A failure names the spooled file; the client knows it by its own name.
            guard case .failure(let failure) = outcome.result else { return outcome }
            var renamed = outcome
            renamed.result = .failure(PredictionFailure(failure.message.replacingOccurrences(of: outcome.input.path, with: outcome.input.name)))
            return renamed
        }
        return WireJSON.text(BatchPrediction(predictions: outcomes.map { BatchItemAnswer($0) }))
    }

    /// The recognition of an uploaded file; undecodable audio is a 422.
    func recognize(path: String, name: String, options: RecognitionOptions, speaker: SpeakerStatistics?) throws -> Recognition {
        do {
            return try EmotionRecognizer(model: model, options: options).recognize(path: path, speaker: speaker)
        } catch let error as AudioError {
            throw APIError(.unprocessableContent, "the audio could not be decoded: \(error.localizedDescription.replacingOccurrences(of: path, with: name))")
        }
    }

    func profileStore() throws -> any SpeakerProfileStore {
        guard let profiles else { throw APIError(.notFound, "this server keeps no speaker profiles (start it with --profiles DB)") }
        guard model.usesSpeakerStatistics else {
            throw APIError(.conflict, "this server's model reads each recording on its own and cannot adapt to a profile; serve a model trained with --adaptive")
        }
        return profiles
    }

    /// Runs a profile-store operation, answering its failures as 400/409.
    static func answering<T>(_ operation: () throws -> T) throws -> T {
        do {
            return try operation()
        } catch let failure as ProfileStore.Failure {
            switch failure {
            case .invalidIdentifier: throw APIError.malformed(failure.description)
            case .otherFeatures, .damaged: throw APIError(.conflict, failure.description)
            }
        }
    }

    /// `PUT /v1/profiles/{id}`: learns the uploaded recording into the profile (creating it).
    public func learn(path: String, name: String, into id: String) throws -> String {
        let store = try profileStore()
        let vectors: [[Float]]
        do {
            vectors = try EmotionRecognizer(model: model).voiceVectors(ofFile: path)
        } catch is InputPipeline.Failure {
            throw APIError(.unprocessableContent, "no speech found in \(name): nothing to learn into profile \(id)")
        } catch let error as AudioError {
            throw APIError(.unprocessableContent, "the audio could not be decoded: \(error.localizedDescription.replacingOccurrences(of: path, with: name))")
        }
        var summary = try Self.answering { try store.add(vectors, to: id) }
        summary.added = vectors.count
        return WireJSON.text(summary)
    }

    /// `GET /v1/profiles/{id}`: counts and times, never the statistics.
    public func profileSummary(_ id: String) throws -> String {
        let store = try profileStore()
        guard let summary = try Self.answering({ try store.summary(of: id) }) else { throw APIError(.notFound, "no profile \(id)") }
        return WireJSON.text(summary)
    }

    /// `DELETE /v1/profiles/{id}`.
    public func deleteProfile(_ id: String) throws {
        let store = try profileStore()
        guard try Self.answering({ try store.delete(id) }) else { throw APIError(.notFound, "no profile \(id)") }
    }
}

/// A waveform envelope and a log-mel spectrogram, small enough to draw in a page.
struct AudioVisuals {
    /// Per column, the lowest and highest sample.
    var peaks: [(Float, Float)]
    var secondsPerColumn: Double
    /// Mel bands × frames in dB below the loudest cell, quantised to 0...255 (255 = loudest).
    var spectrogram: [[UInt8]]
    var hopSeconds: Double
    var maximumFrequency: Double

    static let columns = 800
    static let melBands = 64
    static let maximumFrames = 600

    init(path: String, sampleRate: Int) throws {
        let signal = try AudioSignal(contentsOf: path, sampleRate: sampleRate)
        let samples = signal.samples
        let count = max(1, samples.count)
        let columnCount = min(Self.columns, count)
        let perColumn = Double(count) / Double(columnCount)
        peaks = (0..<columnCount).map { column in
            let start = Int(Double(column) * perColumn), end = max(start + 1, min(samples.count, Int(Double(column + 1) * perColumn)))
            guard start < samples.count else { return (0, 0) }
            let slice = samples[start..<end]
            return (slice.min() ?? 0, slice.max() ?? 0)
        }
        secondsPerColumn = perColumn / Double(sampleRate)
        let hop = max(sampleRate / 100, Int((Double(samples.count) / Double(Self.maximumFrames)).rounded(.up)))
        maximumFrequency = Double(sampleRate) / 2
        let configuration = FeatureConfiguration(sampleRate: sampleRate, stft: STFTConfiguration(fftSize: 512, hopLength: hop),
                                                 mel: MelConfiguration(melCount: Self.melBands, maximumFrequency: maximumFrequency))
        let mel = try FeatureExtractor(configuration: configuration).frames(.melspectrogram, samples: samples.isEmpty ? [0] : samples)
        let loudest = Double(mel.values.max() ?? 0)
        let decibels = DecibelScaling(reference: max(loudest, 1e-10), dynamicRange: 80).powerToDecibels(mel)
        spectrogram = (0..<mel.rows).map { band in
            decibels.row(band).map { UInt8(max(0, min(255, (Double($0) + 80) / 80 * 255)).rounded()) }
        }
        hopSeconds = Double(hop) / Double(sampleRate)
    }

    var waveform: ServerPrediction.Waveform {
        .init(secondsPerColumn: RecognitionJSON.rounded(secondsPerColumn, 6),
              min: peaks.map { RecognitionJSON.rounded(Double($0.0), 4) },
              max: peaks.map { RecognitionJSON.rounded(Double($0.1), 4) })
    }

    var spectrogramAnswer: ServerPrediction.Spectrogram {
        .init(bands: spectrogram.count, frames: spectrogram.first?.count ?? 0, hopSeconds: RecognitionJSON.rounded(hopSeconds, 6),
              fmax: maximumFrequency, dbRange: 80, scale: "mel", values: spectrogram.map { $0.map(Int.init) })
    }
}

/// `POST /v1/predict`'s answer: `ser predict`'s answer for one file, plus the
/// profile it learnt into (`learn=true`) and what the page draws (`visuals=true`).
struct ServerPrediction: WireDocumented {
    var answer: PredictionAnswer
    var profile: ProfileStore.Summary?
    var waveform: Waveform?
    var spectrogram: Spectrogram?
    var visualsNote: String?

    /// Per column of the drawing, the lowest and highest sample.
    struct Waveform: WireDocumented {
        var secondsPerColumn: Double
        var min: [Double]
        var max: [Double]
        enum CodingKeys: String, CodingKey { case secondsPerColumn = "seconds_per_column", min, max }

        static var schema: [String: Any] {
            ["type": "object", "description": "With visuals=true: min and max sample per column.", "required": ["seconds_per_column", "min", "max"],
             "properties": ["seconds_per_column": ["type": "number"], "min": ["type": "array", "items": ["type": "number"]],
                            "max": ["type": "array", "items": ["type": "number"]]]]
        }
    }

    /// Log-mel bands × frames, 0–255 over an 80 dB range.
    struct Spectrogram: WireDocumented {
        var bands: Int
        var frames: Int
        var hopSeconds: Double
        var fmax: Double
        var dbRange: Int
        var scale: String
        var values: [[Int]]
        enum CodingKeys: String, CodingKey { case bands, frames, hopSeconds = "hop_seconds", fmax, dbRange = "db_range", scale, values }

        static var schema: [String: Any] {
            ["type": "object", "description": "With visuals=true: log-mel bands × frames, 0–255 over an 80 dB range.",
             "required": ["bands", "frames", "hop_seconds", "fmax", "db_range", "scale", "values"],
             "properties": ["bands": ["type": "integer"], "frames": ["type": "integer"], "hop_seconds": ["type": "number"],
                            "fmax": ["type": "number"], "db_range": ["type": "number"], "scale": ["type": "string"],
                            "values": ["type": "array", "items": ["type": "array", "items": ["type": "integer"]]]]]
        }
    }

    enum Key: String, CodingKey { case profile, waveform, spectrogram, visualsNote = "visuals_note" }

    func encode(to encoder: Encoder) throws {
        try answer.encode(to: encoder)
        var c = encoder.container(keyedBy: Key.self)
        try c.encodeIfPresent(profile, forKey: .profile)
        try c.encodeIfPresent(waveform, forKey: .waveform)
        try c.encodeIfPresent(spectrogram, forKey: .spectrogram)
        try c.encodeIfPresent(visualsNote, forKey: .visualsNote)
    }

    static var schema: [String: Any] {
        var schema = PredictionAnswer.schema
        var properties = schema["properties"] as? [String: Any] ?? [:]
        properties["path"] = ["type": "string", "description": "The uploaded file's name, or \"upload\" for a raw body."]
        properties["profile"] = ProfileStore.Summary.schema
        properties["waveform"] = Waveform.schema
        properties["spectrogram"] = Spectrogram.schema
        properties["visuals_note"] = ["type": "string"]
        schema["properties"] = properties
        return schema
    }
}

/// `POST /v1/predict/batch`'s answer: one entry per uploaded file, in order.
struct BatchPrediction: WireDocumented {
    var predictions: [BatchItemAnswer]

    static var schema: [String: Any] {
        ["type": "object", "required": ["predictions"],
         "properties": ["predictions": ["type": "array", "items": BatchItemAnswer.schema,
                                        "description": "One per uploaded file, in order: its answer (with adaptation when adapted to the voice), or {path, error}."]]]
    }
}
