import Foundation
import SERNumerics
import SERSupport
import Testing
@testable import SERModels

/// A classifier that answers every row with the same given probabilities.
private final class FixedAnswer: TrainedClassifier {
    static let architectureNames: Set<String> = ["fixed-answer"]
    let labels: [String]
    let answer: [Float]
    init(labels: [String], answer: [Float]) {
        self.labels = labels
        self.answer = answer
    }
    /// Reads the answer back from `modelFile(metadata:)`'s output.
    init(modelFile file: SafeTensorsFile, source: String) throws {
        guard let labels = file.metadata["labels"]?.split(separator: ",").map(String.init),
              let answer = file.tensors["answer"]?.values, answer.count == labels.count else {
            throw SafeTensorsFile.Failure.corrupt(path: source, reason: "no fixed answer")
        }
        self.labels = labels
        self.answer = answer
    }
    var inputDimension: Int { 2 }
    var parameterCount: Int { 0 }
    var structureSummary: [String] { ["fixed"] }
    var temperature: Float { 1 }
    var genderTemperature: Float { 1 }
    var hasGenderHead: Bool { false }
    func probabilities(_ features: Matrix) -> Matrix {
        Matrix(rows: features.rows, columns: labels.count, values: (0..<features.rows).flatMap { _ in answer })
    }
    func genderProbabilities(_ features: Matrix) -> Matrix? { nil }
    func calibrate(on validation: LabelledMatrix) {}
    func adoptCalibration(of other: any CalibratedClassifier) {}
    func modelFile(metadata: [String: String]) -> SafeTensorsFile {
        var file = SafeTensorsFile(metadata: metadata.merging(["architecture": "fixed-answer", "labels": labels.joined(separator: ",")]) { $1 })
        file.tensors["answer"] = .init(shape: [answer.count], values: answer)
        return file
    }
}

@Suite struct ClassifierFamilyTests {
    /// A family defined outside SERModels is read once registered, and an
    /// unknown architecture's error lists every family's names.
    @Test func registeredFamiliesAreRead() throws {
        let file = FixedAnswer(labels: ["happy", "sad"], answer: [0.25, 0.75]).modelFile(metadata: [:])
        #expect(throws: SafeTensorsFile.Failure.self) { try ClassifierFile.load(file, source: "fixed.safetensors") }
        ClassifierFile.register(ClassifierFamily(FixedAnswer.self))
        let loaded = try ClassifierFile.load(file, source: "fixed.safetensors")
        #expect(loaded is FixedAnswer && loaded.labels == ["happy", "sad"])
        #expect(loaded.probabilities(Matrix(rows: 1, columns: 2)).values == [0.25, 0.75])
        var unknown = file
        unknown.metadata["architecture"] = "quantum"
        do {
            _ = try ClassifierFile.load(unknown, source: "q.safetensors")
            Issue.record("an unknown architecture was read")
        } catch {
            let message = "\(error)"
            for name in ["mlp", "logreg", "forest", "boosted", "ensemble", "corpus-heads", "fixed-answer"] {
                #expect(message.contains(name), "\(message) names \(name)")
            }
        }
        // Built-in families keep their names: a registered family cannot take "mlp".
        #expect(ClassifierFile.families.first { $0.architectures.contains("mlp") }?.architectures == NeuralNetworkClassifier.architectureNames)
    }
}

@Suite struct CorpusHeadsTests {
    /// Two heads: A carries calm, happy and sad and learned from three times
    /// as many recordings as B, which carries happy and sad only.
    let heads = [CorpusHeadsClassifier.Head(corpus: "A", labels: ["calm", "happy", "sad"], recordings: 300),
                 CorpusHeadsClassifier.Head(corpus: "B", labels: ["happy", "sad"], recordings: 100)]

    @Test func qualifiedLabelsNameTheCorpus() {
        #expect(CorpusHeadsClassifier.qualifiedLabels(heads) == ["A/calm", "A/happy", "A/sad", "B/happy", "B/sad"])
    }

