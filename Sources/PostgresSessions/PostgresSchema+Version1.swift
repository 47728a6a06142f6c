#if Postgres
// The SQL of schema/postgres/001_initial.sql, byte for byte (PostgresSessionStoreTests compares them).
extension PostgresSchema {
    static let version1 = #"""
-- Schema version 1 of the PostgreSQL session store: the SQLite store's meaning, in PostgreSQL.
--
-- Times are Unix milliseconds (bigint), as in the SQLite file, so both read the same way.
-- Tokens are never stored: token_hash is the SHA-256 of the token. expires_at is the effective
-- deadline, min(last_seen_at + idle_timeout_ms, absolute_expires_at); a session is alive while
-- expires_at > now. Applied in one transaction by PostgresSchema, which records the version in
-- sessions_schema and refuses a database whose version is newer than it knows.

CREATE TABLE sessions (
    id                   bigserial PRIMARY KEY,
    token_hash           bytea  NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    user_id              text,
    data                 bytea  NOT NULL,
    -- A JSON object as text (jsonb refuses the NUL character a string may hold):
    -- metadata::jsonb ->> 'device' in psql.
    metadata             text,
    created_at           bigint NOT NULL,
    updated_at           bigint NOT NULL,
    last_seen_at         bigint NOT NULL,
    idle_timeout_ms      bigint CHECK (idle_timeout_ms > 0),
    absolute_expires_at  bigint,
    expires_at           bigint NOT NULL,
    version              bigint NOT NULL,
    -- Bumped by a trigger on every UPDATE, whoever makes it: the compare-and-set key of writes.
    revision             bigint NOT NULL DEFAULT 0,
    ip                   text,
    user_agent           text,
    last_seen_ip         text,
    last_seen_user_agent text,
    CHECK (idle_timeout_ms IS NOT NULL OR absolute_expires_at IS NOT NULL)
) WITH (fillfactor = 80);
-- fillfactor 80 leaves room in each page, so the touch path (last_seen_at, expires_at,
-- revision: no indexed column but expires_at) can often be a HOT update.

-- Cleanup and "what expires next" walk this index instead of the table.
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);

-- The per-user index: list or revoke one user's sessions without a scan.
CREATE INDEX sessions_user_idx ON sessions (user_id, created_at) WHERE user_id IS NOT NULL;

-- Every change to sessions, written by the triggers below in the same transaction as the
-- change, whoever makes it (the library, psql, another program). Other hosts' caches follow it,
-- woken by NOTIFY on the channel sessions_changes; the store trims entries older than an hour.
-- origin is the store instance that made the change (its connections set swift_sessions.origin),
-- NULL for writers outside the library.
CREATE TABLE session_changes (
    seq        bigserial PRIMARY KEY,
    session_id bigint,
    token_hash bytea  NOT NULL,
    user_id    text,
    kind       text   NOT NULL,
    at         bigint NOT NULL,
    origin     bigint
);

CREATE INDEX session_changes_at_idx ON session_changes (at);

-- A rolling message log per session (chat and AI services), kept to the policy's length by the
-- library. Messages belong to the session's stable id, so they survive token rotation.
-- content holds text; sealed holds it encrypted when encryption at rest is configured.
CREATE TABLE session_messages (
    id         bigserial PRIMARY KEY,
    session_id bigint NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    role       text   NOT NULL CHECK (role IN ('user', 'assistant', 'system')),
    content    text,
    sealed     bytea,
    metadata   text,
    created_at bigint NOT NULL,
    CHECK ((content IS NULL) <> (sealed IS NULL))
);

CREATE INDEX session_messages_session_idx ON session_messages (session_id, id);

CREATE FUNCTION sessions_now_ms() RETURNS bigint LANGUAGE sql STABLE
AS $$ SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint $$;

CREATE FUNCTION sessions_bump_revision() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.revision := OLD.revision + 1;
    RETURN NEW;
END $$;

CREATE TRIGGER sessions_revision BEFORE UPDATE ON sessions
FOR EACH ROW EXECUTE FUNCTION sessions_bump_revision();

-- Logs a change and wakes the listeners: the payload is "<kind> <token hash hex> <origin>", so
-- a cache drops the session at once; the log itself is the safety net (NOTIFY is at-most-once).
-- Both pin the search path they were created under, so a writer whose search path does not
-- name the sessions' schema (psql connected to the database) is logged all the same.
CREATE FUNCTION sessions_log(change_kind text, row_id bigint, hash bytea, user_id text) RETURNS void
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    change_origin bigint := nullif(current_setting('swift_sessions.origin', true), '')::bigint;
BEGIN
    INSERT INTO session_changes (session_id, token_hash, user_id, kind, at, origin)
    VALUES (row_id, hash, user_id, change_kind, sessions_now_ms(), change_origin);
    PERFORM pg_notify('sessions_changes', change_kind || ' ' || encode(hash, 'hex') || ' ' || coalesce(change_origin::text, '-'));
END $$;

CREATE FUNCTION sessions_log_change() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM sessions_log('created', NEW.id, NEW.token_hash, NEW.user_id);
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM sessions_log('deleted', OLD.id, OLD.token_hash, OLD.user_id);
    ELSIF OLD.token_hash <> NEW.token_hash THEN
        PERFORM sessions_log('rotated_out', OLD.id, OLD.token_hash, OLD.user_id);
        PERFORM sessions_log('rotated', NEW.id, NEW.token_hash, NEW.user_id);
    ELSIF OLD.version <> NEW.version OR OLD.user_id IS DISTINCT FROM NEW.user_id THEN
        PERFORM sessions_log('updated', NEW.id, NEW.token_hash, NEW.user_id);
    ELSE
        PERFORM sessions_log('touched', NEW.id, NEW.token_hash, NEW.user_id);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER sessions_log AFTER INSERT OR UPDATE OR DELETE ON sessions
FOR EACH ROW EXECUTE FUNCTION sessions_log_change();

-- Views for people using psql. Times are ISO-8601 UTC; hashes are lowercase hex.
CREATE VIEW active_sessions AS
SELECT id,
       encode(token_hash, 'hex') AS token_hash,
       user_id,
       to_timestamp(created_at / 1000.0) AS created_at,
       to_timestamp(last_seen_at / 1000.0) AS last_seen_at,
       to_timestamp(expires_at / 1000.0) AS expires_at,
       ip,
       user_agent,
       version,
       metadata
FROM sessions
WHERE expires_at > sessions_now_ms();
"""#
}
#endif
