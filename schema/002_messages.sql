-- Schema version 2: a rolling message log per session, for chat and AI services.
--
-- Each session keeps its newest messages (SessionPolicy.maxMessagesPerSession, 1000 by
-- default); the library drops the oldest in the same transaction as each append. Messages
-- belong to the session's stable id, so they survive token rotation and go with the session.
-- Content is text; with encryption at rest configured it is a sealed BLOB (like sessions.data).

CREATE TABLE session_messages (
    id         INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    role       TEXT    NOT NULL CHECK (role IN ('user', 'assistant', 'system')),
    content    ANY     NOT NULL CHECK (typeof(content) IN ('text', 'blob')),
    metadata   TEXT,
    created_at INTEGER NOT NULL
) STRICT;

CREATE INDEX session_messages_session_idx ON session_messages (session_id, id);

-- The library deletes a session's messages through the foreign key; this trigger does it for
-- writers outside the library (the sqlite3 shell leaves foreign keys off by default).
CREATE TRIGGER sessions_delete_messages AFTER DELETE ON sessions
BEGIN
    DELETE FROM session_messages WHERE session_id = OLD.id;
END;

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
