-- Core schema. Times are integer milliseconds since the Unix epoch (UTC).

CREATE TABLE users (
    id                   INTEGER PRIMARY KEY,
    username             TEXT    NOT NULL UNIQUE,
    display_name         TEXT    NOT NULL,
    role                 TEXT    NOT NULL CHECK (role IN ('agent', 'supervisor', 'admin')),
    password_hash        TEXT    NOT NULL,
    max_concurrent       INTEGER NOT NULL DEFAULT 3,
    can_reject           INTEGER NOT NULL DEFAULT 1,
    auto_multi_match_pop INTEGER NOT NULL DEFAULT 1,
    status               TEXT    NOT NULL DEFAULT 'offline',
    status_since         INTEGER NOT NULL,
    status_reason        TEXT,
    stop_new             INTEGER NOT NULL DEFAULT 0,
    deleted              INTEGER NOT NULL DEFAULT 0,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT    PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE queues (
    id                   INTEGER PRIMARY KEY,
    name                 TEXT    NOT NULL,
    offer_timeout_secs   INTEGER NOT NULL,
    wrap_up_secs         INTEGER NOT NULL,
    disposition_codes    TEXT    NOT NULL DEFAULT '[]',
    disposition_required INTEGER NOT NULL DEFAULT 0,
    strategy             TEXT    NOT NULL DEFAULT 'longest_idle',
    alert_warn_secs      INTEGER NOT NULL DEFAULT 60,
    alert_critical_secs  INTEGER NOT NULL DEFAULT 180,
    deleted              INTEGER NOT NULL DEFAULT 0,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL
);

CREATE TABLE queue_members (
    queue_id INTEGER NOT NULL REFERENCES queues(id),
    agent_id INTEGER NOT NULL REFERENCES users(id),
    PRIMARY KEY (queue_id, agent_id)
);
CREATE INDEX queue_members_agent ON queue_members(agent_id);

CREATE TABLE channels (
    id                   INTEGER PRIMARY KEY,
    kind                 TEXT    NOT NULL DEFAULT 'whatsapp',
    name                 TEXT    NOT NULL,
    phone_number_id      TEXT    NOT NULL,
    display_phone_number TEXT    NOT NULL,
    queue_id             INTEGER NOT NULL REFERENCES queues(id),
    access_token         TEXT    NOT NULL,
    app_secret           TEXT,
    verify_token         TEXT,
    deleted              INTEGER NOT NULL DEFAULT 0,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL
);
CREATE UNIQUE INDEX channels_phone_number_id ON channels(phone_number_id) WHERE deleted = 0;

CREATE TABLE interactions (
    id                       INTEGER PRIMARY KEY,
    channel_id               INTEGER NOT NULL REFERENCES channels(id),
    queue_id                 INTEGER NOT NULL REFERENCES queues(id),
    customer_wa_id           TEXT    NOT NULL,
    customer_name            TEXT    NOT NULL,
    source_number            TEXT    NOT NULL,
    state                    TEXT    NOT NULL,
    queue_position           INTEGER NOT NULL,
    owner_agent_id           INTEGER,
    offer_agent_id           INTEGER,
    offer_kind               TEXT,
    offer_from_agent_id      INTEGER,
    offer_expires_at         INTEGER,
    conference_state         TEXT    NOT NULL DEFAULT 'none',
    contact_id               INTEGER,
    interrupted              TEXT,
    created_at               INTEGER NOT NULL,
    accepted_at              INTEGER,
    ended_at                 INTEGER,
    closed_at                INTEGER,
    last_customer_message_at INTEGER,
    updated_at               INTEGER NOT NULL
);
CREATE INDEX interactions_open ON interactions(state) WHERE state <> 'closed';
CREATE INDEX interactions_customer ON interactions(channel_id, customer_wa_id);
CREATE INDEX interactions_queue ON interactions(queue_id, state);

CREATE TABLE interaction_participants (
    interaction_id   INTEGER NOT NULL REFERENCES interactions(id),
    agent_id         INTEGER NOT NULL REFERENCES users(id),
    display_name     TEXT    NOT NULL,
    role             TEXT    NOT NULL,
    joined_at        INTEGER NOT NULL,
    left_at          INTEGER,
    wrap_up_deadline INTEGER,
    wrapped_up_at    INTEGER,
    disposition      TEXT,
    auto             INTEGER,
    PRIMARY KEY (interaction_id, agent_id)
);
CREATE INDEX participants_agent ON interaction_participants(agent_id);

CREATE TABLE messages (
    id             INTEGER PRIMARY KEY,
    interaction_id INTEGER NOT NULL REFERENCES interactions(id),
    direction      TEXT    NOT NULL CHECK (direction IN ('in', 'out', 'system')),
    author_kind    TEXT    NOT NULL,
    author_id      TEXT,
    author_name    TEXT    NOT NULL,
    kind           TEXT    NOT NULL,
    text           TEXT    NOT NULL,
    media_id       TEXT,
    wamid          TEXT UNIQUE,
    status         TEXT,
    error          TEXT,
    sent_at        INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);
CREATE INDEX messages_interaction ON messages(interaction_id, id);

-- Outbound messages waiting for the Cloud API; a row leaves when the API answered for good.
CREATE TABLE outbox (
    message_id      INTEGER PRIMARY KEY REFERENCES messages(id),
    interaction_id  INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT
);

CREATE TABLE activities (
    id             INTEGER PRIMARY KEY,
    interaction_id INTEGER NOT NULL UNIQUE REFERENCES interactions(id),
    channel_id     INTEGER NOT NULL,
    queue_id       INTEGER NOT NULL,
    contact_id     INTEGER,
    customer_name  TEXT    NOT NULL,
    customer_phone TEXT    NOT NULL,
    source_number  TEXT    NOT NULL,
    agents         TEXT    NOT NULL,
    initiated_at   INTEGER NOT NULL,
    accepted_at    INTEGER,
    terminated_at  INTEGER,
    wrapped_up_at  INTEGER NOT NULL,
    disposition    TEXT,
    transcript     TEXT    NOT NULL,
    created_at     INTEGER NOT NULL
);
CREATE INDEX activities_contact ON activities(contact_id, id);

CREATE TABLE activity_agents (
    activity_id INTEGER NOT NULL REFERENCES activities(id),
    agent_id    INTEGER NOT NULL,
    PRIMARY KEY (activity_id, agent_id)
);
CREATE INDEX activity_agents_agent ON activity_agents(agent_id, activity_id);

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
