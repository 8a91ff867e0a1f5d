import Foundation
import SERFeatures
import SERNumerics
import SERSupport
import Testing

/// One synthetic signal and the settings librosa ran with (see scripts/make_feature_fixtures.py).
struct ParityCase: CustomTestStringConvertible, Sendable {
    var name: String
    var directory: String
    var sampleRate: Double
    var fftSize = 2048
    var hopLength = 512
    var windowLength: Int?
    var melCount = 128
    var minimumFrequency = 0.0
    var maximumFrequency: Double?
    var htk = false
    var mfccCount = 20
    var lifter = 0.0
    var features: Set<String>
    var testDescription: String { name }

    static func load(from directory: String) -> [ParityCase] {
        guard let data = FileManager.default.contents(atPath: directory + "/cases.json"),
              let json = try? JSONSerialization.jsonObject(with: data) as? [String: [String: Any]]
        else { return [] }
        return json.keys.sorted().compactMap { name in
            guard let entry = json[name], let rate = entry["sample_rate"] as? Double else { return nil }
            let s = entry["settings"] as? [String: Any] ?? [:]
            var c = ParityCase(name: name, directory: directory, sampleRate: rate,
                               features: Set(entry["features"] as? [String] ?? []))
            if let v = s["n_fft"] as? Int { c.fftSize = v }
            if let v = s["hop_length"] as? Int { c.hopLength = v }
            if let v = s["win_length"] as? Int { c.windowLength = v }
            if let v = s["n_mels"] as? Int { c.melCount = v }
            if let v = s["fmin"] as? Double { c.minimumFrequency = v }
            if let v = s["fmax"] as? Double { c.maximumFrequency = v }
            if let v = s["htk"] as? Bool { c.htk = v }
            if let v = s["n_mfcc"] as? Int { c.mfccCount = v }
            if let v = s["lifter"] as? Double { c.lifter = v } else if let v = s["lifter"] as? Int { c.lifter = Double(v) }
            return c
        }
    }

    func reference(_ feature: String) throws -> NumPyArray {
        try NumPyArray(contentsOf: "\(directory)/\(name).\(feature).npy")
    }

    var stft: STFTConfiguration { STFTConfiguration(fftSize: fftSize, hopLength: hopLength, windowLength: windowLength) }
    var mel: MelConfiguration {
        MelConfiguration(melCount: melCount, minimumFrequency: minimumFrequency, maximumFrequency: maximumFrequency,
                         scale: htk ? .htk : .slaney)
    }

    func spectrogram(_ precision: Spectrogram.Precision = .double) throws -> (samples: [Float], spectrogram: Spectrogram) {
        let samples = try reference("input").values
        return (samples, try Spectrogram(samples: samples, sampleRate: sampleRate, configuration: stft, precision: precision))
    }
}

enum FeatureFixtures {
    static var committed: String { Bundle.module.resourceURL!.appendingPathComponent("Fixtures/features").path }
    static var cases: [ParityCase] { ParityCase.load(from: committed) }
}

/// Worst differences between our output and librosa's, for the closing report.
struct Comparison {
    var worstAbsolute: Float = 0
    var worstRelative: Float = 0

    /// Compares element-wise; relative error is taken against max(|reference|, floor).
    init(_ ours: Matrix, _ reference: NumPyArray, floor: Float, mask: ((Int) -> Bool)? = nil) {
        for i in reference.values.indices where mask?(i) ?? true {
            let difference = abs(ours.values[i] - reference.values[i])
            worstAbsolute = max(worstAbsolute, difference)
            worstRelative = max(worstRelative, difference / max(abs(reference.values[i]), floor))
        }
    }
}

/// Selects the positive values of a `rows × frames` reference that are at least
/// `ratio` times their frame's maximum.
func withinRangeOfFrameMaximum(_ reference: NumPyArray, frames: Int, ratio: Float) -> (Int) -> Bool {
    var frameMax = [Float](repeating: 0, count: frames)
    for i in reference.values.indices { frameMax[i % frames] = max(frameMax[i % frames], reference.values[i]) }
    return { i in reference.values[i] > 0 && reference.values[i] >= frameMax[i % frames] * ratio }
}

