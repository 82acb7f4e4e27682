-- A contact's WhatsApp business-scoped user ids (BSUIDs, SPEC 8.1): the screen pop of a
-- customer whose number is withheld finds the contact by one of them. The phone key this
-- lookup needs beside it exists since 0003: `contact_phones.e164` (what lookups match, indexed)
-- next to `raw` (what was typed), so no number needs a new key or a backfill.
CREATE TABLE contact_user_ids (
    contact_id INTEGER NOT NULL REFERENCES contacts(id),
    user_id    TEXT    NOT NULL,
    position   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (contact_id, user_id)
);
CREATE INDEX contact_user_ids_user_id ON contact_user_ids(user_id);
