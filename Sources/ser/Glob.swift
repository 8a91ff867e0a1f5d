import ArgumentParser
import Foundation
import SERAudio
import SERBatch
import SERCorpora
import SERFeatures
import SERModels
import SERRecognition

/// Shell-style pattern expansion for patterns the shell left alone (quoted).
enum Glob {
    static func expand(_ pattern: String) -> [String] {
        var result = glob_t()
        defer { globfree(&result) }
        guard glob(pattern, 0, nil, &result) == 0 else { return [] }
        return (0..<Int(result.gl_pathc)).compactMap { result.gl_pathv[$0].map { String(cString: $0) } }
    }
}
