import Foundation
import SERNumerics
import SERSupport

/// A forest of tree ensembles: the emotion forest and, where gender is known
/// in training, a gender forest. Probabilities are the mean leaf distribution,
/// sharpened or softened by a fitted temperature on their logarithms.
public final class ForestClassifier: TrainedClassifier {
    /// The architectures a tree or forest model file names.
    public static let architectureNames: Set<String> = ["tree", "forest"]

    /// The version of this family's model-file layout.
    public static let formatVersion = "1"

    public let labels: [String]
    /// The tree settings (one tree, or a forest).
    public let configuration: TreeConfiguration
    public private(set) var inputDimension: Int
    public private(set) var temperature: Float = 1
    public private(set) var genderTemperature: Float = 1
    var trees: [DecisionTree] = []
    var genderTrees: [DecisionTree] = []

    public init(labels: [String], configuration: TreeConfiguration) {
        self.labels = labels
        self.configuration = configuration
        inputDimension = 0
    }

    public var hasGenderHead: Bool { !genderTrees.isEmpty }
    public var parameterCount: Int { (trees + genderTrees).reduce(0) { $0 + $1.nodeCount } }
    /// The architecture name it is saved under: `tree` for one tree, `forest` otherwise.
    public var architecture: String { configuration.trees == 1 ? "tree" : "forest" }

    public var structureSummary: [String] {
        func describe(_ trees: [DecisionTree], _ what: String) -> String {
            let nodes = trees.map(\.nodeCount)
            return "\(trees.count) \(what) tree\(trees.count == 1 ? "" : "s"), \(nodes.reduce(0, +)) nodes (largest \(nodes.max() ?? 0))"
        }
        var lines = [describe(trees, "emotion")]
        if hasGenderHead { lines.append(describe(genderTrees, "gender")) }
        return lines
    }

    /// Grows the trees on both cores.
    public func fit(_ training: LabelledMatrix) {
        inputDimension = training.features.columns
        trees = Self.growForest(features: training.features, targets: training.targets, classes: labels.count,
                                configuration: configuration, seed: configuration.seed)
        let known = training.genders.indices.filter { training.genders[$0] != nil }
        let genders = Set(known.compactMap { training.genders[$0] })
        if genders.count == 2 {
            var genderConfiguration = configuration
            genderConfiguration.trees = max(1, configuration.trees / 3)
            genderTrees = Self.growForest(features: training.features.rows(known), targets: known.map { training.genders[$0]! },
                                          classes: SpeakerGender.labels.count, configuration: genderConfiguration,
                                          seed: configuration.seed &+ 0x6E4D)
        }
    }

    static func growForest(features: Matrix, targets: [Int], classes: Int, configuration: TreeConfiguration, seed: UInt64) -> [DecisionTree] {
        let weights = classWeights(targets, classes: classes, balanced: configuration.balanceClasses)
        let grower = TreeGrower(features: features, targets: targets, classes: classes, weights: weights, configuration: configuration)
        return parallelMap(count: configuration.trees) { index in
            var generator = SplitMix64(seed: seed &+ UInt64(index) &* 0x9E37_79B9_7F4A_7C15)
            let sample = configuration.bootstrap
                ? (0..<targets.count).map { _ in Int(generator.next() % UInt64(targets.count)) }
                : Array(0..<targets.count)
            return grower.grow(sample: sample, generator: &generator)
        }
    }

    /// Mean leaf distribution of each row over `trees`.
    static func vote(_ trees: [DecisionTree], _ features: Matrix, classes: Int) -> Matrix {
        var out = Matrix(rows: features.rows, columns: classes)
        guard !trees.isEmpty else { return out }
        let share = 1 / Float(trees.count)
        features.values.withUnsafeBufferPointer { values in
            for r in 0..<features.rows {
                let row = UnsafeBufferPointer(rebasing: values[(r * features.columns)..<((r + 1) * features.columns)])
                for tree in trees {
                    let leaf = tree.leaf(for: row, classes: classes)
                    for c in 0..<classes { out.values[r * classes + c] += share * tree.distribution[leaf + c] }
                }
            }
        }
        return out
    }

    /// Log-probabilities (floored) as logits for temperature scaling.
    static func logits(_ probabilities: Matrix) -> Matrix {
        Matrix(rows: probabilities.rows, columns: probabilities.columns, values: probabilities.values.map { log(max($0, 1e-4)) })
    }

    public func probabilities(_ features: Matrix) -> Matrix {
        guard features.columns == inputDimension else { return Matrix(rows: features.rows, columns: labels.count) }
        let raw = Self.logits(Self.vote(trees, features, classes: labels.count))
        return SoftmaxCrossEntropy.probabilities(raw.divided(by: temperature))
    }

    public func genderProbabilities(_ features: Matrix) -> Matrix? {
        guard hasGenderHead, features.columns == inputDimension else { return nil }
        let raw = Self.logits(Self.vote(genderTrees, features, classes: SpeakerGender.labels.count))
        return SoftmaxCrossEntropy.probabilities(raw.divided(by: genderTemperature))
    }

    public func adoptCalibration(of other: any CalibratedClassifier) {
        (temperature, genderTemperature) = (other.temperature, other.genderTemperature)
    }

    public func calibrate(on validation: LabelledMatrix) {
        guard validation.features.rows > 0, validation.features.columns == inputDimension else { return }
        temperature = TemperatureScaling.fittedTemperature(logits: Self.logits(Self.vote(trees, validation.features, classes: labels.count)),
                                                      targets: validation.targets, labelMasks: validation.labelMasks)
        let known = validation.genders.indices.filter { validation.genders[$0] != nil }
        if hasGenderHead && !known.isEmpty {
            let votes = Self.vote(genderTrees, validation.features.rows(known), classes: SpeakerGender.labels.count)
            genderTemperature = TemperatureScaling.fittedTemperature(logits: Self.logits(votes), targets: known.map { validation.genders[$0]! })
        }
    }

