-- R25: internal notes (whispers) among agents and supervisors. Stored with direction
-- 'system' (the column's CHECK predates them) and read back as direction "internal"; never
-- sent to WhatsApp, never shown to the customer.
ALTER TABLE messages ADD COLUMN internal INTEGER NOT NULL DEFAULT 0;
