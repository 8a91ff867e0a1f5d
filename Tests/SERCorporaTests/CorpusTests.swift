import Foundation
import SERAudio
import Testing
@testable import SERCorpora

final class Folder {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("ser-corpus-\(UUID().uuidString)").path
    init() { try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Writes a short tone (distinct per `seed`) at `relative`, creating folders.
    @discardableResult
    func audio(_ relative: String, seed: Int = 0, seconds: Double = 0.5, amplitude: Float = 0.3, rate: Int = 16000) throws -> String {
        let file = path + "/" + relative
        try FileManager.default.createDirectory(atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let frequency = 200.0 + Double(seed) * 37
        let samples = (0..<Int(Double(rate) * seconds)).map { amplitude * Float(sin(2 * Double.pi * frequency * Double($0) / Double(rate))) }
        try AudioFileWriter.write(AudioSignal(samples: samples, sampleRate: rate), to: file, format: .wav)
        return file
    }

    func text(_ relative: String, _ content: String) throws -> String {
        let file = path + "/" + relative
        try content.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }
}

@Suite struct FileNameTests {
    func parse(_ path: String, demographics: [String: SpeakerDemographics] = [:]) -> CorpusItem? {
        FileNameParsers.parse(path: path, demographics: demographics).item
    }

    @Test func ravdess() throws {
        let item = try #require(parse("/d/Actor_07/03-01-05-02-01-02-07.wav"))
        #expect(item.corpus == .ravdess && item.label == "angry" && item.speaker == "RAVDESS:07" && item.gender == .male)
        #expect(item.attributes["intensity"] == "strong" && item.attributes["statement"] == "01" && item.attributes["channel"] == "speech")
        #expect(parse("/d/03-02-08-01-02-01-12.mp3")?.attributes["channel"] == "song")
        #expect(parse("/d/03-02-08-01-02-01-12.mp3")?.gender == .female)
        #expect(parse("/d/01-01-03-01-01-01-02.mp4")?.attributes["modality"] == "audio-video")
        let videoOnly = FileNameParsers.parse(path: "/d/02-01-03-01-01-01-02.mp4", demographics: [:])
        #expect(videoOnly.item == nil && videoOnly.skipReason?.contains("no audio") == true)
        #expect(parse("/d/03-01-09-01-01-01-01.wav") == nil, "emotion 09 does not exist")
    }

    /// What `ser predict --speakers by-corpus` groups by.
    @Test func speakerGroupsFromFileNames() {
        #expect(CorpusReader.speakerGroup(ofPath: "/d/Actor_07/03-01-05-02-01-02-07.wav") == "RAVDESS:07")
        #expect(CorpusReader.speakerGroup(ofPath: "/c/1001_DFA_ANG_XX.flac") == "CREMA-D:1001")
        #expect(CorpusReader.speakerGroup(ofPath: "/s/JK_sa03.wav") == CorpusReader.speakerGroup(ofPath: "/s/JK_a01.wav"))
        #expect(CorpusReader.speakerGroup(ofPath: "/s/JK_a01.wav") != CorpusReader.speakerGroup(ofPath: "/s/DC_a01.wav"))
        #expect(CorpusReader.speakerGroup(ofPath: "/x/my-voice.wav") == nil)
    }

    @Test func cremaD() throws {
        let unknown = try #require(parse("/c/1001_DFA_ANG_XX.flac"))
        #expect(unknown.corpus == .cremaD && unknown.label == "angry" && unknown.gender == .unknown && unknown.speaker == "CREMA-D:1001")
        let known = parse("/c/1091_TIE_FEA_HI.wav", demographics: ["1091": SpeakerDemographics(gender: .female, age: "29")])
        #expect(known?.gender == .female && known?.attributes["age"] == "29")
        #expect(parse("/c/1091_TIE_FEA_HI.wav")?.label == "fearful")
        #expect(parse("/c/1001_DFA_XXX_XX.wav") == nil)
    }

    @Test func tessSpellingsAndFolders() throws {
        #expect(parse("/t/OAF_Fear/OAF_back_fear.wav")?.label == "fearful")
        #expect(parse("/t/YAF_pleasant_surprised/YAF_bath_ps.wav")?.label == "surprised")
        #expect(parse("/t/OAF_Pleasant_surprise/OAF_bite_pleasant_surprise.wav")?.label == "surprised")
        let item = try #require(parse("/t/YAF_angry/YAF_chalk_angry.wav"))
        #expect(item.speaker == "TESS:YAF" && item.gender == .female && item.attributes["word"] == "chalk")
    }

    @Test func saveeBothLayouts() throws {
        #expect(parse("/s/DC_a01.wav")?.label == "angry")
        #expect(parse("/s/JK_sa12.wav")?.label == "sad")
        #expect(parse("/s/AudioData/KL/su03.wav")?.label == "surprised")
        #expect(parse("/s/AudioData/KL/su03.wav")?.speaker == "SAVEE:KL")
        #expect(parse("/s/JE_n30.wav")?.gender == .male)
        #expect(parse("/s/XX_a01.wav") == nil)
    }

    @Test func folderPerLabelAndUnknown() {
        #expect(parse("/data/Angry/take1.wav")?.corpus == .folders)
        #expect(parse("/data/happiness/clip.ogg")?.label == "happy")
        #expect(parse("/data/misc/clip.wav") == nil)
    }

    @Test func labelSpellings() {
        #expect(Emotion(spelling: "Pleasant Surprise") == .surprised)
        #expect(Emotion(spelling: "FEA") == .fearful)
        #expect(Emotion(spelling: "boredom") == nil)
        #expect(Emotion(spelling: "d") == nil, "one-letter codes are SAVEE's, not labels")
    }
}

@Suite struct ManifestAndPolicyTests {
    @Test func csvAndJSONLManifests() throws {
        let folder = Folder()
        let csv = try folder.text("m.csv", "path,label,speaker,gender,corpus\nclips/a.wav,Angry,s1,female,\n\"clips/b, c.wav\",calm,s2,M,RAVDESS\n")
        let items = try CorpusReader().readManifest(csv)
        #expect(items.count == 2)
        #expect(items[0].path == folder.path + "/clips/a.wav" && items[0].label == "angry" && items[0].gender == .female)
        #expect(items[1].path == folder.path + "/clips/b, c.wav" && items[1].gender == .male && items[1].corpus == .ravdess)
        let jsonl = try folder.text("m.jsonl", "{\"path\": \"/abs/x.wav\", \"label\": \"frustrated\", \"speaker\": \"p9\"}\n\n")
        let custom = try CorpusReader().readManifest(jsonl)
        #expect(custom.count == 1 && custom[0].label == "frustrated" && custom[0].path == "/abs/x.wav" && custom[0].speaker == "p9")
        let broken = try folder.text("bad.csv", "file,emotion\nx.wav,sad\n")
        #expect(throws: CorpusError.self) { try CorpusReader().readManifest(broken) }
        let ragged = try folder.text("ragged.csv", "path,label\nx.wav\n")
        #expect(throws: CorpusError.self) { try CorpusReader().readManifest(ragged) }
        // A column named twice is an error that names it, not a crash.
        let doubled = try folder.text("doubled.csv", "path,label,Label\nx.wav,sad,happy\n")
        #expect { try CorpusReader().readManifest(doubled) } throws: { "\($0)".contains("\"label\" twice") }
    }

    @Test func demographicsTable() throws {
        let folder = Folder()
        let file = try folder.text("VideoDemographics.csv", "ActorID,Age,Sex,Race,Ethnicity\n1001,51,Male,Caucasian,Not Hispanic\n1002,21,Female,Caucasian,Not Hispanic\n")
        #expect(try CorpusReader.readDemographics(file) == ["1001": SpeakerDemographics(gender: .male, age: "51"),
                                                            "1002": SpeakerDemographics(gender: .female, age: "21")])
        let wrong = try folder.text("other.csv", "a,b\n1,2\n")
        #expect(throws: CorpusError.self) { try CorpusReader.readDemographics(wrong) }
    }

