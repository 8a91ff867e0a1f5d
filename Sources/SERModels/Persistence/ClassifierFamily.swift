import Foundation
import SERSupport

/// A kind of classifier a model file can hold, known by the `architecture`
/// names in the file's metadata. `ClassifierFile` reads a file with the family
/// that claims its architecture: the built-in ones, and any a program adds
/// with `ClassifierFile.register(_:)`.
public struct ClassifierFamily: Sendable {
    /// The architecture names the family reads.
    public let architectures: Set<String>
    private let read: @Sendable (SafeTensorsFile, String) throws -> any TrainedClassifier

    /// The family of `type`, reading every architecture it names.
    public init<Classifier: TrainedClassifier>(_ type: Classifier.Type) {
        architectures = Classifier.architectureNames
        read = { file, source in try Classifier(modelFile: file, source: source) }
    }

    /// Reads `file` as this family's classifier; `source` names it in errors.
    public func load(_ file: SafeTensorsFile, source: String) throws -> any TrainedClassifier {
        try read(file, source)
    }
}

/// Reads whichever classifier a model file holds.
public enum ClassifierFile {
    /// The families this build of ser reads, before any registered ones.
    public static let builtInFamilies: [ClassifierFamily] = [
        ClassifierFamily(NeuralNetworkClassifier.self),
        ClassifierFamily(ForestClassifier.self),
        ClassifierFamily(BoostedTreesClassifier.self),
        ClassifierFamily(EnsembleClassifier.self),
        ClassifierFamily(CorpusHeadsClassifier.self),
    ]

    private static let lock = NSLock()
    nonisolated(unsafe) private static var registered: [ClassifierFamily] = []

    /// Every family a model file is matched against, built-in first.
    public static var families: [ClassifierFamily] {
        lock.withLock { builtInFamilies + registered }
    }

    /// Adds a family (a classifier defined outside ser). A built-in family keeps
    /// the architectures it claims: they are matched first.
    public static func register(_ family: ClassifierFamily) {
        lock.withLock { registered.append(family) }
    }

    /// The classifier in `file`, by its `architecture` metadata; `source` names it in errors.
    public static func load(_ file: SafeTensorsFile, source: String) throws -> any TrainedClassifier {
        let architecture = file.metadata["architecture"] ?? ""
        let known = families
        guard let family = known.first(where: { $0.architectures.contains(architecture) }) else {
            let names = known.flatMap(\.architectures).sorted().joined(separator: ", ")
            throw SafeTensorsFile.Failure.unsupported(path: source, reason: "unknown architecture \"\(architecture)\" (this ser reads \(names))")
        }
        return try family.load(file, source: source)
    }
}
