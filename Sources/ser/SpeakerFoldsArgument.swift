import ArgumentParser

/// `--cv speakers:K` and how many partitions of the speakers to repeat it
/// over, as `ser train` and `ser corpus split` read them.
enum SpeakerFoldsArgument {
    /// Repeats a user may ask for.
    static let repeatRange = 1...10

    /// K of `speakers:K`; refuses anything else, and K < 2.
    static func folds(_ text: String) throws -> Int {
        guard text.hasPrefix("speakers:"), let k = Int(text.dropFirst(9)), k >= 2 else {
            throw ValidationError("--cv takes speakers:K with K ≥ 2 (got \(text)).")
        }
        return k
    }

    /// Checks the repeats given with `option` (its flag, for the message):
    /// within `repeatRange`, and more than one only with `--cv`.
    static func checkRepeats(_ repeats: Int, option: String, cv: String?) throws {
        if !repeatRange.contains(repeats) { throw ValidationError("\(option) takes 1 to 10 (got \(repeats)).") }
        if repeats > 1 && cv == nil { throw ValidationError("\(option) repeats --cv speakers:K; give --cv too.") }
    }
}
