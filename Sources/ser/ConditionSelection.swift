import ArgumentParser
import SERAudio

/// The recording conditions a command scores a model under: `--conditions` (the
/// standard set) or `--condition CHAIN`, repeated. Shared by `ser evaluate` and
/// `ser train --cv`.
struct ConditionSelection: ParsableArguments {
    @Flag(help: ArgumentHelp("Also score copies of every recording as other recording chains would have made them, and print each condition's accuracy, UAR and ECE with its loss against the same recordings clean: gain -20 dB, peak-normalized to -1 dBFS, +10 dB clipped, white and pink noise at 20 and 10 dB SNR, babble of other evaluated speakers at 10 dB, a room (RT60 0.5 s), a telephone line, MP3 at 32 and Opus at 12 kbit/s (codecs need ffmpeg). Answers whether the model will work on your recordings. Each condition costs one pass of feature extraction; copies are cached."))
    var conditions = false
    @Option(name: .customLong("condition"), help: ArgumentHelp("Score these conditions instead of --conditions' set (repeatable; clean is always scored as the reference): clean, gain:DB, peak:DBFS, clip:DB, white:SNR, pink:SNR, brown:SNR, babble:SNR, room:RT60, phone, mp3:KBPS, aac:KBPS, opus:KBPS, or a chain such as room:0.5+white:10.", valueName: "condition"))
    var namedConditions: [String] = []

    func validate() throws {
        for name in namedConditions where RecordingChain(argument: name) == nil {
            throw ValidationError("--condition \(name): not a recording condition; the forms are clean, gain:DB, peak:DBFS, clip:DB, white:SNR, pink:SNR, brown:SNR, babble:SNR, room:RT60, phone, mp3:KBPS, aac:KBPS, opus:KBPS, joined by +.")
        }
    }

    /// Whether any condition was asked for.
    var isRequested: Bool { conditions || !namedConditions.isEmpty }

    /// The recording chains to score, clean first and each once; empty when none was asked for.
    var chains: [RecordingChain] {
        guard isRequested else { return [] }
        let named = namedConditions.compactMap(RecordingChain.init(argument:))
        var seen = Set<RecordingChain>(), ordered: [RecordingChain] = []
        for chain in [.clean] + (named.isEmpty ? RecordingChain.standardSet : named) where !seen.contains(chain) {
            seen.insert(chain)
            ordered.append(chain)
        }
        return ordered
    }
}
