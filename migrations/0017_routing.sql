-- R27, routing depth. Agents' skills and queues' required skills as JSON lists
-- ([{"name", "level"}], [{"name", "min_level"}]).
ALTER TABLE users ADD COLUMN skills TEXT NOT NULL DEFAULT '[]';
ALTER TABLE queues ADD COLUMN required_skills TEXT NOT NULL DEFAULT '[]';
-- Priority: 0..=9, higher first. A queue's default; a contact's raises a matching customer's.
ALTER TABLE queues ADD COLUMN default_priority INTEGER NOT NULL DEFAULT 0;
ALTER TABLE contacts ADD COLUMN priority INTEGER;
-- Sticky routing (0 seconds: off).
ALTER TABLE queues ADD COLUMN sticky_agent_secs INTEGER NOT NULL DEFAULT 0;
ALTER TABLE queues ADD COLUMN sticky_window_hours INTEGER NOT NULL DEFAULT 72;
-- Business hours: the API's JSON object, or NULL (always open).
ALTER TABLE queues ADD COLUMN hours TEXT;
ALTER TABLE queues ADD COLUMN closed_message TEXT;
ALTER TABLE queues ADD COLUMN greeting_message TEXT;
-- Overflow: both or neither.
ALTER TABLE queues ADD COLUMN max_wait_secs INTEGER;
ALTER TABLE queues ADD COLUMN overflow_queue_id INTEGER REFERENCES queues(id);

-- An interaction's priority; when it came into its current queue (the overflow clock);
-- the queue it overflowed from (once only); the agent it is reserved for, and until when.
ALTER TABLE interactions ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
ALTER TABLE interactions ADD COLUMN queued_at INTEGER;
ALTER TABLE interactions ADD COLUMN overflowed_from INTEGER;
ALTER TABLE interactions ADD COLUMN sticky_agent_id INTEGER;
ALTER TABLE interactions ADD COLUMN sticky_until INTEGER;
UPDATE interactions SET queued_at = created_at;

-- The customer's last closed conversation in a queue (sticky routing).
CREATE INDEX interactions_customer_closed ON interactions(customer_id, queue_id, closed_at)
    WHERE state = 'closed';
