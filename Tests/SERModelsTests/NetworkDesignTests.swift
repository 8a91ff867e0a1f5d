import Foundation
import SERNumerics
import SERSupport
import Testing
@testable import SERModels

/// The CNNs and LSTMs on small synthetic "log-mel images" (16 frames × 8 bands):
/// class 0 has its energy in the low bands, class 1 in the high bands, class 2
/// sweeps upwards in time. Where in time the pattern sits varies, so the networks
/// must not memorise positions.
@Suite struct NetworkDesignTests {
    static let frames = 16, bands = 8

    static func images(_ count: Int, seed: UInt64) -> LabelledMatrix {
        var generator = SplitMix64(seed: seed)
        var values: [Float] = [], targets: [Int] = [], genders: [Int?] = []
        for index in 0..<count {
            let label = index % 3
            let offset = Int(generator.next() % 5)
            var image = (0..<(frames * bands)).map { _ in -60 + 4 * generator.nextStandardNormal() }
            for t in offset..<(offset + 10) {
                let band: Int
                switch label {
                case 0: band = 1
                case 1: band = 6
                default: band = (t - offset) * (bands - 1) / 9
                }
                image[t * bands + band] = -10 + 2 * generator.nextStandardNormal()
            }
            values += image
            targets.append(label)
            genders.append(index % 5 == 0 ? nil : index % 2)
        }
        return LabelledMatrix(features: Matrix(rows: count, columns: frames * bands, values: values), targets: targets, genders: genders)
    }

    static func configuration(_ kind: NetworkDesign.Kind, epochs: Int = 15) -> NeuralNetworkConfiguration {
        var c = NeuralNetworkConfiguration()
        c.design = NetworkDesign(kind: kind, frames: frames, bands: bands)
        c.batchSize = 16
        c.maximumEpochs = epochs
        c.patience = 100
        c.learningRate = 3e-3
        c.schedule = .cosine
        c.specAugment = true
        return c
    }

    static let training = images(120, seed: 1)
    static let test = images(60, seed: 2)

    @Test(arguments: NetworkDesign.Kind.allCases)
    func learnsPatternsWherever(theySit kind: NetworkDesign.Kind) {
        let model = NeuralNetworkClassifier(labels: ["low", "high", "sweep"], configuration: Self.configuration(kind))
        model.fit(Self.training)
        let predicted = model.predict(Self.test.features)
        let correct = zip(predicted, Self.test.targets).filter { $0 == $1 }.count
        #expect(correct >= 54, "\(kind.rawValue): \(correct)/60 correct")
        #expect(model.history.count == 15 && model.history.last!.trainLoss < model.history.first!.trainLoss)
    }

