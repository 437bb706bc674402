-- An authority can discard a catalogue draft it will not publish (a mistaken import, a superseded proposal).
-- The version is kept, frozen, with who discarded it and when: its number is never published, and its change
-- log stays readable (the log is only ever added to).

ALTER TABLE catalogue_versions ADD COLUMN discarded_at timestamptz;
ALTER TABLE catalogue_versions ADD COLUMN discarded_by uuid REFERENCES organisations (id);
ALTER TABLE catalogue_versions DROP CONSTRAINT catalogue_versions_status_check;
ALTER TABLE catalogue_versions ADD CONSTRAINT catalogue_versions_status_check
    CHECK (status IN ('draft', 'approved', 'published', 'retired', 'discarded'));
ALTER TABLE catalogue_versions ADD CONSTRAINT catalogue_versions_discarded_check
    CHECK ((status = 'discarded') = (discarded_at IS NOT NULL));

ALTER TABLE catalogue_changes DROP CONSTRAINT catalogue_changes_action_check;
ALTER TABLE catalogue_changes ADD CONSTRAINT catalogue_changes_action_check
    CHECK (action IN ('create_draft', 'entry_upsert', 'entry_delete', 'entry_retire', 'import', 'approve',
                      'approvals_cleared', 'publish', 'retire', 'load_initial', 'discard'));

-- Approvals of a discarded version are frozen like those of a published one.
CREATE OR REPLACE FUNCTION catalogue_refuse_frozen_approvals() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    target int;
    current_status text;
BEGIN
    IF TG_OP = 'DELETE' THEN target := OLD.version; ELSE target := NEW.version; END IF;
    SELECT status INTO current_status FROM catalogue_versions WHERE version = target;
    IF current_status IN ('published', 'retired', 'discarded') THEN
        RAISE EXCEPTION 'catalogue version % is %: its approvals are immutable', target, current_status
            USING ERRCODE = 'check_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
END $$;

-- A published version may only become retired; a retired or discarded one never changes; none is deleted.
CREATE OR REPLACE FUNCTION catalogue_guard_versions() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.status IN ('published', 'retired', 'discarded') THEN
            RAISE EXCEPTION 'catalogue version % was % and is kept forever', OLD.version, OLD.status
                USING ERRCODE = 'check_violation';
        END IF;
        RETURN OLD;
    END IF;
    IF OLD.status IN ('retired', 'discarded')
       OR (OLD.status = 'published'
           AND (NEW.status <> 'retired' OR NEW.published_at IS DISTINCT FROM OLD.published_at
                OR NEW.based_on IS DISTINCT FROM OLD.based_on)) THEN
        RAISE EXCEPTION 'catalogue version % is %: it can only be retired', OLD.version, OLD.status
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
