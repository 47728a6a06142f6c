#ifndef POWERLOSS_VFS_H
#define POWERLOSS_VFS_H

#include <stdint.h>

/// A test-only SQLite VFS named "powerloss" that simulates losing power.
///
/// Reads pass through to the default VFS. Every write and truncation also passes through, but
/// the bytes it replaced are remembered, per file, until that file's next xSync: that is what a
/// disk's cache holds that the platter does not. After the crash point no write, truncation or
/// sync reaches any file any more (each fails with SQLITE_IOERR), and powerloss_revert() then
/// undoes every write not followed by a sync of its file, as the power cut would have. Never the
/// default VFS: a connection uses it only when it names it.

/// Registers the VFS (once; later calls do nothing). Returns an SQLite result code.
int powerloss_register(void);

/// Forgets every remembered write and the crash point; nothing is crashed afterwards.
void powerloss_reset(void);

/// Crashes at the `count`-th write, truncation or sync from now (1 is the very next one), which
/// does not happen; 0 or less disarms.
void powerloss_arm(int64_t count);

/// Crashes now: no later write, truncation or sync reaches a file.
void powerloss_crash_now(void);

/// Writes, truncations and syncs seen since the last reset.
int64_t powerloss_operations(void);

/// Whether the crash point has been reached.
int powerloss_crashed(void);

/// Undoes every write and truncation that no sync made durable, newest first, on every file seen.
/// With `torn` set, each file keeps a random prefix of its unsynced writes (chosen with `seed`)
/// and the first write after that prefix is torn: only some of its leading 512-byte sectors land.
/// Returns how many unsynced writes were undone, in whole or in part.
int64_t powerloss_revert(int torn, uint32_t seed);

#endif
