-- Organisations, API keys, idempotency records, the indexing outbox and the PII access audit.

CREATE TABLE organisations (
    id              uuid PRIMARY KEY,
    type            text NOT NULL CHECK (type IN ('broker', 'enterprise', 'kiosk', 'authority', 'admin')),
    name            text NOT NULL CHECK (length(btrim(name)) > 0),
    unified_social_credit_code text,
    province        text CHECK (province IN ('CQ', 'SC')),
    licence_number  text,
    licence_issuer_province text CHECK (licence_issuer_province IN ('CQ', 'SC')),
    licence_valid_until date,
    contact         jsonb NOT NULL DEFAULT '{}'::jsonb,
    kiosk_adcode    text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (type <> 'broker' OR (licence_number IS NOT NULL AND licence_issuer_province IS NOT NULL
                                AND licence_valid_until IS NOT NULL)),
    CHECK (type <> 'authority' OR province IS NOT NULL)
);
CREATE UNIQUE INDEX organisations_uscc ON organisations (unified_social_credit_code)
    WHERE unified_social_credit_code IS NOT NULL;

CREATE TABLE api_keys (
    id          uuid PRIMARY KEY,
    org_id      uuid NOT NULL REFERENCES organisations (id),
    -- The first characters of the key, stored in clear so operators can tell keys apart in lists and logs.
    prefix      text NOT NULL,
    -- sha256 of the whole key: keys are 256-bit random, so a fast hash is enough (no password stretching).
    key_hash    bytea NOT NULL UNIQUE,
    label       text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz,
    last_used_at timestamptz
);
CREATE INDEX api_keys_org ON api_keys (org_id);

CREATE TABLE idempotency_records (
    org_id          uuid NOT NULL REFERENCES organisations (id),
    key             text NOT NULL,
    method          text NOT NULL,
    path            text NOT NULL,
    request_hash    bytea NOT NULL,
    status_code     int NOT NULL,
    response_body   jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, key)
);
CREATE INDEX idempotency_records_created ON idempotency_records (created_at);

-- Work to do after a commit (index a document, match, notify). Written in the same transaction as the
-- change; the arq job is enqueued after commit, and the reconciler re-enqueues rows left undone.
CREATE TABLE outbox (
    id              bigserial PRIMARY KEY,
    topic           text NOT NULL,
    entity_id       text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    enqueued_at     timestamptz,
    attempts        int NOT NULL DEFAULT 0,
    done_at         timestamptz,
    last_error      text
);
CREATE INDEX outbox_pending ON outbox (created_at) WHERE done_at IS NULL;

-- Every read of full personal data (policy clause 22): who, what, when, why.
CREATE TABLE pii_access_log (
    id          bigserial PRIMARY KEY,
    org_id      uuid NOT NULL REFERENCES organisations (id),
    api_key_id  uuid REFERENCES api_keys (id),
    subject_kind text NOT NULL,
    subject_id  uuid NOT NULL,
    fields      text[] NOT NULL,
    purpose     text NOT NULL,
    request_id  text,
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX pii_access_log_subject ON pii_access_log (subject_kind, subject_id);
