-- R23: message templates, conversations the business starts; R28: customer satisfaction.

-- The WhatsApp Business Account whose templates the channel may send, and how the last sync
-- of them went.
ALTER TABLE channels ADD COLUMN waba_id TEXT;
ALTER TABLE channels ADD COLUMN templates_synced_at INTEGER;
ALTER TABLE channels ADD COLUMN templates_sync_error TEXT;

-- The channel's message templates as Meta last described them (all pages of
-- `message_templates`, and `message_template_status_update` webhooks since).
CREATE TABLE message_templates (
    channel_id       INTEGER NOT NULL REFERENCES channels(id),
    name             TEXT    NOT NULL,
    language         TEXT    NOT NULL,
    meta_id          TEXT,
    category         TEXT    NOT NULL DEFAULT '',
    status           TEXT    NOT NULL,
    parameter_format TEXT    NOT NULL DEFAULT 'POSITIONAL',
    -- Meta's `components` array, as JSON.
    components       TEXT    NOT NULL DEFAULT '[]',
    rejected_reason  TEXT,
    updated_at       INTEGER NOT NULL,
    PRIMARY KEY (channel_id, name, language)
) WITHOUT ROWID;

-- An outbound message that is not text: the Cloud API's object for it, sent as it is
-- (`{"type": "template", "template": {...}}`, `{"type": "interactive", ...}`).
ALTER TABLE messages ADD COLUMN payload TEXT;

-- Who started the conversation: the customer (`inbound`) or the business (`outbound`).
ALTER TABLE interactions ADD COLUMN kind TEXT NOT NULL DEFAULT 'inbound';
ALTER TABLE activities ADD COLUMN kind TEXT NOT NULL DEFAULT 'inbound';

ALTER TABLE queues ADD COLUMN csat_enabled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE queues ADD COLUMN csat_question TEXT NOT NULL
    DEFAULT 'How would you rate your conversation with us?';
ALTER TABLE queues ADD COLUMN csat_timeout_hours INTEGER NOT NULL DEFAULT 24;

-- One survey per conversation, committed with its call log (so a crash between the close
-- and the send still sends it, once); the answer lands here.
CREATE TABLE csat_surveys (
    interaction_id INTEGER PRIMARY KEY REFERENCES interactions(id),
    activity_id    INTEGER NOT NULL,
    channel_id     INTEGER NOT NULL,
    queue_id       INTEGER NOT NULL,
    -- The agent who owned the conversation last (reports per agent).
    agent_id       INTEGER,
    -- The interactive list message that asks.
    message_id     INTEGER NOT NULL REFERENCES messages(id),
    sent_at        INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    score          INTEGER CHECK (score BETWEEN 1 AND 5),
    answered_at    INTEGER,
    answer_wamid   TEXT
);
CREATE INDEX csat_surveys_activity ON csat_surveys(activity_id);
