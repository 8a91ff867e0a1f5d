import Foundation
import SERSupport

/// One train/test partition by speaker.
public struct SplitFold: Codable, Sendable, Equatable {
    public var testSpeakers: [String]
    /// RAVDESS statement-independence: only this statement ("02", "Dogs are sitting
    /// by the door") is tested, and training never sees it.
    public var testStatement: String?
}

/// A reproducible speaker-independent protocol, saved to a file and reused.
public struct SpeakerSplit: Codable, Sendable, Equatable {
    public enum Method: String, Codable, Sendable { case heldOut = "held-out", kFold = "k-fold", leaveOneSpeakerOut = "leave-one-speaker-out", random }
    public var method: Method
    public var seed: UInt64
    public var folds: [SplitFold]
    /// Only for `random`: the seeds' leaky protocol, kept for comparison and labelled as such everywhere.
    public var allowsLeakage: Bool
    /// For `random`: the test paths of each fold.
    public var randomTestPaths: [[String]]?
    /// Repeated cross-validation: `folds` holds this many complete partitions
    /// of the speakers one after another, each `folds.count / partitions`
    /// folds long (`SpeakerSplitter.kFold(_:folds:seed:repeats:)`). Nil: one.
    public var partitions: Int?

    /// How many complete partitions `folds` holds (1 unless repeated).
    public var partitionCount: Int { max(1, partitions ?? 1) }

    /// The partition (0-based) that fold `index` belongs to.
    public func partition(ofFold index: Int) -> Int {
        let length = max(1, folds.count / partitionCount)
        return min(index / length, partitionCount - 1)
    }

    /// Train and test items of fold `index`. Items of test speakers go to test;
    /// with a test statement, training also loses that statement.
    public func partition(_ items: [CorpusItem], fold index: Int) -> (train: [CorpusItem], test: [CorpusItem]) {
        if method == .random, let paths = randomTestPaths {
            let test = Set(paths[index])
            return (items.filter { !test.contains($0.path) }, items.filter { test.contains($0.path) })
        }
        let fold = folds[index]
        let speakers = Set(fold.testSpeakers)
        var train: [CorpusItem] = [], test: [CorpusItem] = []
        for item in items {
            let statement = item.attributes["statement"]
            if let speaker = item.speaker, speakers.contains(speaker) {
                if fold.testStatement == nil || statement == fold.testStatement { test.append(item) }
            } else if fold.testStatement == nil || statement != fold.testStatement {
                train.append(item)
            }
        }
        return (train, test)
    }

    /// Writes the split as JSON, atomically.
    public func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(self), to: path)
    }

    /// Reads a split written by `write(to:)`.
    public init(contentsOf path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else { throw CorpusError.notFound(path: path) }
        try self.init(data: data, source: path)
    }

    /// Parses and checks a split's JSON; `source` names it in errors. Throws
    /// `SplitError.unusableFile` unless every fold can be partitioned.
    public init(data: Data, source: String) throws {
        let split: SpeakerSplit
        do { split = try JSONDecoder().decode(SpeakerSplit.self, from: data) } catch {
            throw SplitError.unusableFile(path: source, reason: "not the JSON of a split")
        }
        guard !split.folds.isEmpty else { throw SplitError.unusableFile(path: source, reason: "it has no folds") }
        if let partitions = split.partitions {
            guard partitions >= 1, split.folds.count % partitions == 0 else {
                throw SplitError.unusableFile(path: source, reason: "its \(split.folds.count) folds do not make \(partitions) partitions of equal length")
            }
        }
        if split.method == .random {
            guard split.allowsLeakage else { throw SplitError.unusableFile(path: source, reason: "a random split must say it allows leakage") }
            guard split.randomTestPaths?.count == split.folds.count else {
                throw SplitError.unusableFile(path: source, reason: "a random split needs one list of test paths per fold")
            }
        }
        self = split
    }

    public init(method: Method, seed: UInt64, folds: [SplitFold], allowsLeakage: Bool = false, randomTestPaths: [[String]]? = nil,
                partitions: Int? = nil) {
        self.method = method
        self.seed = seed
        self.folds = folds
        self.allowsLeakage = allowsLeakage
        self.randomTestPaths = randomTestPaths
        self.partitions = partitions
    }
}

