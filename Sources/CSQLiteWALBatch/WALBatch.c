// A VFS that gathers the frames SQLite appends to a write-ahead log and writes them at once.
//
// Why: SQLite writes each WAL frame with two pwrite calls, its 24-byte header and then its page.
// An accepted communication adds 10 to 20 frames (its rows and the index pages they touch), so the
// store's one writer spent nearly as long in those system calls (13 % of the sidecar's CPU while
// scheduling) as in SQLite's own code for the same writes (16 %). Here the frames of a commit go out
// together: one pwrite for up to 128 KB of them.
//
// When the gathered frames must be in the file, and are:
// - before the log is synced (`xSync`), read (`xRead`: the writer reading back a page it wrote),
//   truncated, measured, locked, closed or asked anything else (`xFileControl`): every method
//   of the log's file but `xWrite` writes what is gathered first;
// - before a write that does not continue them (the log's header when it starts over, a frame
//   rewritten in place), which then starts a new gathering at its offset;
// - before other connections may read them: SQLite publishes a commit's frames by writing the
//   WAL index's header around `xShmBarrier` on the database file, on the thread that wrote the
//   frames. The barrier writes what that thread gathered, so no reader ever sees a frame the file
//   does not hold. With synchronous=FULL, as the store runs, the commit's `xSync` came first and
//   nothing is left to write there.
// Durability is unchanged: a commit is acknowledged after its `xSync`, which writes first.
//
// Frames never published are dropped, not written, when the connection lets go of the WAL's write
// lock: they belong to a transaction that rolled back (SQLite writes pages to the WAL before the
// commit when a transaction outgrows its cache) or failed, and once the lock is free another
// connection or process appends its own frames at the same offsets, which writing the dead ones
// later would overwrite.
//
// A failed write keeps its bytes gathered and returns the error (SQLite then fails the commit and
// rolls back, which drops them). Where SQLite cannot hear an error, the barrier, the process stops
// rather than let readers take a header naming frames that are not in the file; with FULL that
// cannot happen, since the sync wrote them or failed the commit first.
//
// Memory: a log's buffer holds at most `kCapacity` bytes (128 KB less one); when full it is
// written and reused.

#include "CSQLiteWALBatch.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// The most SQLite's unix VFS writes in one call: it masks each write's length with 0x1ffff (a
// larger write would be cut short and reported as a full disk).
enum { kCapacity = 0x1ffff };

typedef struct BatchFile BatchFile;

struct BatchFile {
    sqlite3_file base;       // must be first: SQLite sees this
    sqlite3_file *real;      // the wrapped VFS's file, in the same allocation after this struct
    int isWAL;
    // The path SQLite opened: a WAL's is its database's with "-wal" after it.
    char *name;
    // The gathered frames: bytes [start, start + length) of the file. Guarded by `gathered`.
    unsigned char *buffer;
    int length;
    sqlite3_int64 start;
    // While length > 0: on the list of logs with frames gathered, and the thread that gathered the last.
    pthread_t owner;
    BatchFile *nextPending;
    // Whether length > 0: read without the lock, so that the reads of a log nothing was gathered
    // for (every reader's, the checkpointer's) never take it.
    atomic_bool dirty;
};

static sqlite3_vfs *wrapped;
static sqlite3_vfs batchVFS;
static sqlite3_io_methods batchMethods;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int registerResult = SQLITE_ERROR;

// One lock for every log's gathered frames: writes are the writer's, one commit at a time, and a
// barrier takes the lock only on a thread that gathered frames itself, so readers never wait on it.
static pthread_mutex_t gathered = PTHREAD_MUTEX_INITIALIZER;
static BatchFile *pending;
static atomic_llong flushes;
// Set when this thread gathers frames; cleared by its next barrier once none it gathered are left
// (another thread may have written them meanwhile, for a connection that moved threads).
static _Thread_local int gatheredHere;

static BatchFile *batch(sqlite3_file *file) { return (BatchFile *)file; }

// With `gathered` held. Forgets what `file` gathered and takes it off the pending list.
static void discardLocked(BatchFile *file) {
    file->length = 0;
    for (BatchFile **link = &pending; *link; link = &(*link)->nextPending) {
        if (*link == file) {
            *link = file->nextPending;
            break;
        }
    }
    file->nextPending = NULL;
    atomic_store(&file->dirty, false);
}

