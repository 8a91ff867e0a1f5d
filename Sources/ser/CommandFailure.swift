import ArgumentParser
import Foundation
import SERAudio
import SERCorpora
import SERFeatures
import SERModels
import SERRecognition
import SERSupport
import SERTraining

/// A failure of the whole command (not of one input): exit status 1 with a message.
struct CommandFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
