import Foundation
import SERNumerics
import SERSupport

/// Several classifiers of one family trained with different seeds (and so
/// different initialisations, shuffles and validation speakers), answering with
/// the mean of their calibrated probabilities. Averaging removes much of the
/// seed-to-seed variance of networks trained on a few thousand files.
public final class EnsembleClassifier: TrainedClassifier {
    /// The architecture an ensemble model file names.
    public static let architectureNames: Set<String> = ["ensemble"]

    /// The members, each calibrated on its own validation speakers.
    public let members: [any TrainedClassifier]

    /// An ensemble of `members`, which must share labels and input dimension.
    public init(members: [any TrainedClassifier]) {
        precondition(!members.isEmpty, "an ensemble needs members")
        precondition(members.allSatisfy { $0.labels == members[0].labels && $0.inputDimension == members[0].inputDimension },
                     "ensemble members must share labels and inputs")
        self.members = members
    }

    public var labels: [String] { members[0].labels }
    public var inputDimension: Int { members[0].inputDimension }
    public var parameterCount: Int { members.reduce(0) { $0 + $1.parameterCount } }
    public var structureSummary: [String] {
        ["ensemble of \(members.count), mean of calibrated probabilities; each member:"] + members[0].structureSummary.map { "  " + $0 }
    }
    /// Members are calibrated one by one; the ensemble adds no temperature of its own.
    public var temperature: Float { 1 }
    public var genderTemperature: Float { 1 }
    public var hasGenderHead: Bool { members.allSatisfy(\.hasGenderHead) }

    public func probabilities(_ features: Matrix) -> Matrix {
        Self.mean(members.map { $0.probabilities(features) })
    }

    public func probabilities(_ features: Matrix, corpora: [String]) -> Matrix {
        Self.mean(members.map { $0.probabilities(features, corpora: corpora) })
    }

    /// The heads every member has.
    public var corpusHeads: [String] {
        members.dropFirst().reduce(members[0].corpusHeads) { heads, member in heads.filter(member.corpusHeads.contains) }
    }

    public func genderProbabilities(_ features: Matrix) -> Matrix? {
        let answers = members.compactMap { $0.genderProbabilities(features) }
        return answers.count == members.count ? Self.mean(answers) : nil
    }

    public func calibrate(on validation: LabelledMatrix) {
        for member in members { member.calibrate(on: validation) }
    }

    public func adoptCalibration(of other: any CalibratedClassifier) {
        guard let other = other as? EnsembleClassifier, other.members.count == members.count else { return }
        for (member, source) in zip(members, other.members) { member.adoptCalibration(of: source) }
    }

    private static func mean(_ matrices: [Matrix]) -> Matrix {
        var sum = matrices[0]
        for matrix in matrices.dropFirst() {
            for i in sum.values.indices { sum.values[i] += matrix.values[i] }
        }
        let scale = 1 / Float(matrices.count)
        for i in sum.values.indices { sum.values[i] *= scale }
        return sum
    }

    /// The format version `modelFile()` writes and `init(modelFile:source:)` reads.
    public static let modelFormatVersion = "1"

    /// One file holding every member: member k's tensors under `member.k.` and its
    /// metadata, as JSON, under `member.k`.
    public func modelFile(metadata extra: [String: String]) -> SafeTensorsFile {
        var file = SafeTensorsFile.modelHeader(architecture: "ensemble", formatVersion: Self.modelFormatVersion, labels: labels, metadata: extra)
        file.metadata["members"] = String(members.count)
        for (k, member) in members.enumerated() { file.embed(member.modelFile(metadata: [:]), as: "member.\(k)") }
        return file
    }

    /// Reads an ensemble written by `modelFile(metadata:)`; `source` names the file in errors.
    public convenience init(modelFile file: SafeTensorsFile, source: String) throws {
        guard file.metadata["format_version"] == Self.modelFormatVersion else {
            throw SafeTensorsFile.Failure.unsupported(path: source, reason: "ensemble format version \(file.metadata["format_version"] ?? "missing")")
        }
        guard let count = file.metadata["members"].flatMap(Int.init), (1...64).contains(count) else {
            throw SafeTensorsFile.Failure.corrupt(path: source, reason: "ensemble member count \(file.metadata["members"] ?? "missing")")
        }
        var members: [any TrainedClassifier] = []
        for k in 0..<count {
            let part = try file.embedded("member.\(k)", source: source, role: "ensemble member \(k)")
            guard part.metadata["architecture"] != "ensemble" else {
                throw SafeTensorsFile.Failure.corrupt(path: source, reason: "ensemble member \(k) is itself an ensemble")
            }
            members.append(try ClassifierFile.load(part, source: "\(source) (member \(k))"))
        }
        guard members.allSatisfy({ $0.labels == members[0].labels && $0.inputDimension == members[0].inputDimension }) else {
            throw SafeTensorsFile.Failure.corrupt(path: source, reason: "ensemble members disagree on labels or inputs")
        }
        self.init(members: members)
    }
}