func shapeMatches(_ ours: Matrix, _ reference: NumPyArray) -> Bool {
    reference.shape == [ours.rows, ours.columns]
}

@Suite struct LibrosaParityTests {
    /// Both FFT precisions: features computed without spectral contrast or flatness use the single-precision one.
    /// Only the cases whose fixtures hold librosa's |STFT|.
    @Test(arguments: FeatureFixtures.cases.filter { $0.features.contains("magnitude") }, [Spectrogram.Precision.double, .single])
    func stftMagnitude(_ c: ParityCase, precision: Spectrogram.Precision) throws {
        let ours = try c.spectrogram(precision).spectrogram.magnitudes
        let reference = try c.reference("magnitude")
        #expect(shapeMatches(ours, reference), "\(reference.shape) vs \(ours.rows)×\(ours.columns)")
        // Relative error on bins within 60 dB (amplitude: 1e-3) of their frame's maximum.
        let result = Comparison(ours, reference, floor: .leastNormalMagnitude,
                                mask: withinRangeOfFrameMaximum(reference, frames: ours.columns, ratio: 1e-3))
        #expect(result.worstRelative <= 1e-4, "\(c.name): worst relative \(result.worstRelative)")
    }

    /// Both FFT precisions: features computed without spectral contrast or flatness use the single-precision one.
    @Test(arguments: FeatureFixtures.cases, [Spectrogram.Precision.double, .single])
    func melSpectrogramAndDecibels(_ c: ParityCase, precision: Spectrogram.Precision) throws {
        let mel = try c.spectrogram(precision).spectrogram.melSpectrogram(c.mel)
        let reference = try c.reference("melspectrogram")
        #expect(shapeMatches(mel, reference))
        // Power: within 60 dB of the frame's maximum is a ratio of 1e-6.
        let relative = Comparison(mel, reference, floor: .leastNormalMagnitude,
                                  mask: withinRangeOfFrameMaximum(reference, frames: mel.columns, ratio: 1e-6))
        #expect(relative.worstRelative <= 1e-4, "\(c.name): mel worst relative \(relative.worstRelative)")

        let db = DecibelScaling().powerToDecibels(mel)
        let dbResult = Comparison(db, try c.reference("melspectrogram_db"), floor: 1)
        #expect(dbResult.worstAbsolute <= 0.01, "\(c.name): dB worst \(dbResult.worstAbsolute)")
    }

    /// Both FFT precisions: features computed without spectral contrast or flatness use the single-precision one.
    @Test(arguments: FeatureFixtures.cases, [Spectrogram.Precision.double, .single])
    func mfccAndDeltas(_ c: ParityCase, precision: Spectrogram.Precision) throws {
        let spectrogram = try c.spectrogram(precision).spectrogram
        let mfcc = try spectrogram.mfcc(MFCCConfiguration(coefficientCount: c.mfccCount, lifter: c.lifter), mel: c.mel)
        let reference = try c.reference("mfcc")
        #expect(shapeMatches(mfcc, reference))
        let result = Comparison(mfcc, reference, floor: 1)
        #expect(result.worstAbsolute <= 0.01, "\(c.name): MFCC worst \(result.worstAbsolute)")
        for (order, name) in [(1, "mfcc_delta"), (2, "mfcc_delta2")] {
            let ours = try delta(mfcc, order: order)
            let deltaResult = Comparison(ours, try c.reference(name), floor: 1)
            #expect(deltaResult.worstAbsolute <= 0.01, "\(c.name): \(name) worst \(deltaResult.worstAbsolute)")
        }
    }

