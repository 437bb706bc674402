-- Postings and profiles whose occupation was inferred from free text before inference learnt to take a role word's
-- trade from the work named before it (数控车床操作工 was stored as the catch-all 6-25-03-00 计算机及外部设备装配调试员,
-- a broker's 数控车床 / 车床师傅 as "not recognised"; both are 车工 6-18-01-01 now) keep the old code until edited.
-- One `occupations.reinfer` row infers them all again at the deploy (workers/reinference_tasks.py): the live
-- postings with an inferred occupation, then the live profiles with an occupation typed as text; only those whose
-- code changes are written, re-indexed and matched again. No row where nothing qualifies (a new database).
-- The profiles' condition is worker_profiles/repository.py::free_text_occupations_page's.
INSERT INTO outbox (topic, entity_id)
SELECT 'occupations.reinfer', ''
 WHERE EXISTS (SELECT 1 FROM job_postings WHERE occupation_inferred AND status IN ('open', 'pending_review'))
    OR EXISTS (SELECT 1 FROM worker_profiles
                WHERE status <> 'erased' AND occupations @? '$[*] ? (@.inferred == true || @.code == null)');
