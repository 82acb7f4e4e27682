-- Media files of messages, both ways (R22). Times are integer milliseconds since the Unix
-- epoch (UTC). The file itself lives under `media.path`, at `file` (relative to it).
CREATE TABLE message_media (
    id             INTEGER PRIMARY KEY,
    message_id     INTEGER NOT NULL UNIQUE REFERENCES messages(id),
    interaction_id INTEGER NOT NULL,
    -- 'in' (a customer's, fetched from Meta) or 'out' (an agent's, uploaded to Meta)
    direction      TEXT    NOT NULL CHECK (direction IN ('in', 'out')),
    -- image, video, audio, document or sticker
    kind           TEXT    NOT NULL,
    -- Meta's media id: from the webhook (in), or from the upload once done (out)
    wa_media_id    TEXT,
    mime_type      TEXT,
    size           INTEGER,
    filename       TEXT,
    caption        TEXT,
    -- hex; for inbound media what Meta declared until the file is checked against it
    sha256         TEXT,
    -- pending, ready or failed
    state          TEXT    NOT NULL,
    error          TEXT,
    file           TEXT,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);
CREATE INDEX message_media_interaction ON message_media(interaction_id);

-- Inbound media waiting to be fetched: one row per file until it is stored or given up.
-- Separate from the wamid deduplication of `messages` (a repeated delivery never touches it).
CREATE TABLE media_downloads (
    media_id        INTEGER PRIMARY KEY REFERENCES message_media(id),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    created_at      INTEGER NOT NULL
);
CREATE INDEX media_downloads_due ON media_downloads(next_attempt_at);
