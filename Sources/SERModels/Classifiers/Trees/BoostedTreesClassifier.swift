import Foundation
import SERNumerics
import SERSupport

/// Gradient-boosted regression trees on the softmax loss, the other strong
/// tabular baseline beside random forests. Split search uses per-feature
/// quantile bins (histograms of gradients and Hessians); trees store raw
/// thresholds, so prediction reads the features as they are. The raw scores are
/// logits, calibrated by temperature scaling like the MLP's.
public final class BoostedTreesClassifier: TrainedClassifier {
    /// The architecture a boosted-trees model file names.
    public static let architectureNames: Set<String> = ["boosted"]

    /// The version of this family's model-file layout.
    public static let formatVersion = "1"

    public let labels: [String]
    /// The boosting settings.
    public let configuration: BoostingConfiguration
    public private(set) var inputDimension = 0
    public private(set) var temperature: Float = 1
    public private(set) var genderTemperature: Float = 1
    var emotion = Booster()
    var gender: Booster?

    /// One softmax booster: initial scores and `classes` trees per round (round-major).
    struct Booster: Equatable {
        var initial: [Float] = []
        var trees: [DecisionTree] = []
        var classes: Int { initial.count }

        func scores(_ features: Matrix) -> Matrix {
            var out = Matrix(rows: features.rows, columns: classes)
            guard classes > 0 else { return out }
            features.values.withUnsafeBufferPointer { values in
                for r in 0..<features.rows {
                    let row = UnsafeBufferPointer(rebasing: values[(r * features.columns)..<((r + 1) * features.columns)])
                    for c in 0..<classes { out.values[r * classes + c] = initial[c] }
                    for (index, tree) in trees.enumerated() {
                        out.values[r * classes + index % classes] += tree.distribution[tree.leaf(for: row, classes: 1)]
                    }
                }
            }
            return out
        }
    }

    public init(labels: [String], configuration: BoostingConfiguration = .init()) {
        self.labels = labels
        self.configuration = configuration
    }

    public var hasGenderHead: Bool { gender != nil }
    public var parameterCount: Int { (emotion.trees + (gender?.trees ?? [])).reduce(0) { $0 + $1.nodeCount } }
    public var structureSummary: [String] {
        var lines = ["\(emotion.trees.count / max(1, emotion.classes)) rounds × \(emotion.classes) emotion trees, depth ≤ \(configuration.maximumDepth)"]
        if let gender { lines.append("\(gender.trees.count / 2) rounds × 2 gender trees") }
        return lines
    }

    /// Boosts the emotion trees (and gender trees, where genders are known) on `training`.
    public func fit(_ training: LabelledMatrix) {
        inputDimension = training.features.columns
        emotion = Self.boost(training.features, training.targets, classes: labels.count, configuration: configuration)
        let known = training.genders.indices.filter { training.genders[$0] != nil }
        if Set(known.compactMap { training.genders[$0] }).count == 2 {
            var genderConfiguration = configuration
            genderConfiguration.rounds = max(1, configuration.rounds / 2)
            genderConfiguration.seed = configuration.seed &+ 0x6E4D
            gender = Self.boost(training.features.rows(known), known.map { training.genders[$0]! }, classes: 2, configuration: genderConfiguration)
        }
    }

