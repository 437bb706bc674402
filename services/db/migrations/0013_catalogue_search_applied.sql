-- The last catalogue version whose search side has been applied by the worker (workers/catalogue_tasks.py):
-- Meilisearch synonyms and dictionary set, and the documents of every occupation code changed since the
-- previously applied version re-indexed. A `catalogue.published` row re-indexes the codes changed across
-- every version published after this one (not only the newest version's own diff), so two publications
-- before the worker gets to the first one lose nothing. One row at most; none yet means nothing was applied
-- (the next publication re-indexes every code of the published version, as the first one always did).

CREATE TABLE catalogue_search_applied (
    only_row    boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    version     int NOT NULL REFERENCES catalogue_versions (version),
    applied_at  timestamptz NOT NULL DEFAULT now()
);

-- An existing database: the published version counts as applied when no `catalogue.published` row is still
-- waiting (the worker applied it, with its own diff only). Otherwise nothing is recorded and the next row
-- re-indexes every code. Documents left stale by an earlier backlog are repaired by deleting this row and
-- recording a `catalogue.published` row (a full re-index of the catalogue's codes).
INSERT INTO catalogue_search_applied (version)
SELECT version FROM catalogue_versions
 WHERE status = 'published'
   AND NOT EXISTS (SELECT 1 FROM outbox WHERE topic = 'catalogue.published' AND done_at IS NULL);
