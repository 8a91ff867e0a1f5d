import Foundation

// libFuzzer's driver, linked in by -sanitize=fuzzer. SwiftPM gives every
// executable its own main, so each target calls the driver instead of using libFuzzer's main.
@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

nonisolated(unsafe) private var currentBody: ((Data) -> Void)?

/// Runs one fuzz target: with `--write-seeds DIR` as the only arguments it
/// writes the target's seed inputs (valid files made by ser's own writers) into
/// DIR and exits; otherwise it hands the arguments to libFuzzer, which calls
/// `body` with each input. `body` must return for every input: a crash, a trap,
/// a hang or an AddressSanitizer report is a finding.
public func runFuzzTarget(seeds: () throws -> [String: Data], body: @escaping (Data) -> Void) -> Never {
    let arguments = CommandLine.arguments
    if arguments.count == 3, arguments[1] == "--write-seeds" {
        let directory = arguments[2]
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let made = try seeds()
            for (name, data) in made {
                try data.write(to: URL(fileURLWithPath: directory).appendingPathComponent(name))
            }
            print("wrote \(made.count) seeds to \(directory)")
            exit(0)
        } catch {
            FileHandle.standardError.write(Data("cannot write seeds: \(error)\n".utf8))
            exit(1)
        }
    }
    currentBody = body
    var argumentCount = CommandLine.argc
    var argumentVector = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argumentCount, &argumentVector) { start, count in
        let data = (start != nil && count > 0) ? Data(bytes: start!, count: count) : Data()
        currentBody?(data)
        return 0
    })
}

/// Splits an input into a first line (up to the first newline) and the rest:
/// how targets that take two things (a header and a body) read one input.
public func firstLineAndRest(_ data: Data) -> (line: String, rest: Data) {
    guard let newline = data.firstIndex(of: 0x0A) else { return (String(decoding: data, as: UTF8.self), Data()) }
    return (String(decoding: data[data.startIndex..<newline], as: UTF8.self), Data(data[(newline + 1)...]))
}

/// Fails the run (a finding) when an error of an unexpected type escapes: ser
/// promises typed errors that say what went wrong, never stray ones.
public func expectTyped<T>(_ allowed: [Any.Type], _ body: () throws -> T) -> T? {
    do { return try body() } catch {
        if allowed.contains(where: { type(of: error) == $0 }) { return nil }
        fatalError("an untyped error escaped: \(type(of: error)): \(error)")
    }
}
