#ifndef CSQLITE_SHIM_H
#define CSQLITE_SHIM_H

#include <sqlite3.h>

// Swift cannot call C variadic functions or import function-pointer casts of integers, so the
// few pieces of the SQLite API that need them are wrapped here.

/// sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_TRIGGER, enable, &result).
/// Since SQLite 3.35 this affects only triggers in the main (and attached) schemas.
static inline int csqlite_enable_triggers(sqlite3 *db, int enable) {
    int result = -1;
    int rc = sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_TRIGGER, enable, &result);
    return rc == SQLITE_OK ? result : -1;
}

/// sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, enable, &result): forbids writes to the
/// schema table and other ways of corrupting a file through SQL.
static inline int csqlite_set_defensive(sqlite3 *db, int enable) {
    int result = -1;
    int rc = sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, enable, &result);
    return rc == SQLITE_OK ? result : -1;
}

/// SQLITE_TRANSIENT: SQLite copies bound text and blobs before sqlite3_bind_* returns.
static inline sqlite3_destructor_type csqlite_transient(void) {
    return SQLITE_TRANSIENT;
}

/// SQLITE_STATIC: the caller keeps bound memory alive until the statement is reset or rebound.
static inline sqlite3_destructor_type csqlite_static(void) {
    return SQLITE_STATIC;
}

/// Stores the number of frames in the write-ahead log after each commit in *frames.
static int csqlite_store_wal_frames(void *frames, sqlite3 *db, const char *schema, int count) {
    (void)db;
    (void)schema;
    *(int *)frames = count;
    return SQLITE_OK;
}

/// sqlite3_wal_hook(db, …, frames): after each commit, *frames holds the frames in the WAL.
/// Replaces the automatic checkpoint (sqlite3_wal_autocheckpoint is built on the same hook),
/// so the connection's commits never checkpoint themselves. https://www.sqlite.org/c3ref/wal_hook.html
static inline void csqlite_track_wal_frames(sqlite3 *db, int *frames) {
    sqlite3_wal_hook(db, csqlite_store_wal_frames, frames);
}

#endif
