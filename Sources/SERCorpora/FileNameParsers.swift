import Foundation

/// Recognises the public corpora by their file naming, as users download them
/// (any audio extension).
enum FileNameParsers {
    /// The item a file's name and folder describe, or nil when no corpus pattern fits.
    /// `skipReason` is set for files a corpus names but that carry no audio to use.
    static func parse(path: String, demographics: [String: SpeakerDemographics]) -> (item: CorpusItem?, skipReason: String?) {
        let url = URL(fileURLWithPath: path)
        let stem = url.deletingPathExtension().lastPathComponent
        let folder = url.deletingLastPathComponent().lastPathComponent
        if let result = ravdess(stem, path: path) { return result }
        if let item = cremaD(stem, path: path, demographics: demographics) { return (item, nil) }
        if let item = tess(stem, folder: folder, path: path) { return (item, nil) }
        if let item = savee(stem, folder: folder, path: path) { return (item, nil) }
        if let emotion = Emotion(spelling: folder) {
            return (CorpusItem(path: path, corpus: .folders, label: emotion.rawValue, speaker: nil, gender: .unknown,
                               attributes: ["folder": folder]), nil)
        }
        return (nil, nil)
    }

    /// `MM-VV-EE-II-SS-RR-AA`: modality, vocal channel, emotion, intensity, statement, repetition, actor.
    static func ravdess(_ stem: String, path: String) -> (item: CorpusItem?, skipReason: String?)? {
        let parts = stem.split(separator: "-")
        guard parts.count == 7, parts.allSatisfy({ $0.count == 2 && $0.allSatisfy(\.isNumber) }),
              let modality = Int(parts[0]), let channel = Int(parts[1]), let emotionCode = Int(parts[2]),
              let intensity = Int(parts[3]), let statement = Int(parts[4]), let repetition = Int(parts[5]),
              let actor = Int(parts[6]), (1...3).contains(modality), (1...2).contains(channel),
              (1...8).contains(emotionCode), (1...2).contains(intensity), (1...2).contains(statement),
              (1...2).contains(repetition), actor >= 1
        else { return nil }
        if modality == 2 { return (nil, "RAVDESS video-only file (modality 02) has no audio") }
        let emotion = Emotion.allCases[emotionCode - 1]
        let item = CorpusItem(
            path: path, corpus: .ravdess, label: emotion.rawValue, speaker: "RAVDESS:" + String(parts[6]),
            gender: actor % 2 == 1 ? .male : .female,
            attributes: ["modality": modality == 1 ? "audio-video" : "audio", "channel": channel == 1 ? "speech" : "song",
                         "intensity": intensity == 1 ? "normal" : "strong", "statement": String(parts[4]),
                         "repetition": String(parts[5])])
        return (item, nil)
    }

    /// `AAAA_SSS_EMO_LV`: actor, sentence, emotion, level.
    static func cremaD(_ stem: String, path: String, demographics: [String: SpeakerDemographics]) -> CorpusItem? {
        let parts = stem.split(separator: "_")
        let codes: [String: Emotion] = ["ANG": .angry, "DIS": .disgust, "FEA": .fearful, "HAP": .happy, "NEU": .neutral, "SAD": .sad]
        guard parts.count == 4, parts[0].count == 4, parts[0].allSatisfy(\.isNumber), parts[1].count == 3,
              let emotion = codes[String(parts[2])], ["LO", "MD", "HI", "XX"].contains(parts[3])
        else { return nil }
        let actor = String(parts[0])
        var attributes = ["sentence": String(parts[1]), "level": String(parts[3])]
        if let age = demographics[actor]?.age { attributes["age"] = age }
        return CorpusItem(path: path, corpus: .cremaD, label: emotion.rawValue, speaker: "CREMA-D:" + actor,
                          gender: demographics[actor]?.gender ?? .unknown, attributes: attributes)
    }

    /// `OAF_word_emotion` / `YAF_word_emotion` (folders such as `OAF_Fear` or `YAF_pleasant_surprised` vary).
    static func tess(_ stem: String, folder: String, path: String) -> CorpusItem? {
        let lower = stem.lowercased()
        guard lower.hasPrefix("oaf_") || lower.hasPrefix("yaf_") else { return nil }
        let speaker = String(stem.prefix(3)).uppercased()
        let rest = lower.dropFirst(4)
        guard let separator = rest.firstIndex(of: "_") else { return nil }
        let word = String(rest[..<separator])
        let emotionText = String(rest[rest.index(after: separator)...])
        guard let emotion = Emotion(spelling: emotionText) else { return nil }
        return CorpusItem(path: path, corpus: .tess, label: emotion.rawValue, speaker: "TESS:" + speaker, gender: .female,
                          attributes: ["word": word])
    }

    /// `DC_a01` or `AudioData/DC/a01`: speaker, emotion code, take.
    static func savee(_ stem: String, folder: String, path: String) -> CorpusItem? {
        let speakers: Set<String> = ["DC", "JE", "JK", "KL"]
        let codes: [String: Emotion] = ["a": .angry, "d": .disgust, "f": .fearful, "h": .happy, "n": .neutral,
                                        "sa": .sad, "su": .surprised]
        var speaker: String?, code: Substring = ""
        let parts = stem.split(separator: "_")
        if parts.count == 2, speakers.contains(String(parts[0])) {
            speaker = String(parts[0]); code = parts[1]
        } else if parts.count == 1, speakers.contains(folder) {
            speaker = folder; code = parts[0]
        }
        guard let speaker else { return nil }
        let letters = code.prefix { $0.isLetter }
        let take = code.dropFirst(letters.count)
        guard let emotion = codes[String(letters)], take.count == 2, take.allSatisfy(\.isNumber) else { return nil }
        return CorpusItem(path: path, corpus: .savee, label: emotion.rawValue, speaker: "SAVEE:" + speaker, gender: .male,
                          attributes: ["take": String(take)])
    }
}
