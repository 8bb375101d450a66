// SQLite's statement journals kept in memory up to a size a group commit's statements stay under.
//
// SQLite journals the pages a statement changes inside a transaction, so that it can undo that
// statement alone (a constraint that fails half-way). Past 64 KB (the SQLITE_STMTJRNL_SPILL it was
// built with) it moves the journal to a temporary file, and from then on writes it there, two
// writes a page (its number, then its bytes). An INSERT into communications journals its table,
// ten indexes and the analytics trigger's table, and a group commit runs dozens of them in one
// transaction: those writes were two thirds of the process's pwrite calls, 12 a scheduled request
// of 17. `PRAGMA temp_store = MEMORY` would keep the journals in memory too, but also every sort,
// and the analytics compaction sorts all the deltas of an hour on the writer. This raises the
// journals' limit alone.

#include "CSQLiteWALBatch.h"

#include <pthread.h>
#include <sqlite3.h>

/// Bytes of one statement's journal held in memory before it goes to a file. The send path's
/// statements journal less than this (scheduling: 74,053 pwrite calls for 20,000 requests with this limit,
/// 77,770 with 4 MB, 327,502 with SQLite's 64 KB). Not more: when a journal spills, what it held
/// in memory goes to the file in one write, and SQLite's unix VFS writes at most 0x1ffff bytes at
/// once and calls a longer write a full disk (SQLITE_FULL: with a 4 MB limit, a statement whose
/// journal passed it failed so, in the contract tests). A statement that changes more (a
/// migration's UPDATE of every row) goes to a file as before, rather than hold a table in memory.
#define CRM_STATEMENT_JOURNAL_SPILL (128 * 1024 - 1)

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int result = SQLITE_MISUSE;

static void configureOnce(void) {
    result = sqlite3_config(SQLITE_CONFIG_STMTJRNL_SPILL, CRM_STATEMENT_JOURNAL_SPILL);
}

bool crm_statement_journals_configure(void) {
    pthread_once(&once, configureOnce);
    return result == SQLITE_OK;
}
