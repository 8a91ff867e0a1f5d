import Foundation
import SERAudio
import SERFeatures
import SERModels
import SERSpeakers
import SERSupport

/// How a recording is cut before classification.
public enum Segmentation: Sendable, Equatable {
    /// One answer for recordings up to `RecognitionOptions.automaticSegmentationSeconds`,
    /// speech segments beyond.
    case automatic
    /// One answer for the whole recording (its speech, trimmed).
    case whole
    /// Utterances found by voice activity detection.
    case speech
    /// Fixed windows, `seconds` long, every `hop` seconds.
    case window(seconds: Double, hop: Double)

    /// Window lengths accepted from users (seconds).
    public static let windowSeconds: ClosedRange<Double> = 0.5...600
    /// The shortest hop accepted from users: finer hops multiply the work without telling more.
    public static let minimumHopSeconds = 0.1

    /// Fixed windows as a user asked for them (`hop` defaults to half the window),
    /// or a message saying which value is out of range.
    public static func checkedWindow(seconds: Double, hop: Double?) -> Result<Segmentation, WindowError> {
        guard windowSeconds.contains(seconds) else {
            return .failure(WindowError(message: "the window must be between \(windowSeconds.lowerBound) and \(windowSeconds.upperBound) seconds"))
        }
        let step = hop ?? seconds / 2
        guard step >= minimumHopSeconds && step <= seconds else {
            return .failure(WindowError(message: "the hop must be between \(minimumHopSeconds) seconds and the window"))
        }
        return .success(.window(seconds: seconds, hop: step))
    }

    /// Why a window or hop was refused; `message` says what is allowed.
    public struct WindowError: Error, Sendable { public var message: String }
}

/// What to do with a recording.
public struct RecognitionOptions: Sendable {
    /// How recordings are cut into pieces that are each answered.
    public var segmentation: Segmentation = .automatic
    /// With `automatic` segmentation, recordings longer than this (seconds) get a timeline of utterances; shorter ones one answer.
    public var automaticSegmentationSeconds = 30.0
    /// Longer speech stretches are cut into pieces of at most this length.
    public var maximumUtteranceSeconds = 10.0
    /// Below this confidence the emotion is reported as `uncertain`.
    public var minimumConfidence: Double?
    /// Compute each utterance's pitch on a second thread: lower latency for live
    /// audio, where one window is classified at a time. Off for batches, which
    /// already keep every core busy with whole files.
    public var concurrentFeatures = false
    /// How speech is found (and what counts as none); nil: as the model was trained to find it.
    public var voiceActivity: VoiceActivityConfiguration?
    /// What is known of the speaker of every recording this recognizer hears (a
    /// profile, or one folder's recordings): a model with an adapted part blends
    /// it in, one that reads per-speaker z-scores needs it. Per-call statistics
    /// (`recognize(samples:speaker:)`) take precedence.
    public var speaker: SpeakerStatistics?
    /// The defaults of `ser predict`.
    public init() {}
}

/// The emotion (and gender) heard in one stretch of audio.
public struct EmotionEstimate: Sendable, Equatable {
    /// Whether the stretch contains speech; without it there is no emotion.
    public var speech: Bool
    /// The most probable emotion, `uncertain` below the minimum confidence, nil without speech.
    public var emotion: String?
    /// The probability of `emotion`'s label, nil without speech.
    public var confidence: Double?
    /// Every emotion's calibrated probability, nil without speech.
    public var probabilities: [String: Double]?
    /// Labels by falling probability.
    public var ranked: [(label: String, probability: Double)]
    /// The more probable gender and its probability, when the model has a gender head.
    public var gender: (label: String, confidence: Double)?

    /// What `emotion` says when the best probability is below the minimum confidence.
    public static let uncertain = "uncertain"

    static let noSpeech = EmotionEstimate(speech: false, emotion: nil, confidence: nil, probabilities: nil, ranked: [], gender: nil)

