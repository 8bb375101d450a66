#ifndef CSQLITE_WAL_BATCH_H
#define CSQLITE_WAL_BATCH_H

#include <stdbool.h>

/// Registers the "crm-wal-batch" VFS as SQLite's default, once per process; later calls only say
/// whether the first succeeded. False when SQLite had no default VFS to wrap, or refused this one.
///
/// The VFS is SQLite's own (the default at the first call, "unix" here) with one difference: the
/// frames a connection appends to a write-ahead log are gathered in memory and written with one
/// pwrite when SQLite syncs the log, reads it, or publishes the frames to other connections
/// (`xShmBarrier`), rather than with two pwrites per frame (its header, then its page).
bool crm_wal_batch_register(void);

/// How many writes the gathered frames took since the process started, for the test that checks
/// frames are gathered at all.
long long crm_wal_batch_flushes(void);

/// Keeps SQLite's statement journals in memory up to 128 KB a statement, where SQLite's default
/// moves them to a temporary file past 64 KB (StatementJournals.c says why). Process-wide, so it must
/// come before SQLite's first use in the process; later calls only say whether the first took.
/// False when SQLite was in use already (it then keeps its default).
bool crm_statement_journals_configure(void);

#endif
