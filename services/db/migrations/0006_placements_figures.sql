-- Placements (a match that turned into work), their audit trail and reminders, and the supply–demand figures
-- (人力资源市场供求信息监测: 求人倍率 per period × region × occupation) kept as snapshots.
--
-- A placement copies the worker's home county and the job's county when it is proposed: a later edit or the
-- erasure of the worker profile must not rewrite where a transfer came from. No foreign keys to worker profiles
-- or postings for the same reason (a tombstone keeps its id, but the placement must outlive anything).

CREATE TABLE placements (
    id                  uuid PRIMARY KEY,
    job_id              uuid NOT NULL,
    worker_id           uuid NOT NULL,
    enterprise_org_id   uuid NOT NULL REFERENCES organisations (id),
    broker_org_id       uuid NOT NULL REFERENCES organisations (id),
    -- Which side proposed: the other side accepts.
    proposed_by         text NOT NULL CHECK (proposed_by IN ('enterprise', 'broker')),
    status              text NOT NULL CHECK (status IN ('proposed', 'accepted', 'hired', 'arrived',
                                                        'retained_30', 'retained_90', 'ended')),
    occupation_code     text NOT NULL,
    origin_adcode       text NOT NULL,          -- the worker's home county when proposed
    destination_adcode  text NOT NULL,          -- the job's county
    transfer            boolean NOT NULL,       -- origin county <> destination county (转移就业)
    cross_province      boolean NOT NULL,       -- and in the other province (川渝跨省)
    job_posted_at       timestamptz NOT NULL,   -- for days-to-fill
    job_start_date      date NOT NULL,          -- when arrival is expected (the reminder's date)
    proposed_at         timestamptz NOT NULL DEFAULT now(),
    accepted_at         timestamptz,
    hired_at            timestamptz,
    arrived_at          timestamptz,
    retained_30_at      timestamptz,
    retained_90_at      timestamptz,
    ended_at            timestamptz,
    -- The status it had when it ended, and why.
    ended_from          text,
    end_reason          text CHECK (end_reason IN ('declined', 'withdrawn', 'not_hired', 'no_show', 'left',
                                                   'dismissed', 'contract_completed', 'other')),
    end_note            text,
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CHECK (transfer OR NOT cross_province),
    CHECK ((status = 'ended') = (ended_at IS NOT NULL AND end_reason IS NOT NULL AND ended_from IS NOT NULL)),
    CHECK (status NOT IN ('hired', 'arrived', 'retained_30', 'retained_90') OR hired_at IS NOT NULL),
    CHECK (status NOT IN ('arrived', 'retained_30', 'retained_90') OR arrived_at IS NOT NULL),
    CHECK (status <> 'retained_90' OR retained_30_at IS NOT NULL)
);
-- One live placement per (job, worker); an ended one may be followed by a new proposal.
CREATE UNIQUE INDEX placements_live_pair ON placements (job_id, worker_id) WHERE status <> 'ended';
CREATE INDEX placements_enterprise ON placements (enterprise_org_id, proposed_at DESC, id DESC);
CREATE INDEX placements_broker ON placements (broker_org_id, proposed_at DESC, id DESC);
CREATE INDEX placements_all ON placements (proposed_at DESC, id DESC);
CREATE INDEX placements_job_hired ON placements (job_id) WHERE hired_at IS NOT NULL;
CREATE INDEX placements_worker ON placements (worker_id);
CREATE INDEX placements_hired_at ON placements (hired_at) WHERE hired_at IS NOT NULL;

-- Every transition: who (organisation and key), what, when, why. Rows are only ever added.
CREATE TABLE placement_events (
    id              bigserial PRIMARY KEY,
    placement_id    uuid NOT NULL REFERENCES placements (id),
    action          text NOT NULL CHECK (action IN ('propose', 'accept', 'hire', 'arrive', 'retain', 'end')),
    from_status     text,
    to_status       text NOT NULL,
    org_id          uuid REFERENCES organisations (id),     -- NULL: an operator's command (demo loader)
    api_key_id      uuid REFERENCES api_keys (id),
    detail          jsonb NOT NULL DEFAULT '{}'::jsonb,
    at              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX placement_events_placement ON placement_events (placement_id, id);

CREATE FUNCTION placement_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'placement events are an audit trail: rows are only added' USING ERRCODE = 'check_violation';
END $$;
CREATE TRIGGER placement_events_append_only BEFORE UPDATE OR DELETE ON placement_events
    FOR EACH ROW EXECUTE FUNCTION placement_events_append_only();

-- What the broker is asked to confirm and when (arrival after a hire, retention at 30 and 90 days). The
-- reminder cron writes each one once (unique per placement and kind) when it falls due; it is the broker's
-- to-do list until the notifications inbox takes such notices (then `notified_at` records the hand-over).
CREATE TABLE placement_reminders (
    id              bigserial PRIMARY KEY,
    placement_id    uuid NOT NULL REFERENCES placements (id),
    broker_org_id   uuid NOT NULL REFERENCES organisations (id),
    kind            text NOT NULL CHECK (kind IN ('confirm_arrival', 'confirm_retention_30', 'confirm_retention_90')),
    due_on          date NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    notified_at     timestamptz,
    -- Set when the broker made the transition the reminder asked for (or the placement ended).
    resolved_at     timestamptz,
    UNIQUE (placement_id, kind)
);
CREATE INDEX placement_reminders_open ON placement_reminders (broker_org_id, due_on) WHERE resolved_at IS NULL;

-- A posting filled by hires closes with its own reason.
ALTER TABLE job_postings DROP CONSTRAINT IF EXISTS job_postings_closed_reason_check;
ALTER TABLE job_postings ADD CONSTRAINT job_postings_closed_reason_check
    CHECK (closed_reason IN ('closed_by_owner', 'rejected_in_review', 'filled'));

-- ----- figures -----

-- One row per period ever computed. `frozen_at` set: the period had ended when it was computed for the last
-- time, and its rows never change again (the triggers below refuse it for any writer).
CREATE TABLE stats_periods (
    period          text PRIMARY KEY CHECK (period ~ '^[0-9]{4}-(0[1-9]|1[0-2]|Q[1-4])$'),
    kind            text NOT NULL CHECK (kind IN ('month', 'quarter')),
    starts_on       date NOT NULL,
    ends_on         date NOT NULL,
    -- The moment the figures describe: the end of the period once it has ended, else the computation time.
    as_of           timestamptz NOT NULL,
    computed_at     timestamptz NOT NULL DEFAULT now(),
    computations    int NOT NULL DEFAULT 1,
    frozen_at       timestamptz,
    -- computed: from the platform's rows; demo: written by the demo loader so a new stack shows a trend.
    source          text NOT NULL DEFAULT 'computed' CHECK (source IN ('computed', 'demo')),
    catalogue_version int,
    CHECK (ends_on >= starts_on)
);

-- Per period × level × region × occupation. `adcode` '' is the whole circle (level 'circle'); `occupation_code`
-- '' is every occupation together (a worker with several trades counts once there).
CREATE TABLE stats_supply_demand (
    period              text NOT NULL REFERENCES stats_periods (period),
    level               text NOT NULL CHECK (level IN ('county', 'city', 'province', 'circle')),
    adcode              text NOT NULL,
    occupation_code     text NOT NULL,
    open_headcount      int NOT NULL CHECK (open_headcount >= 0),
    available_workers   int NOT NULL CHECK (available_workers >= 0),
    -- 求人倍率 = open_headcount / available_workers, rounded half-up to 4 places; NULL without workers.
    ratio               numeric(14, 4),
    shortage_level      smallint CHECK (shortage_level BETWEEN 1 AND 3),
    placements          int NOT NULL DEFAULT 0,
    transfers_in        int NOT NULL DEFAULT 0,
    transfers_out       int NOT NULL DEFAULT 0,
    median_days_to_fill numeric(10, 1),
    PRIMARY KEY (period, level, adcode, occupation_code),
    CHECK ((level = 'circle') = (adcode = ''))
);
CREATE INDEX stats_supply_demand_occupation ON stats_supply_demand (period, level, occupation_code);

-- Hires of a period by origin county × destination county.
CREATE TABLE stats_transfer_flows (
    period              text NOT NULL REFERENCES stats_periods (period),
    origin_adcode       text NOT NULL,
    destination_adcode  text NOT NULL,
    placements          int NOT NULL CHECK (placements > 0),
    cross_province      boolean NOT NULL,
    PRIMARY KEY (period, origin_adcode, destination_adcode)
);

CREATE FUNCTION stats_refuse_frozen_rows() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    target text;
BEGIN
    IF TG_OP = 'DELETE' THEN target := OLD.period; ELSE target := NEW.period; END IF;
    IF EXISTS (SELECT 1 FROM stats_periods WHERE period = target AND frozen_at IS NOT NULL)
       OR (TG_OP = 'UPDATE' AND EXISTS (SELECT 1 FROM stats_periods WHERE period = OLD.period
                                                                  AND frozen_at IS NOT NULL)) THEN
        RAISE EXCEPTION 'figures of period % are frozen', target USING ERRCODE = 'check_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER stats_supply_demand_frozen BEFORE INSERT OR UPDATE OR DELETE ON stats_supply_demand
    FOR EACH ROW EXECUTE FUNCTION stats_refuse_frozen_rows();
CREATE TRIGGER stats_transfer_flows_frozen BEFORE INSERT OR UPDATE OR DELETE ON stats_transfer_flows
    FOR EACH ROW EXECUTE FUNCTION stats_refuse_frozen_rows();

CREATE FUNCTION stats_guard_periods() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.frozen_at IS NOT NULL THEN
        RAISE EXCEPTION 'period % is frozen', OLD.period USING ERRCODE = 'check_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER stats_periods_guard BEFORE UPDATE OR DELETE ON stats_periods
    FOR EACH ROW EXECUTE FUNCTION stats_guard_periods();
