import ArgumentParser
import Foundation
import SERCorpora
import SERSupport

/// `ser corpus`: the public emotion corpora as one labelled, checked file list.
struct CorpusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "corpus",
        abstract: "Read emotion corpora into one label set, check them, and list their files.",
        discussion: """
        Recognised as downloaded, by file name (any audio extension):
          RAVDESS   Actor_NN/MM-VV-EE-II-SS-RR-AA.wav (speech, song, audio-video; odd actors male)
          CREMA-D   AAAA_SSS_EMO_LV.wav (gender from --demographics VideoDemographics.csv)
          TESS      OAF_<emotion>/OAF_<word>_<emotion>.wav, YAF_… (female)
          SAVEE     DC_a01.wav or AudioData/DC/a01.wav (male)
        and folder-per-label trees (data/angry/*.wav) and CSV/JSONL manifests
        (path,label[,speaker,gender,corpus]).

        Labels map onto neutral, calm, happy, sad, angry, fearful, disgust, surprised
        (TESS "ps" and SAVEE "su" are surprised; CREMA-D has no calm or surprised).
        """,
        subcommands: [Scan.self, Manifest.self, Split.self]
    )

    struct Selection: ParsableArguments {
        @Argument(help: ArgumentHelp("Corpus folders or manifest files.", valueName: "path"))
        var paths: [String] = []

        @Option(help: ArgumentHelp("A manifest to read: labelled (path,label[,speaker,gender,corpus]) or a plain file list from `ser manifest`, whose files are labelled by their names. Repeatable.", valueName: "file"))
        var manifest: [String] = []

        @OptionGroup var labelling: Labelling

        var keep: [HygieneIssue] { labelling.keep }

        func validate() throws {
            guard !paths.isEmpty || !manifest.isEmpty else { throw ValidationError("give corpus folders, manifest files, or --manifest FILE.") }
        }

        /// Reads, relabels and audits the selection.
        func scan() throws -> CorpusScanReport { try labelling.scan(paths + manifest) }
    }

    /// How files become labelled, checked training examples: shared by `corpus`,
    /// `train` and `evaluate`.
    struct Labelling: ParsableArguments {
        @Option(help: ArgumentHelp("CREMA-D's VideoDemographics.csv, for speaker gender.", valueName: "file"))
        var demographics: String?

        @Option(parsing: .upToNextOption, help: ArgumentHelp("Keep only these labels (after merges).", valueName: "label"))
        var labels: [String] = []

        @Option(help: ArgumentHelp("Merge one label into another, e.g. calm=neutral (repeatable).", valueName: "from=to"))
        var merge: [String] = []

        @Option(help: ArgumentHelp("Drop classes with fewer files.", valueName: "n"))
        var minPerClass: Int = 0

        @Option(help: ArgumentHelp("Keep files with this issue (clipped, near_silent, too_short, duplicate, …); still reported. Repeatable.", valueName: "issue"))
        var keep: [HygieneIssue] = []

        /// Reads `paths` (corpus folders or manifests), relabels and audits them.
        func scan(_ paths: [String]) throws -> CorpusScanReport {
            let reader = try CorpusReader(demographics: demographics.map(CorpusReader.readDemographics) ?? [:])
            let (items, unrecognised) = try reader.read(paths)
            let policy = LabelPolicy(keep: labels, merges: try LabelPolicy.parseMerges(merge), minimumPerClass: minPerClass)
            let (kept, dropped) = policy.apply(items)
            let progress = ProgressBar(total: kept.count, label: "scan")
            var report = CorpusAuditor.scan(kept, skipped: unrecognised, keeping: Set(keep),
                                            onProgress: { progress.update(finished: $0) })
            progress.finish()
            report.excluded += dropped
            return report
        }
    }

    struct Scan: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Count files by emotion and gender per corpus, and report duplicates and bad files.",
            discussion: """
            Every file is decoded. Reported, and left out of training by default: unreadable files, \
            duplicates (the same decoded audio with the same label; the first by path is kept), \
            conflicting labels (the same audio under different labels; all copies dropped), \
            near-silent (peak below -78 dBFS: nothing above dither; quiet speech is kept), clipped (over 1% of samples \
            at full scale) and too-short (under 0.3 s) clips. Mixed sample rates within a corpus \
            are noted.
            """
        )
        @OptionGroup var selection: Selection
        @Option(help: "Output layout: table or json.") var format: ReportFormat = .table

        func run() throws {
            let report = try selection.scan()
            switch format {
            case .json:
                try Terminal.printJSON(ScanOutput(corpora: report.corpora, warnings: report.warnings,
                                                  usable: report.clean.count, excluded: report.excluded.count))
            case .table:
                for summary in report.corpora {
                    let rates = summary.sampleRates.sorted { $0.key < $1.key }.map { "\($0.key) Hz ×\($0.value)" }.joined(separator: ", ")
                    Terminal.print("\(summary.corpus.rawValue): \(summary.files) files, \(summary.speakers) speakers, "
                        + String(format: "%.1f min", summary.totalDuration / 60) + ", \(rates)")
                    var table = TextTable(header: ["emotion", "female", "male", "unknown", "total"], rightAligned: [1, 2, 3, 4])
                    for label in summary.counts.keys.sorted(by: labelOrder) {
                        let row = summary.counts[label]!
                        let cells = Gender.allCases.map { row[$0.rawValue] ?? 0 }
                        table.rows.append([label] + cells.map(String.init) + [String(cells.reduce(0, +))])
                    }
                    Terminal.print(table.render().split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
                }
                let grouped = Dictionary(grouping: report.warnings, by: \.issue)
                for issue in HygieneIssue.allCases {
                    guard let list = grouped[issue] else { continue }
                    let excluded = issue.excludes && !selection.keep.contains(issue)
                    Terminal.print("\n\(issue.rawValue) (\(list.count))\(excluded ? ", excluded from training" : ", kept"):")
                    for warning in list.prefix(20) {
                        Terminal.print("  " + [warning.path ?? warning.corpus ?? "", warning.detail].joined(separator: ": "))
                    }
                    if list.count > 20 { Terminal.print("  … and \(list.count - 20) more (--format json lists all)") }
                }
                Terminal.print("\n\(report.clean.count) files usable for training, \(report.excluded.count) excluded.")
            }
        }
    }

    struct Manifest: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the checked, labelled file list as JSONL (one object per file) for training and evaluation.",
            discussion: "Files that scan flags are left out; each is named on standard error with the reason."
        )
        @OptionGroup var selection: Selection
        @Option(name: .shortAndLong, help: ArgumentHelp("The manifest to write (.jsonl).", valueName: "file")) var out: String

        func run() throws {
            let report = try selection.scan()
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            var data = Data()
            for item in report.clean {
                data.append(try encoder.encode(item))
                data.append(0x0A)
            }
            try AtomicFile.write(data, to: out)
            for excluded in report.excluded { Terminal.printError("ser: left out \(excluded.path): \(excluded.reason)") }
            Terminal.printError("ser: wrote \(report.clean.count) files to \(out) (\(report.excluded.count) left out)")
        }
    }
}