    @Test func mergesKeepsAndRareClasses() throws {
        let items = ["calm", "neutral", "angry", "angry", "sad"].enumerated().map { i, label in
            CorpusItem(path: "/\(i).wav", corpus: .ravdess, label: label, speaker: "RAVDESS:01", gender: .male)
        }
        let merged = LabelPolicy(merges: try LabelPolicy.parseMerges(["calm=neutral"])).apply(items)
        #expect(merged.kept.map(\.label) == ["neutral", "neutral", "angry", "angry", "sad"])
        let rare = LabelPolicy(merges: ["calm": "neutral"], minimumPerClass: 2).apply(items)
        #expect(rare.kept.map(\.label) == ["neutral", "neutral", "angry", "angry"])
        #expect(rare.dropped.count == 1 && rare.dropped[0].reason.contains("min-per-class"))
        let subset = LabelPolicy(keep: ["ANG", "sad"]).apply(items)
        #expect(subset.kept.count == 3)
        #expect(throws: CorpusError.self) { try LabelPolicy.parseMerges(["calm"]) }
    }
}

@Suite struct AuditTests {
    @Test func flagsWhatShouldNotBeTrainedOn() throws {
        let folder = Folder()
        let good = try folder.audio("ravdess/Actor_01/03-01-03-01-01-01-01.wav", seed: 1)
        let copy = try folder.audio("ravdess/Actor_01/03-01-03-01-01-02-01.wav", seed: 1)          // same audio, same label
        let conflictA = try folder.audio("crema/1001_DFA_HAP_XX.wav", seed: 2)
        let conflictB = try folder.audio("crema/1001_DFA_NEU_XX.wav", seed: 2)                      // same audio, other label
        let silent = try folder.audio("crema/1002_DFA_SAD_XX.wav", seed: 3, amplitude: 0.00006)  // about -84 dBFS: dither
        let quiet = try folder.audio("crema/1006_DFA_SAD_XX.wav", seed: 7, amplitude: 0.01)     // -40 dBFS: quiet, still a take
        let short = try folder.audio("crema/1003_DFA_SAD_XX.wav", seed: 4, seconds: 0.1)
        let clipped = try folder.audio("crema/1004_DFA_ANG_XX.wav", seed: 5, amplitude: 4)
        try Data("not audio".utf8).write(to: URL(fileURLWithPath: folder.path + "/crema/1005_DFA_ANG_XX.wav"))
        _ = try folder.text("crema/notes.txt", "ignored, not audio")
        try FileManager.default.createDirectory(atPath: folder.path + "/misc", withIntermediateDirectories: true)
        let stray = try folder.audio("misc/stray.wav", seed: 6)

        let (items, skipped) = try CorpusReader().read([folder.path])
        #expect(skipped.map(\.path) == [stray])
        let report = CorpusAuditor.scan(items, skipped: skipped)
        func issues(_ path: String) -> Set<HygieneIssue> { Set(report.warnings.filter { $0.path == path }.map(\.issue)) }
        #expect(issues(good).isEmpty)
        #expect(issues(copy) == [.duplicate])
        #expect(issues(conflictA) == [.conflictingLabels] && issues(conflictB) == [.conflictingLabels])
        #expect(issues(silent) == [.nearSilent])
        #expect(issues(quiet).isEmpty)
        #expect(issues(short) == [.tooShort])
        #expect(issues(clipped) == [.clipped])
        #expect(issues(folder.path + "/crema/1005_DFA_ANG_XX.wav") == [.unreadable])
        #expect(report.clean.map(\.path).sorted() == [good, quiet].sorted())
        #expect(report.excluded.count == 8)
        let ravdess = try #require(report.corpora.first { $0.corpus == .ravdess })
        #expect(ravdess.files == 2 && ravdess.speakers == 1 && ravdess.counts["happy"]?["male"] == 2)

        let lenient = CorpusAuditor.scan(items, keeping: [.clipped, .tooShort])
        #expect(lenient.clean.map(\.path).sorted() == [clipped, good, quiet, short].sorted())
    }
}

