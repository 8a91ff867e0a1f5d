import ArgumentParser
import Foundation
import SERAudio
import SERFeatures
import SERNumerics
import SERRecognition

/// Where live audio comes from: a capture program reading the sound server or
/// ALSA device, or standard input.
struct CaptureSource {
    let handle: FileHandle
    let process: Process?

    /// Starts `parec` (PulseAudio/PipeWire) or, without it or for `hw:`/`plughw:`
    /// devices, `arecord` (ALSA), writing raw s16le mono at `rate` to a pipe.
    static func microphone(device: String?, rate: Int) throws -> CaptureSource {
        let alsa = device.map { $0.hasPrefix("hw:") || $0.hasPrefix("plughw:") } ?? false
        var candidates: [(String, [String])] = []
        let pulse = ["--raw", "--format=s16le", "--rate=\(rate)", "--channels=1"] + (device.map { ["--device=\($0)"] } ?? [])
        let arecord = ["-q", "-t", "raw", "-f", "S16_LE", "-r", "\(rate)", "-c", "1"] + (device.map { ["-D", $0] } ?? [])
        if !alsa { candidates.append(("parec", pulse)) }
        candidates.append(("arecord", arecord))
        for (program, arguments) in candidates {
            guard let executable = Self.find(program) else { continue }
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = FileHandle.standardError
            process.standardInput = FileHandle.nullDevice
            try process.run()
            return CaptureSource(handle: pipe.fileHandleForReading, process: process)
        }
        throw CommandFailure("no capture program found: install pulseaudio-utils (parec) or alsa-utils (arecord), or pipe raw PCM with --input -")
    }

