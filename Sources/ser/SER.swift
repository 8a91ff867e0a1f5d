import ArgumentParser
import Foundation
import SERAudio
import SERNumerics
import SERSupport

/// The `ser` command: speech emotion recognition from the command line.
struct SER: ParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "ser",
        abstract: "Speech emotion recognition: read any recording, hear which emotion it carries.",
        discussion: """
        Every command reads audio by content, not by extension: WAV (any PCM or float \
        flavour), AIFF, FLAC, OGG Vorbis/Opus and MP3 through libsndfile, and MP4, M4A, \
        WebM, MOV and other containers through ffmpeg when it is installed. Any sample \
        rate and channel count is accepted.

        Examples:
          ser predict my-voice.m4a               the emotion it carries, with the shipped model
          ser predict interview.mp4 --segments   a timeline of emotions over a long recording
          ser listen                             live, from the microphone
          ser serve                              a web page and HTTP API on http://127.0.0.1:8080
          ser train --data corpora/ravdess --cv speakers:5    accuracy on unseen speakers
          ser info recording.m4a                 format, duration and levels
          ser info takes/*.wav --format json     the same as JSON, one entry per file
          ser convert interview.mp4 --out interview.wav --sample-rate 16000 --mono
          ser convert -r videos/ --out wav16k/ --sample-rate 16000 --mono --format flac
          ser features corpus/ --preset classic180 --out table.csv
          ser manifest archive/ --out files.jsonl     a file list to shard over many processes
          ser predict --manifest files.jsonl --shard 0/4 --out emotions.jsonl   one of 4 shards
          ser merge --out emotions.jsonl         the 4 parts as one file

        Exit status: 0 when every file was handled, 1 when some failed (each failure \
        is reported and the rest still run), 2 for usage errors.
        """,
        version: version,
        subcommands: [InfoCommand.self, ConvertCommand.self, FeaturesCommand.self, CorpusCommand.self, ManifestCommand.self, MergeCommand.self, TrainCommand.self, EvaluateCommand.self, ModelCommand.self, EncoderCommand.self, PredictCommand.self, ProfileCommand.self, ListenCommand.self, RecordCommand.self, ServeCommand.self]
    )
}

/// Runs the command line, mapping outcomes to exit statuses: 0 success,
/// 1 some inputs failed, 2 usage error.
@main
enum SERMain {
    static func main() {
        AllocatorPolicy.keepBatchBuffersOnHeap()
        // Every command spreads its work one recording (or one request, fold or
        // window) per core; a BLAS call on several threads would only compete with them.
        useSingleThreadedBLAS()
        do {
            var command = try SER.parseAsRoot()
            // `ser serve` shuts down gracefully on SIGINT/SIGTERM with handlers of its own; a
            // dispatch signal source installed here first could take the signal from them.
            if !(command is ServeCommand) { AtomicFile.removeTemporaryFilesOnInterrupt() }
            try command.run()
            fflush(nil)
        } catch {
            fflush(nil)
            let code = SER.exitCode(for: error)
            if code == .validationFailure {
                FileHandle.standardError.write(Data((SER.fullMessage(for: error) + "\n").utf8))
                exit(2)
            }
            SER.exit(withError: error)
        }
    }
}

/// Thrown by a command when some of its inputs failed; each was already reported.
struct SomeInputsFailed: Error {}

extension ExitCode {
    static let someInputsFailed = ExitCode(1)
}
