import SERNumerics

/// Per-speaker feature normalization: every feature of a speaker's recordings
/// becomes a z-score against that speaker's own mean and standard deviation.
///
/// What a voice does habitually (its pitch range, its timbre, its loudness) moves
/// the utterance-level features more than emotion does, and a model that never
/// heard a speaker reads those habits as emotion. Subtracting each speaker's own
/// centre leaves how an utterance departs from the speaker's usual: the cue that
/// carries to new voices (Busso et al., "Iterative feature normalization scheme
/// for automatic emotion detection from speech", 2013).
///
/// It needs several recordings of the speaker, without labels, and assumes they
/// mix emotions; statistics of one recording are degenerate, so a model trained
/// this way cannot classify a single file on its own.
public enum SpeakerNormalization {
    /// Fewest recordings a speaker needs for usable statistics.
    public static let minimumRecordings = 5

    /// `vectors` with each row standardized by the statistics of the rows of its
    /// group (`groups[i]` names row i's speaker), as `Standardizer` standardizes: a
    /// feature that does not vary within a group is only centred. Rows of
    /// different groups never mix.
    public static func zScores(_ vectors: [[Float]], groups: [String]) -> [[Float]] {
        let byGroup = statistics(of: vectors, groups: groups)
        return vectors.indices.map { row in byGroup[groups[row]]?.apply(vectors[row]) ?? vectors[row] }
    }

    /// The mean and deviation of each group's rows (`groups[i]` names row i's speaker).
    public static func statistics(of vectors: [[Float]], groups: [String]) -> [String: Standardizer] {
        precondition(vectors.count == groups.count, "one group per row")
        var members: [String: [[Float]]] = [:]
        for (row, group) in groups.enumerated() { members[group, default: []].append(vectors[row]) }
        return members.mapValues { Standardizer(fittingRows: $0) }
    }
}
