/// Stops the run when a property does not hold. libFuzzer saves the input that did it; `message`
/// says which property, so the crash report reads as a failed test.
func require(_ condition: Bool, _ message: @autoclosure () -> String, file: StaticString = #fileID, line: UInt = #line) {
    if !condition {
        fatalError("property failed: \(message())", file: file, line: line)
    }
}