    /// The arithmetic, worked by hand. The shared softmax says
    /// A/calm 0.1, A/happy 0.2, A/sad 0.1, B/happy 0.15, B/sad 0.45.
    /// Head A: calm 0.25, happy 0.5, sad 0.25. Head B: happy 0.25, sad 0.75.
    /// Combined, A weighing 3 to B's 1: calm 0.25 (A alone), happy
    /// (3 · 0.5 + 0.25) / 4 = 0.4375, sad (3 · 0.25 + 0.75) / 4 = 0.375;
    /// sum 1.0625, so 4/17, 7/17, 6/17.
    @Test func eachCorpusGetsItsHeadAndOtherAudioTheHeadsCombined() throws {
        let shared = FixedAnswer(labels: ["A/calm", "A/happy", "A/sad", "B/happy", "B/sad"], answer: [0.1, 0.2, 0.1, 0.15, 0.45])
        let labels = ["neutral", "calm", "happy", "sad"]
        let classifier = try CorpusHeadsClassifier(shared: shared, labels: labels, heads: heads)
        let x = Matrix(rows: 4, columns: 2)
        let p = classifier.probabilities(x, corpora: ["A", "B", "elsewhere", "A"])
        func row(_ r: Int) -> [Float] { (0..<labels.count).map { p[r, $0] } }
        func close(_ a: [Float], _ b: [Float]) -> Bool { zip(a, b).allSatisfy { abs($0 - $1) < 1e-6 } }
        #expect(close(row(0), [0, 0.25, 0.5, 0.25]), "\(row(0))")
        #expect(close(row(1), [0, 0, 0.25, 0.75]), "\(row(1))")
        #expect(close(row(2), [0, 4.0 / 17, 7.0 / 17, 6.0 / 17]), "\(row(2))")
        #expect(close(row(3), row(0)))
        let unknown = classifier.probabilities(x)
        #expect((0..<4).allSatisfy { r in close((0..<4).map { unknown[r, $0] }, row(2)) }, "no corpus: heads combined")
        #expect(classifier.corpusHeads == ["A", "B"])
        #expect(classifier.structureSummary.last?.contains("A 3, B 2") == true, "\(classifier.structureSummary)")
        let weightless = [heads[0], CorpusHeadsClassifier.Head(corpus: "B", labels: ["happy", "sad"], recordings: 0)]
        #expect(throws: CorpusHeadsClassifier.Mismatch.self, "a head that learned from nothing") {
            try CorpusHeadsClassifier(shared: shared, labels: labels, heads: weightless)
        }
    }

    @Test func headsThatDoNotFitTheClassifierAreRefused() {
        let shared = FixedAnswer(labels: ["A/calm", "A/happy", "A/sad", "B/happy"], answer: [0.25, 0.25, 0.25, 0.25])
        #expect(throws: CorpusHeadsClassifier.Mismatch.self, "no B/sad output") {
            try CorpusHeadsClassifier(shared: shared, labels: ["calm", "happy", "sad"], heads: heads)
        }
        let complete = FixedAnswer(labels: CorpusHeadsClassifier.qualifiedLabels(heads), answer: [0.2, 0.2, 0.2, 0.2, 0.2])
        #expect(throws: CorpusHeadsClassifier.Mismatch.self, "calm is not a label") {
            try CorpusHeadsClassifier(shared: complete, labels: ["happy", "sad"], heads: heads)
        }
        #expect(throws: CorpusHeadsClassifier.Mismatch.self, "two heads for A") {
            try CorpusHeadsClassifier(shared: complete, labels: ["calm", "happy", "sad"], heads: [heads[0], heads[0]])
        }
        #expect(throws: CorpusHeadsClassifier.Mismatch.self, "no heads") {
            try CorpusHeadsClassifier(shared: complete, labels: ["calm", "happy", "sad"], heads: [])
        }
    }

    /// A trained network with heads, alone and in an ensemble, reads back from
    /// its file with the same answers; a damaged one says what is wrong.
    @Test func headsRoundTripThroughTheModelFile() throws {
        var generator = SplitMix64(seed: 5)
        let x = Matrix(rows: 50, columns: 4, values: (0..<200).map { _ in generator.nextStandardNormal() })
        let targets = (0..<50).map { $0 % 5 }
        let masks = targets.map { $0 < 3 ? [true, true, true, false, false] : [false, false, false, true, true] }
        func network(seed: UInt64) throws -> CorpusHeadsClassifier {
            var configuration = NeuralNetworkConfiguration()
            configuration.hiddenLayers = [6]
            configuration.maximumEpochs = 3
            configuration.seed = seed
            let shared = NeuralNetworkClassifier(labels: CorpusHeadsClassifier.qualifiedLabels(heads), configuration: configuration)
            shared.fit(LabelledMatrix(features: x, targets: targets, labelMasks: masks))
            return try CorpusHeadsClassifier(shared: shared, labels: ["calm", "happy", "sad"], heads: heads)
        }
        let single = try network(seed: 1)
        let corpora = (0..<50).map { $0 % 3 == 0 ? "A" : $0 % 3 == 1 ? "B" : "C" }
        let file = try SafeTensorsFile(data: single.modelFile(metadata: [:]).encoded(), source: "h")
        #expect(file.metadata["architecture"] == "corpus-heads")
        let loaded = try ClassifierFile.load(file, source: "h")
        #expect(loaded.labels == ["calm", "happy", "sad"] && loaded.corpusHeads == ["A", "B"])
        #expect(loaded.probabilities(x, corpora: corpora) == single.probabilities(x, corpora: corpora))
        #expect(loaded.probabilities(x) == single.probabilities(x))

        let ensemble = EnsembleClassifier(members: [single, try network(seed: 2)])
        let reread = try ClassifierFile.load(SafeTensorsFile(data: ensemble.modelFile(metadata: [:]).encoded(), source: "e"), source: "e")
        #expect(reread.corpusHeads == ["A", "B"])
        let own = reread.probabilities(x, corpora: corpora), combined = reread.probabilities(x)
        #expect(own == ensemble.probabilities(x, corpora: corpora))
        #expect(own != combined, "the ensemble passes each row's corpus to its members")

        var wrongHead = file
        wrongHead.metadata["corpus_heads"] = sortedJSONText([CorpusHeadsClassifier.Head(corpus: "Z", labels: ["sad"], recordings: 5)])
        #expect(throws: SafeTensorsFile.Failure.self) { try ClassifierFile.load(wrongHead, source: "h") }
        var noShared = file
        noShared.metadata["shared"] = nil
        #expect(throws: SafeTensorsFile.Failure.self) { try ClassifierFile.load(noShared, source: "h") }
        var newer = file
        newer.metadata["format_version"] = "99"
        #expect(throws: SafeTensorsFile.Failure.self) { try ClassifierFile.load(newer, source: "h") }
    }
}
