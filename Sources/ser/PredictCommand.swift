import Foundation
import ArgumentParser
import SERAudio
import SERBatch
import SERCorpora
import SERFeatures
import SERModels
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
    @OptionGroup var answers: AnswerOptions
    @Flag(help: "Print the time spent decoding, resampling, detecting speech, computing features and running the model.") var timings = false
    @OptionGroup var speakerOptions: SpeakerOptions

    func validate() throws {
        if paths.filter({ $0 == "-" }).count > 1 { throw ValidationError("standard input (-) can be read once.") }
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
        let inputs = try batch.manifest == nil ? InputFiles.batchInputs(paths) : InputFiles.batchInputs(batch.inputs(paths: paths))
        guard !inputs.isEmpty else { throw ValidationError("no audio files found in \(batch.manifest ?? paths.joined(separator: " ")).") }
        let run: PredictionRun
        do {
            run = try PredictionRun(recognizer: EmotionRecognizer(model: emotionModel, options: answers.recognitionOptions),
                                    inputs: inputs.map(\.prediction), speakers: try speakerOptions.rule(for: inputs.map(\.path), model: emotionModel))
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
            return try output.report(results, layout: layout)
        }
        let identity = RunIdentity(fingerprint: try fingerprint(layout: layout), manifestDigest: InputFiles.digest(of: inputs),
                                   manifestEntries: inputs.count, shard: shard)
        try output.writeAsTheyCome(to: shard?.partPath(for: out) ?? out, identity: identity, isShard: shard != nil, layout: layout, chunkSize: batch.chunkSize,
                                   entries: owned, progress: progress) { run.answer($0, statistics: statistics) }
    }

    /// Everything that shapes the answers: the model's bytes, the options, the layout.
    private func fingerprint(layout: PredictionFormat) throws -> String {
        let modelPath = try model ?? DefaultModel.path()
        guard let modelDigest = try? SHA256.hexDigest(ofFile: modelPath) else { throw CommandFailure("\(modelPath): cannot read the model") }
        let profileDigest = try speakerOptions.profile.map { path -> String in
            guard let digest = try? SHA256.hexDigest(ofFile: path) else { throw CommandFailure("\(path): cannot read the profile") }
            return digest
        }
        return ["ser predict", "model=\(modelDigest)", "layout=\(layout.rawValue)", "segmentation=\(answers.segmentationTag)",
                "min-confidence=\(answers.minConfidence.map { String($0) } ?? "-")", "timings=\(timings)", "same-speaker=\(speakerOptions.sameSpeaker)",
                "speakers=\(speakerOptions.speakers ?? "-")", "profile=\(profileDigest ?? "-")"].joined(separator: "|")
    }
}
