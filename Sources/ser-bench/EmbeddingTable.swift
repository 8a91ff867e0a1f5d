import Foundation
import SERAudio
import SEREncoder
import SERFeatures
import SERNumerics
import SERRecognition
import SERSupport

/// `ser-bench embed [--pad | --pad-seconds S | --append-seconds S] --out FILE.npy FILE...`: every layer's mean and
/// deviation of the encoder's states per file (files × layers × 1024), whole
/// recordings at 16 kHz, on both cores. With `--pad` each input is padded to
/// Whisper's 30 s window first, with `--pad-seconds S` to S seconds, with
/// `--append-seconds S` S seconds of silence are appended (pooling
/// only the frames the audio covers). With `--trim-margin S` each recording is
/// first cut to its speech span (as models read it) widened by S seconds of the
/// recording on each side; files without speech get NaN rows.
/// benchmarks/encoder_padding.py compares the two with a speaker-independent
/// logistic regression, layer by layer.
enum EmbeddingTable {
    static func run(_ arguments: [String]) -> Int32 {
        var padSeconds = 0.0, appendSeconds = 0.0, trimMargin: Double?, out: String?, files: [String] = []
        var rest = arguments[...]
        while let argument = rest.popFirst() {
            switch argument {
            case "--pad": padSeconds = 30
            case "--pad-seconds": padSeconds = rest.popFirst().flatMap(Double.init) ?? 0
            case "--append-seconds": appendSeconds = rest.popFirst().flatMap(Double.init) ?? 0
            case "--trim-margin": trimMargin = rest.popFirst().flatMap(Double.init)
            case "--out": out = rest.popFirst()
            default: files.append(argument)
            }
        }
        guard let out, !files.isEmpty else {
            FileHandle.standardError.write(Data("usage: ser-bench embed [--pad | --pad-seconds S | --append-seconds S] [--trim-margin S] --out FILE.npy FILE...\n".utf8))
            return 2
        }
        guard let embedder = try? SpeechEncoders.embedder() else {
            FileHandle.standardError.write(Data("ser-bench: the encoder is not installed; run 'ser encoder install'\n".utf8))
            return 1
        }
        let layers = Array(0...embedder.encoder.shape.layers), width = embedder.encoder.shape.width
        let inputs = files, pad = padSeconds, append = appendSeconds, margin = trimMargin
        // With a margin, recordings are cut as a model's input pipeline cuts them.
        let trimming = margin.map { InputPipeline(preset: .functionals, sampleRate: 16000, trimsToSpeech: true, speechMarginSeconds: $0,
                                                  detector: VoiceActivityDetector(), resolvedEmbedder: nil) }
        useSingleThreadedBLAS()
        let rows: [[Float]] = parallelMap(count: inputs.count) { index in
            let missing = [Float](repeating: .nan, count: layers.count * 2 * width)
            guard var samples = try? AudioSignal(contentsOf: inputs[index], sampleRate: 16000).samples, samples.count >= 320 else {
                return missing
            }
            if let trimming {
                guard let input = trimming.featureInput(samples) else { return missing }
                samples = input.samples
            }
            let (states, frames) = embedder.hiddenStates(of: samples, paddedToSeconds: pad, appendingSeconds: append)
            return WhisperEmbedder.pool(states, frames: frames, width: width, layers: layers)
        }
        do {
            try NumPyArray(shape: [files.count, layers.count, 2 * width], values: rows.flatMap { $0 }).write(to: out)
        } catch {
            FileHandle.standardError.write(Data("ser-bench: \(error)\n".utf8))
            return 1
        }
        return 0
    }
}
