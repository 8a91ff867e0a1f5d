import Foundation
import SERAudio
import SERSupport

/// What decoding one file revealed.
public struct AudioAudit: Codable, Sendable, Equatable {
    public var sampleRate: Int
    public var channels: Int
    public var duration: Double
    public var peakDBFS: Double?
    public var rmsDBFS: Double?
    /// Share of samples at or beyond ±0.999 full scale.
    public var clippedFraction: Double
    /// A 64-bit hash of the decoded samples and rate: equal for the same audio,
    /// however it is stored (byte-identical copies, re-encodings to lossless formats).
    public var contentHash: String

    /// Decodes `path` at its native rate, in bounded memory.
    public init(path: String) throws {
        let stream = try AudioStream(path: path, sampleRate: nil, mono: false)
        var levels = AudioLevels()
        var clipped = 0
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325 ^ UInt64(stream.sourceDescription.sampleRate)
        try stream.forEachBlock { block in
            levels.add(block)
            for x in block {
                if abs(x) >= 0.999 { clipped += 1 }
                hash = (hash ^ UInt64(x.bitPattern)) &* 0x0000_0100_0000_01b3
            }
        }
        let description = stream.sourceDescription
        sampleRate = description.sampleRate
        channels = description.channels
        duration = Double(stream.decodedFrames) / Double(description.sampleRate)
        peakDBFS = levels.peakDBFS
        rmsDBFS = levels.rmsDBFS
        clippedFraction = levels.sampleCount > 0 ? Double(clipped) / Double(levels.sampleCount) : 0
        contentHash = String(format: "%016llx", hash)
    }
}

/// Problems `ser corpus scan` reports. Files with an `excludes` kind are left
/// out of training by default.
public enum HygieneIssue: String, Codable, Sendable, CaseIterable {
    case unreadable
    case duplicate              // same audio as an earlier file with the same label
    case conflictingLabels = "conflicting_labels"  // same audio under different labels: all copies excluded
    case nearSilent = "near_silent"
    case clipped
    case tooShort = "too_short"
    case mixedSampleRates = "mixed_sample_rates"   // corpus-level, informational
    case unrecognised

    public var excludes: Bool { self != .mixedSampleRates }
}

/// Thresholds of the hygiene checks. They flag files that cannot carry usable
/// speech, not merely quiet or loud ones: quiet calm/sad takes and loud
/// angry/fearful ones are the emotions themselves, and excluding them would
/// bias the data (measured on the development corpora: a 0.1% clipping
/// threshold flagged 191 mostly angry CREMA-D clips; 1% flags 5).
///
/// Near-silence is judged by signal, not by level: a clean take recorded 20 or
/// 40 dB down is still speech, and models bring every input to one level. A
/// file is near-silent only when its peak stays within a few steps of 16-bit
/// audio's quietest one, where nothing but dither can live; whether a quiet
/// file holds speech is the voice activity detector's call, as for any file.
public struct HygieneThresholds: Sendable, Equatable {
    /// A file whose peak stays below this is near-silent (16-bit audio's
    /// quietest step is −90.3 dBFS; four steps are −78.3).
    public var silentPeakDBFS = -78.0
    /// More than this share of samples at full scale is clipped.
    public var clippedFraction = 0.01
    /// Shorter clips cannot carry an utterance.
    public var minimumDuration = 0.3
    public init() {}
}

public struct HygieneWarning: Codable, Sendable, Equatable {
    public var issue: HygieneIssue
    public var path: String?
    public var corpus: String?
    public var detail: String
}

/// Per-corpus counts for `ser corpus scan`.
public struct CorpusSummary: Codable, Sendable, Equatable {
    public var corpus: CorpusName
    public var files: Int
    public var speakers: Int
    public var totalDuration: Double
    public var sampleRates: [String: Int]
    /// label → gender → count.
    public var counts: [String: [String: Int]]
}

public struct CorpusScanReport: Codable, Sendable {
    public var corpora: [CorpusSummary]
    public var warnings: [HygieneWarning]
    /// Files usable for training: recognised, readable, not flagged.
    public var clean: [CorpusItem]
    public var excluded: [SkippedFile]
    /// Content hash of every readable file (path → hash), for leakage checks.
    public var contentHashes: [String: String]
}

