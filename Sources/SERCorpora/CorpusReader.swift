import Foundation
import SERSupport

/// Why a corpus could not be read.
public enum CorpusError: Error, Equatable, Sendable, CustomStringConvertible {
    case notFound(path: String)
    case badManifest(path: String, line: Int, reason: String)
    case badDemographics(path: String, reason: String)
    case invalidOption(String)

    public var description: String {
        switch self {
        case .notFound(let path): return "\(path): no such file or directory"
        case .badManifest(let path, let line, let reason): return "\(path):\(line): \(reason)"
        case .badDemographics(let path, let reason):
            return "\(path): \(reason); expected CREMA-D's VideoDemographics.csv (ActorID,Age,Sex,…)"
        case .invalidOption(let reason): return reason
        }
    }
}

/// A file that was found but left out, and why.
public struct SkippedFile: Codable, Sendable, Equatable {
    public var path: String
    public var reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }
}

/// Reads corpora as users download them: folders of RAVDESS, CREMA-D, TESS or
/// SAVEE files (recognised by name), folder-per-label trees, and CSV/JSONL manifests.
public struct CorpusReader: Sendable {
    /// CREMA-D actor → gender and age, from its demographics table.
    public var demographics: [String: SpeakerDemographics] = [:]

    public init(demographics: [String: SpeakerDemographics] = [:]) {
        self.demographics = demographics
    }

    /// Extensions of files considered audio when walking folders.
    public static let audioExtensions: Set<String> = [
        "wav", "wave", "flac", "ogg", "oga", "opus", "mp3", "aif", "aiff", "aifc", "au", "caf", "w64",
        "m4a", "mp4", "m4v", "aac", "webm", "mkv", "mka", "mov",
    ]

