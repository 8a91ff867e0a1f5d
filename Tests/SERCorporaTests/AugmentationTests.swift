import SERSupport
import Foundation
import SERAudio
import SERFeatures
import SERTestSupport
import Testing
@testable import SERCorpora

@Suite struct AugmentationTests {
    let rate = 16000
    /// Frequency of a clean tone from its zero crossings.
    func frequency(_ x: [Float]) -> Double {
        let middle = Array(x[(x.count / 8)..<(x.count * 7 / 8)])
        var crossings = 0
        for i in 1..<middle.count where (middle[i - 1] < 0) != (middle[i] < 0) { crossings += 1 }
        return Double(crossings) / 2 / (Double(middle.count) / Double(rate))
    }

    @Test func noiseHitsTheRequestedSNRAndIsReproducible() throws {
        let clean = TestSignals.tone(300, sampleRate: rate, seconds: 1, amplitude: 0.4)
        let a = try Perturbation.noise(snr: 10).applied(to: clean, sampleRate: rate, seed: 5)
        let b = try Perturbation.noise(snr: 10).applied(to: clean, sampleRate: rate, seed: 5)
        let c = try Perturbation.noise(snr: 10).applied(to: clean, sampleRate: rate, seed: 6)
        #expect(a == b && a != c)
        let signal = clean.reduce(0.0) { $0 + Double($1 * $1) }
        let noise = zip(a, clean).reduce(0.0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) }
        #expect(abs(10 * log10(signal / noise) - 10) < 0.3)
    }

    @Test func gainSpeedPitchAndShift() throws {
        let clean = TestSignals.tone(440, sampleRate: rate, seconds: 1, amplitude: 0.4)
        let louder = try Perturbation.gain(decibels: 6).applied(to: clean, sampleRate: rate, seed: 0)
        #expect(abs(louder[100] / clean[100] - Float(pow(10, 6.0 / 20))) < 1e-5)

        let faster = try Perturbation.speed(factor: 1.1).applied(to: clean, sampleRate: rate, seed: 0)
        #expect(abs(Double(faster.count) - Double(clean.count) / 1.1) <= 2)
        #expect(abs(frequency(faster) / (440 * 1.1) - 1) < 0.01)

        let higher = try Perturbation.pitch(semitones: 2).applied(to: clean, sampleRate: rate, seed: 0)
        #expect(higher.count == clean.count)
        #expect(abs(frequency(higher) / (440 * pow(2, 2.0 / 12)) - 1) < 0.02, "pitch-shifted tone at \(frequency(higher)) Hz")

        let shifted = try Perturbation.timeShift(maximumSeconds: 0.05).applied(to: clean, sampleRate: rate, seed: 3)
        #expect(shifted.count == clean.count && shifted != clean)
    }

    @Test func copiesInheritSpeakerAndStayOnTheTrainingSide() throws {
        let split = try SpeakerSplitter.kFold(SplitTests.items, folds: 3, seed: 2)
        let (train, test) = split.partition(SplitTests.items, fold: 0)
        let plan = Augmenter.plan(training: train, recipe: [.noise(snr: 15), .speed(factor: 0.9)], copies: 2, seed: 4)
        #expect(plan.count == 2 * train.count)
        let testSpeakers = Set(test.compactMap(\.speaker))
        #expect(plan.allSatisfy { !testSpeakers.contains($0.source.speaker!) })
        #expect(plan == Augmenter.plan(training: train, recipe: [.noise(snr: 15), .speed(factor: 0.9)], copies: 2, seed: 4))
        #expect(Set(plan.map(\.seed)).count == plan.count, "each copy has its own seed")
    }
}
