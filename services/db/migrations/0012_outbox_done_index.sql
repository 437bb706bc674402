-- Done outbox rows are purged after a retention period (workers/maintenance_tasks.purge_done_outbox): this
-- index finds the oldest done rows without reading the undone ones or the whole table. Built inside the
-- migration's transaction, it holds back outbox writes while it builds (seconds for a few million rows):
-- apply it at a deploy, not under peak load.
CREATE INDEX outbox_done ON outbox (done_at) WHERE done_at IS NOT NULL;
