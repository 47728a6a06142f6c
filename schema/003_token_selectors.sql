-- Schema version 3: sessions keyed by their token's selector, so new sessions append.
--
-- A token minted by this version is 8 bytes of selector and 24 random bytes (192 bits of secret),
-- written as the same 43 base64url characters. The selector is the row's id: ascending (the
-- creation time in milliseconds, shifted left 20 bits, made unique by the writer), so an insert
-- goes at the end of the table instead of into a random place of a UNIQUE index on token_hash.
-- A lookup reads the row by id and compares token_hash, still the SHA-256 of the whole token:
-- the file keeps no token. Rotation keeps the selector and replaces the secret.
--
-- Sessions from version 2 keep their ids (all far below 2^32) and their random tokens. They are
-- found by token_hash through sessions_legacy_token_idx, a partial index that only rows with such
-- ids enter, so it shrinks to nothing as those sessions end. Imported sessions whose token's
-- selector is unknown get such an id too. The table is rebuilt to drop the UNIQUE constraint
-- (SQLite keeps a constraint's index until the table is rebuilt); the library runs this with
-- foreign keys off, as https://www.sqlite.org/lang_altertable.html#otheralter prescribes, and
-- checks them before committing.

DROP VIEW active_sessions;
DROP VIEW expired_sessions;
DROP VIEW sessions_by_user;
DROP VIEW recent_messages;

CREATE TABLE sessions_v3 (
    id                   INTEGER PRIMARY KEY,
    token_hash           BLOB    NOT NULL CHECK (length(token_hash) = 32),
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

INSERT INTO sessions_v3 (id, token_hash, user_id, data, metadata, created_at, updated_at, last_seen_at,
                         idle_timeout_ms, absolute_expires_at, expires_at, version, ip, user_agent,
                         last_seen_ip, last_seen_user_agent)
SELECT id, token_hash, user_id, data, metadata, created_at, updated_at, last_seen_at,
       idle_timeout_ms, absolute_expires_at, expires_at, version, ip, user_agent,
       last_seen_ip, last_seen_user_agent
FROM sessions;

DROP TABLE sessions;
ALTER TABLE sessions_v3 RENAME TO sessions;

CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);
CREATE INDEX sessions_user_idx ON sessions (user_id, created_at) WHERE user_id IS NOT NULL;

-- Only sessions from before version 3 (and imports without a selector) are found by hash.
CREATE INDEX sessions_legacy_token_idx ON sessions (token_hash) WHERE id < 4294967296;

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

CREATE TRIGGER sessions_delete_messages AFTER DELETE ON sessions
BEGIN
    DELETE FROM session_messages WHERE session_id = OLD.id;
END;

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

CREATE VIEW recent_messages AS
SELECT m.id,
       s.user_id,
       lower(hex(s.token_hash)) AS token_hash,
       m.role,
       strftime('%Y-%m-%dT%H:%M:%fZ', m.created_at / 1000.0, 'unixepoch') AS created_at,
       m.content,
       m.metadata
FROM session_messages AS m
JOIN sessions AS s ON s.id = m.session_id
ORDER BY m.id DESC;
