import SERFeatures

/// A model family's name, as `ser train --architecture`, a recipe and a model
/// file spell it. Only names of families in `TrainingFamilies` can be made, so
/// every architecture has its `family`.
public struct Architecture: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    /// The family's name.
    public let rawValue: String

    /// The architecture called `rawValue`, or nil when no family has that name.
    public init?(rawValue: String) {
        guard TrainingFamilies.family(named: rawValue) != nil else { return nil }
        self.rawValue = rawValue
    }

    private init(builtIn name: String) { rawValue = name }

    /// Reads a name and refuses one no family has.
    public init(from decoder: any Decoder) throws {
        let name = try decoder.singleValueContainer().decode(String.self)
        guard let architecture = Architecture(rawValue: name) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                                                    debugDescription: "unknown architecture \"\(name)\" (known: \(Self.allNames.joined(separator: ", ")))"))
        }
        self = architecture
    }

    /// Writes the name.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    /// The name.
    public var description: String { rawValue }

    /// The family that trains this architecture.
    public var family: any TrainingFamily {
        guard let family = TrainingFamilies.family(named: rawValue) else {
            preconditionFailure("an Architecture is only made for a known family, and families are never removed")
        }
        return family
    }

    /// Every family's name, built-in first.
    public static var allNames: [String] { TrainingFamilies.all.map(\.name) }

    /// The MLP (`NeuralNetworkFamily`).
    public static let mlp = Architecture(builtIn: "mlp")
    /// Logistic regression (`LogisticRegressionFamily`).
    public static let logreg = Architecture(builtIn: "logreg")
    /// One decision tree (`TreeFamily`).
    public static let tree = Architecture(builtIn: "tree")
    /// A random forest (`TreeFamily`).
    public static let forest = Architecture(builtIn: "forest")
    /// Boosted trees (`BoostedTreesFamily`).
    public static let boosted = Architecture(builtIn: "boosted")
    /// A 2-D CNN on log-mel images (`NeuralNetworkFamily`).
    public static let cnn = Architecture(builtIn: "cnn")
    /// A 1-D CNN on log-mel frames.
    public static let cnn1d = Architecture(builtIn: "cnn1d")
    /// An LSTM on log-mel frames.
    public static let lstm = Architecture(builtIn: "lstm")
    /// A bidirectional LSTM on log-mel frames.
    public static let bilstm = Architecture(builtIn: "bilstm")
}
