import Foundation
import SERNumerics
import SERSpeakers
import SERSupport
import Testing
@testable import SERModels

@Suite struct SpeakerNormalizationTests {
    /// Two speakers whose voices sit far apart (a habitual offset and scale) say
    /// "sad" (−1) and "happy" (+1) equally often, with a little noise.
    func twoSpeakers() -> (vectors: [[Float]], groups: [String], emotion: [Float]) {
        var generator = SplitMix64(seed: 11)
        func noise() -> Float { Float(generator.next() >> 11) / Float(1 << 53) * 0.2 - 0.1 }
        var vectors: [[Float]] = [], groups: [String] = [], emotion: [Float] = []
        for (speaker, offset, scale) in [("low", Float(100), Float(3)), ("high", Float(300), Float(10))] {
            for take in 0..<20 {
                let e: Float = take % 2 == 0 ? -1 : 1
                vectors.append([offset + scale * (e + noise()), 5 + noise(), 7])
                groups.append(speaker)
                emotion.append(e)
            }
        }
        return (vectors, groups, emotion)
    }

    @Test func eachSpeakerGetsZeroMeanAndUnitDeviation() {
        let (vectors, groups, _) = twoSpeakers()
        let z = SpeakerNormalization.zScores(vectors, groups: groups)
        for speaker in ["low", "high"] {
            let rows = groups.indices.filter { groups[$0] == speaker }
            for column in 0..<2 {
                let values = rows.map { Double(z[$0][column]) }
                let mean = values.reduce(0, +) / Double(values.count)
                let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count)
                #expect(abs(mean) < 1e-5, "\(speaker) column \(column) mean \(mean)")
                #expect(abs(variance - 1) < 1e-4, "\(speaker) column \(column) variance \(variance)")
            }
            // A feature constant within the speaker is centred, not divided by zero.
            #expect(rows.allSatisfy { z[$0][2] == 0 })
        }
    }

    /// Before normalization the speaker decides the first feature; after it the
    /// emotion does: the same emotion of both speakers lands in the same place.
    @Test func theSpeakersHabitGivesWayToTheEmotion() {
        let (vectors, groups, emotion) = twoSpeakers()
        let z = SpeakerNormalization.zScores(vectors, groups: groups)
        for row in vectors.indices {
            #expect((z[row][0] > 0) == (emotion[row] > 0), "row \(row): \(z[row][0]) for emotion \(emotion[row])")
            #expect(abs(abs(z[row][0]) - 1) < 0.15, "z-score \(z[row][0]) is about ±1 whoever speaks")
        }
        #expect(vectors.indices.contains { (vectors[$0][0] > 200) != (emotion[$0] > 0) }, "raw values follow the speaker")
    }

    /// A speaker's z-scores depend on that speaker's recordings only.
    @Test func speakersDoNotMix() {
        let (vectors, groups, _) = twoSpeakers()
        let before = SpeakerNormalization.zScores(vectors, groups: groups)
        var changed = vectors
        for row in groups.indices where groups[row] == "high" { changed[row][0] *= 50; changed[row][1] += 1000 }
        let after = SpeakerNormalization.zScores(changed, groups: groups)
        for row in groups.indices where groups[row] == "low" { #expect(after[row] == before[row]) }
        let statistics = Standardizer(fittingRows: groups.indices.filter { groups[$0] == "low" }.map { vectors[$0] })
        #expect(statistics.apply(vectors[0]) == before[0], "the statistics standardize as zScores does")
    }
}