    /// Every labelled file under `paths` (folders walked recursively; `.csv` and
    /// `.jsonl` files read as manifests), in a stable order.
    public func read(_ paths: [String]) throws -> (items: [CorpusItem], skipped: [SkippedFile]) {
        var items: [CorpusItem] = [], skipped: [SkippedFile] = []
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw CorpusError.notFound(path: path) }
            if !isDirectory.boolValue, ["csv", "jsonl"].contains((path as NSString).pathExtension.lowercased()) {
                let listed = try readManifestReportingSkips(path)
                items += listed.items
                skipped += listed.skipped
                continue
            }
            let files: [String]
            if isDirectory.boolValue {
                let root = URL(fileURLWithPath: path)
                files = (FileManager.default.enumerator(atPath: path)?.compactMap { $0 as? String } ?? [])
                    .filter { Self.audioExtensions.contains(($0 as NSString).pathExtension.lowercased()) }
                    .sorted()
                    .map { root.appendingPathComponent($0).path }
            } else {
                files = [path]
            }
            for file in files {
                let (item, reason) = FileNameParsers.parse(path: file, demographics: demographics)
                if let item { items.append(item) } else {
                    skipped.append(SkippedFile(path: file, reason: reason ?? "file name matches no known corpus and its folder is not an emotion label"))
                }
            }
        }
        return (items, skipped)
    }

    /// A manifest: CSV with a header naming `path,label[,speaker,gender,corpus]`, or
    /// JSONL objects with those keys. Relative paths are relative to the manifest.
    /// Entries without a label (a CSV without a label column, a JSON object
    /// without a `label` key, such as `ser manifest` writes) are labelled by their
    /// file names, as files given directly are; those no corpus's naming matches
    /// are left out.
    public func readManifest(_ path: String) throws -> [CorpusItem] {
        try readManifestReportingSkips(path).items
    }

    /// `readManifest`, also returning the unlabelled entries that no corpus's naming matched.
    public func readManifestReportingSkips(_ path: String) throws -> (items: [CorpusItem], skipped: [SkippedFile]) {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw CorpusError.notFound(path: path) }
        return try readManifest(text: text, path: path)
    }

    /// A manifest's entries from its text; `path` says where it lives (relative
    /// paths are resolved against its folder), whether it is JSONL (by extension),
    /// and names it in errors.
    public func readManifest(text: String, path: String) throws -> (items: [CorpusItem], skipped: [SkippedFile]) {
        let base = URL(fileURLWithPath: path).deletingLastPathComponent()
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).map(String.init)
        var rows: [(line: Int, fields: [String: String])] = []
        if (path as NSString).pathExtension.lowercased() == "jsonl" {
            for (index, line) in lines.enumerated() where !line.trimmingCharacters(in: .whitespaces).isEmpty {
                guard let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else {
                    throw CorpusError.badManifest(path: path, line: index + 1, reason: "not a JSON object")
                }
                var fields: [String: String] = [:]
                for (key, value) in object {
                    if let text = value as? String { fields[key] = text } else if !(value is NSNull) { fields[key] = "\(value)" }
                }
                rows.append((index + 1, fields))
            }
        } else {
            guard let headerLine = lines.first else { return ([], []) }
            let header = CSV.fields(headerLine).map { $0.lowercased().trimmingCharacters(in: .whitespaces) }
            guard header.contains("path") else {
                throw CorpusError.badManifest(path: path, line: 1, reason: "the header must name at least a path column (and label, unless file names carry the labels)")
            }
            if let repeated = header.first(where: { name in header.filter { $0 == name }.count > 1 }) {
                throw CorpusError.badManifest(path: path, line: 1, reason: "the header names the column \"\(repeated)\" twice; give each column once")
            }
            for (index, line) in lines.enumerated().dropFirst() where !line.trimmingCharacters(in: .whitespaces).isEmpty {
                let values = CSV.fields(line)
                guard values.count == header.count else {
                    throw CorpusError.badManifest(path: path, line: index + 1, reason: "\(values.count) fields, the header has \(header.count)")
                }
                rows.append((index + 1, Dictionary(uniqueKeysWithValues: zip(header, values))))
            }
        }
        var items: [CorpusItem] = [], skipped: [SkippedFile] = []
        for (line, fields) in rows {
            guard let file = fields["path"], !file.isEmpty else {
                throw CorpusError.badManifest(path: path, line: line, reason: "missing path")
            }
            let resolved = file.hasPrefix("/") ? file : base.appendingPathComponent(file).path
            guard let label = fields["label"] else {
                let (item, reason) = FileNameParsers.parse(path: resolved, demographics: demographics)
                if let item { items.append(item) } else {
                    skipped.append(SkippedFile(path: resolved, reason: reason ?? "the manifest gives no label and the file name matches no known corpus"))
                }
                continue
            }
            guard !label.isEmpty else { throw CorpusError.badManifest(path: path, line: line, reason: "empty label") }
            let gender = fields["gender"].flatMap { Gender(rawValue: $0.lowercased()) ?? genderFromWord($0) } ?? .unknown
            let corpus = fields["corpus"].flatMap { name in CorpusName.allCases.first { $0.rawValue.lowercased() == name.lowercased() } }
            let canonical = Emotion(spelling: label)?.rawValue ?? label
            items.append(CorpusItem(path: resolved, corpus: corpus ?? .manifest, label: canonical,
                                    speaker: fields["speaker"].flatMap { $0.isEmpty ? nil : $0 }, gender: gender,
                                    attributes: fields["corpus"].map { ["manifest_corpus": $0] } ?? [:]))
        }
        return (items, skipped)
    }

    /// CREMA-D's `VideoDemographics.csv`: ActorID, Sex and (when present) Age columns.
    public static func readDemographics(_ path: String) throws -> [String: SpeakerDemographics] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw CorpusError.notFound(path: path) }
        let lines = text.split(whereSeparator: \.isNewline).map(String.init)
        guard let headerLine = lines.first else { throw CorpusError.badDemographics(path: path, reason: "empty file") }
        let header = CSV.fields(headerLine).map { $0.lowercased() }
        guard let actor = header.firstIndex(of: "actorid"), let sex = header.firstIndex(of: "sex") else {
            throw CorpusError.badDemographics(path: path, reason: "no ActorID and Sex columns")
        }
        let age = header.firstIndex(of: "age")
        var table: [String: SpeakerDemographics] = [:]
        for line in lines.dropFirst() {
            let fields = CSV.fields(line)
            guard fields.count > max(actor, sex) else { continue }
            let years = age.flatMap { $0 < fields.count ? fields[$0].trimmingCharacters(in: .whitespaces) : nil }
            table[fields[actor].trimmingCharacters(in: .whitespaces)] =
                SpeakerDemographics(gender: genderFromWord(fields[sex]) ?? .unknown, age: years.flatMap { $0.isEmpty ? nil : $0 })
        }
        return table
    }
}