// With `gathered` held. Writes what `file` gathered; on a failure the bytes stay gathered.
static int flushLocked(BatchFile *file) {
    if (file->length == 0) return SQLITE_OK;
    int rc = file->real->pMethods->xWrite(file->real, file->buffer, file->length, file->start);
    if (rc != SQLITE_OK) return rc;
    discardLocked(file);
    atomic_fetch_add(&flushes, 1);
    return SQLITE_OK;
}

// Writes what `file` gathered.
static int flush(BatchFile *file) {
    if (!file->isWAL || !atomic_load(&file->dirty)) return SQLITE_OK;
    pthread_mutex_lock(&gathered);
    int rc = flushLocked(file);
    pthread_mutex_unlock(&gathered);
    return rc;
}

static int batchWrite(sqlite3_file *f, const void *data, int amount, sqlite3_int64 offset) {
    BatchFile *file = batch(f);
    if (!file->isWAL) return file->real->pMethods->xWrite(file->real, data, amount, offset);
    pthread_mutex_lock(&gathered);
    int rc = SQLITE_OK;
    if (file->length > 0 && (offset != file->start + file->length || file->length + amount > kCapacity)) {
        rc = flushLocked(file);
    }
    if (rc == SQLITE_OK) {
        if (file->length == 0 && file->buffer == NULL) file->buffer = malloc(kCapacity);
        if (amount > kCapacity || file->buffer == NULL) {
            rc = file->real->pMethods->xWrite(file->real, data, amount, offset);
        } else {
            if (file->length == 0) {
                file->start = offset;
                file->nextPending = pending;
                pending = file;
            }
            // The thread whose barrier will publish these frames is the one writing them now.
            file->owner = pthread_self();
            gatheredHere = 1;
            memcpy(file->buffer + file->length, data, (size_t)amount);
            file->length += amount;
            atomic_store(&file->dirty, true);
        }
    }
    pthread_mutex_unlock(&gathered);
    return rc;
}

static int batchClose(sqlite3_file *f) {
    BatchFile *file = batch(f);
    int rc = flush(file);
    int closed = file->real->pMethods ? file->real->pMethods->xClose(file->real) : SQLITE_OK;
    if (file->isWAL && atomic_load(&file->dirty)) {
        // Its write failed and SQLite closes anyway: nothing may point at the freed file.
        pthread_mutex_lock(&gathered);
        discardLocked(file);
        pthread_mutex_unlock(&gathered);
    }
    free(file->buffer);
    file->buffer = NULL;
    free(file->name);
    file->name = NULL;
    return rc != SQLITE_OK ? rc : closed;
}

static int batchRead(sqlite3_file *f, void *data, int amount, sqlite3_int64 offset) {
    BatchFile *file = batch(f);
    int rc = flush(file);
    return rc != SQLITE_OK ? rc : file->real->pMethods->xRead(file->real, data, amount, offset);
}

static int batchTruncate(sqlite3_file *f, sqlite3_int64 size) {
    BatchFile *file = batch(f);
    int rc = flush(file);
    return rc != SQLITE_OK ? rc : file->real->pMethods->xTruncate(file->real, size);
}

static int batchSync(sqlite3_file *f, int flags) {
    BatchFile *file = batch(f);
    int rc = flush(file);
    return rc != SQLITE_OK ? rc : file->real->pMethods->xSync(file->real, flags);
}

static int batchFileSize(sqlite3_file *f, sqlite3_int64 *size) {
    BatchFile *file = batch(f);
    int rc = flush(file);
    return rc != SQLITE_OK ? rc : file->real->pMethods->xFileSize(file->real, size);
}

static int batchLock(sqlite3_file *f, int level) {
    BatchFile *file = batch(f);
    int rc = flush(file);
    return rc != SQLITE_OK ? rc : file->real->pMethods->xLock(file->real, level);
}

static int batchUnlock(sqlite3_file *f, int level) {
    BatchFile *file = batch(f);
    int rc = flush(file);
    return rc != SQLITE_OK ? rc : file->real->pMethods->xUnlock(file->real, level);
}

static int batchCheckReservedLock(sqlite3_file *f, int *out) {
    return batch(f)->real->pMethods->xCheckReservedLock(batch(f)->real, out);
}

static int batchFileControl(sqlite3_file *f, int op, void *arg) {
    BatchFile *file = batch(f);
    int rc = flush(file);
    return rc != SQLITE_OK ? rc : file->real->pMethods->xFileControl(file->real, op, arg);
}

static int batchSectorSize(sqlite3_file *f) { return batch(f)->real->pMethods->xSectorSize(batch(f)->real); }

static int batchDeviceCharacteristics(sqlite3_file *f) {
    return batch(f)->real->pMethods->xDeviceCharacteristics(batch(f)->real);
}