/// Why a split could not be made or used.
public enum SplitError: Error, Equatable, Sendable, CustomStringConvertible {
    case missingSpeakers(count: Int, example: String)
    case tooFewSpeakers(have: Int, need: Int)
    case tooFewPartitions(have: Int, need: Int)
    case unknownSpeakers([String])
    case leakage(speakers: [String], sharedAudio: [String])
    case unusableFile(path: String, reason: String)

    public var description: String {
        switch self {
        case .missingSpeakers(let count, let example):
            return "\(count) files have no speaker (e.g. \(example)): a speaker-independent split needs one per file; give it in a manifest's speaker column"
        case .tooFewSpeakers(let have, let need):
            return "\(have) speakers cannot make \(need) speaker-disjoint folds"
        case .tooFewPartitions(let have, let need):
            return "these speakers gave only \(have) different balanced partitions, not \(need): ask for fewer repeats"
        case .unknownSpeakers(let names):
            return "no files for test speaker(s) \(names.joined(separator: ", "))"
        case .unusableFile(let path, let reason):
            return "\(path): not a usable split file (\(reason)); write it again with 'ser corpus split'"
        case .leakage(let speakers, let audio):
            var parts: [String] = []
            if !speakers.isEmpty { parts.append("speakers in both train and test: \(speakers.prefix(5).joined(separator: ", "))") }
            if !audio.isEmpty { parts.append("identical audio in both: \(audio.prefix(3).joined(separator: ", "))") }
            return "refusing a leaky split (" + parts.joined(separator: "; ") + "); pass --allow-leakage only to reproduce a random-split result, which every output will then flag"
        }
    }
}

/// Builds speaker-independent splits.
public enum SpeakerSplitter {
    /// The given speakers are the test set.
    public static func heldOut(_ items: [CorpusItem], testSpeakers: [String], statementIndependent: Bool = false) throws -> SpeakerSplit {
        try requireSpeakers(items)
        let known = Set(items.compactMap(\.speaker))
        let resolved = testSpeakers.map { name in known.contains(name) ? name : (known.first { $0.hasSuffix(":" + name) } ?? name) }
        let unknown = resolved.filter { !known.contains($0) }
        guard unknown.isEmpty else { throw SplitError.unknownSpeakers(unknown) }
        return SpeakerSplit(method: .heldOut, seed: 0, folds: [SplitFold(testSpeakers: resolved.sorted(), testStatement: statementIndependent ? "02" : nil)])
    }

    /// Every speaker is the test set once.
    public static func leaveOneSpeakerOut(_ items: [CorpusItem], statementIndependent: Bool = false) throws -> SpeakerSplit {
        try requireSpeakers(items)
        let speakers = Set(items.compactMap(\.speaker)).sorted()
        guard speakers.count >= 2 else { throw SplitError.tooFewSpeakers(have: speakers.count, need: 2) }
        return SpeakerSplit(method: .leaveOneSpeakerOut, seed: 0,
                            folds: speakers.map { SplitFold(testSpeakers: [$0], testStatement: statementIndependent ? "02" : nil) })
    }

    /// `k` speaker-disjoint folds whose label × gender make-up is as even as a
    /// greedy assignment can make it: speakers, largest first (ties broken by a
    /// seeded shuffle), each go to the fold that most reduces the squared
    /// deviation from the per-fold target counts.
    public static func kFold(_ items: [CorpusItem], folds k: Int, seed: UInt64, statementIndependent: Bool = false) throws -> SpeakerSplit {
        try requireSpeakers(items)
        var profiles: [String: [String: Int]] = [:]
        for item in items { profiles[item.speaker!, default: [:]][item.label + "/" + item.gender.rawValue, default: 0] += 1 }
        guard k >= 2, profiles.count >= k else { throw SplitError.tooFewSpeakers(have: profiles.count, need: k) }
        var generator = SplitMix64(seed: seed)
        let order = profiles.keys.sorted().shuffled(using: &generator).sorted {
            profiles[$0]!.values.reduce(0, +) > profiles[$1]!.values.reduce(0, +)
        }
        let strata = Set(profiles.values.flatMap(\.keys)).sorted()
        var totals: [String: Int] = [:]
        for profile in profiles.values { for (stratum, count) in profile { totals[stratum, default: 0] += count } }
        var foldCounts = [[String: Int]](repeating: [:], count: k)
        var members = [[String]](repeating: [], count: k)
        for speaker in order {
            var best = 0, bestCost = Double.infinity
            for fold in 0..<k {
                var cost = 0.0
                for candidate in 0..<k {
                    for stratum in strata {
                        let target = Double(totals[stratum]!) / Double(k)
                        var count = Double(foldCounts[candidate][stratum] ?? 0)
                        if candidate == fold { count += Double(profiles[speaker]![stratum] ?? 0) }
                        cost += (count - target) * (count - target)
                    }
                }
                // Keep folds from staying empty: prefer folds with fewer speakers on ties.
                cost += Double(members[fold].count) * 1e-9
                if cost < bestCost { bestCost = cost; best = fold }
            }
            members[best].append(speaker)
            for (stratum, count) in profiles[speaker]! { foldCounts[best][stratum, default: 0] += count }
        }
        if members.contains(where: \.isEmpty) { throw SplitError.tooFewSpeakers(have: profiles.count, need: k) }
        return SpeakerSplit(method: .kFold, seed: seed,
                            folds: members.map { SplitFold(testSpeakers: $0.sorted(), testStatement: statementIndependent ? "02" : nil) })
    }

