-- Schema version 1 of the session store.
--
-- Times are Unix milliseconds. Tokens are never stored: token_hash is the SHA-256 of the token.
-- expires_at is the effective deadline, min(last_seen_at + idle_timeout_ms, absolute_expires_at);
-- a session is alive while expires_at > now. Applied in one transaction by SchemaMigrator.

CREATE TABLE sessions (
    id                   INTEGER PRIMARY KEY,
    token_hash           BLOB    NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    user_id              TEXT,
    data                 BLOB    NOT NULL,
    metadata             TEXT,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL,
    last_seen_at         INTEGER NOT NULL,
    idle_timeout_ms      INTEGER CHECK (idle_timeout_ms > 0),
    absolute_expires_at  INTEGER,
    expires_at           INTEGER NOT NULL,
    version              INTEGER NOT NULL,
    ip                   TEXT,
    user_agent           TEXT,
    last_seen_ip         TEXT,
    last_seen_user_agent TEXT,
    CHECK (idle_timeout_ms IS NOT NULL OR absolute_expires_at IS NOT NULL)
) STRICT;

-- Cleanup and "what expires next" walk this index instead of the table.
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);

-- The per-user index: list or revoke one user's sessions without a scan.
CREATE INDEX sessions_user_idx ON sessions (user_id, created_at) WHERE user_id IS NOT NULL;

-- Every change to sessions, written in the same transaction as the change. Read by cache
-- coherence, Redis replication and the event stream; trimmed once every cursor has passed it.
-- origin is the store instance that made the change, NULL when a trigger below logged it.
CREATE TABLE session_changes (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id INTEGER,
    token_hash BLOB    NOT NULL,
    user_id    TEXT,
    kind       TEXT    NOT NULL,
    at         INTEGER NOT NULL,
    origin     INTEGER
) STRICT;

-- Consumers that must not miss a change (the Redis replicator) keep their position here.
CREATE TABLE replication_cursors (
    name       TEXT    PRIMARY KEY,
    seq        INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

-- Changes made outside the library (the sqlite3 shell, another program) are logged by these
-- triggers, so running caches notice them too. The library turns triggers off on its own
-- connections (SQLITE_DBCONFIG_ENABLE_TRIGGER) and logs its changes itself, with their real kind.
CREATE TRIGGER sessions_log_insert AFTER INSERT ON sessions
BEGIN
    INSERT INTO session_changes (session_id, token_hash, user_id, kind, at)
    VALUES (NEW.id, NEW.token_hash, NEW.user_id, 'created',
            CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;

CREATE TRIGGER sessions_log_update AFTER UPDATE ON sessions
BEGIN
    INSERT INTO session_changes (session_id, token_hash, user_id, kind, at)
    SELECT OLD.id, OLD.token_hash, OLD.user_id, 'rotated_out',
           CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
    WHERE OLD.token_hash IS NOT NEW.token_hash;
    INSERT INTO session_changes (session_id, token_hash, user_id, kind, at)
    VALUES (NEW.id, NEW.token_hash, NEW.user_id, 'updated',
            CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;

CREATE TRIGGER sessions_log_delete AFTER DELETE ON sessions
BEGIN
    INSERT INTO session_changes (session_id, token_hash, user_id, kind, at)
    VALUES (OLD.id, OLD.token_hash, OLD.user_id, 'deleted',
            CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;

-- Views for people using the sqlite3 shell. Times are ISO-8601 UTC; hashes are lowercase hex.

CREATE VIEW active_sessions AS
SELECT id,
       lower(hex(token_hash)) AS token_hash,
       user_id,
       strftime('%Y-%m-%dT%H:%M:%fZ', created_at / 1000.0, 'unixepoch') AS created_at,
       strftime('%Y-%m-%dT%H:%M:%fZ', last_seen_at / 1000.0, 'unixepoch') AS last_seen_at,
       strftime('%Y-%m-%dT%H:%M:%fZ', expires_at / 1000.0, 'unixepoch') AS expires_at,
       (expires_at - CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)) / 1000 AS seconds_left,
       ip,
       user_agent,
       last_seen_ip,
       version,
       metadata,
       CAST(data AS TEXT) AS data
FROM sessions
WHERE expires_at > CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER);

CREATE VIEW expired_sessions AS
SELECT id,
       lower(hex(token_hash)) AS token_hash,
       user_id,
       strftime('%Y-%m-%dT%H:%M:%fZ', created_at / 1000.0, 'unixepoch') AS created_at,
       strftime('%Y-%m-%dT%H:%M:%fZ', expires_at / 1000.0, 'unixepoch') AS expired_at,
       (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) - expires_at) / 1000 AS seconds_ago
FROM sessions
WHERE expires_at <= CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER);

CREATE VIEW sessions_by_user AS
SELECT user_id,
       count(*) AS sessions,
       strftime('%Y-%m-%dT%H:%M:%fZ', min(created_at) / 1000.0, 'unixepoch') AS first_created_at,
       strftime('%Y-%m-%dT%H:%M:%fZ', max(last_seen_at) / 1000.0, 'unixepoch') AS last_seen_at
FROM sessions
WHERE user_id IS NOT NULL
  AND expires_at > CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
GROUP BY user_id;

CREATE VIEW recent_changes AS
SELECT seq,
       strftime('%Y-%m-%dT%H:%M:%fZ', at / 1000.0, 'unixepoch') AS at,
       kind,
       session_id,
       lower(hex(token_hash)) AS token_hash,
       user_id,
       CASE WHEN origin IS NULL THEN 'external' ELSE printf('%016x', origin) END AS origin
FROM session_changes
ORDER BY seq DESC;