static int batchShmMap(sqlite3_file *f, int page, int size, int extend, void volatile **out) {
    return batch(f)->real->pMethods->xShmMap(batch(f)->real, page, size, extend, out);
}

// Whether `wal` is the write-ahead log of the database `database` names.
static int isLogOf(const BatchFile *wal, const char *database) {
    size_t length = strlen(database);
    return wal->name && strncmp(wal->name, database, length) == 0 && strcmp(wal->name + length, "-wal") == 0;
}

// Slot 0 of the WAL index's locks is the WAL's write lock (wal.c: WAL_WRITE_LOCK). Frames of its
// database's log still gathered when it is let go were never published: dropped, not written.
// Only the holder of that lock appends frames, so they are the releasing connection's.
static int batchShmLock(sqlite3_file *f, int offset, int n, int flags) {
    BatchFile *file = batch(f);
    if ((flags & SQLITE_SHM_UNLOCK) && (flags & SQLITE_SHM_EXCLUSIVE) && offset == 0 && file->name) {
        pthread_mutex_lock(&gathered);
        BatchFile *wal = pending;
        while (wal) {
            BatchFile *next = wal->nextPending;
            if (isLogOf(wal, file->name)) discardLocked(wal);
            wal = next;
        }
        pthread_mutex_unlock(&gathered);
    }
    return file->real->pMethods->xShmLock(file->real, offset, n, flags);
}

// SQLite writes a new WAL index header in two copies with this barrier between them; a reader
// takes the header only when both agree. So frames written here, before the call returns, are in
// the file before any reader can take a header that names them.
static void batchShmBarrier(sqlite3_file *f) {
    if (gatheredHere) {
        pthread_t self = pthread_self();
        pthread_mutex_lock(&gathered);
        BatchFile *file = pending;
        while (file) {
            BatchFile *next = file->nextPending;
            if (pthread_equal(file->owner, self) && flushLocked(file) != SQLITE_OK) {
                // SQLite cannot hear it here, and is about to tell readers these frames exist.
                fprintf(stderr, "{\"level\":\"critical\",\"label\":\"crm-sidecar.sqlite\",\"msg\":\"cannot write the SQLite "
                                "write-ahead log of a commit about to be published; stopping rather than let readers see frames "
                                "that are not in the file\"}\n");
                abort();
            }
            file = next;
        }
        gatheredHere = 0;
        pthread_mutex_unlock(&gathered);
    }
    batch(f)->real->pMethods->xShmBarrier(batch(f)->real);
}

static int batchShmUnmap(sqlite3_file *f, int deleteFlag) {
    return batch(f)->real->pMethods->xShmUnmap(batch(f)->real, deleteFlag);
}

static int batchFetch(sqlite3_file *f, sqlite3_int64 offset, int amount, void **out) {
    BatchFile *file = batch(f);
    int rc = flush(file);
    return rc != SQLITE_OK ? rc : file->real->pMethods->xFetch(file->real, offset, amount, out);
}

static int batchUnfetch(sqlite3_file *f, sqlite3_int64 offset, void *page) {
    return batch(f)->real->pMethods->xUnfetch(batch(f)->real, offset, page);
}

static size_t realOffset(void) { return (sizeof(BatchFile) + 15) & ~(size_t)15; }

static int batchOpen(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *outFlags) {
    (void)vfs;
    BatchFile *file = batch(f);
    memset(file, 0, sizeof(BatchFile));
    atomic_init(&file->dirty, false);
    file->real = (sqlite3_file *)((char *)file + realOffset());
    int rc = wrapped->xOpen(wrapped, name, file->real, flags, outFlags);
    if (rc != SQLITE_OK || file->real->pMethods == NULL) {
        if (file->real->pMethods) file->real->pMethods->xClose(file->real);
        // SQLite calls xClose only when pMethods is set.
        file->base.pMethods = NULL;
        return rc != SQLITE_OK ? rc : SQLITE_CANTOPEN;
    }
    file->isWAL = (flags & SQLITE_OPEN_WAL) != 0;
    // Databases and their logs only: those are the names the write lock's release compares.
    if (name && (flags & (SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_WAL))) {
        file->name = strdup(name);
        if (file->name == NULL) {
            file->real->pMethods->xClose(file->real);
            file->base.pMethods = NULL;
            return SQLITE_NOMEM;
        }
    }
    file->base.pMethods = &batchMethods;
    return SQLITE_OK;
}

