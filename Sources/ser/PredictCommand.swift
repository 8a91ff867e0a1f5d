import Foundation
import ArgumentParser
import SERAudio
import SERBatch
import SERCorpora
import SERFeatures
import SERModels
import SERNumerics
import SERRecognition
import SERSpeakers
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
        when segmented, adaptation {speaker, utterances} when the answer was adapted to \
        a speaker; a failed file is {path, error}.

        Speaker adaptation: a model trained with --adaptive (the shipped one is) answers \
        better when it knows other recordings of the same voice. --same-speaker, \
        --speakers or --profile tell it who speaks; each answer then blends in the \
        classifier of speaker-standardized features, more so the more recordings the \
        group has (features are computed in a first pass over the group).

        Large batches: --out FILE.jsonl (or .csv) writes the answers as they come, so an \
        interrupted run resumes where it stopped; with --manifest and --shard I/N (or a \
        Kubernetes Indexed Job's or Slurm array's variables) each process answers its shard \
        into a part beside FILE, and `ser merge` joins the parts into what one process writes. \
        With --speakers, a speaker's files all go to one shard, so answers adapt as in one run.

        Exit status: 0 when every file was answered, 1 when some failed, 2 for usage errors.

        Examples:
          ser predict my-voice.m4a
          ser predict recordings/ --format csv > emotions.csv
          ser predict interview.mp4 --segments --format json
          arecord -f S16_LE -r 16000 -d 3 | ser predict -
          ser predict sessions/ --speakers by-folder
          ser predict call-17/*.wav --profile alice.json
          ser predict --manifest files.jsonl --shard 2/8 --out emotions.jsonl
        """
    )

    @Argument(help: ArgumentHelp("Audio files, folders, glob patterns, or - for standard input.", valueName: "path"))
    var paths: [String] = []

    @OptionGroup var batch: BatchOptions

    @Option(name: .shortAndLong, help: ArgumentHelp("Write the answers to this file, .jsonl or .csv (the layout follows the extension), instead of standard output. Written as it goes: rerun the same command after an interruption and it resumes. Needed by --shard.", valueName: "file"))
    var out: String?

    @Option(help: ArgumentHelp("The model to use (default: the shipped model).", valueName: "model")) var model: String?
    @Option(help: "Output layout: table, json, jsonl or csv (default: table on a terminal, jsonl otherwise).") var format: PredictionFormat?
    @Flag(help: "Cut recordings into utterances by voice activity and return a timeline.") var segments = false
    @Flag(help: "One answer per recording, however long.") var noSegments = false
    @Option(help: ArgumentHelp("Fixed analysis windows of this many seconds (implies a timeline).", valueName: "seconds")) var window: Double?
    @Option(help: ArgumentHelp("Seconds between window starts (default: half the window).", valueName: "seconds")) var hop: Double?
    @Option(help: ArgumentHelp("Report answers below this probability as uncertain.", valueName: "p")) var minConfidence: Double?
    @Flag(help: "Print the time spent decoding, resampling, detecting speech, computing features and running the model.") var timings = false
    @Flag(help: ArgumentHelp("All inputs are recordings of one speaker: the model adapts its answers to their voice (the statistics of all of them). Same as --speakers with one group."))
    var sameSpeaker = false
    @Option(help: ArgumentHelp("Group the inputs by speaker and adapt the answers within each group: by-folder (one speaker per folder), by-corpus (the speaker in RAVDESS, CREMA-D, TESS or SAVEE file names), or a CSV file with path and speaker columns. Use it when a batch holds several recordings of each voice; files in no group are answered on their own.", valueName: "by-folder|by-corpus|file.csv"))
    var speakers: String?
    @Option(help: ArgumentHelp("Adapt every answer to the speaker of this profile (ser profile create); all inputs are taken to be that speaker.", valueName: "profile.json"))
    var profile: String?

    func validate() throws {
        if let window, case .failure(let error) = Segmentation.checkedWindow(seconds: window, hop: hop) {
            throw ValidationError("--window/--hop: \(error.message).")
        }
        if hop != nil && window == nil { throw ValidationError("--hop needs --window.") }
        if let minConfidence, !(0...1).contains(minConfidence) { throw ValidationError("--min-confidence is a probability between 0 and 1.") }
        if segments && noSegments { throw ValidationError("choose one of --segments and --no-segments.") }
        if paths.filter({ $0 == "-" }).count > 1 { throw ValidationError("standard input (-) can be read once.") }
        if [sameSpeaker, speakers != nil, profile != nil].filter({ $0 }).count > 1 {
            throw ValidationError("choose one of --same-speaker, --speakers and --profile: each says who speaks in the inputs.")
        }
        if let speakers, !["by-folder", "by-corpus"].contains(speakers), !speakers.lowercased().hasSuffix(".csv") {
            throw ValidationError("--speakers takes by-folder, by-corpus or a .csv file of path,speaker rows.")
        }
        if paths.isEmpty && batch.manifest == nil { throw ValidationError("give audio files, folders or -, or --manifest FILE.") }
        if let out {
            guard let layout = PredictionFormat(rawValue: (out as NSString).pathExtension.lowercased()), [.jsonl, .csv].contains(layout) else {
                throw ValidationError("--out must end in .jsonl or .csv.")
            }
            if let format, format != layout { throw ValidationError("--format \(format.rawValue) disagrees with --out \(out); leave --format out.") }
            if paths.contains("-") { throw ValidationError("standard input (-) cannot be resumed or sharded: save it to a file first.") }
        } else if batch.shard != nil || batch.shards != nil {
            throw ValidationError("--shard writes a part beside --out FILE.jsonl or FILE.csv: give --out.")
        }
    }

    func run() throws {
        let loadStarted = ContinuousClock.now
        let emotionModel = try EmotionModel(contentsOf: model ?? DefaultModel.path())
        if timings { Terminal.printError("ser: model loaded in \((ContinuousClock.now - loadStarted).formatted(.units(allowed: [.milliseconds])))") }
        let inputs = try batch.manifest == nil ? expandedInputs() : manifestInputs()
        guard !inputs.isEmpty else { throw ValidationError("no audio files found in \(batch.manifest ?? paths.joined(separator: " ")).") }
        let run: PredictionRun
        do {
            run = try PredictionRun(recognizer: EmotionRecognizer(model: emotionModel, options: recognitionOptions),
                                    inputs: inputs.map(\.prediction), speakers: try speakerRule(for: inputs, model: emotionModel))
        } catch PredictionRun.Failure.speakersRequired {
            throw CommandFailure("\(model ?? "the model") reads features z-scored per speaker (trained with --speaker-normalization): say who speaks with --same-speaker, --speakers or --profile (at least \(SpeakerNormalization.minimumRecordings) recordings each), or use a model trained without it")
        }
        let layout = out.flatMap { PredictionFormat(rawValue: ($0 as NSString).pathExtension.lowercased()) }
            ?? format ?? (isatty(STDOUT_FILENO) == 1 ? .table : .jsonl)
        // A shard takes whole speaker groups, so its answers adapt as a single run's would.
        let shard = out == nil ? nil : try batch.resolvedShard()
        let owned = shard.map { shard in
            inputs.indices.filter { shard.owns(key: run.groups[$0].map { "speaker:" + $0 } ?? inputs[$0].shardKey) }
        } ?? Array(inputs.indices)
        let output = PredictionOutput(labels: emotionModel.labels, includeTimings: timings)
        let learning = ProgressBar(total: owned.filter { run.groups[$0] != nil }.count, label: "speaker statistics")
        let progress = ProgressBar(total: owned.count, label: shard.map { "predict \($0)" } ?? "predict")
        let statistics = run.speakerStatistics(among: owned, onCompletion: { learning.update(finished: $0) })
        learning.finish()
        guard let out else {
            let results = run.answers(owned, statistics: statistics, onCompletion: { progress.update(finished: $0) })
            progress.finish()
            try output.write(results, layout: layout)
            if timings { Self.printTimings(results) }
            let failures = results.compactMap { if case .failure(let failure) = $0.result { failure } else { nil } }
            for failure in failures { Terminal.printError("ser: \(failure)") }
            if !failures.isEmpty { throw SomeInputsFailed() }
            return
        }
        // To a file, written as it goes: an interrupted run resumes where it stopped.
        let destination = shard?.partPath(for: out) ?? out
        let identity = RunIdentity(fingerprint: try fingerprint(layout: layout), manifestDigest: Self.digest(of: inputs),
                                   manifestEntries: inputs.count, shard: shard)
        let writer = TableWriter(destination: destination, layout: layout == .csv ? .csv(header: output.csvHeader + "\n") : .jsonLines,
                                 identity: identity, writesCompletionRecord: shard != nil, chunkSize: batch.chunkSize)
        let summary = try writer.run(entries: owned, onProgress: { progress.update(finished: $0) }) { index in
            let entry = run.answer(index, statistics: statistics)
            var failure: String?
            if case .failure(let reason) = entry.result {
                failure = reason.message
                Terminal.printError("ser: \(reason)")
            }
            return EntryOutput(bytes: Data((output.record(for: entry, layout: layout) + "\n").utf8), records: 1, failure: failure)
        }
        progress.finish()
        if summary.alreadyComplete {
            Terminal.printError("ser: \(destination) is already complete (\(summary.entries) files); nothing to do")
        } else if summary.resumed > 0 {
            Terminal.printError("ser: resumed \(destination) after \(summary.resumed) of \(owned.count) files")
        }
        if summary.failedEntries > 0 { throw SomeInputsFailed() }
    }

    /// The recognition options the flags ask for.
    private var recognitionOptions: RecognitionOptions {
        var options = RecognitionOptions()
        options.minimumConfidence = minConfidence
        if let window {
            options.segmentation = .window(seconds: window, hop: hop ?? window / 2)
        } else if segments {
            options.segmentation = .speech
        } else if noSegments {
            options.segmentation = .whole
        }
        return options
    }

    private static func printTimings(_ results: [PredictionOutcome]) {
        for entry in results {
            guard case .success(let r) = entry.result else { continue }
            let t = r.timings
            Terminal.printError(String(format: "%@: decode %.1f ms, resample %.1f ms, speech detection %.1f ms, features %.1f ms, model %.2f ms",
                                       entry.input.name, 1000 * t.decode, 1000 * t.resample, 1000 * t.voiceActivity, 1000 * t.features, 1000 * t.model))
        }
    }

    /// Who speaks in the inputs, as --same-speaker, --speakers or --profile say.
    private func speakerRule(for inputs: [Input], model: EmotionModel) throws -> SpeakerRule {
        if !model.usesSpeakerStatistics {
            if sameSpeaker || speakers != nil || profile != nil {
                Terminal.printError("ser: note: --same-speaker, --speakers and --profile have no effect: this model reads each recording on its own (retrain with --adaptive)")
            }
            return .unknown
        }
        if let profile {
            let loaded = try SpeakerProfile(contentsOf: profile)
            try loaded.check(against: model.pipeline, path: profile)
            return .knownSpeaker(name: loaded.name, statistics: loaded.statistics)
        }
        if sameSpeaker { return .sameSpeaker }
        switch speakers {
        case nil: return .unknown
        case "by-folder": return .byFolder
        case "by-corpus": return .groups(inputs.map { CorpusReader.speakerGroup(ofPath: $0.path) })
        case let table?:
            let speakerTable = try SpeakerTable(contentsOf: table)
            return .groups(inputs.map { speakerTable.speaker(of: $0.path) })
        }
    }

    /// One input: a file, or standard input spooled to a temporary file.
    struct Input: Sendable {
        var path: String
        var displayName: String
        /// Its content hash, when a manifest lists one.
        var sha256: String?

        /// As a manifest entry: what picks its shard and makes the run's digest.
        var entry: ManifestEntry { ManifestEntry(path: displayName, sha256: sha256) }
        var shardKey: String { entry.shardKey }
        var prediction: PredictionInput { PredictionInput(path: path, name: displayName) }
    }

    private func manifestInputs() throws -> [Input] {
        let manifest = try batch.inputs(paths: paths)
        return manifest.entries.map { Input(path: manifest.resolvedPath(of: $0), displayName: $0.path, sha256: $0.sha256) }
    }

    /// The digest of the input list, as `FileManifest.digest` computes it.
    private static func digest(of inputs: [Input]) -> String {
        FileManifest(entries: inputs.map(\.entry), baseDirectory: "/").digest
    }

    /// Everything that shapes the answers: the model's bytes, the options, the layout.
    private func fingerprint(layout: PredictionFormat) throws -> String {
        let modelPath = try model ?? DefaultModel.path()
        guard let modelDigest = try? SHA256.hexDigest(ofFile: modelPath) else { throw CommandFailure("\(modelPath): cannot read the model") }
        let profileDigest = try profile.map { path -> String in
            guard let digest = try? SHA256.hexDigest(ofFile: path) else { throw CommandFailure("\(path): cannot read the profile") }
            return digest
        }
        let segmentation = window.map { "window=\($0)/\(hop ?? $0 / 2)" } ?? (segments ? "segments" : noSegments ? "whole" : "auto")
        return ["ser predict", "model=\(modelDigest)", "layout=\(layout.rawValue)", "segmentation=\(segmentation)",
                "min-confidence=\(minConfidence.map { String($0) } ?? "-")", "timings=\(timings)", "same-speaker=\(sameSpeaker)",
                "speakers=\(speakers ?? "-")", "profile=\(profileDigest ?? "-")"].joined(separator: "|")
    }

    private func expandedInputs() throws -> [Input] {
        var inputs: [Input] = []
        for path in paths {
            if path == "-" {
                let data = try FileHandle.standardInput.readToEnd() ?? Data()
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
