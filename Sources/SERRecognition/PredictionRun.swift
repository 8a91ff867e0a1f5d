import Foundation
import SERAudio
import SERFeatures
import SERNumerics
import SERSpeakers
import SERSupport

/// One recording of a batch: where to read it and what the answer calls it.
public struct PredictionInput: Sendable, Equatable {
    /// The file to read.
    public var path: String
    /// The name answers report: the path as the user gave it, or `-` for audio
    /// that came on standard input and was spooled to `path`.
    public var name: String

    /// An input read from `path`, reported as `name` (default: the path).
    public init(path: String, name: String? = nil) {
        self.path = path
        self.name = name ?? path
    }
}

/// Who speaks in a batch's recordings. A model that adapts to speakers
/// (`EmotionModel.usesSpeakerStatistics`) answers each recording of a known
/// voice with the statistics of that voice's recordings.
public enum SpeakerRule: Sendable {
    /// Nobody is known: each recording is answered on its own.
    case unknown
    /// All the recordings are one voice.
    case sameSpeaker
    /// One speaker per folder.
    case byFolder
    /// The speaker of each input, in the inputs' order (nil: answered on its
    /// own), from a table, corpus file names or the caller's own knowledge.
    case groups([String?])
    /// A voice already known (a profile): every input is that speaker, and the
    /// statistics are used as they are, not grown by the inputs.
    case knownSpeaker(name: String, statistics: SpeakerStatistics)
}

/// Why one recording of a batch has no answer; `message` names the file.
public struct PredictionFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public var description: String { message }

    /// A failure with this message.
    public init(_ message: String) { self.message = message }
}

/// One recording's answer in a batch.
public struct PredictionOutcome: Sendable {
    /// The recording.
    public var input: PredictionInput
    /// Its recognition, or why there is none.
    public var result: Result<Recognition, PredictionFailure>
    /// The speaker the answer was adapted to and how many recordings that voice
    /// had, for a model that adapts; nil when answered alone.
    public var adaptation: (speaker: String, recordings: Int)?
}

/// A batch of recordings answered as `ser predict` answers them: grouped by
/// speaker when a rule says who speaks, a first pass that learns each voice's
/// statistics from its recordings, then every recording answered (adapted to
/// its voice where the model can), one recording per core.
///
/// `ser predict` is its options over this type; a library user or a server
/// gets the same batch adaptation by speaker from it.
public struct PredictionRun: Sendable {
    /// Answers every recording.
    public let recognizer: EmotionRecognizer
    /// The recordings, in the order answers come back.
    public let inputs: [PredictionInput]
    /// Each input's speaker group (nil: on its own), as the rule resolved it;
    /// all nil for a model that does not adapt.
    public let groups: [String?]
    /// Statistics known before the inputs (a profile's), by group.
    public let knownSpeakers: [String: SpeakerStatistics]
    /// Whether the inputs' own speech is added to their group's statistics.
    public let learnsFromInputs: Bool
    /// Threads for the passes (default: one per core).
    public var workers = defaultWorkerCount

    /// Why a batch cannot be answered as asked.
    public enum Failure: Error, Equatable, Sendable, CustomStringConvertible {
        /// The model reads per-speaker z-scores, and the rule says nothing of who speaks.
        case speakersRequired
        /// `SpeakerRule.groups` gave another number of groups than there are inputs.
        case groupCount(groups: Int, inputs: Int)

        public var description: String {
            switch self {
            case .speakersRequired:
                return "the model reads features z-scored per speaker (trained with --speaker-normalization): say who speaks (the same speaker, groups, or a profile, with at least \(SpeakerNormalization.minimumRecordings) recordings each), or use a model trained without it"
            case .groupCount(let groups, let inputs):
                return "\(groups) speaker groups were given for \(inputs) recordings"
            }
        }
    }

    /// A batch of `inputs` answered by `recognizer`, with `speakers` saying who
    /// speaks. A model that reads each recording on its own ignores the rule;
    /// one that reads only per-speaker z-scores needs one.
    public init(recognizer: EmotionRecognizer, inputs: [PredictionInput], speakers: SpeakerRule = .unknown) throws {
        self.recognizer = recognizer
        self.inputs = inputs
        var known: [String: SpeakerStatistics] = [:]
        var learns = true
        let model = recognizer.model
        guard model.usesSpeakerStatistics else {
            groups = inputs.map { _ in nil }
            knownSpeakers = [:]
            learnsFromInputs = false
            return
        }
        switch speakers {
        case .unknown:
            if model.normalizesPerSpeaker { throw Failure.speakersRequired }
            groups = inputs.map { _ in nil }
        case .sameSpeaker:
            groups = inputs.map { _ in "all inputs" }
        case .byFolder:
            groups = inputs.map { $0.name == "-" ? nil : URL(fileURLWithPath: $0.path).deletingLastPathComponent().path }
        case .groups(let given):
            guard given.count == inputs.count else { throw Failure.groupCount(groups: given.count, inputs: inputs.count) }
            groups = given
        case .knownSpeaker(let name, let statistics):
            groups = inputs.map { _ in name }
            known[name] = statistics
            learns = false
        }
        knownSpeakers = known
        learnsFromInputs = learns
    }

