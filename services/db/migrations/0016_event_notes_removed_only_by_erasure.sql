-- 0014 let any UPDATE remove a note from a placement event, so the audit trail of a person who was not erased
-- could lose its notes too (by mistake or on purpose). The removal exists for erasure alone (the note may name
-- the person): allowed only once the placement's worker is erased (erase_worker erases the profile row before it
-- strips the notes, in the same transaction).
CREATE OR REPLACE FUNCTION placement_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.detail ? 'note' AND NEW.detail = OLD.detail - 'note'
       AND (NEW.id, NEW.placement_id, NEW.action, NEW.from_status, NEW.to_status, NEW.org_id, NEW.api_key_id, NEW.at)
           IS NOT DISTINCT FROM
           (OLD.id, OLD.placement_id, OLD.action, OLD.from_status, OLD.to_status, OLD.org_id, OLD.api_key_id, OLD.at)
       AND EXISTS (SELECT 1 FROM placements p JOIN worker_profiles w ON w.id = p.worker_id
                    WHERE p.id = OLD.placement_id AND w.status = 'erased')
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'placement events are an audit trail: rows are only added (erasure may only remove a note)'
        USING ERRCODE = 'check_violation';
END $$;