extension CorpusCommand {
    struct Split: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a speaker-independent train/test protocol and save it for training and evaluation to reuse.",
            discussion: """
            One of:
              --cv speakers:K          K folds of disjoint speakers, balanced by label and gender
                                       (--repeats N: N such partitions in one file)
              --loso                   leave one speaker out
              --test-speakers A,B      these speakers are the test set (RAVDESS:07 or just 07)
              --random K --allow-leakage
                                       the seed projects' random split, speakers on both sides;
                                       only to reproduce their numbers, and flagged as leaky
            --statement-independent also holds RAVDESS statement 02 out of training.
            Every fold is checked: no speaker and no identical audio on both sides.
            """
        )
        @OptionGroup var selection: Selection
        @Option(help: ArgumentHelp("Speaker folds, as speakers:K.", valueName: "speakers:k")) var cv: String?
        @Option(help: ArgumentHelp("With --cv: write this many different partitions of the speakers (1 to 10), for repeated cross-validation with `ser train --split`.", valueName: "n"))
        var repeats = 1
        @Flag(help: "Leave one speaker out.") var loso = false
        @Option(help: ArgumentHelp("Comma-separated test speakers.", valueName: "list")) var testSpeakers: String?
        @Option(help: ArgumentHelp("Random file folds (needs --allow-leakage).", valueName: "k")) var random: Int?
        @Flag(help: "Permit the leaky random split.") var allowLeakage = false
        @Flag(help: "RAVDESS: test on statement 02 only, never train on it.") var statementIndependent = false
        @Option(help: "Seed for fold assignment.") var seed: UInt64 = 1
        @Option(name: .shortAndLong, help: ArgumentHelp("The split file to write (.json).", valueName: "file")) var out: String

        func validate() throws {
            let chosen = [cv != nil, loso, testSpeakers != nil, random != nil].filter { $0 }.count
            guard chosen == 1 else { throw ValidationError("choose exactly one of --cv, --loso, --test-speakers, --random.") }
            if random != nil && !allowLeakage {
                throw ValidationError("--random puts the same speakers in train and test; add --allow-leakage only to reproduce a random-split result.")
            }
            if let cv { _ = try SpeakerFoldsArgument.folds(cv) }
            try SpeakerFoldsArgument.checkRepeats(repeats, option: "--repeats", cv: cv)
        }

        func run() throws {
            let report = try selection.scan()
            let items = report.clean
            let split: SpeakerSplit
            if let cv {
                split = try SpeakerSplitter.kFold(items, folds: try SpeakerFoldsArgument.folds(cv), seed: seed, repeats: repeats,
                                                  statementIndependent: statementIndependent)
            } else if loso {
                split = try SpeakerSplitter.leaveOneSpeakerOut(items, statementIndependent: statementIndependent)
            } else if let testSpeakers {
                split = try SpeakerSplitter.heldOut(items, testSpeakers: testSpeakers.split(separator: ",").map { String($0) },
                                                    statementIndependent: statementIndependent)
            } else {
                split = SpeakerSplitter.randomLeaky(items, folds: random!, seed: seed)
            }
            for index in split.folds.indices {
                let (train, test) = split.partition(items, fold: index)
                if !split.allowsLeakage {
                    try SpeakerSplitter.checkNoLeakage(train: train, test: test, contentHashes: report.contentHashes)
                }
                let speakers = split.allowsLeakage ? "random files" : split.folds[index].testSpeakers.joined(separator: " ")
                let partition = split.partitionCount > 1 ? "partition \(split.partition(ofFold: index) + 1), " : ""
                Terminal.print("\(partition)fold \(index + 1): train \(train.count), test \(test.count) — \(speakers)")
            }
            try split.write(to: out)
            if split.allowsLeakage {
                Terminal.printError("ser: WARNING: \(out) is a LEAKY random split (speakers in both train and test); results on it do not measure unseen voices")
            }
        }
    }
}

private struct ScanOutput: Encodable {
    var corpora: [CorpusSummary]
    var warnings: [HygieneWarning]
    var usable: Int
    var excluded: Int
}

private func labelOrder(_ a: String, _ b: String) -> Bool {
    switch (Emotion(rawValue: a), Emotion(rawValue: b)) {
    case let (x?, y?): return x < y
    case (.some, nil): return true
    case (nil, .some): return false
    default: return a < b
    }
}

extension HygieneIssue: ExpressibleByArgument {}
