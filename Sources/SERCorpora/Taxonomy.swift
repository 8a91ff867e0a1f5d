import Foundation
/// The canonical emotion labels every corpus is mapped onto (RAVDESS's eight).
public enum Emotion: String, CaseIterable, Codable, Sendable, Comparable {
    case neutral, calm, happy, sad, angry, fearful, disgust, surprised

    public static func < (a: Emotion, b: Emotion) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }

    /// Reads a label as people and corpora spell it: `angry`, `anger`, `ang`,
    /// `fear`, `ps`, `pleasant_surprise`, `happiness`, …; nil when unknown.
    /// One-letter codes (SAVEE's `a`, `d`, …) are not labels here: a folder
    /// named `d` is not "disgust". The SAVEE parser reads its own codes.
    public init?(spelling: String) {
        let key = spelling.lowercased().replacingOccurrences(of: "-", with: "_").replacingOccurrences(of: " ", with: "_")
        guard let emotion = Emotion.synonyms[key] else { return nil }
        self = emotion
    }

    static let synonyms: [String: Emotion] = {
        var table: [String: Emotion] = [:]
        let spellings: [Emotion: [String]] = [
            .neutral: ["neutral", "neu", "neutrality"],
            .calm: ["calm", "cal"],
            .happy: ["happy", "hap", "happiness", "joy"],
            .sad: ["sad", "sadness"],
            .angry: ["angry", "ang", "anger"],
            .fearful: ["fearful", "fear", "fea", "fearfulness"],
            .disgust: ["disgust", "dis", "disgusted"],
            .surprised: ["surprised", "surprise", "sur", "ps", "pleasant_surprise", "pleasant_surprised"],
        ]
        for (emotion, words) in spellings { for word in words { table[word] = emotion } }
        return table
    }()
}

/// A speaker's gender as the corpus documents it.
public enum Gender: String, CaseIterable, Codable, Sendable {
    case female, male, unknown
}

/// The corpora ser reads, and how it recognised a file.
public enum CorpusName: String, CaseIterable, Codable, Sendable {
    case ravdess = "RAVDESS"
    case cremaD = "CREMA-D"
    case tess = "TESS"
    case savee = "SAVEE"
    /// `data/<label>/<file>`: the label is the folder's name.
    case folders = "folder-per-label"
    /// A CSV or JSONL manifest named the file.
    case manifest = "manifest"
}

/// One labelled recording.
public struct CorpusItem: Codable, Sendable, Equatable {
    public var path: String
    public var corpus: CorpusName
    /// The canonical label, or the user's own label set's name for it.
    public var label: String
    /// Unique across corpora: `RAVDESS:01`, `CREMA-D:1001`, `TESS:OAF`, `SAVEE:DC`.
    public var speaker: String?
    public var gender: Gender
    /// Corpus-specific facts: intensity, statement, repetition, level, word, channel…
    public var attributes: [String: String]

    public init(path: String, corpus: CorpusName, label: String, speaker: String?, gender: Gender,
                attributes: [String: String] = [:]) {
        self.path = path
        self.corpus = corpus
        self.label = label
        self.speaker = speaker
        self.gender = gender
        self.attributes = attributes
    }
}
