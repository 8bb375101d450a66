package import CRMModel
package import Foundation

/// Where communications, their attempts and timelines, and client preferences are kept.
///
/// Requirements on every backend (the conformance suite in `PersistenceTests` holds each to them):
/// - A method returns only once what it wrote is durable: a caller acknowledges on that basis.
/// - Status changes go only forward (`CommunicationStatus.canMove(to:)`); a change that would go
///   backwards or repeat is ignored and reported as `nil`, so late and duplicate receipts are harmless.
/// - An attempt and the status change it causes are written in one transaction.
/// - Errors are `StoreError`s that say which part failed and never carry personal data.
package protocol Store: Sendable {
    /// Writes a new communication with its first timeline event.
    func insert(_ communication: Communication) async throws(StoreError)

    func communication(id: UUID) async throws(StoreError) -> Communication?

    /// Communications newest first, filtered, a page at a time.
    func communications(matching query: CommunicationQuery) async throws(StoreError) -> CommunicationPage

    /// Records an attempt and, when `status` goes forward from the current status, moves the
    /// communication there.
    func record(
        _ attempt: Attempt,
        for id: UUID,
        movingTo status: CommunicationStatus?
    ) async throws(StoreError) -> StatusChange?

    /// Moves a communication to `status` when that goes forward; `nil` when it does not.
    func move(
        _ id: UUID,
        to status: CommunicationStatus,
        channel: Channel?,
        detail: String?,
        at: Date
    ) async throws(StoreError) -> StatusChange?

    func preferences(for clientID: UUID) async throws(StoreError) -> ClientPreferences?

    func save(_ preferences: ClientPreferences) async throws(StoreError)

    /// Answers when the database does; for `health`.
    func ping() async throws(StoreError)
}
