import ArgumentParser
import Foundation
import SERAudio
import SERFeatures
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