    /// Both FFT precisions: features computed without spectral contrast or flatness use the single-precision one.
    @Test(arguments: FeatureFixtures.cases, [Spectrogram.Precision.double, .single])
    func chromaWithEstimatedTuning(_ c: ParityCase, precision: Spectrogram.Precision) throws {
        let (chroma, tuning) = try c.spectrogram(precision).spectrogram.chroma()
        let referenceTuning = try c.reference("tuning").values[0]
        #expect(abs(Float(tuning) - referenceTuning) < 1e-6, "\(c.name): tuning \(tuning) vs \(referenceTuning)")
        let reference = try c.reference("chroma_stft")
        #expect(shapeMatches(chroma, reference))
        let result = Comparison(chroma, reference, floor: 1)
        #expect(result.worstAbsolute <= 1e-3, "\(c.name): chroma worst \(result.worstAbsolute)")
    }

    @Test(arguments: FeatureFixtures.cases)
    func waveformAndSpectralShape(_ c: ParityCase) throws {
        let (samples, spectrogram) = try c.spectrogram()
        let checks: [(String, Matrix, Float)] = [
            ("zero_crossing_rate", try WaveformFeatures.zeroCrossingRate(samples, frameLength: c.fftSize, hopLength: c.hopLength), 1e-3),
            ("rms", try WaveformFeatures.rms(samples, frameLength: c.fftSize, hopLength: c.hopLength), 1e-6),
            ("spectral_centroid", spectrogram.spectralCentroid(), 1),
            ("spectral_bandwidth", spectrogram.spectralBandwidth(), 1),
            ("spectral_rolloff", try spectrogram.spectralRolloff(), 1),
            ("spectral_flatness", spectrogram.spectralFlatness(), 1e-6),
        ] + (c.features.contains("spectral_contrast") ? [("spectral_contrast", try spectrogram.spectralContrast(), 1)] : [])
        for (name, ours, floor) in checks {
            let reference = try c.reference(name)
            #expect(shapeMatches(ours, reference), "\(c.name) \(name): \(reference.shape) vs \(ours.rows)×\(ours.columns)")
            guard shapeMatches(ours, reference) else { continue }
            let result = Comparison(ours, reference, floor: floor)
            #expect(result.worstRelative <= 1e-3, "\(name) on \(c.name): worst relative \(result.worstRelative), absolute \(result.worstAbsolute)")
        }
    }
}

/// The same comparisons on the corpus originals, against references that
/// scripts/make_feature_fixtures.py writes locally (never committed).
@Suite(.enabled(if: FileManager.default.fileExists(atPath: CorpusReferences.directory + "/cases.json"),
                "no local references: run scripts/make_feature_fixtures.py with ../shared/corpora present"))
struct CorpusParityTests {
    @Test(arguments: ParityCase.load(from: CorpusReferences.directory))
    func corpusOriginals(_ c: ParityCase) throws {
        let parity = LibrosaParityTests()
        for precision in [Spectrogram.Precision.double, .single] {
            try parity.melSpectrogramAndDecibels(c, precision: precision)
            try parity.mfccAndDeltas(c, precision: precision)
            try parity.chromaWithEstimatedTuning(c, precision: precision)
            if c.features.contains("magnitude") { try parity.stftMagnitude(c, precision: precision) }
        }
        try parity.waveformAndSpectralShape(c)
        if c.features.contains("classic180") { try PresetParityTests().classic180MatchesTheSeedsRecipe(c) }
        if c.features.contains("x193") { try PresetParityTests().x193MatchesTheReferenceRecipe(c) }
        if c.features.contains("harmonic") { try PresetParityTests().harmonicComponentMatchesHPSS(c) }
        if c.features.contains("yin") { try PitchParityTests().yinMatches(c) }
        if c.features.contains("pyin_f0") { try PitchParityTests().pyinMatches(c) }
        if c.features.contains("chroma_cqt") { try ConstantQParityTests().chromaCQTAndTonnetzMatch(c) }
    }
}

enum CorpusReferences {
    static var directory: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".fixtures-local/features").path
    }
}

