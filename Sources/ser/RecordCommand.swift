import ArgumentParser
import Foundation
import SERAudio
import SERFeatures
import SERRecognition

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
