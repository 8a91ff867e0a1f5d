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
/// recording on each side; files without speech get NaN rows. With
/// `--weight-exponents A,B,…` each file is pooled once per exponent, frames
/// weighted by their power to that exponent (`WhisperEmbedder.frameWeights`;
/// `--weight-ceiling Q` caps powers at their Q quantile), one table per exponent
/// (`OUT-wA.npy`, …); benchmarks/babble_span_pooling.py compares them.
/// benchmarks/encoder_padding.py compares the two with a speaker-independent
/// logistic regression, layer by layer.
enum EmbeddingTable {
    static func run(_ arguments: [String]) -> Int32 {
        var padSeconds = 0.0, appendSeconds = 0.0, trimMargin: Double?, out: String?, files: [String] = []
        var exponents: [Float] = [], ceiling: Float?
        var rest = arguments[...]
        while let argument = rest.popFirst() {
            switch argument {
            case "--pad": padSeconds = 30
            case "--pad-seconds": padSeconds = rest.popFirst().flatMap(Double.init) ?? 0
            case "--append-seconds": appendSeconds = rest.popFirst().flatMap(Double.init) ?? 0
            case "--trim-margin": trimMargin = rest.popFirst().flatMap(Double.init)
            case "--out": out = rest.popFirst()
            case "--weight-ceiling": ceiling = rest.popFirst().flatMap(Float.init)
            case "--weight-exponents": exponents = (rest.popFirst() ?? "").split(separator: ",").compactMap { Float(String($0)) }
            default: files.append(argument)
            }
        }
        guard let out, !files.isEmpty else {
            FileHandle.standardError.write(Data("usage: ser-bench embed [--pad | --pad-seconds S | --append-seconds S] [--trim-margin S] [--weight-exponents A,B,...] --out FILE.npy FILE...\n".utf8))
            return 2
        }
        guard let embedder = try? SpeechEncoders.embedder() else {
            FileHandle.standardError.write(Data("ser-bench: the encoder is not installed; run 'ser encoder install'\n".utf8))
            return 1
        }
        let layers = Array(0...embedder.encoder.shape.layers), width = embedder.encoder.shape.width
        let top = ceiling, inputs = files, pad = padSeconds, append = appendSeconds, margin = trimMargin
        // With a margin, recordings are cut as a model's input pipeline cuts them.
        let trimming = margin.map { InputPipeline(preset: .functionals, sampleRate: 16000, trimsToSpeech: true, speechMarginSeconds: $0,
                                                  detector: VoiceActivityDetector(), resolvedEmbedder: nil) }
        useSingleThreadedBLAS()
        let variants = exponents.isEmpty ? [nil] : exponents.map { Optional($0) }
        let rowWidth = layers.count * 2 * width
        let rows: [[Float]] = parallelMap(count: inputs.count) { index in
            let missing = [Float](repeating: .nan, count: variants.count * rowWidth)
            guard var samples = try? AudioSignal(contentsOf: inputs[index], sampleRate: 16000).samples, samples.count >= 320 else {
                return missing
            }
            if let trimming {
                guard let input = trimming.featureInput(samples) else { return missing }
                samples = LevelNormalization.standard.normalized(input.samples, sampleRate: 16000)
            }
            let (states, frames) = embedder.hiddenStates(of: samples, paddedToSeconds: pad, appendingSeconds: append)
            return variants.flatMap { exponent in
                WhisperEmbedder.pool(states, frames: frames, width: width, layers: layers,
                                     weights: exponent.map { WhisperEmbedder.frameWeights(of: samples, frames: frames, exponent: $0, ceilingQuantile: top) })
            }
        }
        do {
            for (v, exponent) in variants.enumerated() {
                let path = exponent.map { out.replacingOccurrences(of: ".npy", with: "-w\($0)" + (top.map { "c\($0)" } ?? "") + ".npy") } ?? out
                try NumPyArray(shape: [files.count, layers.count, 2 * width],
                               values: rows.flatMap { $0[(v * rowWidth)..<((v + 1) * rowWidth)] }).write(to: path)
            }
        } catch {
            FileHandle.standardError.write(Data("ser-bench: \(error)\n".utf8))
            return 1
        }
        return 0
    }
}