    init(speech: Bool, emotion: String?, confidence: Double?, probabilities: [String: Double]?,
         ranked: [(label: String, probability: Double)], gender: (label: String, confidence: Double)?) {
        self.speech = speech
        self.emotion = emotion
        self.confidence = confidence
        self.probabilities = probabilities
        self.ranked = ranked
        self.gender = gender
    }

    init(_ classification: Classification, minimumConfidence: Double?) {
        let best = classification.best
        speech = true
        emotion = best.probability < (minimumConfidence ?? 0) ? Self.uncertain : best.label
        confidence = best.probability
        probabilities = Dictionary(uniqueKeysWithValues: zip(classification.labels, classification.probabilities))
        ranked = classification.ranked
        gender = classification.gender.map { ($0.label, $0.probability) }
    }

    /// Equal answers: the same emotion, probabilities and gender (the ranking follows from them).
    public static func == (a: EmotionEstimate, b: EmotionEstimate) -> Bool {
        a.speech == b.speech && a.emotion == b.emotion && a.confidence == b.confidence && a.probabilities == b.probabilities
            && a.gender?.label == b.gender?.label && a.gender?.confidence == b.gender?.confidence
    }
}

/// One piece of a segmented recording.
public struct SegmentEstimate: Sendable, Equatable {
    /// Where the segment starts, in seconds from the start of the recording.
    public var start: Double
    /// Where it ends, in seconds.
    public var end: Double
    /// What was heard in it.
    public var estimate: EmotionEstimate
    /// The active level of the segment's speech in dBFS (`LevelNormalization`),
    /// when it has speech: a measurement of the recording chain, never a feature.
    public var speechLevelDBFS: Double?

    /// A segment from `start` to `end` seconds with its answer and speech level.
    public init(start: Double, end: Double, estimate: EmotionEstimate, speechLevelDBFS: Double? = nil) {
        self.start = start
        self.end = end
        self.estimate = estimate
        self.speechLevelDBFS = speechLevelDBFS
    }
}

/// Seconds spent in each stage for one recording.
public struct StageTimings: Sendable, Equatable {
    /// Reading and decoding the file.
    public var decode = 0.0
    /// Resampling to the model's rate.
    public var resample = 0.0
    /// Finding speech.
    public var voiceActivity = 0.0
    /// Computing feature vectors (the speech encoder included).
    public var features = 0.0
    /// Classifying them.
    public var model = 0.0
}

/// The answer for one recording.
public struct Recognition: Sendable {
    /// Duration of the recording, in seconds.
    public var duration: Double
    /// The recording's own sample rate (it was analysed at the model's).
    public var sampleRate: Int
    /// The recording's channel count (they were mixed to mono).
    public var channels: Int
    /// The overall answer: for a segmented recording, the speech segments'
    /// probabilities averaged by duration.
    public var estimate: EmotionEstimate
    /// Where speech starts and ends (the trimmed span), when there is speech.
    public var speechSpan: (start: Double, end: Double)?
    /// The timeline, when the recording was segmented.
    public var segments: [SegmentEstimate]?
    /// Seconds spent in each stage.
    public var timings: StageTimings
    /// The feature vector of each classified piece, in order, for a model that
    /// uses speaker statistics (empty otherwise): what the caller adds to the
    /// speaker's statistics to learn the voice (live streams, profiles, groups).
    public var featureVectors: [[Float]] = []
    /// The active level of the speech span in dBFS (`LevelNormalization`), for
    /// an unsegmented recording with speech: a measurement of the recording
    /// chain, reported beside the answer; models that normalize levels never read it.
    public var speechLevelDBFS: Double?
}

/// Hears emotion in recordings with a model: decodes and resamples to the
/// model's rate block by block, finds speech, cuts long recordings into
/// utterances or windows (holding at most about 30 s of audio at a time), and
/// classifies each piece.
public final class EmotionRecognizer: @unchecked Sendable {
    /// The model every answer comes from.
    public let model: EmotionModel
    /// How recordings are cut, which confidence counts, and how speech is found.
    public let options: RecognitionOptions
    /// The model's input pipeline, hearing speech with the options' voice activity settings.
    private let pipeline: InputPipeline