@Suite struct PresetParityTests {
    /// `classic180` against the seed projects' own code (mfcc n_mfcc=40, chroma_stft(S=|stft|), melspectrogram; means).
    @Test(arguments: FeatureFixtures.cases.filter { $0.features.contains("classic180") })
    func classic180MatchesTheSeedsRecipe(_ c: ParityCase) throws {
        let samples = try c.reference("input").values
        let ours = try FeaturePreset.classic180.vector(samples: samples, sampleRate: Int(c.sampleRate))
        let reference = try c.reference("classic180").values
        #expect(ours.count == 180 && reference.count == 180)
        let mfccWorst = (0..<40).map { abs(ours[$0] - reference[$0]) }.max()!
        let chromaWorst = (40..<52).map { abs(ours[$0] - reference[$0]) }.max()!
        let melWorst = (52..<180).map { abs(ours[$0] - reference[$0]) / max(abs(reference[$0]), 1e-8) }.max()!
        #expect(mfccWorst <= 0.01, "\(c.name): MFCC means worst \(mfccWorst)")
        #expect(chromaWorst <= 1e-3, "\(c.name): chroma means worst \(chromaWorst)")
        #expect(melWorst <= 1e-4, "\(c.name): mel means worst relative \(melWorst)")
    }

    /// `x193` against the reference repository's code (classic180 + contrast + tonnetz of the harmonic part).
    @Test(arguments: FeatureFixtures.cases.filter { $0.features.contains("x193") })
    func x193MatchesTheReferenceRecipe(_ c: ParityCase) throws {
        let samples = try c.reference("input").values
        let ours = try FeaturePreset.x193.vector(samples: samples, sampleRate: Int(c.sampleRate))
        let reference = try c.reference("x193").values
        #expect(ours.count == 193 && reference.count == 193)
        let contrastWorst = (180..<187).map { abs(ours[$0] - reference[$0]) / max(abs(reference[$0]), 1) }.max()!
        let tonnetzWorst = (187..<193).map { abs(ours[$0] - reference[$0]) }.max()!
        #expect(contrastWorst <= 1e-3, "\(c.name): contrast means worst relative \(contrastWorst)")
        #expect(tonnetzWorst <= 1e-2, "\(c.name): tonnetz means worst \(tonnetzWorst)")
    }

    @Test(arguments: FeatureFixtures.cases.filter { $0.features.contains("harmonic") })
    func harmonicComponentMatchesHPSS(_ c: ParityCase) throws {
        let samples = try c.reference("input").values
        let ours = try WaveformFeatures.harmonicComponent(samples)
        let reference = try c.reference("harmonic").values
        #expect(ours.count == reference.count)
        let peak = reference.map { abs($0) }.max() ?? 1
        let worst = zip(ours, reference).map { abs($0 - $1) }.max() ?? 0
        #expect(worst <= 1e-3 * max(peak, 1e-6), "\(c.name): harmonic worst \(worst) against peak \(peak)")
    }

    @Test func presetDimensionsAndNames() throws {
        #expect(FeaturePreset.x193.dimension == 193)
        #expect(FeaturePreset.rich.dimension == 152)
        let names = FeaturePreset.rich.columnNames(sampleRate: 16000)
        #expect(Set(names).count == names.count, "column names are unique")
        #expect(names.contains("pyin_f0_mean") && names.contains("mfcc_delta2_19_std"))
        // Every preset vector of a real signal is finite, including on silence (no voiced frames).
        let tone = (0..<16000).map { Float(0.3 * sin(2 * Double.pi * 180 * Double($0) / 16000)) }
        for samples in [tone, [Float](repeating: 0, count: 16000)] {
            let vector = try FeaturePreset.rich.vector(samples: samples, sampleRate: 16000)
            #expect(vector.count == 152 && vector.allSatisfy(\.isFinite))
        }
        let toneVector = try FeaturePreset.rich.vector(samples: tone, sampleRate: 16000)
        let f0 = toneVector[names.firstIndex(of: "pyin_f0_mean")!]
        #expect(abs(1200 * log2(f0 / 180)) < 20, "f0 of a 180 Hz tone: \(f0)")
    }

