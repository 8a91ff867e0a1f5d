import Foundation
import SERSupport

/// The metadata every classifier's model file starts with: format and version,
/// architecture, labels, training settings and calibration temperatures.
struct ModelFileHeader<Settings: Codable> {
    var labels: [String]
    var configuration: Settings
    var temperature: Float
    var genderTemperature: Float

    /// A file holding just this header (tensors are added by the classifier).
    static func file(architecture: String, formatVersion: String, labels: [String], configuration: Settings,
                     temperature: Float, genderTemperature: Float?, metadata extra: [String: String]) -> SafeTensorsFile {
        var file = SafeTensorsFile.modelHeader(architecture: architecture, formatVersion: formatVersion, labels: labels, metadata: extra)
        file.metadata["training_configuration"] = sortedJSONText(configuration)
        file.metadata["temperature"] = String(temperature)
        if let genderTemperature {
            file.metadata["gender_labels"] = sortedJSONText(SpeakerGender.labels)
            file.metadata["gender_temperature"] = String(genderTemperature)
        }
        return file
    }

    /// Reads and checks the header of a `kind` model (one of `architectures`); `source` names the file in errors.
    init(_ file: SafeTensorsFile, source: String, architectures: Set<String>, kind: String, formatVersion: String) throws {
        typealias Failure = SafeTensorsFile.Failure
        guard file.metadata["format"] == "ser-model", architectures.contains(file.metadata["architecture"] ?? "") else {
            throw Failure.unsupported(path: source, reason: "not \(kind) model written by ser")
        }
        guard file.metadata["format_version"] == formatVersion else {
            throw Failure.unsupported(path: source, reason: "format version \(file.metadata["format_version"] ?? "none"), this ser reads \(formatVersion)")
        }
        guard let labelsText = file.metadata["labels"], let labels = try? JSONDecoder().decode([String].self, from: Data(labelsText.utf8)),
              !labels.isEmpty,
              let settingsText = file.metadata["training_configuration"],
              let configuration = try? JSONDecoder().decode(Settings.self, from: Data(settingsText.utf8))
        else { throw Failure.corrupt(path: source, reason: "the labels or training settings are missing") }
        self.labels = labels
        self.configuration = configuration
        func positive(_ key: String) -> Float {
            file.metadata[key].flatMap(Float.init).flatMap { $0 > 0 && $0.isFinite ? $0 : nil } ?? 1
        }
        temperature = positive("temperature")
        genderTemperature = positive("gender_temperature")
    }
}

extension SafeTensorsFile {
    /// A model file holding only what every ser classifier's file starts with:
    /// `extra`, then format, format version, architecture and labels.
    static func modelHeader(architecture: String, formatVersion: String, labels: [String],
                            metadata extra: [String: String]) -> SafeTensorsFile {
        var file = SafeTensorsFile(metadata: extra)
        file.metadata["format"] = "ser-model"
        file.metadata["format_version"] = formatVersion
        file.metadata["architecture"] = architecture
        file.metadata["labels"] = sortedJSONText(labels)
        return file
    }
}