    /// The shortest stretch worth classifying.
    static let minimumPieceSeconds = 0.3

    /// A recognizer answering with `model` under `options`.
    public init(model: EmotionModel, options: RecognitionOptions = .init()) {
        self.model = model
        self.options = options
        pipeline = options.voiceActivity.map { model.pipeline.detecting(with: VoiceActivityDetector(configuration: $0)) } ?? model.pipeline
    }

    /// Recognises the recording at `path` (any format `AudioDecoder` reads),
    /// adapted to `speaker` when given (else to `RecognitionOptions.speaker`).
    public func recognize(path: String, speaker: SpeakerStatistics? = nil) throws -> Recognition {
        try recognize(stream: AudioStream(path: path, sampleRate: model.sampleRate, mono: true), speaker: speaker)
    }

    /// Recognises samples already at the model's rate, mono (for live audio).
    public func recognize(samples: [Float], speaker: SpeakerStatistics? = nil) -> Recognition {
        var timings = StageTimings()
        var context = Context(speaker: speaker ?? options.speaker)
        let (estimate, span) = analyzeUtterance(samples, timings: &timings, context: &context)
        var recognition = Recognition(duration: Double(samples.count) / Double(model.sampleRate), sampleRate: model.sampleRate, channels: 1,
                                      estimate: estimate, speechSpan: span, segments: nil, timings: timings)
        recognition.featureVectors = context.vectors
        recognition.speechLevelDBFS = span.flatMap { speechLevel(samples, span: $0) }
        return recognition
    }

    /// The speaker statistics a recording is classified with, and its pieces' vectors.
    struct Context {
        var speaker: SpeakerStatistics?
        var vectors: [[Float]] = []
    }

    /// Recognises a stream that yields mono audio at the model's rate.
    public func recognize(stream: AudioStream, speaker: SpeakerStatistics? = nil) throws -> Recognition {
        precondition(stream.outputSampleRate == model.sampleRate && stream.outputChannels == 1, "stream must be mono at the model's rate")
        let rate = model.sampleRate
        var context = Context(speaker: speaker ?? options.speaker)
        var timings = StageTimings()
        var buffer: [Float] = []
        var bufferStart = 0                 // absolute index of buffer[0]
        var segments: [SegmentEstimate] = []
        var segmenting: Bool
        switch options.segmentation {
        case .automatic, .whole: segmenting = false
        case .speech, .window: segmenting = true
        }
        let automaticLimit = Int(options.automaticSegmentationSeconds * Double(rate))
        let streamStarted = ContinuousClock.now
        var processing = Duration.zero
        try stream.forEachBlock { block in
            buffer.append(contentsOf: block)
            if !segmenting, options.segmentation == .automatic, bufferStart + buffer.count > automaticLimit { segmenting = true }
            if segmenting {
                let started = ContinuousClock.now
                consume(&buffer, start: &bufferStart, final: false, into: &segments, timings: &timings, context: &context)
                processing += ContinuousClock.now - started
            }
        }
        let total = bufferStart + buffer.count
        timings.resample = stream.resamplingTime.seconds
        timings.decode = max(0, (ContinuousClock.now - streamStarted - processing - stream.resamplingTime).seconds)
        let duration = Double(total) / Double(rate)
        let description = stream.sourceDescription
        if !segmenting {
            let (estimate, span) = analyzeUtterance(buffer, timings: &timings, context: &context)
            var recognition = Recognition(duration: duration, sampleRate: description.sampleRate, channels: description.channels,
                                          estimate: estimate, speechSpan: span, segments: nil, timings: timings)
            recognition.featureVectors = context.vectors
            recognition.speechLevelDBFS = span.flatMap { speechLevel(buffer, span: $0) }
            return recognition
        }
        consume(&buffer, start: &bufferStart, final: true, into: &segments, timings: &timings, context: &context)
        let speechSegments = segments.filter(\.estimate.speech)
        let span = speechSegments.isEmpty ? nil : (speechSegments.first!.start, speechSegments.last!.end)
        var recognition = Recognition(duration: duration, sampleRate: description.sampleRate, channels: description.channels,
                                      estimate: summary(of: speechSegments), speechSpan: span, segments: segments, timings: timings)
        recognition.featureVectors = context.vectors
        return recognition
    }

