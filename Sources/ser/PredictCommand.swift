import ArgumentParser
import Foundation
import SERAudio
import SERFeatures
import SERModels
import SERRecognition
import SERSupport

/// `ser predict`: the emotion in recordings.
struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Say which emotion each recording carries, and the speaker's gender, with probabilities.",
        discussion: """
        Takes files, folders (searched recursively), glob patterns and `-` for audio on \
        standard input, in any format ser reads. Each recording is resampled to the \
        model's rate; leading and trailing silence is trimmed by voice activity detection. \
        Silence, noise and steady sounds report "speech": false and no emotion. \
        Recordings over 30 s (or with --segments) are cut into utterances by voice \
        activity, or into fixed windows with --window/--hop, and get a timeline plus an \
        overall answer (segment probabilities averaged by duration); audio is streamed, \
        so hour-long files run in bounded memory.

        Probabilities are calibrated (temperature scaling on validation speakers); with \
        --min-confidence P a lower top probability is reported as "uncertain".

        Output: a table on a terminal, JSON lines when piped; or --format \
        table|json|jsonl|csv. JSON fields per file: path, duration, sample_rate, speech, \
        emotion, confidence, probabilities, gender {label, confidence}, speech_start, \
        speech_end, and segments [{start, end, speech, emotion, confidence, probabilities}] \
        when segmented; a failed file is {path, error}.

        Exit status: 0 when every file was answered, 1 when some failed, 2 for usage errors.

        Examples:
          ser predict my-voice.m4a
          ser predict recordings/ --format csv > emotions.csv
          ser predict interview.mp4 --segments --format json
          arecord -f S16_LE -r 16000 -d 3 | ser predict -
        """
    )

    @Argument(help: ArgumentHelp("Audio files, folders, glob patterns, or - for standard input.", valueName: "path"))
    var paths: [String]

    @Option(help: ArgumentHelp("The model to use (default: the shipped model).", valueName: "model")) var model: String?
    @Option(help: "Output layout: table, json, jsonl or csv (default: table on a terminal, jsonl otherwise).") var format: PredictionFormat?
    @Flag(help: "Cut recordings into utterances by voice activity and return a timeline.") var segments = false
    @Flag(help: "One answer per recording, however long.") var noSegments = false
    @Option(help: ArgumentHelp("Fixed analysis windows of this many seconds (implies a timeline).", valueName: "seconds")) var window: Double?
    @Option(help: ArgumentHelp("Seconds between window starts (default: half the window).", valueName: "seconds")) var hop: Double?
    @Option(help: ArgumentHelp("Report answers below this probability as uncertain.", valueName: "p")) var minConfidence: Double?
    @Flag(help: "Print the time spent decoding, resampling, detecting speech, computing features and running the model.") var timings = false
    @Flag(help: ArgumentHelp("All inputs are recordings of one speaker: a model trained with --speaker-normalization standardizes their features by their own statistics (it needs this, and at least 5 recordings)."))
    var sameSpeaker = false

    func validate() throws {
        if let window, case .failure(let error) = Segmentation.checkedWindow(seconds: window, hop: hop) {
            throw ValidationError("--window/--hop: \(error.message).")
        }
        if hop != nil && window == nil { throw ValidationError("--hop needs --window.") }
        if let minConfidence, !(0...1).contains(minConfidence) { throw ValidationError("--min-confidence is a probability between 0 and 1.") }
        if segments && noSegments { throw ValidationError("choose one of --segments and --no-segments.") }
        if paths.filter({ $0 == "-" }).count > 1 { throw ValidationError("standard input (-) can be read once.") }
    }

    func run() throws {
        let loadStarted = ContinuousClock.now
        let emotionModel = try EmotionModel(contentsOf: model ?? DefaultModel.path())
        let loadSeconds = (ContinuousClock.now - loadStarted)
        var options = RecognitionOptions()
        options.minimumConfidence = minConfidence
        if let window {
            options.segmentation = .window(seconds: window, hop: hop ?? window / 2)
        } else if segments {
            options.segmentation = .speech
        } else if noSegments {
            options.segmentation = .whole
        }
        let inputs = try expandedInputs()
        guard !inputs.isEmpty else { throw ValidationError("no audio files found in \(paths.joined(separator: " ")).") }
        if emotionModel.normalizesPerSpeaker {
            guard sameSpeaker else {
                throw CommandFailure("\(model ?? "the model") reads features z-scored per speaker (trained with --speaker-normalization): give at least \(SpeakerNormalization.minimumRecordings) recordings of one speaker and --same-speaker, or use a model trained without it")
            }
            useSingleThreadedBLAS()
            options.speakerStatistics = try speakerStatistics(of: inputs, model: emotionModel)
        } else if sameSpeaker {
            Terminal.printError("ser: note: --same-speaker has no effect: this model reads each recording on its own")
        }
        let recognizer = EmotionRecognizer(model: emotionModel, options: options)
        let layout = format ?? (isatty(STDOUT_FILENO) == 1 ? .table : .jsonl)
        if timings { Terminal.printError("ser: model loaded in \(loadSeconds.formatted(.units(allowed: [.milliseconds])))") }

        useSingleThreadedBLAS()
        let progress = ProgressBar(total: inputs.count, label: "predict")
        let results: [PredictionEntry] = parallelMap(count: inputs.count, onCompletion: { progress.update(finished: $0) }) { index in
            let input = inputs[index]
            do {
                let recognition = try recognizer.recognize(path: input.path)
                return PredictionEntry(path: input.displayName, result: .success(recognition))
            } catch {
                return PredictionEntry(path: input.displayName, result: .failure(Terminal.message(for: error, path: input.displayName)))
            }
        }
        progress.finish()
        try PredictionOutput(entries: results, labels: emotionModel.labels, includeTimings: timings).write(layout)
        if timings {
            for entry in results {
                guard case .success(let r) = entry.result else { continue }
                let t = r.timings
                Terminal.printError(String(format: "%@: decode %.1f ms, resample %.1f ms, speech detection %.1f ms, features %.1f ms, model %.2f ms",
                                           entry.path, 1000 * t.decode, 1000 * t.resample, 1000 * t.voiceActivity, 1000 * t.features, 1000 * t.model))
            }
        }
        let failures = results.filter { if case .failure = $0.result { return true } else { return false } }
        for failure in failures { if case .failure(let message) = failure.result { Terminal.printError("ser: \(message)") } }
        if !failures.isEmpty { throw SomeInputsFailed() }
    }

    /// The statistics of the speaker's recordings: each input's speech, trimmed as
    /// training trimmed it, as one feature vector (inputs that fail are left out here
    /// and reported by the prediction pass).
    private func speakerStatistics(of inputs: [Input], model: EmotionModel) throws -> Standardizer {
        let pipeline = model.pipeline
        let progress = ProgressBar(total: inputs.count, label: "speaker statistics")
        let vectors: [[Float]?] = parallelMap(count: inputs.count, onCompletion: { progress.update(finished: $0) }) { index in
            guard let vector = try? pipeline.vector(ofFile: inputs[index].path), vector.allSatisfy(\.isFinite) else { return nil }
            return vector
        }
        progress.finish()
        let usable = vectors.compactMap { $0 }
        guard usable.count >= SpeakerNormalization.minimumRecordings else {
            throw CommandFailure("--same-speaker needs at least \(SpeakerNormalization.minimumRecordings) readable recordings of the speaker to standardize by; got \(usable.count)")
        }
        return Standardizer(fittingRows: usable)
    }

    /// One input: a file, or standard input spooled to a temporary file.
    struct Input: Sendable {
        var path: String
        var displayName: String
    }

    private func expandedInputs() throws -> [Input] {
        var inputs: [Input] = []
        for path in paths {
            if path == "-" {
                let data = FileHandle.standardInput.readDataToEndOfFile()
                let temporary = FileManager.default.temporaryDirectory.appendingPathComponent("ser-stdin-\(getpid())").path
                try AtomicFile.write(data, to: temporary)
                StandardInputSpool.register(temporary)
                inputs.append(Input(path: temporary, displayName: "-"))
                continue
            }
            var matches = [path]
            if path.contains(where: { "*?[".contains($0) }) && !FileManager.default.fileExists(atPath: path) {
                matches = Glob.expand(path)
                if matches.isEmpty { matches = [path] }   // reported as not found
            }
            for match in matches {
                for item in InputFiles.expand([match], recursive: true) {
                    inputs.append(Input(path: item.path, displayName: item.path))
                }
            }
        }
        return inputs
    }
}

