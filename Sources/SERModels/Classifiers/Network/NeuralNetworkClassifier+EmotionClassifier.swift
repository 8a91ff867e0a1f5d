import Foundation
import SERNumerics

extension NeuralNetworkClassifier: TrainedClassifier {
    public var inputDimension: Int { standardizer?.mean.count ?? 0 }

    public var structureSummary: [String] {
        if let design = configuration.design {
            return design.summary + ["emotion head \(design.hiddenWidth)→\(labels.count)"]
                + (hasGenderHead ? ["gender head \(design.hiddenWidth)→2"] : [])
        }
        var widths = [inputDimension] + configuration.hiddenLayers + [labels.count]
        if widths.count < 2 { widths = [inputDimension, labels.count] }
        var lines = (1..<widths.count).map { "dense \(widths[$0 - 1])→\(widths[$0])" + ($0 < widths.count - 1 ? " + ReLU" : "") }
        if hasGenderHead { lines.append("gender head \(configuration.hiddenLayers.last ?? inputDimension)→2") }
        if let penalty = configuration.l2Penalty, configuration.hiddenLayers.isEmpty {
            lines.append("fitted by L-BFGS, L2 penalty \(penalty)")
        }
        return lines
    }
}