    static func find(_ program: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(program)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// The next chunk of bytes, or nil at the end of the stream.
    func read() -> Data? {
        let data = handle.availableData
        return data.isEmpty ? nil : data
    }

    func stop() {
        if let process, process.isRunning { process.terminate() }
    }
}

/// `ser listen`: live emotion from a microphone or a PCM stream.
struct ListenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "listen",
        abstract: "Hear emotion live: from the microphone, or raw PCM on standard input.",
        discussion: """
        Captures the default PulseAudio/PipeWire source (through parec) or an ALSA device \
        (--device hw:1,0, through arecord), or reads raw PCM from standard input with \
        --input - (--encoding s16le|f32le, --rate, --channels). Every --hop seconds it \
        classifies the last --window seconds and emits an event: JSON lines \
        ({"t", "speech", "emotion", "confidence", "probabilities", "adaptation"}) when \
        piped or with --format jsonl, a live display with a bar per emotion on a \
        terminal. Windows without speech report "speech": false and no emotion. Stop \
        with Ctrl-C.

        With a model that adapts to speakers (the shipped one does), every stretch of \
        speech heard teaches it the voice, and later answers are adapted to it: \
        "adaptation": {"utterances": 7} says how much it has heard. --new-speaker-after \
        forgets the voice after a pause; --profile starts from a known voice.

        Examples:
          ser listen
          ser listen --device hw:1,0 --format jsonl
          ffmpeg -i talk.mp4 -f s16le -ac 1 -ar 16000 - | ser listen --input - --rate 16000
          ser listen --new-speaker-after 5
        """
    )

    @Option(help: ArgumentHelp("- to read raw PCM from standard input instead of capturing.", valueName: "-")) var input: String?
    @Option(help: "PCM encoding of standard input: s16le or f32le.") var encoding: LiveEmotionStream.Encoding = .s16le
    @Option(help: "Sample rate of standard input, Hz.") var rate: Int = 16000
    @Option(help: "Channels of standard input.") var channels: Int = 1
    @Option(help: ArgumentHelp("Capture device (PulseAudio source name, or an ALSA device such as hw:1,0).", valueName: "name")) var device: String?
    @Option(help: ArgumentHelp("Seconds of audio each answer hears.", valueName: "seconds")) var window: Double = 2
    @Option(help: ArgumentHelp("Seconds between answers.", valueName: "seconds")) var hop: Double = 0.5
    @Option(help: ArgumentHelp("The model to use (default: the shipped model).", valueName: "model")) var model: String?
    @Option(help: "Output: live (bars on a terminal) or jsonl (default: live on a terminal, jsonl otherwise).") var format: LiveFormat?
    @Flag(help: "At the end, print the compute time per hop (mean, 95th percentile, max).") var timings = false
    @Option(help: ArgumentHelp("Forget the voice after this many seconds without speech: the next voice is taken to be a new speaker. Answers adapt to the speaker as their speech is heard; use this when speakers take turns with pauses between them (default: never forget).", valueName: "seconds"))
    var newSpeakerAfter: Double?
    @Option(help: ArgumentHelp("Start adapted to the speaker of this profile (ser profile create) instead of from nothing.", valueName: "profile.json"))
    var profile: String?

    enum LiveFormat: String, ExpressibleByArgument { case live, jsonl }

    func validate() throws {
        if let input, input != "-" { throw ValidationError("--input takes - (standard input); to read a file, use ser predict.") }
        if !(window >= 0.5 && window <= 30) { throw ValidationError("--window must be between 0.5 and 30 seconds.") }
        if !(hop > 0 && hop <= window) { throw ValidationError("--hop must be positive and at most the window.") }
        if !(1...32).contains(channels) { throw ValidationError("--channels must be between 1 and 32.") }
        if !(4000...384_000).contains(rate) { throw ValidationError("--rate must be between 4000 and 384000 Hz.") }
        if let newSpeakerAfter, !(newSpeakerAfter > 0 && newSpeakerAfter <= 86_400) {
            throw ValidationError("--new-speaker-after must be between 0 and 86400 seconds.")
        }
    }

    func run() throws {
        useSingleThreadedBLAS()
        let emotionModel = try EmotionModel(contentsOf: model ?? DefaultModel.path())
        var options = RecognitionOptions()
        options.concurrentFeatures = true     // one window at a time: use the second core for pitch
        if let profile {
            let loaded = try SpeakerProfile(contentsOf: profile)
            try loaded.check(against: emotionModel.pipeline, path: profile)
            options.speaker = loaded.statistics
        }
        let recognizer = EmotionRecognizer(model: emotionModel, options: options)
        let fromStandardInput = input == "-"
        let source = fromStandardInput ? CaptureSource(handle: FileHandle.standardInput, process: nil)
            : try CaptureSource.microphone(device: device, rate: emotionModel.sampleRate)
        defer { source.stop() }
        let stream = try LiveEmotionStream(recognizer: recognizer, encoding: fromStandardInput ? encoding : .s16le,
                                           sampleRate: fromStandardInput ? rate : emotionModel.sampleRate,
                                           channels: fromStandardInput ? channels : 1, windowSeconds: window, hopSeconds: hop)
        stream.newSpeakerAfterSeconds = newSpeakerAfter
        let layout = format ?? (isatty(STDOUT_FILENO) == 1 ? .live : .jsonl)
        let display = LiveDisplay(labels: emotionModel.labels)
        var computeTimes: [Double] = []
        var ended = false
        while !ended {
            let events: [LiveEvent]
            if let data = source.read() {
                events = try data.withUnsafeBytes { try stream.append($0) }
            } else {
                events = try stream.finish()
                ended = true
            }
            for event in events {
                computeTimes.append(event.computeSeconds)
                switch layout {
                case .jsonl: Terminal.print(Self.json(event))
                case .live: display.draw(event)
                }
            }
            fflush(nil)
        }
        if timings, !computeTimes.isEmpty {
            let sorted = computeTimes.sorted()
            let mean = sorted.reduce(0, +) / Double(sorted.count)
            Terminal.printError(String(format: "ser: %d hops, compute per hop: mean %.1f ms, p95 %.1f ms, max %.1f ms (window %.1f s)",
                                       sorted.count, 1000 * mean, 1000 * sorted[min(sorted.count - 1, sorted.count * 95 / 100)],
                                       1000 * sorted.last!, window))
        }
    }

    static func json(_ event: LiveEvent) -> String {
        RecognitionJSON.text(RecognitionJSON.object(for: event))
    }
}

