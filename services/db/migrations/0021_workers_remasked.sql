-- Documents of profiles whose free text (skills, certificates, labour brand) holds an ID or mobile number grouped
-- or separated otherwise than 6-8-4 / 3-4-4 by a space or a hyphen (5001 0719 8501 0112 3X, 138—1234—5678) were
-- indexed with it unmasked; matching/identity.py::mask_numbers_in_free_text masks those now. This brings the
-- documents already in Meilisearch up to date at the deploy, without `bashu index rebuild`: one `workers.remask`
-- row, which the worker's reconciler enqueues, re-indexes page by page the live profiles with 11 or more digits in
-- one item (the only ones whose masking can differ: workers/indexing_tasks.py::remask_worker_documents).
--
-- One row, and not `worker.index` rows per profile: that topic matches the profile after indexing it, and
-- enterprises would be told of matches for workers nothing changed about; and the reconciler enqueues 500 undone
-- rows a round, oldest first, so a backlog of hundreds of thousands of them would keep it from the lost rows it
-- exists to rescue for hours. No row at all where no profile qualifies (a new database, most test databases).
-- A worker of the previous release does not know the topic: the row fails there and is retried with the outbox's
-- backoff until a new worker runs it. Digits are counted with translate (3.8 s over 500,000 synthetic profiles
-- when none qualifies, against 10.6 s with regexp_replace); EXISTS stops at the first that does.
INSERT INTO outbox (topic, entity_id)
SELECT 'workers.remask', ''
 WHERE EXISTS (SELECT 1 FROM worker_profiles p
                WHERE p.status <> 'erased'
                  AND EXISTS (SELECT 1 FROM unnest(p.skills || p.certificates || p.labour_brand) AS t(item)
                               WHERE length(t.item) >= 11
                                 AND length(t.item) - length(translate(t.item, '0123456789０１２３４５６７８９', '')) >= 11));
