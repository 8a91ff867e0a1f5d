import ArgumentParser
import Foundation
import SERCorpora
import SERRecognition

/// How `ser predict` cuts recordings and which answers count: segmentation and
/// the minimum confidence.
struct AnswerOptions: ParsableArguments {
    @Flag(help: "Cut recordings into utterances by voice activity and return a timeline.") var segments = false
    @Flag(help: "One answer per recording, however long.") var noSegments = false
    @Option(help: ArgumentHelp("Fixed analysis windows of this many seconds (implies a timeline).", valueName: "seconds")) var window: Double?
    @Option(help: ArgumentHelp("Seconds between window starts (default: half the window).", valueName: "seconds")) var hop: Double?
    @Option(help: ArgumentHelp("Report answers below this probability as uncertain.", valueName: "p")) var minConfidence: Double?

    func validate() throws {
        if let window, case .failure(let error) = Segmentation.checkedWindow(seconds: window, hop: hop) {
            throw ValidationError("--window/--hop: \(error.message).")
        }
        if hop != nil && window == nil { throw ValidationError("--hop needs --window.") }
        if let minConfidence, !(0...1).contains(minConfidence) { throw ValidationError("--min-confidence is a probability between 0 and 1.") }
        if segments && noSegments { throw ValidationError("choose one of --segments and --no-segments.") }
    }

    /// The recognition options the flags ask for.
    var recognitionOptions: RecognitionOptions {
        var options = RecognitionOptions()
        options.minimumConfidence = minConfidence
        if let window {
            options.segmentation = .window(seconds: window, hop: hop ?? window / 2)
        } else if segments {
            options.segmentation = .speech
        } else if noSegments {
            options.segmentation = .whole
        }
        return options
    }

    /// The segmentation, as a resumable run's fingerprint records it.
    var segmentationTag: String {
        window.map { "window=\($0)/\(hop ?? $0 / 2)" } ?? (segments ? "segments" : noSegments ? "whole" : "auto")
    }
}

/// Who speaks in `ser predict`'s inputs: one voice, groups, or a profile.
struct SpeakerOptions: ParsableArguments {
    @Flag(help: ArgumentHelp("All inputs are recordings of one speaker: the model adapts its answers to their voice (the statistics of all of them). Same as --speakers with one group."))
    var sameSpeaker = false
    @Option(help: ArgumentHelp("Group the inputs by speaker and adapt the answers within each group: by-folder (one speaker per folder), by-corpus (the speaker in RAVDESS, CREMA-D, TESS or SAVEE file names), or a CSV file with path and speaker columns. Use it when a batch holds several recordings of each voice; files in no group are answered on their own.", valueName: "by-folder|by-corpus|file.csv"))
    var speakers: String?
    @Option(help: ArgumentHelp("Adapt every answer to the speaker of this profile (ser profile create); all inputs are taken to be that speaker.", valueName: "profile.json"))
    var profile: String?

    func validate() throws {
        if [sameSpeaker, speakers != nil, profile != nil].filter({ $0 }).count > 1 {
            throw ValidationError("choose one of --same-speaker, --speakers and --profile: each says who speaks in the inputs.")
        }
        if let speakers, !["by-folder", "by-corpus"].contains(speakers), !speakers.lowercased().hasSuffix(".csv") {
            throw ValidationError("--speakers takes by-folder, by-corpus or a .csv file of path,speaker rows.")
        }
    }

    /// The rule for recordings at `paths` answered by `model`; a note when the
    /// options ask for adaptation that the model cannot do.
    func rule(for paths: [String], model: EmotionModel) throws -> SpeakerRule {
        if !model.usesSpeakerStatistics {
            if sameSpeaker || speakers != nil || profile != nil {
                Terminal.printError("ser: note: --same-speaker, --speakers and --profile have no effect: this model reads each recording on its own (retrain with --adaptive)")
            }
            return .unknown
        }
        if let profile {
            let loaded = try SpeakerProfile(contentsOf: profile)
            try loaded.check(against: model.pipeline, path: profile)
            return .knownSpeaker(name: loaded.name, statistics: loaded.statistics)
        }
        if sameSpeaker { return .sameSpeaker }
        switch speakers {
        case nil: return .unknown
        case "by-folder": return .byFolder
        case "by-corpus": return .groups(paths.map { CorpusReader.speakerGroup(ofPath: $0) })
        case let table?:
            let speakerTable = try SpeakerTable(contentsOf: table)
            return .groups(paths.map { speakerTable.speaker(of: $0) })
        }
    }
}