    /// Repeated cross-validation: `repeats` different `k`-fold partitions of the
    /// speakers, one after another in one split (`SpeakerSplit.partitions`), so
    /// that figures average over how the speakers happen to be grouped. The
    /// first is `kFold(items, folds: k, seed: seed)`; each next one is the
    /// partition of the next seed that differs from every earlier one. Throws
    /// `SplitError.tooFewPartitions` when the speakers admit fewer distinct
    /// balanced partitions than asked for.
    public static func kFold(_ items: [CorpusItem], folds k: Int, seed: UInt64, repeats: Int,
                             statementIndependent: Bool = false) throws -> SpeakerSplit {
        let first = try kFold(items, folds: k, seed: seed, statementIndependent: statementIndependent)
        guard repeats > 1 else { return first }
        func grouping(_ split: SpeakerSplit) -> Set<Set<String>> { Set(split.folds.map { Set($0.testSpeakers) }) }
        var partitions = [first], seen = [grouping(first)]
        var candidate = seed
        for _ in 0..<(20 * repeats) where partitions.count < repeats {
            candidate &+= 1
            let next = try kFold(items, folds: k, seed: candidate, statementIndependent: statementIndependent)
            let groups = grouping(next)
            if !seen.contains(groups) {
                partitions.append(next)
                seen.append(groups)
            }
        }
        guard partitions.count == repeats else { throw SplitError.tooFewPartitions(have: partitions.count, need: repeats) }
        return SpeakerSplit(method: .kFold, seed: seed, folds: partitions.flatMap(\.folds), partitions: repeats)
    }

    /// The seeds' protocol: files shuffled into `k` folds regardless of speaker.
    /// Leaks speakers by construction; exists only to reproduce published numbers.
    public static func randomLeaky(_ items: [CorpusItem], folds k: Int, seed: UInt64) -> SpeakerSplit {
        var generator = SplitMix64(seed: seed)
        let shuffled = items.map(\.path).sorted().shuffled(using: &generator)
        let folds = (0..<k).map { fold in stride(from: fold, to: shuffled.count, by: k).map { shuffled[$0] } }
        return SpeakerSplit(method: .random, seed: seed, folds: folds.map { _ in SplitFold(testSpeakers: []) },
                            allowsLeakage: true, randomTestPaths: folds)
    }

    /// Refuses a train/test pair sharing a speaker or identical audio (by
    /// content hash, when given: path → hash).
    public static func checkNoLeakage(train: [CorpusItem], test: [CorpusItem], contentHashes: [String: String] = [:]) throws {
        let sharedSpeakers = Set(train.compactMap(\.speaker)).intersection(test.compactMap(\.speaker)).sorted()
        let trainHashes = Set(train.compactMap { contentHashes[$0.path] })
        let sharedAudio = test.filter { contentHashes[$0.path].map(trainHashes.contains) ?? false }.map(\.path)
        guard sharedSpeakers.isEmpty && sharedAudio.isEmpty else {
            throw SplitError.leakage(speakers: sharedSpeakers, sharedAudio: sharedAudio)
        }
    }

    private static func requireSpeakers(_ items: [CorpusItem]) throws {
        let missing = items.filter { $0.speaker == nil }
        if let first = missing.first { throw SplitError.missingSpeakers(count: missing.count, example: first.path) }
    }
}