    // MARK: Pieces

    /// The active level of `samples` within `span` (seconds), in dBFS.
    private func speechLevel(_ samples: [Float], span: (start: Double, end: Double)) -> Double? {
        let rate = Double(model.sampleRate)
        let lo = max(0, Int(span.start * rate)), hi = max(lo, Int((span.end * rate).rounded(.up)))
        return pipeline.speechLevelDBFS(of: samples, span: lo..<hi)
    }

    /// Classification of one utterance: its speech span, or all of it when the
    /// model was trained on whole recordings (`EmotionModel.trimsToSpeech`); no
    /// speech found is "no speech" either way.
    private func analyzeUtterance(_ samples: [Float], timings: inout StageTimings, context: inout Context) -> (EmotionEstimate, (Double, Double)?) {
        let rate = Double(model.sampleRate)
        let started = ContinuousClock.now
        let input = pipeline.featureInput(samples)
        timings.voiceActivity += (ContinuousClock.now - started).seconds
        guard let input, let classification = classify(input.samples, timings: &timings, context: &context) else { return (.noSpeech, nil) }
        let span = input.span
        return (EmotionEstimate(classification, minimumConfidence: options.minimumConfidence),
                (Double(span.lowerBound) / rate, Double(span.upperBound) / rate))
    }

    /// Classifies one piece with the context's speaker statistics (not updated
    /// here: every piece of a recording is heard with what was known before the
    /// recording) and keeps its vector for the caller.
    private func classify(_ samples: [Float], timings: inout StageTimings, context: inout Context) -> Classification? {
        guard Double(samples.count) >= Self.minimumPieceSeconds * Double(model.sampleRate) else { return nil }
        let started = ContinuousClock.now
        guard let variants = try? model.featureVariants(samples, concurrently: options.concurrentFeatures),
              variants.allSatisfy({ $0.allSatisfy(\.isFinite) }) else { return nil }
        let featuresDone = ContinuousClock.now
        let classification = model.classifyVariants(variants, speaker: context.speaker)
        // Kept even when there is no answer yet: a model that reads z-scores only
        // answers nothing until it knows the speaker, and this vector is how it learns.
        if model.usesSpeakerStatistics { context.vectors.append(variants[0]) }
        timings.features += (featuresDone - started).seconds
        timings.model += (ContinuousClock.now - featuresDone).seconds
        return classification
    }

