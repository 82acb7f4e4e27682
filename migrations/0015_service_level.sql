-- Section 8.8: the queue's service level threshold. A customer's conversation accepted
-- within this many seconds of its arrival counts as answered within the service level.
ALTER TABLE queues ADD COLUMN service_level_secs INTEGER NOT NULL DEFAULT 60;
