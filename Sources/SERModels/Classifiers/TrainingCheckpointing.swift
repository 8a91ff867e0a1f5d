import Foundation

/// Where training saves its state after every epoch and resumes from (the
/// families that train by epochs; the others ignore it).
public struct TrainingCheckpointing {
    /// The checkpoint file, written atomically after every epoch.
    public var path: String
    /// Identifies the run (data, labels, settings): a checkpoint from another run is ignored.
    public var fingerprint: String
    /// Called after every epoch (progress display).
    public var onEpoch: ((EpochRecord) -> Void)?
    /// Checkpoints at `path` for the run identified by `fingerprint`, reporting each epoch to `onEpoch`.
    public init(path: String, fingerprint: String, onEpoch: ((EpochRecord) -> Void)? = nil) {
        self.path = path
        self.fingerprint = fingerprint
        self.onEpoch = onEpoch
    }
}