    /// Classifies what the buffer holds that is complete, and drops it. With
    /// `final`, everything left is complete.
    private func consume(_ buffer: inout [Float], start: inout Int, final: Bool, into segments: inout [SegmentEstimate],
                         timings: inout StageTimings, context: inout Context) {
        let rate = Double(model.sampleRate)
        func seconds(_ index: Int) -> Double { Double(start + index) / rate }
        switch options.segmentation {
        case .window(let length, let hop):
            let window = max(1, Int(length * rate)), step = max(1, Int(hop * rate))
            var offset = 0
            while true {
                var end = offset + window
                if end > buffer.count {
                    // The tail, when the recording ends and the last full window did not reach it.
                    let covered = offset > 0 && offset - step + window >= buffer.count
                    guard final, offset < buffer.count, !covered else { break }
                    end = buffer.count
                }
                let piece = Array(buffer[offset..<end])
                let (estimate, span) = analyzeUtterance(piece, timings: &timings, context: &context)
                segments.append(SegmentEstimate(start: seconds(offset), end: seconds(end), estimate: estimate,
                                                speechLevelDBFS: span.flatMap { speechLevel(piece, span: $0) }))
                offset += step
                if end == buffer.count && final { break }
            }
            let dropped = min(offset, buffer.count)
            buffer.removeFirst(dropped)
            start += dropped
        default:
            let chunk = Int(options.automaticSegmentationSeconds * rate)
            guard final || buffer.count >= chunk else { return }
            let vadStarted = ContinuousClock.now
            let regions = pipeline.speechRegions(in: buffer)
            timings.voiceActivity += (ContinuousClock.now - vadStarted).seconds
            let horizon = final ? buffer.count : buffer.count - Int(2 * rate)
            let longest = Int(options.maximumUtteranceSeconds * rate)
            var consumed = final ? buffer.count : horizon
            for region in regions {
                let lo = max(0, Int(region.start * rate)), hi = min(buffer.count, Int((region.end * rate).rounded(.up)))
                if !final && hi > horizon {
                    // Still open: keep it for the next pass, unless it alone fills the buffer.
                    consumed = lo > 0 ? lo : min(buffer.count, longest)
                    if lo == 0 { emitPieces(buffer, lo, consumed, longest: longest, start: start, into: &segments, timings: &timings, context: &context) }
                    break
                }
                emitPieces(buffer, lo, hi, longest: longest, start: start, into: &segments, timings: &timings, context: &context)
            }
            buffer.removeFirst(consumed)
            start += consumed
        }
    }

    /// Classifies `buffer[lo..<hi]` in equal pieces of at most `longest` samples.
    /// The first and last pieces also read the model's speech margin of the
    /// buffer beyond the region, as its training recordings did.
    private func emitPieces(_ buffer: [Float], _ lo: Int, _ hi: Int, longest: Int, start: Int,
                            into segments: inout [SegmentEstimate], timings: inout StageTimings, context: inout Context) {
        let rate = Double(model.sampleRate)
        let count = max(1, Int((Double(hi - lo) / Double(longest)).rounded(.up)))
        let size = (hi - lo + count - 1) / count
        let region = model.trimsToSpeech ? pipeline.widened(lo..<hi, within: buffer.count) : lo..<hi
        var a = lo
        while a < hi {
            let b = min(hi, a + size)
            let read = (a == lo ? region.lowerBound : a)..<(b == hi ? region.upperBound : b)
            if let classification = classify(Array(buffer[read]), timings: &timings, context: &context) {
                segments.append(SegmentEstimate(start: Double(start + a) / rate, end: Double(start + b) / rate,
                                                estimate: EmotionEstimate(classification, minimumConfidence: options.minimumConfidence),
                                                speechLevelDBFS: pipeline.speechLevelDBFS(of: buffer, span: a..<b)))
            }
            a = b
        }
    }

    /// The duration-weighted mean of the segments' probabilities.
    private func summary(of segments: [SegmentEstimate]) -> EmotionEstimate {
        guard !segments.isEmpty else { return .noSpeech }
        let labels = model.labels
        var weights = [Double](repeating: 0, count: labels.count), genders = [0.0, 0.0]
        var total = 0.0, hasGender = false
        for segment in segments {
            let w = segment.end - segment.start
            total += w
            for (i, label) in labels.enumerated() { weights[i] += w * (segment.estimate.probabilities?[label] ?? 0) }
            if let g = segment.estimate.gender {
                hasGender = true
                let male = g.label == "male" ? g.confidence : 1 - g.confidence
                genders[1] += w * male
                genders[0] += w * (1 - male)
            }
        }
        let probabilities = weights.map { $0 / max(total, 1e-9) }
        let classification = Classification(labels: labels, probabilities: probabilities,
                                            genderProbabilities: hasGender ? genders.map { $0 / max(total, 1e-9) } : nil)
        return EmotionEstimate(classification, minimumConfidence: options.minimumConfidence)
    }
}

