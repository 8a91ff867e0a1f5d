import Foundation
import SERAudio
import SERSupport

/// Recordings of several speakers, kept in memory, that babble conditions mix
/// behind a recording (`RecordingCondition.babble`).
///
/// A copy's babble never holds its own speaker's voice. The pool is made from
/// the items it is given, so a caller that passes only the training side of a
/// split keeps test voices out of training copies.
public struct BabblePool: Sendable {
    /// Decoded voices, each with its speaker (`CorpusItem.speaker`, or the path when unknown).
    public let voices: [(speaker: String, samples: [Float])]

    /// Up to `recordingsPerSpeaker` recordings of each of up to `maximumSpeakers`
    /// speakers of `items` (chosen by `seed`), decoded mono at `sampleRate`.
    /// Recordings that fail to decode are left out.
    public init(items: [CorpusItem], sampleRate: Int, recordingsPerSpeaker: Int = 2, maximumSpeakers: Int = 24, seed: UInt64) {
        var bySpeaker: [String: [CorpusItem]] = [:]
        for item in items { bySpeaker[Self.speakerKey(of: item), default: []].append(item) }
        var generator = SplitMix64(seed: seed)
        let speakers = generator.permuted(bySpeaker.keys.sorted()).prefix(maximumSpeakers)
        var chosen: [(String, String)] = []
        for speaker in speakers {
            let recordings = generator.permuted(bySpeaker[speaker]!.sorted { $0.path < $1.path })
            for item in recordings.prefix(recordingsPerSpeaker) { chosen.append((speaker, item.path)) }
        }
        let picks = chosen
        let decoded: [[Float]?] = parallelMap(count: picks.count) { index in
            try? AudioSignal(contentsOf: picks[index].1, sampleRate: sampleRate).samples
        }
        voices = zip(picks, decoded).compactMap { pick, samples in samples.map { (pick.0, $0) } }
        identity = ContentHash.ofBytes(Array(picks.map { "\($0.0)|\($0.1)" }.joined(separator: "\n").utf8))
    }

    /// What decides the pool's voices, for cache keys of babble copies.
    public let identity: String

    /// The key babble uses to keep a recording's own voice out of its babble.
    public static func speakerKey(of item: CorpusItem) -> String {
        item.corpus.rawValue + "/" + (item.speaker ?? item.path)
    }

    /// The pool's voices other than `item`'s speaker.
    public func voices(excludingSpeakerOf item: CorpusItem) -> [[Float]] {
        let own = Self.speakerKey(of: item)
        return voices.filter { $0.speaker != own }.map(\.samples)
    }
}
