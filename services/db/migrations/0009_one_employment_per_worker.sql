-- A worker holds at most one job through placements at a time. The hire path locks the worker's row before
-- checking; this index is the invariant itself, so no interleaving of requests can break it.
CREATE UNIQUE INDEX placements_one_employment_per_worker ON placements (worker_id)
    WHERE status IN ('hired', 'arrived', 'retained_30', 'retained_90');