    static func boost(_ x: Matrix, _ y: [Int], classes k: Int, configuration c: BoostingConfiguration) -> Booster {
        let n = x.rows, d = x.columns
        var counts = [Double](repeating: 0, count: k)
        for t in y { counts[t] += 1 }
        let classWeight = classWeights(y, classes: k, balanced: c.balanceClasses)
        // Quantile bin edges per feature; bins[i·d + f] is example i's bin of feature f.
        var edges = [[Float]](repeating: [], count: d)
        var binned = [UInt8](repeating: 0, count: n * d)
        for f in 0..<d {
            let sorted = (0..<n).map { x[$0, f] }.sorted()
            var cut: [Float] = []
            for b in 1..<c.bins {
                let value = sorted[min(n - 1, b * n / c.bins)]
                if cut.last.map({ value > $0 }) ?? true, value > sorted[0] { cut.append(value) }
            }
            // A value goes to the first bin whose upper edge it does not exceed; split "≤ edge" = bins up to it.
            edges[f] = cut.map { edge in sorted.last(where: { $0 < edge }) ?? edge }
            for i in 0..<n {
                let value = x[i, f]
                var bin = 0
                while bin < edges[f].count && value > edges[f][bin] { bin += 1 }
                binned[i * d + f] = UInt8(bin)
            }
        }
        var booster = Booster()
        booster.initial = counts.map { Float(log(max($0, 1) / Double(n))) }
        var scores = [Double](repeating: 0, count: n * k)
        for i in 0..<n { for j in 0..<k { scores[i * k + j] = Double(booster.initial[j]) } }
        var generator = SplitMix64(seed: c.seed)
        for _ in 0..<c.rounds {
            let sample = (0..<n).filter { _ in Double(generator.next() >> 11) / Double(1 << 53) < c.subsample }
            guard sample.count >= 2 * c.minimumLeafSize else { continue }
            // Softmax gradients and Hessians, weighted by class.
            var gradient = [Double](repeating: 0, count: n * k), hessian = [Double](repeating: 0, count: n * k)
            for i in sample {
                let row = scores[(i * k)..<((i + 1) * k)]
                let top = row.max() ?? 0
                let exps = row.map { exp($0 - top) }
                let total = exps.reduce(0, +)
                for j in 0..<k {
                    let p = exps[j] / total
                    let w = classWeight[y[i]]
                    gradient[i * k + j] = w * (p - (y[i] == j ? 1 : 0))
                    hessian[i * k + j] = w * max(p * (1 - p), 1e-6)
                }
            }
            let (roundGradient, roundHessian, binnedRows, binEdges) = (gradient, hessian, binned, edges)
            let trees = parallelMap(count: k) { j in
                grow(sample, j, k, binned: binnedRows, edges: binEdges, features: d, gradient: roundGradient, hessian: roundHessian, configuration: c)
            }
            for j in 0..<k {
                booster.trees.append(trees[j])
                for i in 0..<n {
                    let leaf = leafIndex(trees[j], binnedRow: i, binned: binned, edges: edges, features: d)
                    scores[i * k + j] += Double(trees[j].distribution[leaf])
                }
            }
        }
        return booster
    }

    /// A regression tree for class `j`: best histogram split per node, leaves −G/(H+λ)·η.
    static func grow(_ sample: [Int], _ j: Int, _ k: Int, binned: [UInt8], edges: [[Float]], features d: Int,
                     gradient: [Double], hessian: [Double], configuration c: BoostingConfiguration) -> DecisionTree {
        var tree = DecisionTree()
        func addLeaf(_ indices: [Int]) {
            var g = 0.0, h = 0.0
            for i in indices { g += gradient[i * k + j]; h += hessian[i * k + j] }
            tree.feature.append(-1)
            tree.threshold.append(0)
            tree.left.append(-1)
            tree.right.append(-1)
            tree.distribution.append(Float(-g / (h + c.leafPenalty)) * c.learningRate)
        }
        addLeaf(sample)
        var stack: [(indices: [Int], depth: Int, node: Int)] = [(sample, 0, 0)]
        var gHistogram = [Double](repeating: 0, count: c.bins), hHistogram = [Double](repeating: 0, count: c.bins)
        var nHistogram = [Int](repeating: 0, count: c.bins)
        while let (indices, depth, node) = stack.popLast() {
            guard depth < c.maximumDepth, indices.count >= 2 * c.minimumLeafSize else { continue }
            var gTotal = 0.0, hTotal = 0.0
            for i in indices { gTotal += gradient[i * k + j]; hTotal += hessian[i * k + j] }
            let parentScore = gTotal * gTotal / (hTotal + c.leafPenalty)
            var best: (gain: Double, feature: Int, bin: Int) = (1e-9, -1, 0)
            for f in 0..<d where !edges[f].isEmpty {
                for b in 0..<c.bins { gHistogram[b] = 0; hHistogram[b] = 0; nHistogram[b] = 0 }
                for i in indices {
                    let b = Int(binned[i * d + f])
                    gHistogram[b] += gradient[i * k + j]; hHistogram[b] += hessian[i * k + j]; nHistogram[b] += 1
                }
                var gLeft = 0.0, hLeft = 0.0, nLeft = 0
                for b in 0..<edges[f].count {
                    gLeft += gHistogram[b]; hLeft += hHistogram[b]; nLeft += nHistogram[b]
                    guard nLeft >= c.minimumLeafSize, indices.count - nLeft >= c.minimumLeafSize else { continue }
                    let gRight = gTotal - gLeft, hRight = hTotal - hLeft
                    let gain = gLeft * gLeft / (hLeft + c.leafPenalty) + gRight * gRight / (hRight + c.leafPenalty) - parentScore
                    if gain > best.gain { best = (gain, f, b) }
                }
            }
            guard best.feature >= 0 else { continue }
            let leftIndices = indices.filter { Int(binned[$0 * d + best.feature]) <= best.bin }
            let rightIndices = indices.filter { Int(binned[$0 * d + best.feature]) > best.bin }
            tree.feature[node] = Int32(best.feature)
            tree.threshold[node] = edges[best.feature][best.bin]
            tree.left[node] = Int32(tree.nodeCount)
            addLeaf(leftIndices)
            tree.right[node] = Int32(tree.nodeCount)
            addLeaf(rightIndices)
            stack.append((rightIndices, depth + 1, Int(tree.right[node])))
            stack.append((leftIndices, depth + 1, Int(tree.left[node])))
        }
        return tree
    }

