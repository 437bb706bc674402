-- Erasure reaches the free text written about a person (issue 4: erasure leaves nothing in PostgreSQL).
--
-- A placement outlives the profile's erasure (figures, credit: pseudonymous, by the tombstone's id), but the notes
-- brokers and enterprises wrote on its transitions ("张三本人同意…", "张三因腰伤离职") name the person. Erasure
-- clears `placements.end_note` and removes `note` from the events' `detail`; the PII read log keeps who read which
-- fields and when, and its free-text purpose is replaced (services/api/worker_profiles/service.py erase_worker).
--
-- placement_events stays an audit trail: no row may be deleted, and the only change allowed is that one
-- removal of the note, every other column as it was.
CREATE OR REPLACE FUNCTION placement_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.detail ? 'note' AND NEW.detail = OLD.detail - 'note'
       AND (NEW.id, NEW.placement_id, NEW.action, NEW.from_status, NEW.to_status, NEW.org_id, NEW.api_key_id, NEW.at)
           IS NOT DISTINCT FROM
           (OLD.id, OLD.placement_id, OLD.action, OLD.from_status, OLD.to_status, OLD.org_id, OLD.api_key_id, OLD.at)
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'placement events are an audit trail: rows are only added (erasure may only remove a note)'
        USING ERRCODE = 'check_violation';
END $$;
