import Foundation
import ArgumentParser
import SERFeatures
import SERModels
import SERNumerics
import SERRecognition
import SERSpeakers
import SERSupport

/// `ser profile`: speaker profiles, the statistics a model adapts to a voice with.
struct ProfileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profile",
        abstract: "Create, grow and inspect speaker profiles (what a model knows of a voice).",
        discussion: """
        A profile holds the count, sum and sum of squares of the feature vectors of a \
        speaker's recordings, and which feature configuration computed them: never audio \
        and never labels. `ser predict --profile P` then answers every file adapted to \
        that voice, as the server does with `?profile=ID`. Recordings of any emotion \
        serve; the more (and the more varied), the better the answers. A profile only \
        works with models that read the same features (checked when it is used).

        Examples:
          ser profile create alice takes/alice/*.wav --out alice.json
          ser profile update alice.json new-take.m4a
          ser profile info alice.json
        """,
        subcommands: [Create.self, Update.self, Info.self]
    )

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make a profile from recordings of one speaker.")
        @Argument(help: "The speaker's name (shown in answers).") var name: String
        @Argument(help: ArgumentHelp("Recordings of the speaker: files or folders.", valueName: "file")) var files: [String]
        @Option(name: .shortAndLong, help: ArgumentHelp("Where to write the profile (JSON).", valueName: "profile.json")) var out: String
        @Option(help: ArgumentHelp("The model whose features the profile is for (default: the shipped model).", valueName: "model")) var model: String?

        func run() throws {
            let emotionModel = try ProfileCommand.adaptiveModel(model)
            var profile = SpeakerProfile(name: name, pipeline: emotionModel.pipeline)
            let failed = try ProfileCommand.learn(files, into: &profile, model: emotionModel)
            try profile.write(to: out)
            Terminal.printError("ser: \(out): profile \(name) with \(profile.statistics.count) utterance(s)")
            if failed { throw SomeInputsFailed() }
        }
    }

    struct Update: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add recordings of the same speaker to a profile.")
        @Argument(help: ArgumentHelp("The profile to grow (rewritten atomically).", valueName: "profile.json")) var profile: String
        @Argument(help: ArgumentHelp("More recordings of the speaker.", valueName: "file")) var files: [String]
        @Option(help: ArgumentHelp("The model whose features the profile is for (default: the shipped model).", valueName: "model")) var model: String?

        func run() throws {
            let emotionModel = try ProfileCommand.adaptiveModel(model)
            var loaded = try SpeakerProfile(contentsOf: profile)
            try loaded.check(against: emotionModel.pipeline, path: profile)
            let before = loaded.statistics.count
            let failed = try ProfileCommand.learn(files, into: &loaded, model: emotionModel)
            try loaded.write(to: profile)
            Terminal.printError("ser: \(profile): \(loaded.statistics.count - before) utterance(s) added, \(loaded.statistics.count) in all")
            if failed { throw SomeInputsFailed() }
        }
    }

    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Say what a profile holds (never its statistics).")
        @Argument(help: ArgumentHelp("A profile.", valueName: "profile.json")) var profile: String
        @Option(help: "Output layout: table or json.") var format: ReportFormat = .table

        func run() throws {
            let loaded = try SpeakerProfile(contentsOf: profile)
            let summary = ProfileSummary(name: loaded.name, utterances: loaded.statistics.count, features: loaded.features,
                                         dimension: loaded.statistics.dimension, created: loaded.created, updated: loaded.updated)
            switch format {
            case .json: try Terminal.printJSON(summary)
            case .table:
                Terminal.print("""
                    profile: \(profile)
                    speaker: \(summary.name), \(summary.utterances) utterance(s)
                    features: \(summary.features) (\(summary.dimension) values)
                    created: \(summary.created); updated: \(summary.updated)
                    """)
            }
        }
    }

    /// The model a profile is made for; one without an adapted part cannot use profiles.
    static func adaptiveModel(_ path: String?) throws -> EmotionModel {
        let model = try EmotionModel(contentsOf: path ?? DefaultModel.path())
        guard model.usesSpeakerStatistics else {
            throw CommandFailure("\(path ?? "the shipped model") reads each recording on its own and cannot use a profile; train one with --adaptive")
        }
        return model
    }

    /// Adds the speech of every file to `profile`; files that fail are reported
    /// and skipped. Returns whether any failed.
    static func learn(_ paths: [String], into profile: inout SpeakerProfile, model: EmotionModel) throws -> Bool {
        let files = InputFiles.expand(paths, recursive: true).map(\.path)
        guard !files.isEmpty else { throw ValidationError("no audio files found in \(paths.joined(separator: " ")).") }
        let progress = ProgressBar(total: files.count, label: "profile")
        let results = EmotionRecognizer(model: model).voiceVectors(ofFiles: files, onCompletion: { progress.update(finished: $0) })
        progress.finish()
        var failed = false
        for result in results {
            switch result {
            case .success(let vectors): profile.add(vectors)
            case .failure(let failure):
                failed = true
                Terminal.printError("ser: \(failure)")
            }
        }
        return failed
    }
}

/// What `ser profile info` and the server say of a profile.
struct ProfileSummary: Encodable {
    var name: String
    var utterances: Int
    var features: String
    var dimension: Int
    var created: String
    var updated: String
}
