-- R24: replies, reactions, edits, deletions, read receipts, typing, pricing; and statuses that
-- arrive before the send's answer named the wamid.

-- The message a message answers: ours when we know it, and the wamid as Meta named it.
ALTER TABLE messages ADD COLUMN reply_to_id INTEGER;
ALTER TABLE messages ADD COLUMN reply_to_wamid TEXT;
-- A customer's edit: the text shown is `text`; the first one stays in `original_text`.
ALTER TABLE messages ADD COLUMN original_text TEXT;
ALTER TABLE messages ADD COLUMN edited_at INTEGER;
-- A customer's deletion: kept for the record, not shown to agents.
ALTER TABLE messages ADD COLUMN deleted_at INTEGER;
-- Inbound: when the read receipt for it was committed for sending (once per message).
ALTER TABLE messages ADD COLUMN read_sent_at INTEGER;
-- The `pricing` object of the status webhooks of an outbound message.
ALTER TABLE messages ADD COLUMN pricing_billable INTEGER;
ALTER TABLE messages ADD COLUMN pricing_model TEXT;
ALTER TABLE messages ADD COLUMN pricing_category TEXT;
ALTER TABLE messages ADD COLUMN pricing_type TEXT;

-- One reaction per author and message; an empty emoji removes it (no row).
CREATE TABLE message_reactions (
    message_id  INTEGER NOT NULL REFERENCES messages(id),
    author_kind TEXT    NOT NULL CHECK (author_kind IN ('customer', 'agent')),
    author_id   TEXT    NOT NULL,
    author_name TEXT    NOT NULL,
    emoji       TEXT    NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (message_id, author_kind, author_id)
) WITHOUT ROWID;

-- What the business tells Meta besides messages: reactions, read receipts, typing. Sent in
-- order per interaction, retried like messages; a typing indicator expires.
CREATE TABLE signals (
    id             INTEGER PRIMARY KEY,
    interaction_id INTEGER NOT NULL,
    -- reaction, read, typing
    kind           TEXT    NOT NULL,
    -- The message it is about (the reacted-to or the read message).
    message_id     INTEGER NOT NULL,
    emoji          TEXT,
    attempts       INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    expires_at     INTEGER,
    last_error     TEXT,
    created_at     INTEGER NOT NULL
);
CREATE INDEX signals_due ON signals(next_attempt_at);

-- Statuses for a wamid not known yet: the webhook can outrun the send's answer. Applied when
-- the wamid is recorded; dropped after a few minutes.
CREATE TABLE early_statuses (
    id           INTEGER PRIMARY KEY,
    wamid        TEXT    NOT NULL,
    status       TEXT    NOT NULL,
    error        TEXT,
    pricing_billable INTEGER,
    pricing_model    TEXT,
    pricing_category TEXT,
    pricing_type     TEXT,
    received_at  INTEGER NOT NULL
);
CREATE INDEX early_statuses_wamid ON early_statuses(wamid);
CREATE INDEX early_statuses_received ON early_statuses(received_at);
