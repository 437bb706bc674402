-- Done outbox rows are purged after a retention period (workers/maintenance_tasks.purge_done_outbox): this
-- index finds the oldest done rows without reading the undone ones or the whole table.
CREATE INDEX outbox_done ON outbox (done_at) WHERE done_at IS NOT NULL;
