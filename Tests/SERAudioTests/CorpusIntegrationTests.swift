import Foundation
import SERSupport
import Testing
@testable import SERAudio

/// Real recordings from ../shared/corpora (skipped, with the reason, when absent).
@Suite(.enabled(if: SharedCorpora.isPresent, "../shared/corpora/originals not found beside the checkout"))
struct CorpusIntegrationTests {
    var originals: String { SharedCorpora.root + "/originals" }

    @Test func originalsDecodeWithTheirDocumentedLayout() throws {
        // (file, rate, channels, container) as the corpora README describes them.
        let expected: [(String, Int, Int, String)] = [
            ("03-01-02-01-01-02-01.wav", 48000, 2, "WAV"),
            ("03-01-05-02-01-01-03.wav", 48000, 1, "WAV"),
            ("DC_a01.wav", 44100, 1, "WAV"),
            ("OAF_food_fear.wav", 96000, 1, "WAV"),
            ("1001_DFA_ANG_XX.wav", 16000, 1, "WAV"),
            ("aiff-named-wav.wav", 24414, 1, "AIFF"),
        ]
        for (file, rate, channels, container) in expected {
            let summary = try AudioFileSummary(path: originals + "/" + file)
            #expect(summary.sampleRate == rate, "\(file)")
            #expect(summary.channels == channels, "\(file)")
            #expect(summary.container == container, "\(file)")
            #expect(summary.duration > 1 && summary.duration < 6, "\(file)")
        }
    }

    /// The corpus FLACs are `librosa.load(original, sr=16000)` stored as 16-bit:
    /// our 16 kHz decode of the original must equal them to within 16-bit rounding.
    @Test(arguments: [
        ("03-01-02-01-01-02-01.wav", "ravdess/Actor_01/03-01-02-01-01-02-01.flac"),
        ("03-01-05-02-01-01-03.wav", "ravdess/Actor_03/03-01-05-02-01-01-03.flac"),
        ("DC_a01.wav", "savee/DC_a01.flac"),
        ("1001_DFA_ANG_XX.wav", "crema-d/1001_DFA_ANG_XX.flac"),
    ])
    func sixteenKilohertzMatchesTheCorpusCopies(original: String, copy: String) throws {
        let ours = try AudioSignal(contentsOf: originals + "/" + original, sampleRate: 16000)
        let reference = try AudioSignal(contentsOf: SharedCorpora.root + "/" + copy)
        #expect(reference.sampleRate == 16000)
        #expect(ours.samples.count == reference.samples.count)
        let quantised = Signals.quantized(ours.samples.map { min(max($0, -1), 32767 / 32768) }, bits: 16)
        let difference = maxAbsDifference(quantised, reference.samples)
        #expect(difference <= 1.0 / 32768 + 1e-7, "\(original): max |Δ| = \(difference)")
    }

    /// Against `librosa.load(original, sr=22050)` references that
    /// scripts/make_audio_fixtures.py writes locally (never committed).
    @Test func twentyTwoKilohertzMatchesLocalLibrosaReferences() throws {
        let local = SharedCorpora.packageRoot + "/.fixtures-local/originals"
        guard FileManager.default.fileExists(atPath: local) else {
            print("skipping librosa 22050 Hz comparison: run scripts/make_audio_fixtures.py to create \(local)")
            return
        }
        for file in try FileManager.default.contentsOfDirectory(atPath: originals).sorted() {
            let referencePath = "\(local)/\(file).sr22050.npy"
            guard FileManager.default.fileExists(atPath: referencePath) else { continue }
            let reference = try NumPyArray(contentsOf: referencePath)
            let ours = try AudioSignal(contentsOf: originals + "/" + file, sampleRate: 22050)
            #expect(ours.samples.count == reference.values.count, "\(file)")
            let difference = maxAbsDifference(ours.samples, reference.values)
            #expect(difference <= 1e-4, "\(file): max |Δ| = \(difference)")
        }
    }
}
