#include "powerloss_vfs.h"

#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* What one write or truncation replaced: the bytes that were there and the file's size. */
typedef struct Undo {
    sqlite3_int64 offset;
    int amount;               /* bytes in `original`: the part of the write inside the old file */
    unsigned char *original;
    sqlite3_int64 sizeBefore;
    sqlite3_int64 written;    /* bytes the write or truncation covered, for tearing */
    struct Undo *previous;
} Undo;

/* A file by path, shared by every connection that opens it. */
typedef struct Tracked {
    char *path;
    Undo *newest;
    struct Tracked *next;
} Tracked;

typedef struct {
    sqlite3_file base;
    sqlite3_file *real;
    Tracked *tracked;
} PowerLossFile;

static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
static Tracked *files = NULL;
static int64_t operations = 0;
static int64_t crashAt = -1;
static int crashed = 0;
static sqlite3_vfs *realVFS = NULL;
static sqlite3_vfs powerLossVFS;
static int registered = 0;

static void freeUndo(Undo *undo) {
    while (undo) {
        Undo *previous = undo->previous;
        free(undo->original);
        free(undo);
        undo = previous;
    }
}

static Tracked *track(const char *path) {
    for (Tracked *file = files; file; file = file->next) {
        if (strcmp(file->path, path) == 0) return file;
    }
    Tracked *file = calloc(1, sizeof(Tracked));
    if (!file) return NULL;
    file->path = strdup(path);
    file->next = files;
    files = file;
    return file;
}

/* Counts an operation; returns nonzero when it must fail because the power is gone. Holds mutex. */
static int powerIsGone(void) {
    if (crashed) return 1;
    operations += 1;
    if (crashAt > 0 && operations >= crashAt) {
        crashed = 1;
        return 1;
    }
    return 0;
}

static Undo *remember(PowerLossFile *file, sqlite3_int64 offset, sqlite3_int64 end) {
    sqlite3_int64 size = 0;
    if (file->real->pMethods->xFileSize(file->real, &size) != SQLITE_OK) return NULL;
    Undo *undo = calloc(1, sizeof(Undo));
    if (!undo) return NULL;
    undo->offset = offset;
    undo->sizeBefore = size;
    undo->written = end - offset;
    sqlite3_int64 keptEnd = end < size ? end : size;
    if (offset < keptEnd) {
        undo->amount = (int)(keptEnd - offset);
        undo->original = malloc((size_t)undo->amount);
        if (!undo->original || file->real->pMethods->xRead(file->real, undo->original, undo->amount, offset) != SQLITE_OK) {
            free(undo->original);
            free(undo);
            return NULL;
        }
    }
    undo->previous = file->tracked->newest;
    file->tracked->newest = undo;
    return undo;
}

static int plClose(sqlite3_file *handle) {
    PowerLossFile *file = (PowerLossFile *)handle;
    return file->real->pMethods->xClose(file->real);
}

static int plRead(sqlite3_file *handle, void *buffer, int amount, sqlite3_int64 offset) {
    PowerLossFile *file = (PowerLossFile *)handle;
    return file->real->pMethods->xRead(file->real, buffer, amount, offset);
}

static int plWrite(sqlite3_file *handle, const void *buffer, int amount, sqlite3_int64 offset) {
    PowerLossFile *file = (PowerLossFile *)handle;
    pthread_mutex_lock(&mutex);
    if (powerIsGone()) {
        pthread_mutex_unlock(&mutex);
        return SQLITE_IOERR_WRITE;
    }
    if (file->tracked && !remember(file, offset, offset + amount)) {
        pthread_mutex_unlock(&mutex);
        return SQLITE_IOERR_NOMEM;
    }
    int code = file->real->pMethods->xWrite(file->real, buffer, amount, offset);
    pthread_mutex_unlock(&mutex);
    return code;
}

static int plTruncate(sqlite3_file *handle, sqlite3_int64 size) {
    PowerLossFile *file = (PowerLossFile *)handle;
    pthread_mutex_lock(&mutex);
    if (powerIsGone()) {
        pthread_mutex_unlock(&mutex);
        return SQLITE_IOERR_TRUNCATE;
    }
    sqlite3_int64 current = 0;
    file->real->pMethods->xFileSize(file->real, &current);
    if (file->tracked && current > size && !remember(file, size, current)) {
        pthread_mutex_unlock(&mutex);
        return SQLITE_IOERR_NOMEM;
    }
    int code = file->real->pMethods->xTruncate(file->real, size);
    pthread_mutex_unlock(&mutex);
    return code;
}

