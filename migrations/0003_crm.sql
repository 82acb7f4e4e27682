-- The built-in CRM (contacts with several numbers) and the outbox that pushes call logs to an
-- external CRM. Times are integer milliseconds since the Unix epoch (UTC).

CREATE TABLE contacts (
    id         INTEGER PRIMARY KEY,
    first_name TEXT,
    last_name  TEXT,
    email      TEXT,
    company    TEXT,
    notes      TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    deleted    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX contacts_recent ON contacts(updated_at DESC, id DESC) WHERE deleted = 0;

-- A contact's numbers: `e164` is what lookups match, `raw` is what was typed.
CREATE TABLE contact_phones (
    contact_id INTEGER NOT NULL REFERENCES contacts(id),
    e164       TEXT    NOT NULL,
    raw        TEXT    NOT NULL,
    position   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (contact_id, e164)
);
CREATE INDEX contact_phones_e164 ON contact_phones(e164);

-- Work for an external CRM (kind `activity`: a call log to save), retried until it is accepted.
-- A row that can never succeed (the CRM refused it for good) keeps `given_up_at` and its error.
CREATE TABLE crm_outbox (
    id              INTEGER PRIMARY KEY,
    kind            TEXT    NOT NULL,
    payload         TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    given_up_at     INTEGER,
    created_at      INTEGER NOT NULL
);
CREATE INDEX crm_outbox_due ON crm_outbox(next_attempt_at) WHERE given_up_at IS NULL;

-- An external CRM's contact id (a Dynamics 365 GUID) does not fit the integer `contact_id`.
ALTER TABLE interactions ADD COLUMN crm_contact_id TEXT;
ALTER TABLE activities ADD COLUMN crm_contact_id TEXT;
