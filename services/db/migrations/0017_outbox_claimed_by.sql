-- Which worker process is running an outbox row (NULL when none is): set when a run starts, cleared when it
-- reports done or failed. A worker killed mid-job leaves its claim behind, and arq's in-progress mark keeps
-- the job itself from running again until arq's job timeout (10 minutes); the reconciler hands a row whose
-- worker is gone (workers/lease.py) to a new job at once instead.
ALTER TABLE outbox ADD COLUMN claimed_by text;
-- Undone rows under a claim: a handful (at most the running jobs), read by every reconciler round.
CREATE INDEX outbox_claimed ON outbox (id) WHERE done_at IS NULL AND claimed_by IS NOT NULL;
