-- The figures count a period's placements by the worker's arrival (stats repository.arrivals_between), no longer
-- by the hire: the same index the hires had.
CREATE INDEX placements_arrived_at ON placements (arrived_at) WHERE arrived_at IS NOT NULL;
