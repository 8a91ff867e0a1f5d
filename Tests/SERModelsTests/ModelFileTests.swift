import Foundation
import SERNumerics
import SERSupport
import Testing
@testable import SERModels

@Suite struct ModelFileTests {
    func trained(seed: UInt64 = 1) -> (NeuralNetworkClassifier, Matrix) {
        var generator = SplitMix64(seed: 8)
        let x = Matrix(rows: 60, columns: 6, values: (0..<360).map { _ in generator.nextStandardNormal() })
        let y = (0..<60).map { $0 % 3 }
        let genders: [Int?] = (0..<60).map { $0 % 4 == 0 ? nil : $0 % 2 }
        var configuration = NeuralNetworkConfiguration()
        configuration.hiddenLayers = [8, 5]
        configuration.maximumEpochs = 3
        configuration.seed = seed
        let model = NeuralNetworkClassifier(labels: ["calm", "sad", "angry"], configuration: configuration)
        model.fit(LabelledMatrix(features: x, targets: y, genders: genders))
        model.calibrate(on: LabelledMatrix(features: x, targets: y, genders: genders))
        return (model, x)
    }

    @Test func mlpRoundTripsThroughTheFile() throws {
        let (model, x) = trained()
        let file = model.modelFile(metadata: ["feature_preset": "rich"])
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("m-\(UUID().uuidString).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try file.write(to: path)
        // For checking by hand that Python's safetensors opens it: SER_KEEP_SAMPLE_MODEL=/tmp/m.safetensors
        if let keep = ProcessInfo.processInfo.environment["SER_KEEP_SAMPLE_MODEL"] { try file.write(to: keep) }
        let reread = try SafeTensorsFile(contentsOf: path)
        #expect(reread == file)
        #expect(reread.metadata["feature_preset"] == "rich")
        let loaded = try NeuralNetworkClassifier(modelFile: reread, source: path)
        #expect(loaded.labels == model.labels)
        #expect(loaded.probabilities(x) == model.probabilities(x))
        #expect(loaded.hasGenderHead && loaded.genderProbabilities(x) == model.genderProbabilities(x))
        #expect(loaded.temperature == model.temperature && loaded.temperature != 1)
    }

    /// An ensemble answers with the mean of its members' calibrated probabilities,
    /// and round-trips through one file that names each member's tensors apart.
    @Test func ensembleAveragesItsMembersAndRoundTrips() throws {
        let (first, x) = trained(seed: 1)
        let (second, _) = trained(seed: 2)
        let (third, _) = trained(seed: 3)
        let ensemble = EnsembleClassifier(members: [first, second, third])
        let p = ensemble.probabilities(x), members = [first, second, third].map { $0.probabilities(x) }
        #expect(members[0] != members[1], "different seeds, different members")
        for i in p.values.indices {
            let mean = (members[0].values[i] + members[1].values[i] + members[2].values[i]) / 3
            #expect(abs(p.values[i] - mean) < 1e-6)
        }
        #expect(ensemble.parameterCount == 3 * first.parameterCount && ensemble.hasGenderHead)
        let gender = try #require(ensemble.genderProbabilities(x))
        #expect(abs(gender[0, 0] + gender[0, 1] - 1) < 1e-5)

        let file = ensemble.modelFile(metadata: ["extra": "kept"])
        let reread = try SafeTensorsFile(data: file.encoded(), source: "e")
        #expect(reread.metadata["architecture"] == "ensemble" && reread.metadata["extra"] == "kept")
        #expect(reread.tensors.keys.contains("member.2.dense.0.weight"))
        let loaded = try ClassifierFile.load(reread, source: "e")
        #expect(loaded is EnsembleClassifier && loaded.labels == first.labels)
        #expect(loaded.probabilities(x) == p && loaded.genderProbabilities(x) == gender)

        // A damaged ensemble says what is wrong instead of loading part of itself.
        var missing = reread
        missing.metadata["member.1"] = nil
        #expect(throws: SafeTensorsFile.Failure.self) { try ClassifierFile.load(missing, source: "e") }
        var miscounted = reread
        miscounted.metadata["members"] = "0"
        #expect(throws: SafeTensorsFile.Failure.self) { try ClassifierFile.load(miscounted, source: "e") }
        var emptied = reread
        emptied.tensors = emptied.tensors.filter { !$0.key.hasPrefix("member.0.") }
        #expect(throws: (any Error).self) { try ClassifierFile.load(emptied, source: "e") }
    }

    @Test func layoutFollowsTheSafetensorsSpecification() throws {
        let file = SafeTensorsFile(metadata: ["k": "v"], tensors: ["a": .init(shape: [2], values: [1, -2]), "b": .init(shape: [1, 1], values: [0.5])])
        let data = file.encoded()
        let headerLength = Int(data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
        #expect((8 + headerLength) % 8 == 0)
        let header = try #require(try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + headerLength))) as? [String: Any])
        #expect((header["a"] as? [String: Any])?["data_offsets"] as? [Int] == [0, 8])
        #expect((header["b"] as? [String: Any])?["data_offsets"] as? [Int] == [8, 12])
        #expect((header["__metadata__"] as? [String: String]) == ["k": "v"])
        #expect(data.count == 8 + headerLength + 12)
        #expect(data.suffix(4) == Data([0x00, 0x00, 0x00, 0x3F]), "0.5 as little-endian float32")
    }

    @Test func damagedFilesGiveClearErrors() {
        let data = trained().0.modelFile().encoded()
        func failure(_ bytes: Data) -> SafeTensorsFile.Failure? {
            do { _ = try SafeTensorsFile(data: bytes, source: "m"); return nil } catch { return error as? SafeTensorsFile.Failure }
        }
        if case .truncated = failure(data.prefix(5)) {} else { Issue.record("5 bytes should be truncated") }
        if case .truncated = failure(data.prefix(data.count - 3)) {} else { Issue.record("missing tensor bytes should be truncated") }
        var absurd = data
        absurd.replaceSubrange(0..<8, with: Data(repeating: 0xFF, count: 8))
        if case .corrupt = failure(absurd) {} else { Issue.record("absurd header length should be corrupt") }
        var garbled = data
        garbled[9] = 0x00
        #expect(failure(garbled) != nil)
        let wrongType = SafeTensorsFile(tensors: ["a": .init(shape: [1], values: [1])]).encoded()
        let text = String(decoding: wrongType, as: UTF8.self).replacingOccurrences(of: "F32", with: "F64")
        if case .unsupported = failure(Data(text.utf8)) {} else { Issue.record("F64 should be unsupported") }
        // A valid file that is not an MLP.
        #expect(throws: SafeTensorsFile.Failure.self) { try NeuralNetworkClassifier(modelFile: SafeTensorsFile(), source: "m") }
    }
}
