-- The wrap-up an agent got, kept with the agent: the queue it worked the conversation in
-- (a transfer moves the conversation, not the agent's wrap-up) and that queue's codes.
ALTER TABLE interaction_participants ADD COLUMN wrap_up_codes TEXT;
ALTER TABLE interaction_participants ADD COLUMN wrap_up_required INTEGER;
