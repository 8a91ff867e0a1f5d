import Testing
@testable import SERModels

@Suite struct MetricsTests {
    @Test func workedExample() {
        // truth:     a a a a b b c c
        // predicted: a a a b b c c c
        let m = ClassificationMetrics(labels: ["a", "b", "c"], truth: [0, 0, 0, 0, 1, 1, 2, 2], predicted: [0, 0, 0, 1, 1, 2, 2, 2])
        #expect(m.confusion == [[3, 1, 0], [0, 1, 1], [0, 0, 2]])
        #expect(m.accuracy == 6.0 / 8)
        // recalls 3/4, 1/2, 1 → UAR 0.75
        #expect(abs(m.uar - 0.75) < 1e-12)
        // precisions 1, 1/2, 2/3; F1 = 6/7, 1/2, 4/5
        #expect(abs(m.perClass["a"]!.f1 - 6.0 / 7) < 1e-12 && abs(m.perClass["c"]!.precision - 2.0 / 3) < 1e-12)
        #expect(abs(m.macroF1 - (6.0 / 7 + 0.5 + 0.8) / 3) < 1e-12)
        #expect(m.perClass["b"]!.support == 2)
    }

    @Test func uarIgnoresAbsentClassesAndECEMeasuresMiscalibration() {
        let m = ClassificationMetrics(labels: ["a", "b", "calm"], truth: [0, 1], predicted: [0, 0])
        #expect(m.uar == 0.5, "calm has no true examples and does not count")
        let calibrated = ClassificationMetrics(labels: ["a", "b"], truth: [0, 0, 0, 1], predicted: [0, 0, 0, 0],
                                               confidence: [0.75, 0.75, 0.75, 0.75])
        #expect(abs(calibrated.ece! - 0) < 1e-12)
        let overconfident = ClassificationMetrics(labels: ["a", "b"], truth: [0, 1], predicted: [0, 0], confidence: [0.95, 0.95])
        #expect(abs(overconfident.ece! - 0.45) < 1e-9)
    }

    /// Two corpora's qualified labels merged onto the plain ones: counts add up
    /// cell by cell, and accuracy and calibration error stay what they were.
    @Test func mergingQualifiedLabelsAddsTheirCounts() {
        // A/happy A/sad B/happy B/sad; predictions stay within each corpus's pair.
        let qualified = ClassificationMetrics(labels: ["A/happy", "A/sad", "B/happy", "B/sad"],
                                              truth: [0, 0, 1, 2, 3, 3], predicted: [0, 1, 1, 3, 3, 2],
                                              confidence: [0.9, 0.6, 0.8, 0.7, 0.9, 0.55])
        let plain = qualified.merged(into: ["happy", "sad"], mapping: [0, 1, 0, 1])
        // happy: A 0→0, A 0→1, B 2→3 ; sad: A 1→1, B 3→3, B 3→2
        #expect(plain.confusion == [[1, 2], [1, 2]])
        #expect(plain.n == 6 && plain.accuracy == qualified.accuracy && plain.ece == qualified.ece)
        #expect(plain.accuracy == 0.5)
        #expect(abs(plain.uar - 0.5) < 1e-12 && plain.perClass["sad"]?.support == 3)
        // Built from its confusion matrix, the metrics match those built from the predictions.
        let direct = ClassificationMetrics(labels: ["happy", "sad"], truth: [0, 0, 1, 0, 1, 1], predicted: [0, 1, 1, 1, 1, 0],
                                           confidence: [0.9, 0.6, 0.8, 0.7, 0.9, 0.55])
        #expect(direct == plain)
    }
}