    public func modelFile(metadata extra: [String: String] = [:]) -> SafeTensorsFile {
        var file = ModelFileHeader.file(architecture: architecture, formatVersion: Self.formatVersion, labels: labels,
                                        configuration: configuration, temperature: temperature,
                                        genderTemperature: hasGenderHead ? genderTemperature : nil, metadata: extra)
        file.metadata["input_dimension"] = String(inputDimension)
        Self.store(trees, classes: labels.count, prefix: "trees", in: &file)
        if hasGenderHead {
            Self.store(genderTrees, classes: SpeakerGender.labels.count, prefix: "gender_trees", in: &file)
        }
        return file
    }

    /// Trees as float32 tensors (indices are exact in float32 below 2²⁴):
    /// `PREFIX.offsets` (first node of each tree), `.feature`, `.threshold`, `.left`, `.right`, `.distribution`.
    static func store(_ trees: [DecisionTree], classes: Int, prefix: String, in file: inout SafeTensorsFile) {
        var offsets: [Float] = [], feature: [Float] = [], threshold: [Float] = [], left: [Float] = [], right: [Float] = [], distribution: [Float] = []
        for tree in trees {
            offsets.append(Float(feature.count))
            feature += tree.feature.map(Float.init)
            threshold += tree.threshold
            left += tree.left.map(Float.init)
            right += tree.right.map(Float.init)
            distribution += tree.distribution
        }
        file.tensors["\(prefix).offsets"] = .init(shape: [offsets.count], values: offsets)
        for (name, values) in [("feature", feature), ("threshold", threshold), ("left", left), ("right", right)] {
            file.tensors["\(prefix).\(name)"] = .init(shape: [values.count], values: values)
        }
        file.tensors["\(prefix).distribution"] = .init(shape: [feature.count, classes], values: distribution)
    }

    static func load(prefix: String, classes: Int, inputDimension: Int, from file: SafeTensorsFile, source: String) throws -> [DecisionTree] {
        typealias Failure = SafeTensorsFile.Failure
        guard let offsets = file.tensors["\(prefix).offsets"]?.values, let feature = file.tensors["\(prefix).feature"]?.values,
              let threshold = file.tensors["\(prefix).threshold"]?.values, let left = file.tensors["\(prefix).left"]?.values,
              let right = file.tensors["\(prefix).right"]?.values, let distribution = file.tensors["\(prefix).distribution"]?.values,
              !offsets.isEmpty, threshold.count == feature.count, left.count == feature.count, right.count == feature.count,
              distribution.count == feature.count * classes
        else { throw Failure.corrupt(path: source, reason: "the \(prefix) tensors are missing or their sizes disagree") }
        /// A stored index: a float holding an integer exactly, or nil (NaN, infinite, fractional or beyond 2^24).
        func index(_ value: Float) -> Int? {
            guard value.isFinite, value == value.rounded(), abs(value) <= 16_777_216 else { return nil }
            return Int(value)
        }
        var trees: [DecisionTree] = []
        let starts = offsets.compactMap(index)
        guard starts.count == offsets.count else {
            throw Failure.corrupt(path: source, reason: "the \(prefix) offsets are not node indices")
        }
        let bounds = starts + [feature.count]
        for t in 0..<offsets.count {
            let start = bounds[t], end = bounds[t + 1]
            guard start >= 0, start < end, end <= feature.count else { throw Failure.corrupt(path: source, reason: "tree \(t) has no nodes") }
            var tree = DecisionTree()
            for node in start..<end {
                guard let f = index(feature[node]), let l = index(left[node]), let r = index(right[node]) else {
                    throw Failure.corrupt(path: source, reason: "tree \(t) node \(node - start) holds an index that is not one")
                }
                // Every split reads a real feature and points forward inside its own tree (no cycles).
                if f >= 0 {
                    guard f < inputDimension, l > node - start, r > node - start, l < end - start, r < end - start,
                          !threshold[node].isNaN
                    else { throw Failure.corrupt(path: source, reason: "tree \(t) node \(node - start) is malformed") }
                }
                tree.feature.append(Int32(f < 0 ? -1 : f))
                tree.threshold.append(threshold[node])
                tree.left.append(Int32(l))
                tree.right.append(Int32(r))
            }
            tree.distribution = Array(distribution[(start * classes)..<(end * classes)])
            trees.append(tree)
        }
        return trees
    }

    /// Rebuilds a trained forest from its model file; `source` names it in errors.
    public init(modelFile file: SafeTensorsFile, source: String) throws {
        let header = try ModelFileHeader<TreeConfiguration>(file, source: source, architectures: Self.architectureNames, kind: "a tree",
                                                            formatVersion: Self.formatVersion)
        guard let dimension = file.metadata["input_dimension"].flatMap(Int.init), dimension > 0 else {
            throw SafeTensorsFile.Failure.corrupt(path: source, reason: "the input size is missing")
        }
        labels = header.labels
        configuration = header.configuration
        inputDimension = dimension
        temperature = header.temperature
        genderTemperature = header.genderTemperature
        trees = try Self.load(prefix: "trees", classes: labels.count, inputDimension: dimension, from: file, source: source)
        if file.tensors["gender_trees.offsets"] != nil {
            genderTrees = try Self.load(prefix: "gender_trees", classes: SpeakerGender.labels.count, inputDimension: dimension,
                                        from: file, source: source)
        }
    }
}
