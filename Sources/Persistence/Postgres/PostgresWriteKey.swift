/// What a write of the send path reads and writes that another write might too
/// (`PostgresGroupCommit` keeps two such writes apart), and what its batch reads for it ahead
/// (`PostgresBatchReads`). Ordered (by case, then value) so that a batch stages its writes in one
/// order whichever sidecar runs it.
enum PostgresWriteKey: Hashable, Comparable, Sendable {
    /// A communication the write moves (its row read and locked ahead).
    case communication(String)
    /// A client whose key seals the write and whose contacts it adds (its key read ahead).
    case client(String)
    /// An idempotency key the write claims.
    case idempotency(String)
}