/// The development corpora, as documented in their README (skipped when absent).
@Suite(.enabled(if: FileManager.default.fileExists(atPath: SharedCorpora.root + "/ravdess"), "../shared/corpora not found beside the checkout"))
struct SharedCorporaTests {
    @Test func eachCorpusIsRecognisedWithItsSpeakersAndLabels() throws {
        let expected: [(folder: String, corpus: CorpusName, files: Int, speakers: Int, labels: Int)] = [
            ("ravdess", .ravdess, 1199, 20, 8), ("crema-d", .cremaD, 2927, 36, 6), ("tess", .tess, 140, 1, 7), ("savee", .savee, 360, 3, 7),
        ]
        for corpus in expected {
            let (items, skipped) = try CorpusReader().read([SharedCorpora.root + "/" + corpus.folder])
            #expect(skipped.isEmpty, "\(corpus.folder): \(skipped.prefix(3))")
            #expect(items.count == corpus.files, "\(corpus.folder)")
            #expect(items.allSatisfy { $0.corpus == corpus.corpus })
            #expect(Set(items.compactMap(\.speaker)).count == corpus.speakers, "\(corpus.folder) speakers")
            #expect(Set(items.map(\.label)).count == corpus.labels, "\(corpus.folder) labels")
        }
        let ravdess = try CorpusReader().read([SharedCorpora.root + "/ravdess"]).items
        #expect(ravdess.filter { $0.gender == .male }.count == ravdess.filter { $0.speaker.map { Int($0.suffix(2))! % 2 == 1 } ?? false }.count)
    }
}

enum SharedCorpora {
    static var root: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("shared/corpora").path
    }
}
