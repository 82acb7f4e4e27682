-- How each offer to an agent ended, for the reports (offered, rejected, timed out per agent).
-- Written after the fact by the actors' hook `metrics::offer_ended`; no foreign keys, so the
-- retention sweep can delete a conversation and its offers in any order.
CREATE TABLE offer_log (
    id             INTEGER PRIMARY KEY,
    interaction_id INTEGER NOT NULL,
    queue_id       INTEGER NOT NULL,
    agent_id       INTEGER NOT NULL,
    -- new, transfer or conference
    kind           TEXT    NOT NULL,
    -- accepted, rejected, timeout, taken, customer_left, resource_deleted, disconnected
    outcome        TEXT    NOT NULL,
    ended_at       INTEGER NOT NULL
);
CREATE INDEX offer_log_interaction ON offer_log(interaction_id);
CREATE INDEX offer_log_agent ON offer_log(agent_id, ended_at);
