import ArgumentParser
import Foundation
import SERAudio
import SERFeatures
import SERNumerics
import SERRecognition
import SERSupport

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
        let windows = LiveEmotionStream.shortestWindowSeconds...LiveEmotionStream.longestWindowSeconds
        if !windows.contains(window) { throw ValidationError("--window must be between \(windows.lowerBound) and \(windows.upperBound) seconds.") }
        if !(hop >= LiveEmotionStream.shortestHopSeconds && hop <= window) {
            throw ValidationError("--hop must be at least \(LiveEmotionStream.shortestHopSeconds) seconds and at most the window.")
        }
        if !(1...32).contains(channels) { throw ValidationError("--channels must be between 1 and 32.") }
        if !(4000...384_000).contains(rate) { throw ValidationError("--rate must be between 4000 and 384000 Hz.") }
        if let newSpeakerAfter, !(newSpeakerAfter > 0 && newSpeakerAfter <= 86_400) {
            throw ValidationError("--new-speaker-after must be between 0 and 86400 seconds.")
        }
    }

    func run() throws {
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
                // One stream: its encoder may use every core.
                events = try withWorkThreads(defaultWorkerCount) { try data.withUnsafeBytes { try stream.append($0) } }
            } else {
                events = try withWorkThreads(defaultWorkerCount) { try stream.finish() }
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
        WireJSON.text(LiveEventAnswer(event))
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

extension LiveEmotionStream.Encoding: ExpressibleByArgument {}
