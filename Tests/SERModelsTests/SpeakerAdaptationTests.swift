import Foundation
import SERNumerics
import SERSpeakers
import SERSupport
import Testing
@testable import SERModels

@Suite("speaker statistics and adaptation")
struct SpeakerAdaptationTests {
    func randomVectors(_ count: Int, dimension: Int, seed: UInt64, offset: Float = 0, scale: Float = 1) -> [[Float]] {
        var generator = SplitMix64(seed: seed)
        return (0..<count).map { _ in (0..<dimension).map { _ in offset + scale * Float(generator.nextStandardNormal()) } }
    }

    @Test("with no prior, the statistics of all a speaker's recordings standardize exactly as --speaker-normalization does")
    func unshrunkEqualsSpeakerNormalization() {
        let vectors = randomVectors(12, dimension: 5, seed: 3, offset: 40, scale: 6) + [[1, 2, 3, 4, 5]]
        let statistics = SpeakerStatistics(dimension: 5, vectors: vectors)
        let expected = Standardizer(fittingRows: vectors)
        let adaptation = SpeakerAdaptation(populationMean: [9, 9, 9, 9, 9], withinSpeakerVariance: [4, 4, 4, 4, 4],
                                           meanPriorWeight: 0, variancePriorWeight: 0, blendPriorWeight: 0, minimumRecordings: 1)
        for (a, b) in zip(adaptation.standardizer(for: statistics).mean + adaptation.standardizer(for: statistics).deviation,
                          expected.mean + expected.deviation) {
            #expect(abs(a - b) <= 1e-4 * max(1, abs(b)))
        }
        let z = SpeakerNormalization.zScores(vectors, groups: Array(repeating: "s", count: vectors.count))
        for (row, vector) in vectors.enumerated() {
            for (a, b) in zip(adaptation.standardizer(for: statistics).apply(vector), z[row]) { #expect(abs(a - b) < 1e-4) }
        }
        // The plain standardizer of the statistics is the same thing.
        for (a, b) in zip(statistics.standardizer.mean, expected.mean) { #expect(abs(a - b) <= 1e-4 * max(1, abs(b))) }
    }

    @Test("adding one by one, merging, and computing at once agree; a vector of the wrong size is refused")
    func incrementalAndMergedAgree() {
        let first = randomVectors(4, dimension: 3, seed: 5), second = randomVectors(6, dimension: 3, seed: 6)
        var incremental = SpeakerStatistics(dimension: 3)
        for v in first + second {
            let added = incremental.add(v)
            #expect(added)
        }
        var merged = SpeakerStatistics(dimension: 3, vectors: first)
        let mergedOK = merged.merge(SpeakerStatistics(dimension: 3, vectors: second))
        #expect(mergedOK)
        let atOnce = SpeakerStatistics(dimension: 3, vectors: first + second)
        #expect(incremental.count == 10 && merged.count == 10)
        for (a, b) in zip(incremental.sum + merged.sumOfSquares, atOnce.sum + atOnce.sumOfSquares) { #expect(abs(a - b) < 1e-9 * max(1, abs(b))) }
        let wrongSize = incremental.add([1, 2]), notFinite = incremental.add([1, .nan, 2])
        let wrongMerge = merged.merge(SpeakerStatistics(dimension: 4))
        #expect(!wrongSize && !notFinite && !wrongMerge)
        #expect(incremental.count == 10)
    }

    @Test("shrinkage: no recordings give the population's statistics; many give the speaker's own")
    func shrinkageMovesFromPopulationToSpeaker() {
        let adaptation = SpeakerAdaptation(populationMean: [0, 0], withinSpeakerVariance: [1, 1], meanPriorWeight: 3,
                                           variancePriorWeight: 10, blendPriorWeight: 2, minimumRecordings: 1)
        let none = adaptation.standardizer(for: SpeakerStatistics(dimension: 2))
        #expect(none.mean == [0, 0] && none.deviation == [1, 1])
        let speaker = randomVectors(3000, dimension: 2, seed: 9, offset: 50, scale: 4)
        let many = adaptation.standardizer(for: SpeakerStatistics(dimension: 2, vectors: speaker))
        for m in many.mean { #expect(abs(m - 50) < 0.5) }
        for d in many.deviation { #expect(abs(d - 4) < 0.3) }
        // Three recordings: the mean sits 3/(3+3) of the way to the speaker's.
        let three = [[Float](repeating: 12, count: 2), [12, 12], [12, 12]]
        #expect(abs(adaptation.standardizer(for: SpeakerStatistics(dimension: 2, vectors: three)).mean[0] - 6) < 1e-5)
        #expect(adaptation.adaptedWeight(recordings: 0) == 0)
        #expect(abs(adaptation.adaptedWeight(recordings: 2) - 0.5) < 1e-12)
    }

    @Test("the population prior is the mean of speaker means and of within-speaker variances")
    func populationPrior() {
        let a = [[Float(0)], [2]], b = [[Float(10)], [10], [16]]
        let prior = SpeakerAdaptation(fitting: a + b, groups: ["a", "a", "b", "b", "b"], meanPriorWeight: 1,
                                      variancePriorWeight: 1, blendPriorWeight: 1, minimumRecordings: 1)
        #expect(abs(prior.populationMean[0] - 6.5) < 1e-5)        // (1 + 12) / 2
        #expect(abs(prior.withinSpeakerVariance[0] - 4.5) < 1e-4)  // (1 + 8) / 2
    }

    @Test("statistics survive JSON and inconsistent ones are refused")
    func statisticsCoding() throws {
        let statistics = SpeakerStatistics(dimension: 3, vectors: randomVectors(5, dimension: 3, seed: 2))
        let decoded = try JSONDecoder().decode(SpeakerStatistics.self, from: JSONEncoder().encode(statistics))
        #expect(decoded == statistics)
        let bad = Data(#"{"count": 2, "sum": [1, 2], "sum_of_squares": [1]}"#.utf8)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(SpeakerStatistics.self, from: bad) }
    }
}