    /// Each group's statistics for answering the inputs at `indices` (default:
    /// all): what was known, plus, unless the rule is a profile, the speech of
    /// all of the group's inputs among them. A file that fails here is left out
    /// and reported by the answering pass.
    public func speakerStatistics(among indices: [Int]? = nil,
                                  onCompletion: (@Sendable (_ finished: Int) -> Void)? = nil) -> [String: SpeakerStatistics] {
        var result = knownSpeakers
        guard learnsFromInputs else { return result }
        let members = (indices ?? Array(inputs.indices)).filter { groups[$0] != nil }
        let paths = members.map { inputs[$0].path }
        let learned = recognizer.voiceVectors(ofFiles: paths, workers: workers, onCompletion: onCompletion)
        let dimension = recognizer.model.preset.dimension
        for (index, vectors) in zip(members, learned) {
            guard let group = groups[index], case .success(let pieces) = vectors else { continue }
            for vector in pieces { result[group, default: SpeakerStatistics(dimension: dimension)].add(vector) }
        }
        return result
    }

    /// The answer for input `index`, adapted to its group's entry of `statistics`.
    public func answer(_ index: Int, statistics: [String: SpeakerStatistics]) -> PredictionOutcome {
        let input = inputs[index]
        let group = groups[index]
        let speaker = group.flatMap { statistics[$0] }
        let model = recognizer.model
        if model.normalizesPerSpeaker && (speaker?.count ?? 0) < SpeakerNormalization.minimumRecordings {
            let who = group.map { "speaker group \($0)" } ?? "this file's speaker"
            return PredictionOutcome(input: input, result: .failure(PredictionFailure(
                "\(input.name): the model reads features z-scored per speaker and \(who) has fewer than \(SpeakerNormalization.minimumRecordings) readable recordings")))
        }
        do {
            let recognition = try recognizer.recognize(path: input.path, speaker: speaker)
            var outcome = PredictionOutcome(input: input, result: .success(recognition))
            if let group, let speaker, model.usesSpeakerStatistics { outcome.adaptation = (group, speaker.count) }
            return outcome
        } catch {
            return PredictionOutcome(input: input, result: .failure(PredictionFailure(Self.message(for: error, name: input.name))))
        }
    }

    /// The inputs at `indices` answered with `statistics`, in their order, on
    /// `workers` threads; `onCompletion` reports progress. With fewer inputs
    /// than workers, each input's encoder splits its work over the spare ones
    /// (one file on two cores uses both).
    public func answers(_ indices: [Int], statistics: [String: SpeakerStatistics],
                        onCompletion: (@Sendable (_ finished: Int) -> Void)? = nil) -> [PredictionOutcome] {
        let threadsPerInput = max(1, workers / max(1, indices.count))
        return parallelMap(count: indices.count, workers: workers, onCompletion: onCompletion) { index in
            withWorkThreads(threadsPerInput) { answer(indices[index], statistics: statistics) }
        }
    }

    /// Every input answered, in order: the statistics pass, then the answers,
    /// one recording per core (BLAS calls kept on one thread so that they do not
    /// compete with the other recordings' threads).
    public func run() -> [PredictionOutcome] {
        useSingleThreadedBLAS()
        let all = Array(inputs.indices)
        return answers(all, statistics: speakerStatistics(among: all))
    }

    /// A failure's message, naming the file once: decoding errors name it themselves.
    public static func message(for error: any Error, name: String) -> String {
        if let audio = error as? AudioError, audio.path != nil { return audio.description }
        if let failure = error as? InputPipeline.Failure { return failure.description }
        return "\(name): \(error)"
    }
}

extension EmotionRecognizer {
    /// What a recording teaches about its speaker's voice: the feature vector of
    /// each piece of its speech, as `SpeakerStatistics.add` takes them. Throws
    /// `InputPipeline.Failure.noSpeech` when it has no speech, and the decoder's
    /// error when it cannot be read.
    public func voiceVectors(ofFile path: String) throws -> [[Float]] {
        let vectors = try recognize(path: path).featureVectors
        guard !vectors.isEmpty else { throw InputPipeline.Failure.noSpeech(path: path) }
        return vectors
    }

    /// `voiceVectors(ofFile:)` of every file at `paths`, in order, on `workers`
    /// threads, each failure with a message naming its file; `onCompletion`
    /// reports progress.
    public func voiceVectors(ofFiles paths: [String], workers: Int = defaultWorkerCount,
                             onCompletion: (@Sendable (_ finished: Int) -> Void)? = nil) -> [Result<[[Float]], PredictionFailure>] {
        parallelMap(count: paths.count, workers: workers, onCompletion: onCompletion) { index in
            do {
                return .success(try voiceVectors(ofFile: paths[index]))
            } catch {
                return .failure(PredictionFailure(PredictionRun.message(for: error, name: paths[index])))
            }
        }
    }
}
