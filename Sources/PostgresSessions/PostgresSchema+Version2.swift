#if Postgres
// The SQL of schema/postgres/002_notify_after_commit.sql, byte for byte (PostgresSessionStoreTests compares them).
extension PostgresSchema {
    static let version2 = #"""
-- Schema version 2: the library's stores announce their own changes, after they commit.
--
-- A NOTIFY inside a writing transaction serializes the commits of every such transaction:
-- PostgreSQL holds one lock on the notification queue from before the commit to its end, WAL
-- flush included, so concurrent writes that notify cannot share a flush (measured on a 2-core
-- machine with fsync on: 1,300 inserts/s with a NOTIFY each, 7,500 without). A store now sends
-- its changes' notifications itself, batched, in a transaction of their own that writes nothing
-- durable. The triggers still log every change, and still notify for writers outside the library
-- (origin NULL: psql, other programs), so the caches learn of those at once as before.
CREATE OR REPLACE FUNCTION sessions_log(change_kind text, row_id bigint, hash bytea, user_id text) RETURNS void
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    change_origin bigint := nullif(current_setting('swift_sessions.origin', true), '')::bigint;
BEGIN
    INSERT INTO session_changes (session_id, token_hash, user_id, kind, at, origin)
    VALUES (row_id, hash, user_id, change_kind, sessions_now_ms(), change_origin);
    IF change_origin IS NULL THEN
        PERFORM pg_notify('sessions_changes', change_kind || ' ' || encode(hash, 'hex') || ' -');
    END IF;
END $$;
"""#
}
#endif
