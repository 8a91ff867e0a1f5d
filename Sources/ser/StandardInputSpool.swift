import ArgumentParser
import Foundation
import SERAudio
import SERBatch
import SERCorpora
import SERFeatures
import SERModels
import SERRecognition

/// Removes spooled standard input at exit.
enum StandardInputSpool {
    nonisolated(unsafe) private static var paths: [String] = []
    static func register(_ path: String) {
        if paths.isEmpty { atexit { for path in StandardInputSpool.paths { unlink(path) } } }
        paths.append(path)
    }
}
