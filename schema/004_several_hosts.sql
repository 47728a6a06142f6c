-- Schema version 4: what hosts that share sessions through Redis need to agree.
--
-- clock is the hybrid logical clock reading (milliseconds << 20 | counter << 10 | host tag) of
-- the last write of a session's contents (created, saved, rotated, expiry changed); base_clock is
-- the reading that write started from. Hosts compare clocks to settle concurrent writes made
-- while they could not reach each other: the higher clock wins, on every host and in Redis.
-- Sessions from before this version have clock 0, older than any write.
--
-- session_tombstones remembers tokens that must never work again (deleted, revoked, rotated
-- away, evicted: kind) until the session could no longer have been alive anyway, so a late copy
-- of one, from another host or from Redis, is refused; a rotation of a token deleted here is
-- refused too. user_revocations holds each user's "log out everywhere" point, a clock reading: a
-- session of that user created before it (its id is its creation reading) is refused. Both are
-- written only while the store shares its sessions with other hosts.
--
-- stream_cursors holds how far this host has applied the shared change stream in Redis, and
-- host_tags the clock tag the hosts' registry in Redis gave this host (the low bits of its
-- readings), kept for starts while Redis is away. session_changes.message_id names the message
-- of an 'appended' change.

ALTER TABLE sessions ADD COLUMN clock INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN base_clock INTEGER NOT NULL DEFAULT 0;

ALTER TABLE session_changes ADD COLUMN message_id INTEGER;

CREATE TABLE session_tombstones (
    token_hash BLOB    PRIMARY KEY CHECK (length(token_hash) = 32),
    session_id INTEGER,
    kind       TEXT    NOT NULL,
    until      INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX session_tombstones_until_idx ON session_tombstones (until);

CREATE TABLE user_revocations (
    user_id        TEXT    PRIMARY KEY,
    revoked_before INTEGER NOT NULL,
    until          INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE stream_cursors (
    name       TEXT    PRIMARY KEY,
    stream_id  TEXT    NOT NULL,
    sequence   INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE host_tags (
    name TEXT    PRIMARY KEY,
    tag  INTEGER NOT NULL CHECK (tag BETWEEN 0 AND 1023)
) STRICT;

CREATE VIEW tombstones AS
SELECT lower(hex(token_hash)) AS token_hash,
       session_id,
       kind,
       strftime('%Y-%m-%dT%H:%M:%fZ', until / 1000.0, 'unixepoch') AS until
FROM session_tombstones;

CREATE VIEW sync_position AS
SELECT name,
       stream_id,
       sequence,
       strftime('%Y-%m-%dT%H:%M:%fZ', updated_at / 1000.0, 'unixepoch') AS updated_at,
       (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) - updated_at) / 1000 AS seconds_ago
FROM stream_cursors;