/// Bars per emotion, redrawn in place on a terminal.
final class LiveDisplay {
    let labels: [String]
    private var drawn = false

    init(labels: [String]) { self.labels = labels }

    func draw(_ event: LiveEvent) {
        var lines: [String] = []
        let e = event.estimate
        let heading = e.speech ? "\(e.emotion ?? "")" + (e.gender.map { " · \($0.label)" } ?? "") : "(no speech)"
        lines.append(String(format: "%7.1f s  %@", event.time, heading)
                     + (event.adaptedUtterances.map { $0 > 0 ? "  (adapting to this voice: \($0) utterance\($0 == 1 ? "" : "s"))" : "  (new voice)" } ?? ""))
        for label in labels {
            let p = e.probabilities?[label] ?? 0
            let bar = String(repeating: "█", count: Int((p * 40).rounded()))
            lines.append(label.padding(toLength: 10, withPad: " ", startingAt: 0) + String(format: " %3.0f%% ", 100 * p) + bar)
        }
        var output = drawn ? "\u{1B}[\(lines.count)A" : ""
        output += lines.map { $0 + "\u{1B}[K" }.joined(separator: "\n") + "\n"
        FileHandle.standardOutput.write(Data(output.utf8))
        drawn = true
    }
}

/// `ser record`: the seed projects' recording script, done right.
struct RecordCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "record",
        abstract: "Record from the microphone into a WAV or FLAC file.",
        discussion: """
        Captures --seconds of audio from the default PulseAudio/PipeWire source or an ALSA \
        device, at --rate (16 kHz mono by default, the models' rate), and writes it \
        atomically: an interrupted recording leaves no partial file.

        Example:
          ser record take.wav --seconds 5 && ser predict take.wav
        """
    )
    @Argument(help: ArgumentHelp("The file to write (.wav or .flac).", valueName: "out")) var out: String
    @Option(help: "Seconds to record.") var seconds: Double
    @Option(help: ArgumentHelp("Capture device (PulseAudio source name, or an ALSA device such as hw:1,0).", valueName: "name")) var device: String?
    @Option(help: "Sample rate, Hz.") var rate: Int = 16000

    func validate() throws {
        if !(seconds > 0 && seconds <= 24 * 3600) { throw ValidationError("--seconds must be between 0 and 86400.") }
        if !(8000...192_000).contains(rate) { throw ValidationError("--rate must be between 8000 and 192000 Hz.") }
    }

    func run() throws {
        let source = try CaptureSource.microphone(device: device, rate: rate)
        defer { source.stop() }
        let wanted = Int(seconds * Double(rate)) * 2
        var bytes = Data()
        while bytes.count < wanted, let data = source.read() { bytes.append(data) }
        source.stop()
        guard bytes.count >= 2 else { throw CommandFailure("the capture program delivered no audio; check the device with `arecord -l` or `pactl list sources`") }
        let frames = min(bytes.count, wanted) / 2
        let samples: [Float] = bytes.withUnsafeBytes { raw in
            (0..<frames).map { Float(Int16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * $0, as: Int16.self))) / 32768 }
        }
        let format: AudioFileFormat = out.lowercased().hasSuffix(".flac") ? .flac : .wav
        try AudioFileWriter.write(AudioSignal(samples: samples, sampleRate: rate), to: out, format: format)
        Terminal.printError(String(format: "ser: recorded %.1f s to %@", Double(frames) / Double(rate), out))
    }
}

extension LiveEmotionStream.Encoding: ExpressibleByArgument {}