    /// The leaf a training example reaches, read from its bins (the same decision as its raw values).
    static func leafIndex(_ tree: DecisionTree, binnedRow i: Int, binned: [UInt8], edges: [[Float]], features d: Int) -> Int {
        var node = 0
        while tree.feature[node] >= 0 {
            let f = Int(tree.feature[node])
            let bin = Int(binned[i * d + f])
            let goesLeft = bin < edges[f].count ? edges[f][bin] <= tree.threshold[node] : false
            node = Int(goesLeft ? tree.left[node] : tree.right[node])
        }
        return node
    }

    private func calibrated(_ scores: Matrix, _ t: Float) -> Matrix {
        SoftmaxCrossEntropy.probabilities(scores.divided(by: t))
    }

    public func probabilities(_ features: Matrix) -> Matrix {
        guard features.columns == inputDimension else { return Matrix(rows: features.rows, columns: labels.count) }
        return calibrated(emotion.scores(features), temperature)
    }

    public func genderProbabilities(_ features: Matrix) -> Matrix? {
        guard let gender, features.columns == inputDimension else { return nil }
        return calibrated(gender.scores(features), genderTemperature)
    }

    public func adoptCalibration(of other: any CalibratedClassifier) {
        (temperature, genderTemperature) = (other.temperature, other.genderTemperature)
    }

    public func calibrate(on validation: LabelledMatrix) {
        guard validation.features.rows > 0, validation.features.columns == inputDimension else { return }
        temperature = TemperatureScaling.fittedTemperature(logits: emotion.scores(validation.features), targets: validation.targets,
                                                                labelMasks: validation.labelMasks)
        let known = validation.genders.indices.filter { validation.genders[$0] != nil }
        if let gender, !known.isEmpty {
            genderTemperature = TemperatureScaling.fittedTemperature(logits: gender.scores(validation.features.rows(known)),
                                                                targets: known.map { validation.genders[$0]! })
        }
    }

    public func modelFile(metadata extra: [String: String] = [:]) -> SafeTensorsFile {
        var file = ModelFileHeader.file(architecture: "boosted", formatVersion: Self.formatVersion, labels: labels,
                                        configuration: configuration, temperature: temperature,
                                        genderTemperature: gender != nil ? genderTemperature : nil, metadata: extra)
        file.metadata["input_dimension"] = String(inputDimension)
        file.tensors["boost.initial"] = .init(shape: [emotion.initial.count], values: emotion.initial)
        ForestClassifier.store(emotion.trees, classes: 1, prefix: "boost", in: &file)
        if let gender {
            file.tensors["gender_boost.initial"] = .init(shape: [gender.initial.count], values: gender.initial)
            ForestClassifier.store(gender.trees, classes: 1, prefix: "gender_boost", in: &file)
        }
        return file
    }

    public init(modelFile file: SafeTensorsFile, source: String) throws {
        typealias Failure = SafeTensorsFile.Failure
        let header = try ModelFileHeader<BoostingConfiguration>(file, source: source, architectures: Self.architectureNames, kind: "a boosted-trees",
                                                                formatVersion: Self.formatVersion)
        guard let dimension = file.metadata["input_dimension"].flatMap(Int.init), dimension > 0,
              let initial = file.tensors["boost.initial"]?.values, initial.count == header.labels.count
        else { throw Failure.corrupt(path: source, reason: "the input size or the initial scores are missing") }
        labels = header.labels
        configuration = header.configuration
        inputDimension = dimension
        temperature = header.temperature
        genderTemperature = header.genderTemperature
        let trees = try ForestClassifier.load(prefix: "boost", classes: 1, inputDimension: dimension, from: file, source: source)
        guard trees.count % labels.count == 0 else { throw Failure.corrupt(path: source, reason: "\(trees.count) trees for \(labels.count) classes") }
        emotion = Booster(initial: initial, trees: trees)
        if let genderInitial = file.tensors["gender_boost.initial"]?.values {
            let genderTrees = try ForestClassifier.load(prefix: "gender_boost", classes: 1, inputDimension: dimension, from: file, source: source)
            guard genderInitial.count == 2, genderTrees.count % 2 == 0 else { throw Failure.corrupt(path: source, reason: "the gender booster is malformed") }
            gender = Booster(initial: genderInitial, trees: genderTrees)
        }
    }
}
