-- Integrity credit (诚信积分, policy clause 20) and reports from the field (clause 21).
--
-- credit_events is an append-only ledger: a score is the base score (a setting) plus the sum of an
-- organisation's points, and a grade is read from the score with thresholds (settings). Nothing stores a
-- score or a grade, so neither can be edited; correcting a wrong event is a new, compensating event.
-- UPDATE and DELETE are refused by a trigger (TRUNCATE is left to operators and the test suite).
--
-- reports: filed by any key (a kiosk on behalf of a person, an enterprise, a broker) against a posting or an
-- organisation, decided by an authority. The reporter's contact is personal data: AES-GCM blob only
-- (services/privacy/cipher.py, context "report:<id>:contact"), shown to authorities only.

CREATE TABLE credit_events (
    id              bigserial PRIMARY KEY,
    org_id          uuid NOT NULL REFERENCES organisations (id),
    points          int NOT NULL CHECK (points <> 0 AND points BETWEEN -1000 AND 1000),
    reason          text NOT NULL CHECK (length(btrim(reason)) > 0),
    source          text NOT NULL CHECK (source IN (
                        'report_upheld', 'posting_removed', 'duplicate_profiles', 'fake_profiles',
                        'consent_problem', 'placement_retained', 'profile_verified', 'authority_adjustment')),
    -- What the event is about (a report, a placement, a profile …); one event per (org, source, ref).
    ref_id          text,
    -- The authority that wrote it by hand (adjustments and findings); NULL for events the platform records.
    actor_org_id    uuid REFERENCES organisations (id),
    at              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX credit_events_org ON credit_events (org_id, at DESC, id DESC);
CREATE UNIQUE INDEX credit_events_once ON credit_events (org_id, source, ref_id) WHERE ref_id IS NOT NULL;

CREATE FUNCTION credit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'credit_events is append-only: % refused (record a compensating event instead)', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$;
CREATE TRIGGER credit_events_append_only BEFORE UPDATE OR DELETE ON credit_events
    FOR EACH ROW EXECUTE FUNCTION credit_events_append_only();

CREATE TABLE reports (
    id                  uuid PRIMARY KEY,
    reporter_org_id     uuid NOT NULL REFERENCES organisations (id),
    reporter_key_id     uuid REFERENCES api_keys (id),
    target_kind         text NOT NULL CHECK (target_kind IN ('job', 'broker', 'enterprise')),
    target_id           uuid NOT NULL,
    -- The organisation whose credit an upheld report affects (the posting's enterprise, or the org itself).
    target_org_id       uuid NOT NULL REFERENCES organisations (id),
    reason              text NOT NULL CHECK (reason IN ('fake', 'fees', 'holds_id', 'filled', 'unpaid', 'other')),
    text                text,
    contact_enc         bytea,
    status              text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'upheld', 'dismissed')),
    -- The same reporter filing the same report again while it is open (e.g. several people at one kiosk).
    repeat_count        int NOT NULL DEFAULT 0 CHECK (repeat_count >= 0),
    decision_note       text,
    decided_by_org_id   uuid REFERENCES organisations (id),
    decided_at          timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'open') = (decided_at IS NULL)),
    CHECK (status = 'open' OR (decided_by_org_id IS NOT NULL AND decision_note IS NOT NULL))
);
-- De-duplication: one open report per reporter, target and reason.
CREATE UNIQUE INDEX reports_open_once ON reports (reporter_org_id, target_kind, target_id, reason)
    WHERE status = 'open';
CREATE INDEX reports_list ON reports (created_at DESC, id DESC);
CREATE INDEX reports_status_list ON reports (status, created_at DESC, id DESC);
CREATE INDEX reports_target_org ON reports (target_org_id, target_kind, reason, status);

-- Effect of a grade-D broker: its new profiles are held for an authority's review and are not indexed,
-- shown to enterprises or matched until released.
ALTER TABLE worker_profiles ADD COLUMN held_for_review boolean NOT NULL DEFAULT false;
CREATE INDEX worker_profiles_held ON worker_profiles (created_at DESC, id DESC) WHERE held_for_review;

-- A posting closed because an upheld report found it fake, fee-charging, holding ID cards or already filled.
ALTER TABLE job_postings DROP CONSTRAINT job_postings_closed_reason_check;
ALTER TABLE job_postings ADD CONSTRAINT job_postings_closed_reason_check
    -- 'filled': placements (0006) close a posting whose last open headcount was hired; keep it in this list.
    CHECK (closed_reason IN ('closed_by_owner', 'rejected_in_review', 'removed_after_report', 'filled'));
