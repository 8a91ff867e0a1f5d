import Foundation
import SERSupport

/// Everything a training run needs to continue after it is killed: the weights,
/// the optimizer's moments, the epoch history and the best weights so far, in
/// one safetensors file written atomically after every epoch.
struct TrainingCheckpoint {
    var fingerprint: String
    var parameters: [[Float]]
    var first: [[Float]]
    var second: [[Float]]
    var step: Int
    var history: [EpochRecord]
    var bestUAR: Double
    var bestWeights: [[Float]]
    var epochsSinceBest: Int

    init(fingerprint: String, parameters: [[Float]], first: [[Float]], second: [[Float]], step: Int, history: [EpochRecord],
         bestUAR: Double, bestWeights: [[Float]], epochsSinceBest: Int) {
        self.fingerprint = fingerprint
        self.parameters = parameters
        self.first = first
        self.second = second
        self.step = step
        self.history = history
        self.bestUAR = bestUAR
        self.bestWeights = bestWeights
        self.epochsSinceBest = epochsSinceBest
    }

    init(contentsOf path: String) throws {
        let file = try SafeTensorsFile(contentsOf: path)
        guard file.metadata["format"] == "ser-checkpoint", let count = file.metadata["parameters"].flatMap(Int.init),
              let step = file.metadata["step"].flatMap(Int.init),
              let history = file.metadata["history"].flatMap({ try? JSONDecoder().decode([EpochRecord].self, from: Data($0.utf8)) }),
              let bestUAR = file.metadata["best_uar"].flatMap(Double.init),
              let since = file.metadata["epochs_since_best"].flatMap(Int.init)
        else { throw SafeTensorsFile.Failure.corrupt(path: path, reason: "not a ser training checkpoint") }
        func tensors(_ prefix: String) -> [[Float]] { (0..<count).compactMap { file.tensors["\(prefix).\($0)"]?.values } }
        parameters = tensors("parameter")
        first = tensors("adam_m")
        second = tensors("adam_v")
        bestWeights = tensors("best")
        guard parameters.count == count, first.count == count, second.count == count,
              bestWeights.isEmpty || bestWeights.count == count
        else { throw SafeTensorsFile.Failure.corrupt(path: path, reason: "tensors are missing") }
        self.step = step
        self.history = history
        self.bestUAR = bestUAR
        epochsSinceBest = since
        fingerprint = file.metadata["fingerprint"] ?? ""
    }

    func write(to path: String) throws {
        var file = SafeTensorsFile(metadata: [
            "format": "ser-checkpoint", "fingerprint": fingerprint, "parameters": String(parameters.count), "step": String(step),
            "history": sortedJSONText(history), "best_uar": String(bestUAR), "epochs_since_best": String(epochsSinceBest),
        ])
        for (prefix, list) in [("parameter", parameters), ("adam_m", first), ("adam_v", second), ("best", bestWeights)] {
            for (index, values) in list.enumerated() { file.tensors["\(prefix).\(index)"] = .init(shape: [values.count], values: values) }
        }
        try file.write(to: path)
    }

    /// Whether the checkpoint was written for parameters of these shapes.
    func matches(_ parameters: [Parameter]) -> Bool {
        parameters.count == self.parameters.count && zip(parameters, self.parameters).allSatisfy { $0.value.count == $1.count }
    }

    func restore(into parameters: [Parameter], optimizer: any Optimizer) {
        for (parameter, value) in zip(parameters, self.parameters) { parameter.value = value }
        optimizer.restore(step: step, first: first, second: second, for: parameters)
    }
}
