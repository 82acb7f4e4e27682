-- R26: canned responses, the saved replies agents pick in the composer with `/` and a shortcut.

CREATE TABLE canned_responses (
    id         INTEGER PRIMARY KEY,
    -- `[a-z0-9_-]{1,32}`, unique among those not deleted (the partial index below).
    shortcut   TEXT    NOT NULL,
    title      TEXT    NOT NULL,
    -- With placeholders such as `{{customer.first_name}}`, filled when an agent renders it.
    text       TEXT    NOT NULL,
    -- The queue whose agents may use it; NULL: every queue.
    queue_id   INTEGER REFERENCES queues(id),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    -- Who wrote it (NULL: the demo seed); who changed it last.
    created_by INTEGER REFERENCES users(id),
    updated_by INTEGER REFERENCES users(id),
    -- Deleted ones stay for the record; their shortcut is free again.
    deleted_at INTEGER
);
CREATE UNIQUE INDEX canned_responses_shortcut ON canned_responses(shortcut)
    WHERE deleted_at IS NULL;
CREATE INDEX canned_responses_queue ON canned_responses(queue_id);