    @Test(arguments: [NetworkDesign.Kind.cnn, .bilstm])
    func roundTripsThroughTheModelFile(kind: NetworkDesign.Kind) throws {
        let model = NeuralNetworkClassifier(labels: ["low", "high", "sweep"], configuration: Self.configuration(kind, epochs: 3))
        model.fit(Self.training)
        model.calibrate(on: Self.test)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("design-\(UUID().uuidString).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try model.modelFile(metadata: [:]).write(to: path)
        let file = try SafeTensorsFile(contentsOf: path)
        #expect(file.metadata["architecture"] == kind.rawValue)
        let loaded = try ClassifierFile.load(file, source: path)
        #expect(loaded.probabilities(Self.test.features) == model.probabilities(Self.test.features))
        #expect(loaded.genderProbabilities(Self.test.features) == model.genderProbabilities(Self.test.features))
        #expect(loaded.structureSummary.contains { $0.contains(kind == .cnn ? "conv 3×3" : "BiLSTM") })
        #expect(loaded.parameterCount == model.parameterCount && loaded.parameterCount > 1000)

        // A model whose running statistics (or any layer) went missing says which layer.
        var damaged = file
        let missing = damaged.tensors.keys.filter { $0.hasPrefix("trunk.") }.sorted().last!
        damaged.tensors[missing] = nil
        #expect(throws: SafeTensorsFile.Failure.self) { try ClassifierFile.load(damaged, source: "damaged.safetensors") }
        do {
            _ = try ClassifierFile.load(damaged, source: "damaged.safetensors")
        } catch {
            #expect("\(error)".contains("damaged.safetensors") && "\(error)".contains("layer"))
        }
    }

    @Test func predictionsInLargeBatchesMatchOneAtATime() {
        // Inference runs in chunks of rows; the chunking must not change any answer.
        let model = NeuralNetworkClassifier(labels: ["low", "high", "sweep"], configuration: Self.configuration(.cnn1d, epochs: 2))
        model.fit(Self.training)
        let many = Self.images(150, seed: 3).features
        let together = model.probabilities(many)
        for row in [0, 63, 64, 65, 149] {
            let single = model.probabilities(many.rows([row]))
            for c in 0..<3 { #expect(abs(single[0, c] - together[row, c]) < 1e-5) }
        }
    }

    /// Killed after some epochs and resumed from its checkpoint, a CNN (batch
    /// normalization's running statistics, two data-parallel replicas) ends exactly
    /// where an uninterrupted run ends.
    @Test func resumedCNNMatchesAnUninterruptedRun() throws {
        let labels = ["low", "high", "sweep"]
        let configuration = Self.configuration(.cnn, epochs: 4)
        let whole = NeuralNetworkClassifier(labels: labels, configuration: configuration)
        whole.fit(Self.training, validation: Self.test)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("cnn-ckpt-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        // The schedule depends on the planned epochs, so the "killed" run is the same plan
        // whose checkpoint after epoch 2 is kept.
        let planned = NeuralNetworkClassifier(labels: labels, configuration: configuration)
        planned.fit(Self.training, validation: Self.test, checkpoint: .init(path: path, fingerprint: "cnn", onEpoch: { record in
            if record.epoch == 2 { try? FileManager.default.copyItem(atPath: path, toPath: path + ".at2") }
        }))
        try FileManager.default.removeItem(atPath: path)
        try FileManager.default.moveItem(atPath: path + ".at2", toPath: path)
        let resumed = NeuralNetworkClassifier(labels: labels, configuration: configuration)
        resumed.fit(Self.training, validation: Self.test, checkpoint: .init(path: path, fingerprint: "cnn"))
        #expect(resumed.resumedAfterEpoch == 2)
        #expect(resumed.history == whole.history)
        #expect(resumed.probabilities(Self.test.features) == whole.probabilities(Self.test.features))
    }

    /// A design with a leading feature vector learns from the vector when the image says nothing,
    /// and keeps it through the model file; masking leaves the vector alone.
    @Test func fusedVectorBranchCarriesTheAnswer() throws {
        var generator = SplitMix64(seed: 9)
        func data(_ count: Int) -> LabelledMatrix {
            var values: [Float] = [], targets: [Int] = []
            for index in 0..<count {
                let label = index % 3
                values += (0..<4).map { Float($0 == label ? 3 : 0) + generator.nextStandardNormal() }
                values += (0..<(Self.frames * Self.bands)).map { _ in generator.nextStandardNormal() }
                targets.append(label)
            }
            return LabelledMatrix(features: Matrix(rows: count, columns: 4 + Self.frames * Self.bands, values: values), targets: targets)
        }
        var configuration = Self.configuration(.cnn1d, epochs: 12)
        configuration.design?.vectorCount = 4
        let model = NeuralNetworkClassifier(labels: ["a", "b", "c"], configuration: configuration)
        let test = data(60)
        model.fit(data(120))
        let correct = zip(model.predict(test.features), test.targets).filter { $0 == $1 }.count
        #expect(correct >= 54, "\(correct)/60")
        let loaded = try ClassifierFile.load(model.modelFile(metadata: [:]), source: "fused")
        #expect(loaded.probabilities(test.features) == model.probabilities(test.features))
        #expect(loaded.inputDimension == 4 + Self.frames * Self.bands && loaded.structureSummary.contains { $0.contains("feature vector of 4") })
        var masked = test.features
        configuration.design!.specAugment(&masked, seed: 3)
        for row in 0..<masked.rows { #expect(Array(masked.values[(row * masked.columns)..<(row * masked.columns + 4)]) == Array(test.features.values[(row * masked.columns)..<(row * masked.columns + 4)])) }
    }

    @Test func specAugmentMasksWithinItsLimitsAndRepeatsBySeed() {
        let design = NetworkDesign(kind: .cnn1d, frames: 192, bands: 64)
        // Each frame holds its index in every band, so shifts and masks are visible.
        let images = Matrix(rows: 6, columns: 192 * 64, values: (0..<6).flatMap { _ in (0..<192).flatMap { t in [Float](repeating: Float(t + 1), count: 64) } })
        var a = images, b = images, c = images
        design.specAugment(&a, seed: 5)
        design.specAugment(&b, seed: 5)
        design.specAugment(&c, seed: 6)
        #expect(a == b && a != c)
        for example in 0..<6 {
            let row = Array(a.values[(example * 192 * 64)..<((example + 1) * 192 * 64)])
            let zeros = row.filter { $0 == 0 }.count
            #expect(zeros <= 8 * 192 + 2 * 20 * 64, "masks stay within their widths")
            // Masked bands are zero in every frame; unmasked frames keep a circular shift of at most 20.
            let maskedBands = (0..<64).filter { band in (0..<192).allSatisfy { row[$0 * 64 + band] == 0 } }
            #expect(maskedBands.count <= 8 && maskedBands == Array(maskedBands.first.map { $0..<($0 + maskedBands.count) } ?? 0..<0))
            let open = (0..<64).first { !maskedBands.contains($0) }!
            for t in 0..<192 where row[t * 64 + open] != 0 {
                let source = Int(row[t * 64 + open]) - 1
                let distance = min(abs(t - source), 192 - abs(t - source))
                #expect(distance <= 20)
            }
        }
    }

    @Test func perBandStandardizationIgnoresPosition() {
        // Two frames of three bands: statistics pool over frames, band by band.
        let data = Matrix(rows: 2, columns: 6, values: [1, 10, 100, 3, 10, 300, 5, 10, 500, 7, 10, 700])
        let s = Standardizer(fitting: data, channels: 3)
        #expect(s.mean == [4, 10, 400, 4, 10, 400])
        #expect(abs(s.deviation[0] - Float(5).squareRoot()) < 1e-5 && s.deviation[1] == 1)
    }
}
