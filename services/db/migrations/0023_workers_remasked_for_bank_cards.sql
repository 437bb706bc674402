-- Bank cards printed in groups of four in a profile's free text (6222 0212 3456 7890 123, 6217-0000-1234-5678) were
-- indexed with them unmasked; matching/identity.py::mask_numbers_in_free_text masks them now. Migration 0021's row
-- has run at its own deploy, so one `workers.remask_cards` row (the same walk) brings the documents already in
-- Meilisearch up to date at this one (workers/indexing_tasks.py::_remask re-indexes the live profiles with 11+ digits
-- in one item, which a card's 16 to 19 include). Nothing is matched again and nobody is notified.
--
-- The condition is 0021's with 16 digits (no card has fewer), so a database without any gets no row. A new topic,
-- not `workers.remask`: a worker of the previous release knows that one and would re-index with its own masking;
-- this one fails there and waits for a worker of this release.
INSERT INTO outbox (topic, entity_id)
SELECT 'workers.remask_cards', ''
 WHERE EXISTS (SELECT 1 FROM worker_profiles p
                WHERE p.status <> 'erased'
                  AND EXISTS (SELECT 1 FROM unnest(p.skills || p.certificates || p.labour_brand) AS t(item)
                               WHERE length(t.item) >= 16
                                 AND length(t.item) - length(translate(t.item, '0123456789０１２３４５６７８９', '')) >= 16));
