

/// Classification quality of predictions against true labels.
public struct ClassificationMetrics: Codable, Sendable, Equatable {
    /// One label's figures.
    public struct PerClass: Codable, Sendable, Equatable {
        /// Share of the rows predicted as the label that carry it.
        public var precision: Double
        /// Share of the rows carrying the label that were predicted as it.
        public var recall: Double
        /// Harmonic mean of precision and recall.
        public var f1: Double
        /// Rows carrying the label.
        public var support: Int
    }

    /// The labels, in the order of `confusion`'s rows and columns.
    public var labels: [String]
    /// `confusion[true][predicted]` counts.
    public var confusion: [[Int]]
    /// Rows scored.
    public var n: Int
    /// Share of rows predicted correctly.
    public var accuracy: Double
    /// Unweighted average recall (balanced accuracy) over classes present in the truth.
    public var uar: Double
    /// Mean of the per-class F1 over classes present in the truth.
    public var macroF1: Double
    /// Per-label precision, recall, F1 and support.
    public var perClass: [String: PerClass]
    /// Expected calibration error over 10 equal-width confidence bins (nil without probabilities).
    public var ece: Double?

    enum CodingKeys: String, CodingKey {
        case labels, confusion, n, accuracy, uar, ece
        case macroF1 = "macro_f1"
        case perClass = "per_class"
    }

    /// - Parameters:
    ///   - truth, predicted: class indices into `labels`.
    ///   - confidence: the probability of each predicted class, for calibration.
    public init(labels: [String], truth: [Int], predicted: [Int], confidence: [Double]? = nil) {
        precondition(truth.count == predicted.count, "one prediction per example")
        let k = labels.count
        var confusion = [[Int]](repeating: [Int](repeating: 0, count: k), count: k)
        for (t, p) in zip(truth, predicted) { confusion[t][p] += 1 }
        self.init(labels: labels, confusion: confusion, ece: confidence.map { Self.calibrationError(truth: truth, predicted: predicted, confidence: $0) })
    }

    /// The metrics of a confusion matrix (`confusion[true][predicted]` over
    /// `labels`), with a calibration error measured elsewhere.
    public init(labels: [String], confusion: [[Int]], ece: Double?) {
        let k = labels.count
        precondition(confusion.count == k && confusion.allSatisfy { $0.count == k }, "a k × k confusion matrix")
        self.labels = labels
        self.confusion = confusion
        n = confusion.reduce(0) { $0 + $1.reduce(0, +) }
        accuracy = n == 0 ? 0 : Double((0..<k).reduce(0) { $0 + confusion[$1][$1] }) / Double(n)
        var perClass: [String: PerClass] = [:]
        var recalls: [Double] = [], f1s: [Double] = []
        for c in 0..<k {
            let support = confusion[c].reduce(0, +)
            let predictedCount = (0..<k).reduce(0) { $0 + confusion[$1][c] }
            let hits = confusion[c][c]
            let precision = predictedCount == 0 ? 0 : Double(hits) / Double(predictedCount)
            let recall = support == 0 ? 0 : Double(hits) / Double(support)
            let f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall)
            perClass[labels[c]] = PerClass(precision: precision, recall: recall, f1: f1, support: support)
            if support > 0 { recalls.append(recall); f1s.append(f1) }
        }
        self.perClass = perClass
        uar = recalls.isEmpty ? 0 : recalls.reduce(0, +) / Double(recalls.count)
        macroF1 = f1s.isEmpty ? 0 : f1s.reduce(0, +) / Double(f1s.count)
        self.ece = ece
    }

    /// The same predictions over coarser labels: class i of these metrics is
    /// class `mapping[i]` of `labels`. Accuracy and calibration error are
    /// unchanged when no two classes a prediction chose between map together
    /// (as when each corpus's head maps into the shared labels).
    public func merged(into labels: [String], mapping: [Int]) -> ClassificationMetrics {
        precondition(mapping.count == self.labels.count && mapping.allSatisfy(labels.indices.contains), "one target label per class")
        var merged = [[Int]](repeating: [Int](repeating: 0, count: labels.count), count: labels.count)
        for (t, row) in confusion.enumerated() {
            for (p, count) in row.enumerated() { merged[mapping[t]][mapping[p]] += count }
        }
        return ClassificationMetrics(labels: labels, confusion: merged, ece: ece)
    }

    /// Expected calibration error over 10 equal-width confidence bins.
    static func calibrationError(truth: [Int], predicted: [Int], confidence: [Double]) -> Double {
        let n = truth.count
        var binTotal = [Double](repeating: 0, count: 10), binCorrect = [Double](repeating: 0, count: 10)
        var binCount = [Int](repeating: 0, count: 10)
        for i in 0..<n {
            let bin = min(9, Int(confidence[i] * 10))
            binTotal[bin] += confidence[i]
            binCorrect[bin] += truth[i] == predicted[i] ? 1 : 0
            binCount[bin] += 1
        }
        return n == 0 ? 0 : (0..<10).reduce(0.0) { sum, b in
            binCount[b] == 0 ? sum : sum + Double(binCount[b]) / Double(n) * abs(binCorrect[b] / Double(binCount[b]) - binTotal[b] / Double(binCount[b]))
        }
    }
}
