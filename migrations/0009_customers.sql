-- R21: a customer is one person per channel, known by a phone number, a business-scoped user
-- id (BSUID), or both. Interactions keep what was known of the customer when they ran.

CREATE TABLE customers (
    id         INTEGER PRIMARY KEY,
    channel_id INTEGER NOT NULL REFERENCES channels(id),
    -- The number's digits with the country code, no '+' (Meta's wa_id); NULL when withheld.
    phone      TEXT,
    -- The current BSUID; every BSUID the customer ever had is in customer_user_ids.
    user_id    TEXT,
    username   TEXT,
    name       TEXT    NOT NULL DEFAULT '',
    -- Set when this row turned out to be the same person as another: it keeps no number
    -- or BSUID, and conversations still naming it belong to that one.
    merged_into INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX customers_phone ON customers(channel_id, phone) WHERE phone IS NOT NULL;

-- Every BSUID a customer was named by: a user who changes number gets a new BSUID, and a late
-- delivery naming the old one still finds the same customer.
CREATE TABLE customer_user_ids (
    channel_id  INTEGER NOT NULL,
    user_id     TEXT    NOT NULL,
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    PRIMARY KEY (channel_id, user_id)
) WITHOUT ROWID;
CREATE INDEX customer_user_ids_customer ON customer_user_ids(customer_id);

ALTER TABLE interactions ADD COLUMN customer_id INTEGER REFERENCES customers(id);
ALTER TABLE interactions ADD COLUMN customer_phone TEXT;
ALTER TABLE interactions ADD COLUMN customer_user_id TEXT;
ALTER TABLE interactions ADD COLUMN customer_username TEXT;

-- Existing conversations: each (channel, number) becomes one customer, named as in its
-- latest conversation.
UPDATE interactions SET customer_phone = NULLIF(customer_wa_id, '');
INSERT INTO customers (channel_id, phone, name, created_at, updated_at)
SELECT i.channel_id, i.customer_phone,
       (SELECT j.customer_name FROM interactions j
         WHERE j.channel_id = i.channel_id AND j.customer_phone = i.customer_phone
         ORDER BY j.id DESC LIMIT 1),
       MIN(i.created_at), MAX(i.updated_at)
  FROM interactions i
 WHERE i.customer_phone IS NOT NULL
 GROUP BY i.channel_id, i.customer_phone;
UPDATE interactions SET customer_id = (
    SELECT c.id FROM customers c
     WHERE c.channel_id = interactions.channel_id AND c.phone = interactions.customer_phone);

DROP INDEX interactions_customer;
ALTER TABLE interactions DROP COLUMN customer_wa_id;
CREATE INDEX interactions_customer ON interactions(customer_id);

-- Call logs name a customer without a number by username and BSUID; customer_phone is ''
-- then.
ALTER TABLE activities ADD COLUMN customer_user_id TEXT;
ALTER TABLE activities ADD COLUMN customer_username TEXT;