    @Test func columnNamesDescribeTheVector() {
        let names = FeaturePreset.classic180.columnNames()
        #expect(names.count == 180 && FeaturePreset.classic180.dimension == 180)
        #expect(names.first == "mfcc_0_mean" && names[40] == "chroma_stft_0_mean" && names.last == "melspectrogram_127_mean")
    }
}

@Suite struct PitchParityTests {
    static let pitch = PitchConfiguration()  // C2–C7, frame 2048, hop 512: librosa's usual call

    /// Cents between two frequencies.
    static func cents(_ a: Float, _ b: Float) -> Float { abs(1200 * log2(a / b)) }

    @Test(arguments: FeatureFixtures.cases.filter { $0.features.contains("yin") })
    func yinMatches(_ c: ParityCase) throws {
        let samples = try c.reference("input").values
        let ours = try WaveformFeatures.yin(samples, sampleRate: c.sampleRate, configuration: Self.pitch)
        let reference = try c.reference("yin").values
        #expect(ours.columns == reference.count)
        let within = zip(ours.values, reference).filter { Self.cents($0, $1) <= 1 }.count
        let share = Double(within) / Double(max(1, reference.count))
        #expect(share >= 0.99, "\(c.name): \(within)/\(reference.count) frames within 1 cent")
    }

    @Test(arguments: FeatureFixtures.cases.filter { $0.features.contains("pyin_f0") })
    func pyinMatches(_ c: ParityCase) throws {
        let samples = try c.reference("input").values
        let ours = try WaveformFeatures.pyin(samples, sampleRate: c.sampleRate, configuration: Self.pitch)
        let f0 = try c.reference("pyin_f0").values
        let voiced = try c.reference("pyin_voiced").values.map { $0 != 0 }
        let probability = try c.reference("pyin_voiced_prob").values
        #expect(ours.f0.count == f0.count)
        let agreeing = zip(ours.voiced, voiced).filter { $0 == $1 }.count
        #expect(Double(agreeing) >= 0.98 * Double(voiced.count), "\(c.name): voicing agrees on \(agreeing)/\(voiced.count)")
        let bothVoiced = (0..<f0.count).filter { ours.voiced[$0] && voiced[$0] }
        let close = bothVoiced.filter { Self.cents(ours.f0[$0], f0[$0]) <= 1 }.count
        #expect(Double(close) >= 0.99 * Double(bothVoiced.count), "\(c.name): f0 within 1 cent on \(close)/\(bothVoiced.count) voiced frames")
        let worstProbability = zip(ours.voicedProbability, probability).map { abs($0 - $1) }.max() ?? 0
        #expect(worstProbability <= 1e-3, "\(c.name): voiced probability worst \(worstProbability)")
    }
}

@Suite struct ConstantQParityTests {
    @Test(arguments: FeatureFixtures.cases.filter { $0.features.contains("chroma_cqt") })
    func chromaCQTAndTonnetzMatch(_ c: ParityCase) throws {
        let samples = try c.reference("input").values
        let chroma = try WaveformFeatures.chromaCQT(samples, sampleRate: c.sampleRate)
        let reference = try c.reference("chroma_cqt")
        #expect(shapeMatches(chroma, reference), "\(reference.shape) vs \(chroma.rows)×\(chroma.columns)")
        guard shapeMatches(chroma, reference) else { return }
        let chromaResult = Comparison(chroma, reference, floor: 1)
        #expect(chromaResult.worstAbsolute <= 1e-2, "\(c.name): chroma_cqt worst \(chromaResult.worstAbsolute)")
        let tonnetz = try WaveformFeatures.tonnetz(samples, sampleRate: c.sampleRate)
        let tonnetzResult = Comparison(tonnetz, try c.reference("tonnetz"), floor: 1)
        #expect(tonnetzResult.worstAbsolute <= 1e-2, "\(c.name): tonnetz worst \(tonnetzResult.worstAbsolute)")
    }
}