static int plSync(sqlite3_file *handle, int flags) {
    PowerLossFile *file = (PowerLossFile *)handle;
    pthread_mutex_lock(&mutex);
    if (powerIsGone()) {
        pthread_mutex_unlock(&mutex);
        return SQLITE_IOERR_FSYNC;
    }
    int code = file->real->pMethods->xSync(file->real, flags);
    if (code == SQLITE_OK && file->tracked) {
        /* Durable now: what the file held before these writes cannot come back. */
        freeUndo(file->tracked->newest);
        file->tracked->newest = NULL;
    }
    pthread_mutex_unlock(&mutex);
    return code;
}

static int plFileSize(sqlite3_file *handle, sqlite3_int64 *size) {
    PowerLossFile *file = (PowerLossFile *)handle;
    return file->real->pMethods->xFileSize(file->real, size);
}

static int plLock(sqlite3_file *handle, int lock) {
    PowerLossFile *file = (PowerLossFile *)handle;
    return file->real->pMethods->xLock(file->real, lock);
}

static int plUnlock(sqlite3_file *handle, int lock) {
    PowerLossFile *file = (PowerLossFile *)handle;
    return file->real->pMethods->xUnlock(file->real, lock);
}

static int plCheckReservedLock(sqlite3_file *handle, int *result) {
    PowerLossFile *file = (PowerLossFile *)handle;
    return file->real->pMethods->xCheckReservedLock(file->real, result);
}

static int plFileControl(sqlite3_file *handle, int op, void *argument) {
    PowerLossFile *file = (PowerLossFile *)handle;
    return file->real->pMethods->xFileControl(file->real, op, argument);
}

static int plSectorSize(sqlite3_file *handle) {
    PowerLossFile *file = (PowerLossFile *)handle;
    return file->real->pMethods->xSectorSize(file->real);
}

static int plDeviceCharacteristics(sqlite3_file *handle) {
    PowerLossFile *file = (PowerLossFile *)handle;
    /* Nothing is atomic or ordered on a disk that loses power: claim no such guarantee. */
    return file->real->pMethods->xDeviceCharacteristics(file->real)
        & ~(SQLITE_IOCAP_ATOMIC | SQLITE_IOCAP_SAFE_APPEND | SQLITE_IOCAP_SEQUENTIAL | SQLITE_IOCAP_POWERSAFE_OVERWRITE);
}

static int plShmMap(sqlite3_file *handle, int page, int size, int extend, void volatile **address) {
    PowerLossFile *file = (PowerLossFile *)handle;
    return file->real->pMethods->xShmMap(file->real, page, size, extend, address);
}

static int plShmLock(sqlite3_file *handle, int offset, int count, int flags) {
    PowerLossFile *file = (PowerLossFile *)handle;
    return file->real->pMethods->xShmLock(file->real, offset, count, flags);
}

static void plShmBarrier(sqlite3_file *handle) {
    PowerLossFile *file = (PowerLossFile *)handle;
    file->real->pMethods->xShmBarrier(file->real);
}

static int plShmUnmap(sqlite3_file *handle, int deleteFlag) {
    PowerLossFile *file = (PowerLossFile *)handle;
    return file->real->pMethods->xShmUnmap(file->real, deleteFlag);
}

static int plFetch(sqlite3_file *handle, sqlite3_int64 offset, int amount, void **pointer) {
    PowerLossFile *file = (PowerLossFile *)handle;
    if (file->real->pMethods->iVersion < 3) {
        *pointer = NULL;
        return SQLITE_OK;
    }
    return file->real->pMethods->xFetch(file->real, offset, amount, pointer);
}

static int plUnfetch(sqlite3_file *handle, sqlite3_int64 offset, void *pointer) {
    PowerLossFile *file = (PowerLossFile *)handle;
    if (file->real->pMethods->iVersion < 3) return SQLITE_OK;
    return file->real->pMethods->xUnfetch(file->real, offset, pointer);
}

