-- Notifications: the inbox, webhook endpoints and their deliveries, SMS, saved subscriptions, digests and caps.
--
-- Exactly-once in effect: a notification is unique per (recipient, event, job, worker, subject) and is written in
-- the same transaction as the decision to send it, with an outbox row that fans it out to its channels. Every
-- push (a webhook delivery, an SMS) is a row first and an arq job second: jobs take the row id, claim it with a
-- lease, and are safe to run twice; a sweeper re-enqueues rows whose job was lost. A webhook message keeps its
-- `webhook-id` (message_id) across every retry, so receivers can drop the rare duplicate after a crash.
-- No foreign keys to other domains' tables (jobs, workers, imports): their rows may be erased, a notice stays.

CREATE TABLE notification_preferences (
    org_id          uuid PRIMARY KEY REFERENCES organisations (id),
    -- How match notifications reach push channels: at once (up to the daily cap) or folded into a digest.
    digest          text NOT NULL DEFAULT 'instant' CHECK (digest IN ('instant', 'hourly', 'daily')),
    -- Brokers: text a worker who consented (consent.contact_by_sms) when a fitting job is found for them.
    sms_to_workers  boolean NOT NULL DEFAULT false,
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE notification_subscriptions (
    id              uuid PRIMARY KEY,
    org_id          uuid NOT NULL REFERENCES organisations (id),
    kind            text NOT NULL CHECK (kind IN ('jobs', 'workers')),
    query           jsonb NOT NULL,
    channel         text NOT NULL CHECK (channel IN ('inbox', 'webhook', 'sms')),
    digest          text NOT NULL CHECK (digest IN ('instant', 'hourly', 'daily')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    deleted_at      timestamptz
);
CREATE INDEX notification_subscriptions_org ON notification_subscriptions (org_id, created_at DESC, id DESC)
    WHERE deleted_at IS NULL;
CREATE INDEX notification_subscriptions_kind ON notification_subscriptions (kind) WHERE deleted_at IS NULL;

CREATE TABLE notifications (
    id              uuid PRIMARY KEY,
    recipient_org_id uuid NOT NULL REFERENCES organisations (id),
    event           text NOT NULL,
    job_id          uuid,
    worker_id       uuid,
    -- For events about something else than a (job, worker) pair: an import id, a webhook id + sequence …
    subject_id      text,
    -- Public fields only (never a name, ID number or phone): it is shown in the inbox and sent to webhooks.
    payload         jsonb NOT NULL,
    -- How push channels treat it, fixed when recorded: instant (capped per day) or held for a digest.
    digest          text NOT NULL CHECK (digest IN ('instant', 'hourly', 'daily')),
    -- Push channels wanted besides the inbox (which is always): webhook, sms.
    channels        text[] NOT NULL DEFAULT '{}',
    -- SMS target: a worker (only with their consent, re-checked at send time) or the organisation's contact.
    sms_worker_id   uuid,
    sms_to_org      boolean NOT NULL DEFAULT false,
    dispatched_at   timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    read_at         timestamptz,
    CONSTRAINT notifications_once UNIQUE NULLS NOT DISTINCT (recipient_org_id, event, job_id, worker_id, subject_id)
);
CREATE INDEX notifications_inbox ON notifications (recipient_org_id, created_at DESC, id DESC);
CREATE INDEX notifications_undispatched ON notifications (created_at) WHERE dispatched_at IS NULL;

CREATE TABLE webhook_endpoints (
    id              uuid PRIMARY KEY,
    org_id          uuid NOT NULL REFERENCES organisations (id),
    url             text NOT NULL,
    events          text[] NOT NULL,
    -- The signing secret (whsec_…), encrypted with the personal-data cipher; shown once at creation.
    secret_enc      bytea NOT NULL,
    status          text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled', 'deleted')),
    -- Failed attempts since the last success, and when that run of failures began.
    consecutive_failures int NOT NULL DEFAULT 0,
    failing_since   timestamptz,
    disabled_at     timestamptz,
    disabled_reason text,
    times_disabled  int NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    deleted_at      timestamptz
);
CREATE INDEX webhook_endpoints_org ON webhook_endpoints (org_id, created_at DESC, id DESC) WHERE status <> 'deleted';

CREATE TABLE notification_digests (
    id              uuid PRIMARY KEY,
    channel         text NOT NULL CHECK (channel IN ('webhook', 'sms')),
    recipient       text NOT NULL,
    org_id          uuid NOT NULL REFERENCES organisations (id),
    period          text NOT NULL CHECK (period IN ('hourly', 'daily')),
    items           int NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE webhook_deliveries (
    id              uuid PRIMARY KEY,
    webhook_id      uuid NOT NULL REFERENCES webhook_endpoints (id),
    org_id          uuid NOT NULL REFERENCES organisations (id),
    -- The `webhook-id` header: the same on every attempt and manual retry of this message.
    message_id      text NOT NULL,
    event           text NOT NULL,
    notification_id uuid REFERENCES notifications (id) ON DELETE SET NULL,
    digest_id       uuid REFERENCES notification_digests (id),
    -- The exact body sent on every attempt.
    body            text NOT NULL,
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'delivering', 'delivered', 'failed', 'cancelled')),
    -- Attempts in the current round; a manual retry starts a new round (rounds + 1, attempts 0).
    attempts        int NOT NULL DEFAULT 0,
    rounds          int NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    -- While `delivering`: until when the claiming job owns it (a crashed job's claim lapses).
    lease_until     timestamptz,
    enqueued_at     timestamptz,
    last_attempt_at timestamptz,
    last_status_code int,
    last_error      text,
    delivered_at    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT webhook_deliveries_once UNIQUE (webhook_id, message_id)
);
CREATE INDEX webhook_deliveries_list ON webhook_deliveries (webhook_id, created_at DESC, id DESC);
CREATE INDEX webhook_deliveries_notification ON webhook_deliveries (notification_id);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status IN ('pending', 'delivering');

-- Every attempt, for the deliveries listing (status code or error, how long it took).
CREATE TABLE webhook_delivery_attempts (
    id              bigserial PRIMARY KEY,
    delivery_id     uuid NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    at              timestamptz NOT NULL,
    status_code     int,
    error           text,
    duration_ms     int NOT NULL
);
CREATE INDEX webhook_delivery_attempts_delivery ON webhook_delivery_attempts (delivery_id, id);

CREATE TABLE sms_messages (
    id              uuid PRIMARY KEY,
    org_id          uuid NOT NULL REFERENCES organisations (id),
    -- A worker's phone is read (and consent re-checked) only when sending; an org's contact phone likewise.
    worker_id       uuid,
    recipient       text NOT NULL,
    notification_id uuid REFERENCES notifications (id) ON DELETE SET NULL,
    digest_id       uuid REFERENCES notification_digests (id),
    text            text NOT NULL,
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'cancelled')),
    attempts        int NOT NULL DEFAULT 0,
    -- Quiet hours: not before this time (held messages go out after them).
    next_attempt_at timestamptz NOT NULL,
    lease_until     timestamptz,
    enqueued_at     timestamptz,
    last_error      text,
    provider_message_id text,
    sent_at         timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX sms_messages_once ON sms_messages (notification_id, recipient) WHERE notification_id IS NOT NULL;
CREATE UNIQUE INDEX sms_messages_digest_once ON sms_messages (digest_id, recipient) WHERE digest_id IS NOT NULL;
CREATE INDEX sms_messages_due ON sms_messages (next_attempt_at) WHERE status IN ('pending', 'sending');

-- Notifications held back from a push channel (digest mode, or over the daily cap) until the next digest.
CREATE TABLE notification_holds (
    notification_id uuid NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
    channel         text NOT NULL CHECK (channel IN ('webhook', 'sms')),
    recipient       text NOT NULL,
    org_id          uuid NOT NULL REFERENCES organisations (id),
    period          text NOT NULL CHECK (period IN ('hourly', 'daily')),
    held_at         timestamptz NOT NULL,
    digest_id       uuid REFERENCES notification_digests (id),
    PRIMARY KEY (notification_id, channel, recipient)
);
CREATE INDEX notification_holds_open ON notification_holds (held_at) WHERE digest_id IS NULL;

-- Instant pushes per recipient and local day, for the daily cap (digests are not counted: they are the remedy).
CREATE TABLE notification_counters (
    channel         text NOT NULL,
    recipient       text NOT NULL,
    day             date NOT NULL,
    sent            int NOT NULL,
    PRIMARY KEY (channel, recipient, day)
);
