-- `job.closed` looks up every organisation told about a posting (notifications.record_job_closed), once per close
-- and once per posting in each expiry sweep batch: without this the lookup scans every notification.
CREATE INDEX notifications_by_job ON notifications (job_id) WHERE job_id IS NOT NULL;