/// What a corpus's demographics table says about a speaker.
public struct SpeakerDemographics: Sendable, Equatable {
    public var gender: Gender
    public var age: String?
    public init(gender: Gender, age: String? = nil) {
        self.gender = gender
        self.age = age
    }
}

func genderFromWord(_ word: String) -> Gender? {
    switch word.lowercased().trimmingCharacters(in: .whitespaces) {
    case "female", "f", "woman": return .female
    case "male", "m", "man": return .male
    default: return nil
    }
}

/// CSV as the tables ser writes it (shared with the other stages).
typealias CSV = CSVText

/// User choices about the label set.
public struct LabelPolicy: Sendable, Equatable {
    /// Labels to keep (after merging); empty keeps all.
    public var keep: [String] = []
    /// `from → to` merges, e.g. calm → neutral.
    public var merges: [String: String] = [:]
    /// Classes with fewer items are dropped.
    public var minimumPerClass: Int = 0

    public init(keep: [String] = [], merges: [String: String] = [:], minimumPerClass: Int = 0) {
        self.keep = keep
        self.merges = merges
        self.minimumPerClass = minimumPerClass
    }

    /// Parses `--merge calm=neutral` arguments.
    public static func parseMerges(_ arguments: [String]) throws -> [String: String] {
        var merges: [String: String] = [:]
        for argument in arguments {
            let parts = argument.split(separator: "=", maxSplits: 1).map { String($0).trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw CorpusError.invalidOption("--merge takes FROM=TO, e.g. calm=neutral (got \(argument))")
            }
            let from = Emotion(spelling: parts[0])?.rawValue ?? parts[0]
            let to = Emotion(spelling: parts[1])?.rawValue ?? parts[1]
            merges[from] = to
        }
        return merges
    }

    /// Applies merges, the kept set and the minimum class size; returns the
    /// kept items and the rest with the reason each was left out.
    public func apply(_ items: [CorpusItem]) -> (kept: [CorpusItem], dropped: [SkippedFile]) {
        let keepSet = Set(keep.map { Emotion(spelling: $0)?.rawValue ?? $0 })
        var kept: [CorpusItem] = [], dropped: [SkippedFile] = []
        for var item in items {
            if let merged = merges[item.label] { item.label = merged }
            if !keepSet.isEmpty && !keepSet.contains(item.label) {
                dropped.append(SkippedFile(path: item.path, reason: "label \(item.label) is not in the chosen label set"))
            } else {
                kept.append(item)
            }
        }
        guard minimumPerClass > 0 else { return (kept, dropped) }
        let counts = Dictionary(grouping: kept, by: \.label).mapValues(\.count)
        let rare = Set(counts.filter { $0.value < minimumPerClass }.keys)
        for item in kept where rare.contains(item.label) {
            dropped.append(SkippedFile(path: item.path, reason: "class \(item.label) has \(counts[item.label]!) items, fewer than --min-per-class \(minimumPerClass)"))
        }
        return (kept.filter { !rare.contains($0.label) }, dropped)
    }
}

extension CorpusReader {
    /// The speaker a file's name identifies in one of the public corpora
    /// (RAVDESS, CREMA-D, TESS, SAVEE), qualified by the corpus
    /// (`RAVDESS:07`), or nil when the name fits none of them.
    public static func speakerGroup(ofPath path: String) -> String? {
        FileNameParsers.parse(path: path, demographics: [:]).item?.speaker
    }
}
