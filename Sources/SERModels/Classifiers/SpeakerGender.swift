/// The classes of every classifier's gender head, in the order its outputs
/// use: index 0 is female, 1 male. `LabelledMatrix.genders` holds these indices.
public enum SpeakerGender: String, CaseIterable, Sendable {
    case female, male

    /// The labels of the gender head's outputs, in order.
    public static let labels: [String] = allCases.map(\.rawValue)
}
