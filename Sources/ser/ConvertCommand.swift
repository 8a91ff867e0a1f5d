import ArgumentParser
import Foundation
import SERAudio
import SERSupport

extension AudioFileFormat: ExpressibleByArgument {}
extension SampleEncoding: ExpressibleByArgument {}

/// `ser convert`: any recording to WAV or FLAC, optionally resampled and mixed down.
struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert audio or video files to WAV or FLAC, optionally resampled and mixed to mono.",
        discussion: """
        With one input, --out may name the output file (its extension picks the format) \
        or a directory. With several inputs or --recursive, --out is a directory, created \
        if needed; outputs keep the input's name with the new extension and, under \
        --recursive, the input's sub-directories.

        Conversion streams block by block, so hours-long recordings use little memory. \
        Resampling is libsoxr at librosa's default quality (soxr_hq); mixing to mono \
        averages the channels, as librosa does. Each output is written to a temporary \
        file and renamed into place when complete, so an interrupted run never leaves \
        a partial file.

        Examples:
          ser convert clip.mp4 --out clip.wav
          ser convert a.m4a b.ogg --out converted/ --sample-rate 16000 --mono
          ser convert -r corpus/ --out corpus16k/ --sample-rate 16000 --mono --format flac
        """
    )

    @Argument(help: ArgumentHelp("Audio or video files (directories with --recursive).", valueName: "input"))
    var inputs: [String]

    @Option(name: .shortAndLong, help: ArgumentHelp("Output file, or directory for several inputs.", valueName: "path"))
    var out: String

    @Option(help: ArgumentHelp("Resample to this rate in Hz (default: keep each file's rate).", valueName: "hz"))
    var sampleRate: Int?

    @Flag(help: "Mix all channels down to one (channel mean).")
    var mono = false

    @Option(help: "Output container: wav or flac (default: from --out's extension, else wav).")
    var format: AudioFileFormat?

    @Option(help: ArgumentHelp("Sample format: 16, 24, 32 (integer) or 32f (float; WAV only).", valueName: "bits"))
    var bitDepth: SampleEncoding = .pcm16

    @Flag(name: .shortAndLong, help: "Walk directories for audio files.")
    var recursive = false

    func validate() throws {
        let rates = AudioStream.acceptedSampleRates
        if let sampleRate, !rates.contains(sampleRate) {
            throw ValidationError("--sample-rate must be between \(rates.lowerBound) and \(rates.upperBound) Hz (got \(sampleRate)).")
        }
        if let format, let implied = AudioFileFormat(pathExtension: (out as NSString).pathExtension),
           implied != format, !writesToDirectory {
            throw ValidationError("--format \(format.rawValue) contradicts the output name \(out).")
        }
        if !writesToDirectory, !(out as NSString).pathExtension.isEmpty,
           AudioFileFormat(pathExtension: (out as NSString).pathExtension) == nil {
            throw ValidationError("cannot write \((out as NSString).pathExtension) files; name the output .wav or .flac (or pass a directory).")
        }
        if resolvedFormat == .flac && !(bitDepth == .pcm16 || bitDepth == .pcm24) {
            throw ValidationError("FLAC stores 16- or 24-bit integers: use --bit-depth 16 or 24 with FLAC.")
        }
    }

    /// Whether `--out` names a directory rather than a file.
    private var writesToDirectory: Bool {
        if inputs.count > 1 || recursive || out.hasSuffix("/") { return true }
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: out, isDirectory: &isDirectory) && isDirectory.boolValue
    }

    private var resolvedFormat: AudioFileFormat {
        if let format { return format }
        if !writesToDirectory, let implied = AudioFileFormat(pathExtension: (out as NSString).pathExtension) {
            return implied
        }
        return .wav
    }

    func run() throws {
        let items = InputFiles.expand(inputs, recursive: recursive)
        let format = resolvedFormat
        let jobs = try plan(items, format: format)

        let progress = ProgressBar(total: jobs.count, label: "convert")
        let sampleRate = sampleRate, mono = mono, encoding = bitDepth
        let results: [Result<ConversionSummary, Error>] = parallelMap(
            count: jobs.count, onCompletion: { progress.update(finished: $0) }
        ) { index in
            let job = jobs[index]
            if let conflict = job.conflict { return .failure(conflict) }
            return Result {
                try ConversionSummary(converting: job.input, to: job.output, format: format, encoding: encoding,
                                      sampleRate: sampleRate, mono: mono,
                                      onProgress: { progress.update(fraction: $0) })
            }
        }
        progress.finish()

        var failed = false
        for (job, result) in zip(jobs, results) {
            switch result {
            case .success(let summary):
                Terminal.print("\(job.input) -> \(job.output)  (\(summary.sampleRate) Hz, \(summary.channels) ch, "
                    + String(format: "%.2f s)", summary.duration))
            case .failure(let error):
                failed = true
                Terminal.report(error, for: job.input)
            }
        }
        if failed { throw ExitCode.someInputsFailed }
    }

    private struct Job: Sendable {
        var input: String
        var output: String
        var conflict: AudioError?
    }

    /// Decides each input's output path, creating directories; two inputs that
    /// would write the same output make the second one fail rather than overwrite.
    private func plan(_ items: [InputFiles.Item], format: AudioFileFormat) throws -> [Job] {
        guard writesToDirectory else {
            return items.map { Job(input: $0.path, output: out) }
        }
        do {
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        } catch {
            throw ValidationError("cannot create output directory \(out): \(error.localizedDescription)")
        }
        var claimed: [String: String] = [:]
        return items.map { item in
            let relative = item.relativePath ?? (item.path as NSString).lastPathComponent
            let stem = (relative as NSString).deletingPathExtension
            let output = (out as NSString).appendingPathComponent(stem + "." + format.fileExtension)
            let parent = (output as NSString).deletingLastPathComponent
            try? FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
            if let earlier = claimed[output] {
                return Job(input: item.path, output: output, conflict: .writeFailed(
                    path: output, reason: "\(item.path) and \(earlier) would both write it; convert them separately"))
            }
            claimed[output] = item.path
            return Job(input: item.path, output: output)
        }
    }
}

/// The outcome of one conversion.
struct ConversionSummary: Sendable {
    var sampleRate: Int
    var channels: Int
    var duration: Double

    /// Streams `input` through decode → mix → resample → encode into `output`,
    /// reporting the fraction done when the input's length is known.
    init(converting input: String, to output: String, format: AudioFileFormat, encoding: SampleEncoding,
         sampleRate: Int?, mono: Bool, onProgress: (Double) -> Void = { _ in }) throws {
        let stream = try AudioStream(path: input, sampleRate: sampleRate, mono: mono)
        let expected = stream.estimatedOutputFrames
        try AudioFileWriter.write(to: output, format: format, encoding: encoding,
                                  sampleRate: stream.outputSampleRate, channels: stream.outputChannels,
                                  expectedFrames: expected) { writer in
            try stream.forEachBlock { block in
                try writer.append(block)
                if let expected, expected > 0 { onProgress(Double(stream.producedFrames) / Double(expected)) }
            }
        }
        self.sampleRate = stream.outputSampleRate
        self.channels = stream.outputChannels
        self.duration = Double(stream.producedFrames) / Double(stream.outputSampleRate)
    }
}