/// Reads, decodes and checks a set of labelled files.
public enum CorpusAuditor {
    /// Audits `items` on all cores; `skipped` (unrecognised names) are reported too.
    /// - Parameter keeping: issues whose files stay usable (they are still reported).
    public static func scan(_ items: [CorpusItem], skipped: [SkippedFile] = [], thresholds: HygieneThresholds = .init(),
                            keeping: Set<HygieneIssue> = [],
                            onProgress: (@Sendable (Int) -> Void)? = nil) -> CorpusScanReport {
        let audits: [Result<AudioAudit, Error>] = parallelMap(count: items.count, onCompletion: onProgress) { index in
            Result { try AudioAudit(path: items[index].path) }
        }
        var warnings: [HygieneWarning] = skipped.map {
            HygieneWarning(issue: .unrecognised, path: $0.path, corpus: nil, detail: $0.reason)
        }
        var flagged: [Int: (HygieneIssue, String)] = [:]
        func flag(_ index: Int, _ issue: HygieneIssue, _ detail: String) {
            warnings.append(HygieneWarning(issue: issue, path: items[index].path, corpus: items[index].corpus.rawValue, detail: detail))
            if flagged[index] == nil && !keeping.contains(issue) { flagged[index] = (issue, detail) }
        }
        var byHash: [String: [Int]] = [:]
        for (index, result) in audits.enumerated() {
            switch result {
            case .failure(let error):
                flag(index, .unreadable, (error as? AudioError)?.reason ?? "\(error)")
            case .success(let audit):
                byHash[audit.contentHash, default: []].append(index)
                let peak = audit.peakDBFS ?? -.infinity, rms = audit.rmsDBFS ?? -.infinity
                if peak < thresholds.silentPeakDBFS {
                    flag(index, .nearSilent, String(format: "peak %.1f dBFS, RMS %.1f dBFS", peak, rms))
                }
                if audit.clippedFraction > thresholds.clippedFraction {
                    flag(index, .clipped, String(format: "%.2f%% of samples at full scale", audit.clippedFraction * 100))
                }
                if audit.duration < thresholds.minimumDuration {
                    flag(index, .tooShort, String(format: "%.3f s", audit.duration))
                }
            }
        }
        for indices in byHash.values where indices.count > 1 {
            let sorted = indices.sorted { items[$0].path < items[$1].path }
            let labels = Set(sorted.map { items[$0].label })
            let names = sorted.map { items[$0].path }
            if labels.count > 1 {
                for index in sorted {
                    flag(index, .conflictingLabels, "same audio as \(names.filter { $0 != items[index].path }.joined(separator: ", ")) under labels \(labels.sorted().joined(separator: "/"))")
                }
            } else {
                for index in sorted.dropFirst() { flag(index, .duplicate, "same audio as \(names[0])") }
            }
        }
        // Corpus summaries (over readable files).
        var summaries: [CorpusSummary] = []
        for corpus in CorpusName.allCases {
            let indices = items.indices.filter { items[$0].corpus == corpus }
            guard !indices.isEmpty else { continue }
            var rates: [String: Int] = [:], counts: [String: [String: Int]] = [:], duration = 0.0
            for index in indices {
                guard case .success(let audit) = audits[index] else { continue }
                rates[String(audit.sampleRate), default: 0] += 1
                duration += audit.duration
                counts[items[index].label, default: [:]][items[index].gender.rawValue, default: 0] += 1
            }
            if rates.count > 1 {
                warnings.append(HygieneWarning(issue: .mixedSampleRates, path: nil, corpus: corpus.rawValue,
                                               detail: rates.sorted { $0.key < $1.key }.map { "\($0.key) Hz: \($0.value)" }.joined(separator: ", ")))
            }
            summaries.append(CorpusSummary(corpus: corpus, files: indices.count,
                                           speakers: Set(indices.compactMap { items[$0].speaker }).count,
                                           totalDuration: duration, sampleRates: rates, counts: counts))
        }
        let clean = items.indices.filter { flagged[$0] == nil }.map { items[$0] }
        let excluded = flagged.keys.sorted().map { SkippedFile(path: items[$0].path, reason: "\(flagged[$0]!.0.rawValue): \(flagged[$0]!.1)") }
            + skipped
        var hashes: [String: String] = [:]
        for (index, result) in audits.enumerated() { if case .success(let audit) = result { hashes[items[index].path] = audit.contentHash } }
        return CorpusScanReport(corpora: summaries, warnings: warnings, clean: clean, excluded: excluded, contentHashes: hashes)
    }
}