/// Removes spooled standard input at exit.
enum StandardInputSpool {
    nonisolated(unsafe) private static var paths: [String] = []
    static func register(_ path: String) {
        if paths.isEmpty { atexit { for path in StandardInputSpool.paths { unlink(path) } } }
        paths.append(path)
    }
}

/// Shell-style pattern expansion for patterns the shell left alone (quoted).
enum Glob {
    static func expand(_ pattern: String) -> [String] {
        var result = glob_t()
        defer { globfree(&result) }
        guard glob(pattern, 0, nil, &result) == 0 else { return [] }
        return (0..<Int(result.gl_pathc)).compactMap { result.gl_pathv[$0].map { String(cString: $0) } }
    }
}

enum PredictionFormat: String, ExpressibleByArgument, CaseIterable {
    case table, json, jsonl, csv
}

struct PredictionEntry: Sendable {
    enum Result: Sendable {
        case success(Recognition)
        case failure(String)
    }
    var path: String
    var result: Result
}

/// Writes predictions in each layout.
struct PredictionOutput {
    var entries: [PredictionEntry]
    var labels: [String]
    var includeTimings: Bool

    func write(_ layout: PredictionFormat) throws {
        switch layout {
        case .json:
            let objects = entries.map(jsonObject)
            Terminal.print(jsonString(objects, pretty: true))
        case .jsonl:
            for entry in entries { Terminal.print(jsonString(jsonObject(entry), pretty: false)) }
        case .csv:
            Terminal.print((["path", "duration", "speech", "emotion", "confidence", "gender", "gender_confidence"] + labels + ["error"])
                .joined(separator: ","))
            for entry in entries {
                switch entry.result {
                case .success(let r):
                    let e = r.estimate
                    var cells = [csvField(entry.path), String(format: "%.3f", r.duration), String(e.speech), e.emotion ?? "",
                                 e.confidence.map { String(format: "%.4f", $0) } ?? "", e.gender?.label ?? "",
                                 e.gender.map { String(format: "%.4f", $0.confidence) } ?? ""]
                    cells += labels.map { label in e.probabilities?[label].map { String(format: "%.4f", $0) } ?? "" }
                    Terminal.print((cells + [""]).joined(separator: ","))
                case .failure(let message):
                    Terminal.print(([csvField(entry.path)] + Array(repeating: "", count: 6 + labels.count) + [csvField(message)]).joined(separator: ","))
                }
            }
        case .table:
            var table = TextTable(header: ["file", "emotion", "confidence", "runners-up", "gender", "duration"], rightAligned: [2, 5])
            for entry in entries {
                switch entry.result {
                case .success(let r):
                    let e = r.estimate
                    let runners = e.ranked.dropFirst().prefix(2).map { String(format: "%@ %.0f%%", $0.label, 100 * $0.probability) }
                    table.rows.append([entry.path, e.speech ? (e.emotion ?? "") : "(no speech)",
                                       e.confidence.map { String(format: "%.0f%%", 100 * $0) } ?? "",
                                       runners.joined(separator: ", "),
                                       e.gender.map { String(format: "%@ %.0f%%", $0.label, 100 * $0.confidence) } ?? "",
                                       String(format: "%.1f s", r.duration)])
                    for segment in r.segments ?? [] {
                        let s = segment.estimate
                        table.rows.append([String(format: "  %7.2f–%.2f s", segment.start, segment.end),
                                           s.speech ? (s.emotion ?? "") : "(no speech)",
                                           s.confidence.map { String(format: "%.0f%%", 100 * $0) } ?? "", "", "", ""])
                    }
                case .failure:
                    table.rows.append([entry.path, "(failed)", "", "", "", ""])
                }
            }
            Terminal.print(table.render())
        }
    }

    private func jsonObject(_ entry: PredictionEntry) -> [String: Any] {
        switch entry.result {
        case .failure(let message): return RecognitionJSON.failure(path: entry.path, message: message)
        case .success(let r): return RecognitionJSON.object(for: r, path: entry.path, includeTimings: includeTimings)
        }
    }

    private func jsonString(_ object: Any, pretty: Bool) -> String {
        RecognitionJSON.text(object, pretty: pretty)
    }

    private func csvField(_ text: String) -> String {
        text.contains(where: { ",\"\n".contains($0) }) ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
    }
}
