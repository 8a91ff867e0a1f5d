import Foundation
import SERNumerics
import SERSupport

// Persistence: the trained network as a safetensors model file, and back.
extension NeuralNetworkClassifier {
    /// The format version `modelFile()` writes and `init(modelFile:source:)` reads.
    public static let modelFormatVersion = "1"

    /// The trained model as a safetensors file: dense weights and biases, the
    /// standardization statistics, and labels, settings and temperatures in the
    /// metadata (plus `metadata`, e.g. the feature configuration and metrics).
    public func modelFile(metadata extra: [String: String] = [:]) -> SafeTensorsFile {
        var file = ModelFileHeader.file(architecture: architectureName, formatVersion: Self.modelFormatVersion,
                                        labels: labels, configuration: configuration, temperature: temperature,
                                        genderTemperature: genderHead != nil ? genderTemperature : nil, metadata: extra)
        if let standardizer {
            file.tensors["standardizer.mean"] = .init(shape: [standardizer.mean.count], values: standardizer.mean)
            file.tensors["standardizer.deviation"] = .init(shape: [standardizer.deviation.count], values: standardizer.deviation)
        }
        if configuration.design != nil {
            // The design rebuilds the layers; their parameters are stored in order, one tensor each.
            for (index, layer) in trunk.enumerated() {
                for (position, parameter) in layer.parameters.enumerated() {
                    file.tensors["trunk.\(index).\(position)"] = .init(shape: [parameter.value.count], values: parameter.value)
                }
            }
            if let emotionHead {
                file.tensors["emotion_head.weight"] = .init(shape: [emotionHead.inputs, emotionHead.outputs], values: emotionHead.weight.value)
                file.tensors["emotion_head.bias"] = .init(shape: [emotionHead.outputs], values: emotionHead.bias.value)
            }
        }
        let denses = configuration.design != nil ? [] : trunk.compactMap { $0 as? Dense } + (emotionHead.map { [$0] } ?? [])
        for (index, dense) in denses.enumerated() {
            file.tensors["dense.\(index).weight"] = .init(shape: [dense.inputs, dense.outputs], values: dense.weight.value)
            file.tensors["dense.\(index).bias"] = .init(shape: [dense.outputs], values: dense.bias.value)
        }
        if let genderHead {
            file.tensors["gender_head.weight"] = .init(shape: [genderHead.inputs, genderHead.outputs], values: genderHead.weight.value)
            file.tensors["gender_head.bias"] = .init(shape: [genderHead.outputs], values: genderHead.bias.value)
        }
        return file
    }

    /// The `architecture` a model file names: mlp, logreg, or the design's kind.
    public var architectureName: String {
        configuration.design?.kind.rawValue ?? (configuration.hiddenLayers.isEmpty ? "logreg" : "mlp")
    }

    /// Every architecture name a neural network's model file can carry.
    public static let architectureNames: Set<String> = Set(["mlp", "logreg"] + NetworkDesign.Kind.allCases.map(\.rawValue))

    /// Rebuilds a trained network from its model file; `source` names it in errors.
    public convenience init(modelFile file: SafeTensorsFile, source: String) throws {
        typealias Failure = SafeTensorsFile.Failure
        let header = try ModelFileHeader<NeuralNetworkConfiguration>(file, source: source, architectures: Self.architectureNames,
                                                                     kind: "a neural network", formatVersion: Self.modelFormatVersion)
        guard let mean = file.tensors["standardizer.mean"], let deviation = file.tensors["standardizer.deviation"],
              mean.values.count == deviation.values.count, !mean.values.isEmpty
        else { throw Failure.corrupt(path: source, reason: "the standardization statistics are missing") }
        self.init(labels: header.labels, configuration: header.configuration)
        standardizer = Standardizer(mean: mean.values, deviation: deviation.values)
        temperature = header.temperature
        genderTemperature = header.genderTemperature
        if let design = configuration.design {
            try restoreDesign(design, from: file, inputCount: mean.values.count, source: source)
            return
        }
        var denses: [Dense] = []
        var width = mean.values.count
        while let weight = file.tensors["dense.\(denses.count).weight"], let bias = file.tensors["dense.\(denses.count).bias"] {
            guard weight.shape.count == 2, weight.shape[0] == width, bias.shape == [weight.shape[1]] else {
                throw Failure.corrupt(path: source, reason: "layer \(denses.count) does not fit the layer before it")
            }
            denses.append(Dense(weight: weight.values, bias: bias.values, inputs: weight.shape[0], outputs: weight.shape[1]))
            width = weight.shape[1]
        }
        guard let last = denses.last, width == labels.count else {
            throw Failure.corrupt(path: source, reason: "the layers end in \(width) outputs for \(labels.count) labels")
        }
        trunk = denses.dropLast().flatMap { [$0, ReLU()] as [Layer] }
        emotionHead = last
        if let weight = file.tensors["gender_head.weight"], let bias = file.tensors["gender_head.bias"] {
            guard weight.shape == [last.inputs, SpeakerGender.labels.count], bias.shape == [SpeakerGender.labels.count] else {
                throw Failure.corrupt(path: source, reason: "the gender head does not fit the hidden layers")
            }
            genderHead = Dense(weight: weight.values, bias: bias.values, inputs: last.inputs, outputs: SpeakerGender.labels.count)
        }
    }

    /// Rebuilds `design`'s layers and fills them from the file's tensors, checking every size.
    func restoreDesign(_ design: NetworkDesign, from file: SafeTensorsFile, inputCount: Int, source: String) throws {
        typealias Failure = SafeTensorsFile.Failure
        if let problem = design.problem { throw Failure.corrupt(path: source, reason: problem) }
        guard design.inputCount == inputCount else {
            throw Failure.corrupt(path: source, reason: "the network reads \(design.frames)×\(design.bands) values, the statistics cover \(inputCount)")
        }
        var generator = SplitMix64(seed: 0)
        let built = Self.trunk(configuration: configuration, inputCount: inputCount, generator: &generator)
        for (index, layer) in built.layers.enumerated() {
            for (position, parameter) in layer.parameters.enumerated() {
                guard let tensor = file.tensors["trunk.\(index).\(position)"], tensor.values.count == parameter.value.count else {
                    throw Failure.corrupt(path: source, reason: "layer \(index) of the \(design.kind.rawValue) is missing or has the wrong size")
                }
                parameter.value = tensor.values
            }
        }
        trunk = built.layers
        guard let weight = file.tensors["emotion_head.weight"], let bias = file.tensors["emotion_head.bias"],
              weight.shape == [built.width, labels.count], bias.shape == [labels.count]
        else { throw Failure.corrupt(path: source, reason: "the emotion head is missing or does not fit \(labels.count) labels") }
        emotionHead = Dense(weight: weight.values, bias: bias.values, inputs: built.width, outputs: labels.count)
        if let weight = file.tensors["gender_head.weight"], let bias = file.tensors["gender_head.bias"] {
            guard weight.shape == [built.width, SpeakerGender.labels.count], bias.shape == [SpeakerGender.labels.count] else {
                throw Failure.corrupt(path: source, reason: "the gender head does not fit the hidden layers")
            }
            genderHead = Dense(weight: weight.values, bias: bias.values, inputs: built.width, outputs: SpeakerGender.labels.count)
        }
    }
}
