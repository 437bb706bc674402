-- Every licence recorded for a broker after its registration (a renewal, a correction, an earlier end date when
-- an authority withdraws it), with the one it replaced, who recorded it and when: what was valid when is the
-- authorities' record, so rows are only ever added.
CREATE TABLE licence_changes (
    id                      bigserial PRIMARY KEY,
    org_id                  uuid NOT NULL REFERENCES organisations (id),
    number                  text NOT NULL,
    issuer_province         text NOT NULL CHECK (issuer_province IN ('CQ', 'SC')),
    valid_until             date NOT NULL,
    previous_number         text NOT NULL,
    previous_issuer_province text NOT NULL,
    previous_valid_until    date NOT NULL,
    changed_by              uuid NOT NULL REFERENCES organisations (id),
    changed_at              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX licence_changes_by_org ON licence_changes (org_id, id);

CREATE FUNCTION licence_changes_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'licence changes are the authorities'' record: rows are only added' USING ERRCODE = 'check_violation';
END $$;
CREATE TRIGGER licence_changes_append_only BEFORE UPDATE OR DELETE ON licence_changes
    FOR EACH ROW EXECUTE FUNCTION licence_changes_append_only();
