import ArgumentParser
import Foundation
import SERNumerics
import Synchronization
import SERAudio
import SERBatch
import SERCorpora
import SEREncoder
import SERFeatures
import SERRecognition
import SERSupport
import SERTraining

extension FeatureKind: ExpressibleByArgument {}
extension FeaturePreset: ExpressibleByArgument {}
extension Pooling: ExpressibleByArgument {}

/// `ser features`: librosa-compatible features for files or whole corpora.
struct FeaturesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "features",
        abstract: "Compute acoustic features (numerically as librosa 0.11 does) for files or folders.",
        discussion: """
        One feature's frame matrix (features × frames, librosa's layout) for one file:
          ser features take.wav --feature mfcc --n-mfcc 40 --frames --out take-mfcc.npy

        One row per file, each feature pooled over frames (--pool mean, std, mean+std or functionals):
          ser features corpus/ --feature mfcc --out mfcc-means.csv

        A named preset, one row per file with named columns (all cores, progress on a terminal):
          ser features ravdess/ --preset classic180 --out table.csv

        Pitch: --feature yin gives f0 per frame; --feature pyin gives f0 (NaN when unvoiced), \
        the voiced flag and the voiced probability; pooling skips unvoiced frames.

        Presets (column names are written with the table):
          classic180  MFCC 40 + chroma 12 + mel 128 means: the seed projects' vector
                      (chroma on the magnitude STFT, as their code computes it)
          x193        classic180 + spectral contrast 7 + tonnetz 6 means:
                      the most popular open SER repository's vector
                      (tonnetz of the HPSS harmonic part)
          rich        mean and std of MFCC 20, deltas, delta-deltas, spectral shape,
                      contrast, ZCR, RMS, and pYIN pitch and voicing: 152 values
          richmel     rich + each of 128 mel bands' mean power in dB: 280 values
          functionals 11 statistics (mean, std, p10, p50, p90, p10-p90 range,
                      skewness, kurtosis, slope, min, max) of rich's features
                      and 64 log-mel bands in dB, 25 ms windows every 10 ms:
                      1,540 values
          whisper     the speech encoder's view (Whisper-base, 16 kHz): mean and
                      std over the recording of layers 2, 4 and 6: 3,072 values;
                      needs 'ser encoder install'
          whisper+functionals  both views side by side: 4,612 values
          whisper-blocks  the encoder's view from every transformer block
                      (layers 1-6): 6,144 values, at the same encoding cost
          whisper-blocks+functionals  whisper-blocks and functionals side by
                      side: 7,684 values
          whisper-blocks-weighted(+functionals)  the same, each frame weighted
                      by the square root of its power

        Tables are cached per (audio content, feature settings) in ~/.cache/ser/features \
        (or --cache DIR): a second run over the same files only reads the cache, and an \
        interrupted run resumes. --no-cache skips it.

        Output by extension: .npy (little-endian float32; tables also get a .json sidecar \
        with paths and column names), .csv (with header), or - for CSV on standard output. \
        Audio is decoded as librosa.load does (mono, soxr HQ) at --sample-rate. A table \
        written to a file is journalled as it goes: an interrupted run resumes where it stopped.

        Many machines: list the files once (ser manifest), run each shard with \
        --manifest files.jsonl --shard I/N (or under a Kubernetes Indexed Job or Slurm array), \
        then `ser merge --out FILE`: the merged table equals a one-process run's, byte for byte.
        """
    )

    @Argument(help: ArgumentHelp("Audio files or folders (walked for audio files).", valueName: "path"))
    var paths: [String] = []

    @OptionGroup var batch: BatchOptions

    @Option(help: "A frame-level feature (see --help for the list).")
    var feature: FeatureKind?

    @Option(help: "A named utterance-level preset: classic180, x193, rich, richmel, functionals, whisper, whisper+functionals, whisper-blocks, whisper-blocks+functionals, whisper-blocks-weighted, whisper-blocks-weighted+functionals, or logmel (the networks' 192×64 log-mel image, flattened frame by frame).")
    var preset: FeaturePreset?

    @Flag(help: "Write the frame matrix of one file instead of pooled values.")
    var frames = false

    @Flag(help: ArgumentHelp("With --preset: read each recording as a model does, trimmed to its speech span by the voice activity detector (a file without speech is reported and left out). Use it to export the exact vectors training and prediction see; they share the training feature cache."))
    var trim = false

    @Option(help: ArgumentHelp("With --trim: seconds of the recording kept on each side of the speech span, as `ser train --speech-margin` keeps them (default 0: the span alone). Give the value the model you compare with was trained with (`ser model info` shows it).", valueName: "seconds"))
    var speechMargin: Double = 0

    @Option(help: ArgumentHelp("With a whisper preset: how the speech encoder multiplies, int8 (the default, as models trained by default read) or float32 (the exact path). Give the precision of the model you compare with (`ser model info` shows it).", valueName: "precision"))
    var encoderPrecision: EncoderPrecision = .int8
    @Option(help: "How frames become one value per feature with --feature: mean, std or mean+std.")
    var pool: Pooling = .mean

    @Option(name: .shortAndLong, help: ArgumentHelp("Output: FILE.npy, FILE.csv, or - for CSV on stdout.", valueName: "file"))
    var out: String

    @Option(help: ArgumentHelp("Resample to this rate first (default 22050, librosa's; 16000 for the whisper presets, the only rate the encoder reads).", valueName: "hz"))
    var sampleRate: Int?

    /// The rate audio is resampled to.
    private var rate: Int { sampleRate ?? (preset?.needsEncoder == true ? 16000 : 22050) }

    @Option(help: ArgumentHelp("Feature cache for tables (default: ~/.cache/ser/features).", valueName: "dir"))
    var cache: String?

    @Flag(help: "Compute every file afresh and leave the cache alone.")
    var noCache = false

    @Option(help: "FFT size (n_fft).") var nFft: Int = 2048
    @Option(help: "Samples between frames (hop_length).") var hopLength: Int = 512
    @Option(help: "Mel bands (n_mels).") var nMels: Int = 128
    @Option(help: "MFCC coefficients (n_mfcc).") var nMfcc: Int = 20
    @Option(help: ArgumentHelp("Lowest mel frequency in Hz (fmin).", valueName: "hz")) var fmin: Double = 0
    @Option(help: ArgumentHelp("Highest mel frequency in Hz (fmax; default: Nyquist).", valueName: "hz")) var fmax: Double?
    @Option(help: ArgumentHelp("Lowest f0 for yin/pyin in Hz (default C2 = 65.4).", valueName: "hz")) var f0Min: Double = 65.40639132514966
    @Option(help: ArgumentHelp("Highest f0 for yin/pyin in Hz (default C7 = 2093).", valueName: "hz")) var f0Max: Double = 2093.004522404789

    func validate() throws {
        guard (feature == nil) != (preset == nil) else {
            throw ValidationError("give exactly one of --feature or --preset.")
        }
        if frames && preset != nil { throw ValidationError("--frames goes with --feature, not --preset.") }
        if trim && preset == nil { throw ValidationError("--trim goes with --preset: it trims recordings as a model's input pipeline does.") }
        if !InputPipeline.speechMarginRange.contains(speechMargin) {
            throw ValidationError("--speech-margin takes 0 to 10 seconds (got \(speechMargin)).")
        }
        if preset?.needsEncoder == true, let sampleRate, sampleRate != 16000 {
            throw ValidationError("the \(preset!.rawValue) preset reads 16 kHz audio; leave out --sample-rate or give 16000.")
        }
        guard (1...768_000).contains(rate) else { throw ValidationError("--sample-rate must be between 1 and 768000.") }
        guard nFft >= 2, hopLength >= 1, nMels >= 1, nMfcc >= 1 else {
            throw ValidationError("--n-fft must be ≥ 2 and --hop-length, --n-mels, --n-mfcc ≥ 1.")
        }
        guard nMfcc <= nMels else { throw ValidationError("--n-mfcc cannot exceed --n-mels.") }
        guard out == "-" || ["npy", "csv"].contains((out as NSString).pathExtension.lowercased()) else {
            throw ValidationError("--out must end in .npy or .csv, or be - for CSV on standard output.")
        }
        if paths.isEmpty && batch.manifest == nil { throw ValidationError("give audio files or folders, or --manifest FILE.") }
        if (batch.shard != nil || batch.shards != nil) && (frames || out == "-") {
            throw ValidationError("--shard writes a table part beside --out FILE: it goes with tables written to a file, not --frames or -.")
        }
    }

    private var configuration: FeatureConfiguration {
        if let preset { return preset.configuration(sampleRate: rate) }
        return FeatureConfiguration(
            sampleRate: rate,
            stft: STFTConfiguration(fftSize: nFft, hopLength: hopLength),
            mel: MelConfiguration(melCount: nMels, minimumFrequency: fmin, maximumFrequency: fmax),
            mfcc: MFCCConfiguration(coefficientCount: nMfcc),
            pitch: PitchConfiguration(minimumFrequency: f0Min, maximumFrequency: f0Max, frameLength: nFft))
    }

    func run() throws {
        let inputs = try batch.inputs(paths: paths)
        guard !inputs.entries.isEmpty else { throw ValidationError("no audio files found in \(batch.manifest ?? paths.joined(separator: ", ")).") }
        if frames {
            guard inputs.entries.count == 1, let feature else { throw ValidationError("--frames writes one file's matrix: give one input file.") }
            try writeFrames(of: inputs.resolvedPath(of: inputs.entries[0]), feature: feature)
            return
        }
        try writeTable(inputs, shard: out == "-" ? nil : try batch.resolvedShard())
    }

    private func writeFrames(of path: String, feature: FeatureKind) throws {
        let extractor = FeatureExtractor(configuration: configuration)
        let matrix: Matrix
        do {
            matrix = try extractor.frames(feature, samples: extractor.loadSamples(path))
        } catch {
            Terminal.report(error, for: path)
            throw ExitCode.someInputsFailed
        }
        let names = extractor.rowNames(feature)
        if out != "-" && (out as NSString).pathExtension.lowercased() == "npy" {
            try NumPyArray(shape: [matrix.rows, matrix.columns], values: matrix.values).write(to: out)
            return
        }
        var csv = "feature," + (0..<matrix.columns).map { "frame_\($0)" }.joined(separator: ",") + "\n"
        for r in 0..<matrix.rows {
            csv += names[r] + "," + matrix.row(r).map { String($0) }.joined(separator: ",") + "\n"
        }
        try emit(csv)
    }

    private func writeTable(_ inputs: FileManifest, shard: Shard?) throws {
        let configuration = self.configuration
        let extractor = FeatureExtractor(configuration: configuration)
        let feature = self.feature, preset = self.preset, pool = self.pool, encoderPrecision = self.encoderPrecision
        let columns: [String]
        if let preset { columns = preset.columnNames(sampleRate: configuration.sampleRate) }
        else { columns = pool.names(extractor.rowNames(feature!)) }

        let store = noCache ? nil : try FeatureCache(directory: cache ?? FeatureCache.defaultDirectory)
        let embedder = try preset.flatMap { try SpeechEncoders.embedder(for: $0, precision: encoderPrecision) }
        // With --trim the vectors come from a model's input pipeline, under the key training uses.
        let pipeline = trim ? preset.map { InputPipeline(preset: $0, sampleRate: configuration.sampleRate, trimsToSpeech: true,
                                                         speechMarginSeconds: speechMargin, detector: VoiceActivityDetector(),
                                                         encoderPrecision: encoderPrecision, resolvedEmbedder: embedder) } : nil
        let key = pipeline.map(FeatureDataset.cacheKey)
            ?? preset.map { FeatureCache.key(preset: $0, sampleRate: configuration.sampleRate, encoderIdentity: embedder?.identity) }
            ?? FeatureCache.key(feature: feature!, pooling: pool, configuration: configuration)
        let toNumPy = out != "-" && (out as NSString).pathExtension.lowercased() == "npy"
        let layout: TableLayout = toNumPy ? .npy(columns: columns.count) : .csv(header: "path," + columns.joined(separator: ",") + "\n")
        let hits = Mutex(0)

        /// One file's row: computed (or read from the cache) and encoded as the table stores it.
        @Sendable func row(_ index: Int) -> EntryOutput {
            let entry = inputs.entries[index]
            let file = inputs.resolvedPath(of: entry)
            do {
                let compute = {
                    if let pipeline { return try pipeline.vector(ofFile: file) }
                    let samples = try extractor.loadSamples(file)
                    if let preset { return try preset.vector(samples: samples, sampleRate: configuration.sampleRate, embedder: embedder) }
                    return pool.pool(try extractor.frames(feature!, samples: samples))
                }
                var values: [Float]
                if let store {
                    let cached = try store.values(for: file, key: key, expectedCount: columns.count, compute: compute)
                    if cached.hit { hits.withLock { $0 += 1 } }
                    values = cached.values
                } else {
                    values = try compute()
                }
                guard values.count == columns.count else {
                    throw CommandFailure("\(values.count) values where the table has \(columns.count) columns")
                }
                if toNumPy { return EntryOutput(bytes: NumPyArray.littleEndianBytes(values), records: 1, rowPaths: [entry.path]) }
                let line = CSVText.field(entry.path) + "," + values.map { String($0) }.joined(separator: ",") + "\n"
                return EntryOutput(bytes: Data(line.utf8), records: 1)
            } catch {
                Terminal.report(error, for: entry.path)
                return EntryOutput(bytes: Data(), records: 0, failure: Terminal.message(for: error, path: entry.path))
            }
        }

        let owned = shard.map { $0.ownedIndices(of: inputs.entries.map(\.shardKey)) } ?? Array(inputs.entries.indices)
        let progress = ProgressBar(total: owned.count, label: shard.map { "features \($0)" } ?? "features")
        var failed: Int
        if out == "-" {
            let rows = parallelMap(count: owned.count, onCompletion: { progress.update(finished: $0) }) { row(owned[$0]) }
            progress.finish()
            var text = layout.header(rows: rows.count)
            for output in rows { text.append(output.bytes) }
            FileHandle.standardOutput.write(text)
            failed = rows.filter { $0.failure != nil }.count
        } else {
            let sidecarBase: [String: Any] = ["columns": columns, "sample_rate": configuration.sampleRate,
                                              "preset": preset?.rawValue ?? NSNull(), "feature": feature?.rawValue ?? NSNull(),
                                              "pool": preset == nil ? pool.rawValue : "preset"]
            let identity = RunIdentity(fingerprint: "ser features|\(key)|columns=\(columns.count)|\(toNumPy ? "npy" : "csv")",
                                       manifestDigest: inputs.digest, manifestEntries: inputs.entries.count, shard: shard)
            let writer = TableWriter(destination: shard?.partPath(for: out) ?? out, layout: layout, identity: identity,
                                     writesCompletionRecord: shard != nil, chunkSize: batch.chunkSize)
            let summary = try writer.run(entries: owned, sidecar: { paths in
                var object = sidecarBase
                object["paths"] = paths
                return try TableSidecar.data(object)
            }, onProgress: { progress.update(finished: $0) }, produce: row)
            progress.finish()
            if summary.alreadyComplete {
                Terminal.printError("ser: \(writer.destination) is already complete (\(summary.entries) files); nothing to do")
            } else if summary.resumed > 0 {
                Terminal.printError("ser: resumed \(writer.destination) after \(summary.resumed) of \(owned.count) files")
            }
            failed = summary.failedEntries
        }
        if store != nil && Terminal.showsProgress {
            Terminal.printError("features: \(hits.withLock { $0 }) of \(owned.count) files from the cache in \(store!.directory)")
        }
        if failed > 0 { throw ExitCode.someInputsFailed }
    }

    /// Writes CSV text to `--out` atomically, or to standard output for `-`.
    private func emit(_ text: String) throws {
        if out == "-" {
            FileHandle.standardOutput.write(Data(text.utf8))
        } else {
            try AtomicFile.write(Data(text.utf8), to: out)
        }
    }

}
