import Foundation
import SERFeatures
import SERNumerics
import SERSupport

/// Prints, per feature, the worst difference between ser and librosa over every
/// signal in a reference directory (cases.json + .npy files).
enum ParityReport {
    struct Worst {
        var absolute: Float = 0
        var relative: Float = 0      // |Δ| / max(|reference|, 1e-3 · max|reference|)
        var note = ""
        var cases = 0
    }

    static func run(directory: String) -> Int32 {
        guard let data = FileManager.default.contents(atPath: directory + "/cases.json"),
              let cases = (try? JSONSerialization.jsonObject(with: data)) as? [String: [String: Any]]
        else {
            print("no cases.json in \(directory)")
            return 2
        }
        var table: [String: Worst] = [:]
        for name in cases.keys.sorted() {
            guard let entry = cases[name], let rate = entry["sample_rate"] as? Int,
                  let features = entry["features"] as? [String],
                  let input = try? NumPyArray(contentsOf: "\(directory)/\(name).input.npy")
            else { continue }
            let configuration = configurationFor(entry["settings"] as? [String: Any] ?? [:], sampleRate: rate)
            for feature in features where feature != "tuning" {
                // The fixture script computes these with librosa's defaults whatever the case's STFT settings.
                let usesDefaults = ["chroma_cqt", "tonnetz", "harmonic", "yin", "pyin_f0", "pyin_voiced", "pyin_voiced_prob"]
                    .contains(feature)
                let extractor = FeatureExtractor(configuration: usesDefaults ? FeatureConfiguration(sampleRate: rate) : configuration)
                guard let reference = try? NumPyArray(contentsOf: "\(directory)/\(name).\(feature).npy"),
                      let ours = try? compute(feature, samples: input.values, extractor: extractor, sampleRate: rate)
                else { continue }
                var worst = table[feature] ?? Worst()
                worst.cases += 1
                if feature == "pyin_f0" || feature == "yin" {
                    // Pitch: cents on frames both call voiced (finite).
                    let cents = zip(ours, reference.values).compactMap { a, b -> Float? in
                        a.isFinite && b.isFinite && a > 0 && b > 0 ? abs(1200 * log2(a / b)) : nil
                    }.sorted()
                    let p99 = cents.isEmpty ? 0 : cents[min(cents.count - 1, Int(Double(cents.count) * 0.99))]
                    worst.absolute = max(worst.absolute, p99)
                    worst.note = "99th-percentile cents"
                } else if feature == "pyin_voiced" {
                    let disagree = zip(ours, reference.values).filter { $0 != $1 }.count
                    worst.absolute = max(worst.absolute, Float(disagree) / Float(max(1, ours.count)))
                    worst.note = "share of frames with a different voicing decision"
                } else {
                    let scale = 1e-3 * (reference.values.map { abs($0) }.max() ?? 0)
                    for (a, b) in zip(ours, reference.values) {
                        let difference = abs(a - b)
                        worst.absolute = max(worst.absolute, difference)
                        worst.relative = max(worst.relative, difference / max(abs(b), scale, .leastNormalMagnitude))
                    }
                }
                table[feature] = worst
            }
        }
        func column(_ text: String, _ width: Int) -> String { text.padding(toLength: width, withPad: " ", startingAt: 0) }
        print(column("feature", 20) + column("cases", 7) + column("worst |Δ|", 12) + column("worst rel.", 12))
        for (feature, worst) in table.sorted(by: { $0.key < $1.key }) {
            print(column(feature, 20) + column(String(worst.cases), 7) + column(String(format: "%.3g", worst.absolute), 12)
                  + column(String(format: "%.3g", worst.relative), 12) + worst.note)
        }
        return 0
    }

    static func configurationFor(_ settings: [String: Any], sampleRate: Int) -> FeatureConfiguration {
        var c = FeatureConfiguration(sampleRate: sampleRate)
        if let v = settings["n_fft"] as? Int { c.stft.fftSize = v }
        if let v = settings["hop_length"] as? Int { c.stft.hopLength = v }
        if let v = settings["win_length"] as? Int { c.stft.windowLength = v }
        if let v = settings["n_mels"] as? Int { c.mel.melCount = v }
        if let v = settings["fmin"] as? Double { c.mel.minimumFrequency = v }
        if let v = settings["fmax"] as? Double { c.mel.maximumFrequency = v }
        if let v = settings["htk"] as? Bool, v { c.mel.scale = .htk }
        if let v = settings["n_mfcc"] as? Int { c.mfcc.coefficientCount = v }
        if let v = settings["lifter"] as? Double { c.mfcc.lifter = v } else if let v = settings["lifter"] as? Int { c.mfcc.lifter = Double(v) }
        c.pitch.frameLength = 2048
        c.pitch.hopLength = 512
        return c
    }

    /// The values ser computes for a reference named as the fixture script names it.
    static func compute(_ feature: String, samples: [Float], extractor: FeatureExtractor, sampleRate: Int) throws -> [Float] {
        switch feature {
        case "magnitude": return try extractor.frames(.stft, samples: samples).values
        case "melspectrogram_db":
            return DecibelScaling().powerToDecibels(try extractor.frames(.melspectrogram, samples: samples)).values
        case "classic180": return try FeaturePreset.classic180.vector(samples: samples, sampleRate: sampleRate)
        case "x193": return try FeaturePreset.x193.vector(samples: samples, sampleRate: sampleRate)
        case "harmonic": return try WaveformFeatures.harmonicComponent(samples, stft: extractor.configuration.stft)
        case "chroma_stft":
            var configuration = extractor.configuration
            configuration.chroma.usesMagnitude = false
            return try FeatureExtractor(configuration: configuration).frames(.chromaStft, samples: samples).values
        case "pyin_f0", "pyin_voiced", "pyin_voiced_prob":
            let rows = try extractor.frames(.pyin, samples: samples)
            let row = ["pyin_f0": 0, "pyin_voiced": 1, "pyin_voiced_prob": 2][feature]!
            return Array(rows.row(row))
        default:
            guard let kind = FeatureKind(rawValue: feature) else { throw FeatureError.invalidParameter(feature) }
            return try extractor.frames(kind, samples: samples).values
        }
    }
}
