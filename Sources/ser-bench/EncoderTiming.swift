import SERNumerics
import Foundation
import SEREncoder
import SERSupport

/// `ser-bench encoder`: the installed Whisper-base encoder on a synthetic
/// voice, timed in process. Prints JSON with the load time, the fastest
/// pass's log-mel and encoder times, and the mel frames encoded, so
/// benchmarks/encoder_speed.py can set ctranslate2 beside it on the same input.
enum EncoderTiming {
    static func run(_ arguments: [String]) -> Int32 {
        var seconds = 4.0, repeats = 5, threads = 1
        var rest = arguments[...]
        while let argument = rest.popFirst() {
            guard let value = rest.popFirst() else { return usage() }
            switch argument {
            case "--seconds": seconds = Double(value) ?? seconds
            case "--repeat": repeats = max(1, Int(value) ?? repeats)
            case "--threads": threads = max(1, Int(value) ?? threads)
            default: return usage()
            }
        }
        useBLASThreads(threads)
        let clock = ContinuousClock()
        var embedder: WhisperEmbedder?
        let load = clock.measure { embedder = try? SpeechEncoders.embedder() }
        guard let embedder else {
            FileHandle.standardError.write(Data("ser-bench: the encoder is not installed; run 'ser encoder install'\n".utf8))
            return 1
        }
        let samples = syntheticVoice(seconds: seconds)
        var melFrames = 0
        var bestMel = Duration.seconds(1000), bestEncoder = Duration.seconds(1000)
        for _ in 0...repeats {   // the first pass warms up and is timed too; the minimum is kept
            var mel: (values: [Float], frames: Int) = ([], 0)
            bestMel = min(bestMel, clock.measure { mel = embedder.frontEnd.features(samples) })
            melFrames = mel.frames
            bestEncoder = min(bestEncoder, clock.measure { _ = embedder.encoder.hiddenStates(logMel: mel.values, frames: mel.frames) })
        }
        func ms(_ d: Duration) -> Double { Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15 }
        let report: [String: Any] = [
            "audio_seconds": seconds, "threads": threads, "mel_frames": melFrames, "load_ms": ms(load),
            "log_mel_ms": ms(bestMel), "encoder_ms": ms(bestEncoder),
            "peak_rss_mib": Double(residentKiB("VmHWM:")) / 1024, "rss_mib": Double(residentKiB("VmRSS:")) / 1024,
        ]
        if let json = try? JSONSerialization.data(withJSONObject: report, options: [.sortedKeys]) {
            print(String(decoding: json, as: UTF8.self))
        }
        return 0
    }

    /// A harmonic voice-like signal with vibrato and syllable-rate loudness changes.
    static func syntheticVoice(seconds: Double) -> [Float] {
        let rate = 16000.0, count = Int(seconds * rate)
        var phase = 0.0
        return (0..<count).map { i in
            let t = Double(i) / rate
            phase += 2 * Double.pi * 150 * (1 + 0.05 * sin(2 * Double.pi * 5 * t)) / rate
            let harmonics = (1...10).reduce(0.0) { $0 + sin(Double($1) * phase) / Double($1) }
            return Float(0.2 * harmonics * (0.55 + 0.45 * sin(2 * Double.pi * 3 * t)))
        }
    }

    /// A resident-set figure of the process in KiB from /proc (`VmHWM:` peak, `VmRSS:` now).
    static func residentKiB(_ field: String) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix(field) }) else { return 0 }
        return Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
    }

    static func usage() -> Int32 {
        FileHandle.standardError.write(Data("usage: ser-bench encoder [--seconds S] [--repeat K] [--threads T]\n".utf8))
        return 2
    }
}
