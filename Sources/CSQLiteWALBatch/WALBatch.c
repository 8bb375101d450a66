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
//   rewritten in place): that one is not gathered;
// - before other connections may read them: SQLite publishes a commit's frames by writing the
//   WAL index's header around `xShmBarrier` on the database file, on the thread that wrote the
//   frames. The barrier writes what that thread gathered, so no reader ever sees a frame the file
//   does not hold. With synchronous=FULL, as the store runs, the commit's `xSync` came first and
//   nothing is left to write there.
// Durability is unchanged: a commit is acknowledged after its `xSync`, which writes first.
//
// Memory: a log's buffer holds at most `kCapacity` (128 KB); when full it is written and reused.

#include "CSQLiteWALBatch.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
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
    // The gathered frames: bytes [start, start + length) of the file. Guarded by `gathered`.
    unsigned char *buffer;
    int length;
    sqlite3_int64 start;
    // While length > 0: on the list of logs with frames gathered, and the thread that gathered the last.
    pthread_t owner;
    BatchFile *nextPending;
    // A write from `xShmBarrier`, which cannot return it, that failed: the next call returns it.
    int deferredError;
    // Whether length > 0 or deferredError is set: read without the lock, so that the reads of a log
    // nothing was gathered for (every reader's, the checkpointer's) never take it.
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

// With `gathered` held. Writes what `file` gathered and takes it off the pending list.
static int flushLocked(BatchFile *file) {
    if (file->length == 0) return SQLITE_OK;
    int rc = file->real->pMethods->xWrite(file->real, file->buffer, file->length, file->start);
    file->length = 0;
    for (BatchFile **link = &pending; *link; link = &(*link)->nextPending) {
        if (*link == file) {
            *link = file->nextPending;
            break;
        }
    }
    file->nextPending = NULL;
    atomic_fetch_add(&flushes, 1);
    return rc;
}

// With `gathered` held, after `file`'s buffer or error changed.
static void updateDirty(BatchFile *file) {
    atomic_store(&file->dirty, file->length > 0 || file->deferredError != SQLITE_OK);
}

// Writes what `file` gathered, and returns an error a barrier could not.
static int flush(BatchFile *file) {
    if (!file->isWAL || !atomic_load(&file->dirty)) return SQLITE_OK;
    pthread_mutex_lock(&gathered);
    int rc = flushLocked(file);
    if (rc == SQLITE_OK && file->deferredError != SQLITE_OK) rc = file->deferredError;
    file->deferredError = SQLITE_OK;
    updateDirty(file);
    pthread_mutex_unlock(&gathered);
    return rc;
}

static int batchWrite(sqlite3_file *f, const void *data, int amount, sqlite3_int64 offset) {
    BatchFile *file = batch(f);
    if (!file->isWAL) return file->real->pMethods->xWrite(file->real, data, amount, offset);
    pthread_mutex_lock(&gathered);
    int rc = file->deferredError;
    file->deferredError = SQLITE_OK;
    if (rc == SQLITE_OK && file->length > 0 && (offset != file->start + file->length || file->length + amount > kCapacity)) {
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
        }
    }
    updateDirty(file);
    pthread_mutex_unlock(&gathered);
    return rc;
}

static int batchClose(sqlite3_file *f) {
    BatchFile *file = batch(f);
    int rc = flush(file);
    int closed = file->real->pMethods ? file->real->pMethods->xClose(file->real) : SQLITE_OK;
    free(file->buffer);
    file->buffer = NULL;
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

static int batchShmLock(sqlite3_file *f, int offset, int n, int flags) {
    return batch(f)->real->pMethods->xShmLock(batch(f)->real, offset, n, flags);
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
            if (pthread_equal(file->owner, self)) {
                int rc = flushLocked(file);
                if (rc != SQLITE_OK && file->deferredError == SQLITE_OK) file->deferredError = rc;
                updateDirty(file);
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
        // SQLite calls xClose only when pMethods is set; the wrapped file cleaned up after itself.
        file->base.pMethods = NULL;
        return rc;
    }
    file->isWAL = (flags & SQLITE_OPEN_WAL) != 0;
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