static const sqlite3_io_methods methods = {
    3, plClose, plRead, plWrite, plTruncate, plSync, plFileSize, plLock, plUnlock, plCheckReservedLock,
    plFileControl, plSectorSize, plDeviceCharacteristics, plShmMap, plShmLock, plShmBarrier, plShmUnmap,
    plFetch, plUnfetch,
};

static int plOpen(sqlite3_vfs *vfs, const char *name, sqlite3_file *handle, int flags, int *outFlags) {
    (void)vfs;
    PowerLossFile *file = (PowerLossFile *)handle;
    file->real = (sqlite3_file *)&file[1];
    file->tracked = NULL;
    int code = realVFS->xOpen(realVFS, name, file->real, flags, outFlags);
    if (code != SQLITE_OK) {
        file->base.pMethods = NULL;
        return code;
    }
    if (name) {
        pthread_mutex_lock(&mutex);
        file->tracked = track(name);
        pthread_mutex_unlock(&mutex);
    }
    file->base.pMethods = &methods;
    return SQLITE_OK;
}

static int plDelete(sqlite3_vfs *vfs, const char *name, int syncDirectory) {
    (void)vfs;
    pthread_mutex_lock(&mutex);
    if (powerIsGone()) {
        pthread_mutex_unlock(&mutex);
        return SQLITE_IOERR_DELETE;
    }
    for (Tracked *file = files; file; file = file->next) {
        if (strcmp(file->path, name) == 0) {
            freeUndo(file->newest);
            file->newest = NULL;
        }
    }
    pthread_mutex_unlock(&mutex);
    return realVFS->xDelete(realVFS, name, syncDirectory);
}

static int plAccess(sqlite3_vfs *vfs, const char *name, int flags, int *result) {
    (void)vfs;
    return realVFS->xAccess(realVFS, name, flags, result);
}

static int plFullPathname(sqlite3_vfs *vfs, const char *name, int size, char *out) {
    (void)vfs;
    return realVFS->xFullPathname(realVFS, name, size, out);
}

static void *plDlOpen(sqlite3_vfs *vfs, const char *name) { (void)vfs; return realVFS->xDlOpen(realVFS, name); }
static void plDlError(sqlite3_vfs *vfs, int size, char *message) { (void)vfs; realVFS->xDlError(realVFS, size, message); }
static void (*plDlSym(sqlite3_vfs *vfs, void *library, const char *symbol))(void) { (void)vfs; return realVFS->xDlSym(realVFS, library, symbol); }
static void plDlClose(sqlite3_vfs *vfs, void *library) { (void)vfs; realVFS->xDlClose(realVFS, library); }
static int plRandomness(sqlite3_vfs *vfs, int size, char *out) { (void)vfs; return realVFS->xRandomness(realVFS, size, out); }
static int plSleep(sqlite3_vfs *vfs, int microseconds) { (void)vfs; return realVFS->xSleep(realVFS, microseconds); }
static int plCurrentTime(sqlite3_vfs *vfs, double *now) { (void)vfs; return realVFS->xCurrentTime(realVFS, now); }
static int plGetLastError(sqlite3_vfs *vfs, int size, char *out) { (void)vfs; return realVFS->xGetLastError(realVFS, size, out); }
static int plCurrentTimeInt64(sqlite3_vfs *vfs, sqlite3_int64 *now) { (void)vfs; return realVFS->xCurrentTimeInt64(realVFS, now); }

