import SERNumerics
import Foundation
import SEREncoder
import SERKernels
import SERSupport

/// `ser-bench encoder`: the installed Whisper-base encoder on a synthetic
/// voice, timed in process. Prints JSON with the load time, the fastest
/// pass's log-mel and encoder times, the mel frames encoded and the resident
/// memory, so benchmarks/encoder_speed.py can set ctranslate2 beside it on the
/// same input. `--precision int8` times the 8-bit path; `--deviation` also
/// loads the float32 encoder (after the memory figures are taken) and reports,
/// per layer, how far the int8 hidden states are from float32's.
enum EncoderTiming {
    static func run(_ arguments: [String]) -> Int32 {
        var seconds = 4.0, repeats = 5, threads = 1, precision = EncoderPrecision.float32, deviation = false
        var rest = arguments[...]
        while let argument = rest.popFirst() {
            if argument == "--deviation" { deviation = true; continue }
            guard let value = rest.popFirst() else { return usage() }
            switch argument {
            case "--seconds": seconds = Double(value) ?? seconds
            case "--repeat": repeats = max(1, Int(value) ?? repeats)
            case "--threads": threads = max(1, Int(value) ?? threads)
            case "--precision":
                guard let chosen = EncoderPrecision(rawValue: value) else { return usage() }
                precision = chosen
            default: return usage()
            }
        }
        // As `ser` runs one clip on spare cores: OpenBLAS on one thread, the encoder's own split over `threads`.
        useSingleThreadedBLAS()
        let clock = ContinuousClock()
        var embedder: WhisperEmbedder?
        let load = clock.measure { embedder = try? SpeechEncoders.embedder(precision: precision) }
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
            bestEncoder = min(bestEncoder, clock.measure {
                _ = withWorkThreads(threads) { embedder.encoder.hiddenStates(logMel: mel.values, frames: mel.frames) }
            })
        }
        func ms(_ d: Duration) -> Double { Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15 }
        var report: [String: Any] = [
            "audio_seconds": seconds, "threads": threads, "mel_frames": melFrames, "load_ms": ms(load),
            "log_mel_ms": ms(bestMel), "encoder_ms": ms(bestEncoder), "precision": precision.rawValue,
            "int8_kernel": ["portable", "avx2", "avx512_vnni"][Int(ser_int8_kernel())],
            "float32_kernel": ["openblas", "serkernels_avx2", "serkernels_avx512"][Int(ser_packed_kernel())],
            "peak_rss_mib": Double(residentKiB("VmHWM:")) / 1024, "rss_mib": Double(residentKiB("VmRSS:")) / 1024,
        ]
        if deviation, precision != .float32, let reference = try? SpeechEncoders.embedder(precision: .float32) {
            let mel = embedder.frontEnd.features(samples)
            let mine = embedder.encoder.hiddenStates(logMel: mel.values, frames: mel.frames)
            let exact = reference.encoder.hiddenStates(logMel: mel.values, frames: mel.frames)
            report["layer_deviation"] = zip(mine, exact).enumerated().map { layer, pair -> [String: Double] in
                let (a, b) = pair
                var worst: Float = 0, peak: Float = 0, error = 0.0, energy = 0.0, dot = 0.0, normA = 0.0
                for (x, y) in zip(a, b) {
                    worst = max(worst, abs(x - y))
                    peak = max(peak, abs(y))
                    error += Double((x - y) * (x - y))
                    energy += Double(y * y)
                    dot += Double(x * y)
                    normA += Double(x * x)
                }
                // What a model reads: each channel's mean and deviation over the frames.
                let width = embedder.encoder.shape.width, frames = b.count / max(width, 1)
                func pooled(_ states: [Float]) -> [Double] {
                    (0..<width).flatMap { c -> [Double] in
                        let column = (0..<frames).map { Double(states[$0 * width + c]) }
                        let mean = column.reduce(0, +) / Double(max(frames, 1))
                        let variance = column.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(max(frames, 1))
                        return [mean, variance.squareRoot()]
                    }
                }
                let (pa, pb) = (pooled(a), pooled(b))
                let pooledError = zip(pa, pb).reduce(0.0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
                let pooledEnergy = pb.reduce(0.0) { $0 + $1 * $1 }
                return ["layer": Double(layer), "max_abs": Double(worst), "max_abs_over_peak": Double(worst / max(peak, 1e-12)),
                        "relative_rms": (error / max(energy, 1e-30)).squareRoot(), "cosine": dot / max((normA * energy).squareRoot(), 1e-30),
                        "pooled_relative_rms": (pooledError / max(pooledEnergy, 1e-30)).squareRoot()]
            }
        }
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
        FileHandle.standardError.write(Data("usage: ser-bench encoder [--seconds S] [--repeat K] [--threads T] [--precision float32|int8] [--deviation]\n".utf8))
        return 2
    }
}