// The rest of the VFS is the wrapped one's, called with the wrapped VFS.
static int batchDelete(sqlite3_vfs *vfs, const char *name, int syncDir) {
    (void)vfs;
    return wrapped->xDelete(wrapped, name, syncDir);
}
static int batchAccess(sqlite3_vfs *vfs, const char *name, int flags, int *out) {
    (void)vfs;
    return wrapped->xAccess(wrapped, name, flags, out);
}
static int batchFullPathname(sqlite3_vfs *vfs, const char *name, int size, char *out) {
    (void)vfs;
    return wrapped->xFullPathname(wrapped, name, size, out);
}
static void *batchDlOpen(sqlite3_vfs *vfs, const char *name) {
    (void)vfs;
    return wrapped->xDlOpen(wrapped, name);
}
static void batchDlError(sqlite3_vfs *vfs, int size, char *out) {
    (void)vfs;
    wrapped->xDlError(wrapped, size, out);
}
static void (*batchDlSym(sqlite3_vfs *vfs, void *handle, const char *symbol))(void) {
    (void)vfs;
    return wrapped->xDlSym(wrapped, handle, symbol);
}
static void batchDlClose(sqlite3_vfs *vfs, void *handle) {
    (void)vfs;
    wrapped->xDlClose(wrapped, handle);
}
static int batchRandomness(sqlite3_vfs *vfs, int size, char *out) {
    (void)vfs;
    return wrapped->xRandomness(wrapped, size, out);
}
static int batchSleep(sqlite3_vfs *vfs, int microseconds) {
    (void)vfs;
    return wrapped->xSleep(wrapped, microseconds);
}
static int batchCurrentTime(sqlite3_vfs *vfs, double *out) {
    (void)vfs;
    return wrapped->xCurrentTime(wrapped, out);
}
static int batchGetLastError(sqlite3_vfs *vfs, int size, char *out) {
    (void)vfs;
    return wrapped->xGetLastError ? wrapped->xGetLastError(wrapped, size, out) : 0;
}
static int batchCurrentTimeInt64(sqlite3_vfs *vfs, sqlite3_int64 *out) {
    (void)vfs;
    return wrapped->xCurrentTimeInt64(wrapped, out);
}

static void registerOnce(void) {
    wrapped = sqlite3_vfs_find(NULL);
    // Needs version 3 of the file methods (shared memory, which WAL uses, and mmap) and version 2
    // of the VFS (xCurrentTimeInt64); "unix" has both.
    if (wrapped == NULL || wrapped->iVersion < 2) {
        registerResult = SQLITE_ERROR;
        return;
    }
    batchMethods = (sqlite3_io_methods){
        .iVersion = 3,
        .xClose = batchClose,
        .xRead = batchRead,
        .xWrite = batchWrite,
        .xTruncate = batchTruncate,
        .xSync = batchSync,
        .xFileSize = batchFileSize,
        .xLock = batchLock,
        .xUnlock = batchUnlock,
        .xCheckReservedLock = batchCheckReservedLock,
        .xFileControl = batchFileControl,
        .xSectorSize = batchSectorSize,
        .xDeviceCharacteristics = batchDeviceCharacteristics,
        .xShmMap = batchShmMap,
        .xShmLock = batchShmLock,
        .xShmBarrier = batchShmBarrier,
        .xShmUnmap = batchShmUnmap,
        .xFetch = batchFetch,
        .xUnfetch = batchUnfetch,
    };
    batchVFS = (sqlite3_vfs){
        .iVersion = 2,
        .szOsFile = (int)(realOffset() + (size_t)wrapped->szOsFile),
        .mxPathname = wrapped->mxPathname,
        .zName = "crm-wal-batch",
        .xOpen = batchOpen,
        .xDelete = batchDelete,
        .xAccess = batchAccess,
        .xFullPathname = batchFullPathname,
        .xDlOpen = batchDlOpen,
        .xDlError = batchDlError,
        .xDlSym = batchDlSym,
        .xDlClose = batchDlClose,
        .xRandomness = batchRandomness,
        .xSleep = batchSleep,
        .xCurrentTime = batchCurrentTime,
        .xGetLastError = batchGetLastError,
        .xCurrentTimeInt64 = batchCurrentTimeInt64,
    };
    registerResult = sqlite3_vfs_register(&batchVFS, 1);
}

bool crm_wal_batch_register(void) {
    pthread_once(&once, registerOnce);
    return registerResult == SQLITE_OK;
}

long long crm_wal_batch_flushes(void) { return atomic_load(&flushes); }
