import Foundation
import SEREncoder
import SERFeatures
import SERModels
import SERRecognition
import SERSupport

/// Finds the model `ser` uses when no `--model` is given.
enum DefaultModel {
    static let fileName = "default.safetensors"

    /// Candidates, in order: `$SER_MODEL`; `share/ser/` beside an installed binary;
    /// `models/` in the source tree the binary was built in (walking up from it).
    static func candidates(executable: String = CommandLine.arguments[0]) -> [String] {
        var list: [String] = []
        if let path = ProcessInfo.processInfo.environment["SER_MODEL"], !path.isEmpty { list.append(path) }
        let resolved = URL(fileURLWithPath: executable).resolvingSymlinksInPath()
        var directory = resolved.deletingLastPathComponent()
        list.append(directory.deletingLastPathComponent().appendingPathComponent("share/ser/\(fileName)").path)
        for _ in 0..<5 {
            list.append(directory.appendingPathComponent("models/\(fileName)").path)
            directory = directory.deletingLastPathComponent()
        }
        return list
    }

    /// The model that answers when the default one reads the speech encoder and
    /// the encoder is not installed: handcrafted features, kept beside it.
    static let handcraftedFileName = "default-handcrafted.safetensors"

    /// The default model's path, or an error saying where it was looked for.
    ///
    /// When the default model reads the speech encoder and `ser encoder install`
    /// has not been run, the handcrafted model beside it answers instead, and a
    /// one-line notice says so on standard error (unless `quiet`).
    static func path(quiet: Bool = false) throws -> String {
        let list = candidates()
        guard let found = list.first(where: { FileManager.default.isReadableFile(atPath: $0) }) else {
            throw CommandFailure("no default model found (looked in \(list.joined(separator: ", "))); pass --model PATH or set SER_MODEL")
        }
        guard needsMissingEncoder(found) else { return found }
        let fallback = URL(fileURLWithPath: found).deletingLastPathComponent().appendingPathComponent(handcraftedFileName).path
        guard FileManager.default.isReadableFile(atPath: fallback) else { return found }   // loading it says what to install
        if !quiet {
            Terminal.printError("ser: note: the speech encoder is not installed, so the handcrafted model answers (less accurate); run 'ser encoder install' once")
        }
        return fallback
    }

    /// Whether the model file at `path` reads the speech encoder and the encoder is not installed.
    static func needsMissingEncoder(_ path: String) -> Bool {
        guard let header = try? SafeTensorsFile.header(ofFileAt: path), let text = header.metadata["ser"],
              let description = try? JSONDecoder().decode(ModelDescription.self, from: Data(text.utf8)),
              FeaturePreset(rawValue: description.features.preset)?.needsEncoder == true else { return false }
        return !SpeechEncoders.isInstalled
    }
}