int powerloss_register(void) {
    pthread_mutex_lock(&mutex);
    if (registered) {
        pthread_mutex_unlock(&mutex);
        return SQLITE_OK;
    }
    realVFS = sqlite3_vfs_find(NULL);
    if (!realVFS) {
        pthread_mutex_unlock(&mutex);
        return SQLITE_ERROR;
    }
    memset(&powerLossVFS, 0, sizeof(powerLossVFS));
    powerLossVFS.iVersion = 2;
    powerLossVFS.szOsFile = (int)sizeof(PowerLossFile) + realVFS->szOsFile;
    powerLossVFS.mxPathname = realVFS->mxPathname;
    powerLossVFS.zName = "powerloss";
    powerLossVFS.xOpen = plOpen;
    powerLossVFS.xDelete = plDelete;
    powerLossVFS.xAccess = plAccess;
    powerLossVFS.xFullPathname = plFullPathname;
    powerLossVFS.xDlOpen = plDlOpen;
    powerLossVFS.xDlError = plDlError;
    powerLossVFS.xDlSym = plDlSym;
    powerLossVFS.xDlClose = plDlClose;
    powerLossVFS.xRandomness = plRandomness;
    powerLossVFS.xSleep = plSleep;
    powerLossVFS.xCurrentTime = plCurrentTime;
    powerLossVFS.xGetLastError = plGetLastError;
    powerLossVFS.xCurrentTimeInt64 = plCurrentTimeInt64;
    int code = sqlite3_vfs_register(&powerLossVFS, 0);
    if (code == SQLITE_OK) registered = 1;
    pthread_mutex_unlock(&mutex);
    return code;
}

void powerloss_reset(void) {
    pthread_mutex_lock(&mutex);
    while (files) {
        Tracked *next = files->next;
        freeUndo(files->newest);
        free(files->path);
        free(files);
        files = next;
    }
    operations = 0;
    crashAt = -1;
    crashed = 0;
    pthread_mutex_unlock(&mutex);
}

void powerloss_arm(int64_t count) {
    pthread_mutex_lock(&mutex);
    crashAt = count > 0 ? operations + count : -1;
    pthread_mutex_unlock(&mutex);
}

void powerloss_crash_now(void) {
    pthread_mutex_lock(&mutex);
    crashed = 1;
    pthread_mutex_unlock(&mutex);
}

int64_t powerloss_operations(void) {
    pthread_mutex_lock(&mutex);
    int64_t count = operations;
    pthread_mutex_unlock(&mutex);
    return count;
}

int powerloss_crashed(void) {
    pthread_mutex_lock(&mutex);
    int result = crashed;
    pthread_mutex_unlock(&mutex);
    return result;
}

/* Puts back what one write or truncation replaced, from byte `from` of it on. */
static void undo(int descriptor, const Undo *record, sqlite3_int64 from) {
    if (from <= 0) {
        if (ftruncate(descriptor, record->sizeBefore) != 0) return;
        if (record->amount > 0) (void)pwrite(descriptor, record->original, (size_t)record->amount, record->offset);
        return;
    }
    if (from < record->amount) {
        (void)pwrite(descriptor, record->original + from, (size_t)(record->amount - from), record->offset + from);
    }
    /* A write that grew the file: the sectors that did not land do not make it longer. */
    if (record->offset + record->written > record->sizeBefore) {
        sqlite3_int64 end = record->offset + from;
        (void)ftruncate(descriptor, end > record->sizeBefore ? end : record->sizeBefore);
    }
}

int64_t powerloss_revert(int torn, uint32_t seed) {
    pthread_mutex_lock(&mutex);
    int64_t undone = 0;
    uint32_t state = seed ? seed : 1;
    for (Tracked *file = files; file; file = file->next) {
        int count = 0;
        for (Undo *record = file->newest; record; record = record->previous) count += 1;
        if (count == 0) continue;
        int descriptor = open(file->path, O_RDWR);
        if (descriptor < 0) {
            freeUndo(file->newest);
            file->newest = NULL;
            continue;
        }
        /* Writes are listed newest first; the oldest `kept` of them landed. */
        int kept = 0;
        if (torn) {
            state = state * 1103515245u + 12345u;
            kept = (int)((state >> 8) % (uint32_t)(count + 1));
        }
        int index = count - 1;
        for (Undo *record = file->newest; record; record = record->previous, index -= 1) {
            if (index > kept) {
                undo(descriptor, record, 0);
                undone += 1;
            } else if (index == kept && torn) {
                sqlite3_int64 sectors = (record->written + 511) / 512;
                state = state * 1103515245u + 12345u;
                sqlite3_int64 landed = sectors > 0 ? (sqlite3_int64)((state >> 8) % (uint32_t)sectors) : 0;
                undo(descriptor, record, landed * 512);
                undone += 1;
            }
        }
        close(descriptor);
        freeUndo(file->newest);
        file->newest = NULL;
    }
    pthread_mutex_unlock(&mutex);
    return undone;
}
