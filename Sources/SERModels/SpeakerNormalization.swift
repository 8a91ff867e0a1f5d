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
    /// group (`groups[i]` names row i's speaker). A feature that does not vary
    /// within a group is only centred. Rows of different groups never mix.
    public static func zScores(_ vectors: [[Float]], groups: [String]) -> [[Float]] {
        let byGroup = statistics(of: vectors, groups: groups)
        return vectors.indices.map { row in byGroup[groups[row]]?.standardized(vectors[row]) ?? vectors[row] }
    }

    /// The statistics of each group's rows (`groups[i]` names row i's speaker).
    public static func statistics(of vectors: [[Float]], groups: [String]) -> [String: Statistics] {
        precondition(vectors.count == groups.count, "one group per row")
        var members: [String: [[Float]]] = [:]
        for (row, group) in groups.enumerated() { members[group, default: []].append(vectors[row]) }
        return members.mapValues { Statistics($0) }
    }

    /// The mean and population standard deviation of each column of some rows,
    /// accumulated in double precision.
    public struct Statistics: Sendable {
        public let mean: [Double]
        public let standardDeviation: [Double]

        public init(_ rows: [[Float]]) {
            let columns = rows.first?.count ?? 0
            var sum = [Double](repeating: 0, count: columns), squares = sum
            for row in rows {
                for c in 0..<min(columns, row.count) {
                    let value = Double(row[c])
                    sum[c] += value
                    squares[c] += value * value
                }
            }
            let n = Double(max(rows.count, 1))
            mean = sum.map { $0 / n }
            standardDeviation = (0..<columns).map { c in
                max(0, squares[c] / n - (sum[c] / n) * (sum[c] / n)).squareRoot()
            }
        }

        /// `vector` minus the mean, divided by the deviation where it is not negligible.
        public func standardized(_ vector: [Float]) -> [Float] {
            (0..<min(vector.count, mean.count)).map { c in
                let deviation = standardDeviation[c]
                let centred = Double(vector[c]) - mean[c]
                return Float(deviation > 1e-9 * max(1, abs(mean[c])) ? centred / deviation : centred)
            }
        }
    }
}
