-- Supply and demand: worker profiles (brokers) and job postings (enterprises).
--
-- Personal data of a worker is never stored in clear: name, ID number, phone and notes are AES-256-GCM
-- blobs (services/privacy/cipher.py, bound to a per-column context), and ID number and phone have a keyed
-- blind index for exact lookup and de-duplication. Erasure nulls every personal column and keeps a tombstone
-- row (id, broker, status 'erased', times) so references and the audit log stay meaningful.

CREATE TABLE worker_profiles (
    id                  uuid PRIMARY KEY,
    broker_org_id       uuid NOT NULL REFERENCES organisations (id),
    status              text NOT NULL DEFAULT 'available'
                        CHECK (status IN ('available', 'placed', 'inactive', 'erased')),
    external_ref        text,
    -- personal data (encrypted; NULL after erasure)
    name_enc            bytea,
    id_number_enc       bytea,
    id_number_bidx      bytea,
    phone_enc           bytea,
    phone_bidx          bytea,
    notes_enc           bytea,
    gender              text CHECK (gender IN ('male', 'female')),
    -- Kept in clear (not the ID number itself) because matching needs the age and a posting's legal age range.
    birth_date          date,
    -- profile (NULL or empty after erasure)
    home_adcode         text,
    current_adcode      text,
    occupation_codes    text[] NOT NULL DEFAULT '{}',
    -- What the broker typed, per item: {input, code, inferred}; code NULL when nothing in the catalogue fits.
    occupations         jsonb NOT NULL DEFAULT '[]'::jsonb,
    occupation_terms    text[] NOT NULL DEFAULT '{}',
    skills              text[] NOT NULL DEFAULT '{}',
    certificates        text[] NOT NULL DEFAULT '{}',
    labour_brand        text,
    experience_years    int,
    education           text,
    desired_adcodes     text[] NOT NULL DEFAULT '{}',
    willing_to_relocate boolean NOT NULL DEFAULT false,
    max_commute_km      double precision,
    expected_wage_min   numeric,
    expected_wage_max   numeric,
    expected_wage_unit  text CHECK (expected_wage_unit IN ('hour', 'day', 'month', 'piece')),
    available_from      date,
    available_until     date,
    work_types          text[] NOT NULL DEFAULT '{}',
    consent_share_with_enterprises boolean NOT NULL DEFAULT false,
    consent_contact_by_sms boolean NOT NULL DEFAULT false,
    consent_given_at    timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    erased_at           timestamptz,
    -- A live profile has its personal data and core fields; a tombstone has none of the personal data.
    CHECK (status = 'erased' OR (name_enc IS NOT NULL AND id_number_enc IS NOT NULL AND id_number_bidx IS NOT NULL
                                 AND phone_enc IS NOT NULL AND phone_bidx IS NOT NULL AND home_adcode IS NOT NULL
                                 AND available_from IS NOT NULL)),
    CHECK (status <> 'erased' OR (erased_at IS NOT NULL AND name_enc IS NULL AND id_number_enc IS NULL
                                  AND id_number_bidx IS NULL AND phone_enc IS NULL AND phone_bidx IS NULL
                                  AND notes_enc IS NULL AND gender IS NULL AND birth_date IS NULL
                                  AND external_ref IS NULL))
);
-- One live profile per person across all brokers (policy: detected and reported, not stored twice).
CREATE UNIQUE INDEX worker_profiles_person ON worker_profiles (id_number_bidx) WHERE id_number_bidx IS NOT NULL;
CREATE UNIQUE INDEX worker_profiles_external_ref ON worker_profiles (broker_org_id, external_ref)
    WHERE external_ref IS NOT NULL;
CREATE INDEX worker_profiles_phone ON worker_profiles (phone_bidx) WHERE phone_bidx IS NOT NULL;
-- The broker's list, newest first (keyset pagination on (created_at, id)).
CREATE INDEX worker_profiles_broker_list ON worker_profiles (broker_org_id, created_at DESC, id DESC)
    WHERE status <> 'erased';
CREATE INDEX worker_profiles_occupations ON worker_profiles USING gin (occupation_codes);

CREATE TABLE job_postings (
    id                  uuid PRIMARY KEY,
    org_id              uuid NOT NULL REFERENCES organisations (id),
    status              text NOT NULL CHECK (status IN ('open', 'pending_review', 'closed', 'expired')),
    external_ref        text,
    title               text NOT NULL,
    description         text NOT NULL DEFAULT '',
    occupation_code     text NOT NULL,
    occupation_inferred boolean NOT NULL DEFAULT false,
    headcount           int NOT NULL CHECK (headcount > 0),
    adcode              text NOT NULL,
    address             text,
    lat                 double precision,
    lng                 double precision,
    wage_min            numeric NOT NULL,
    wage_max            numeric NOT NULL,
    wage_unit           text NOT NULL CHECK (wage_unit IN ('hour', 'day', 'month', 'piece')),
    work_type           text NOT NULL CHECK (work_type IN ('full_time', 'seasonal', 'gig', 'daily')),
    start_date          date NOT NULL,
    end_date            date,
    benefits            text[] NOT NULL DEFAULT '{}',
    required_certificates text[] NOT NULL DEFAULT '{}',
    age_min             int,
    age_max             int,
    -- The enterprise's recruiting contact: shown to callers allowed to read the posting, never indexed.
    contact             jsonb,
    expires_at          timestamptz NOT NULL,
    -- Compliance findings of the last check ({rule_id, field, message_zh, message_en, excerpt, outcome}).
    compliance_findings jsonb NOT NULL DEFAULT '[]'::jsonb,
    -- Hold findings an authority approved: an edit that raises only these does not go back to review.
    approved_findings   jsonb NOT NULL DEFAULT '[]'::jsonb,
    review_decision     text CHECK (review_decision IN ('approve', 'reject')),
    review_note         text,
    reviewed_by_org_id  uuid REFERENCES organisations (id),
    reviewed_at         timestamptz,
    closed_at           timestamptz,
    closed_reason       text CHECK (closed_reason IN ('closed_by_owner', 'rejected_in_review')),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CHECK (wage_min > 0 AND wage_max >= wage_min),
    CHECK (end_date IS NULL OR end_date >= start_date),
    CHECK ((lat IS NULL) = (lng IS NULL))
);
CREATE UNIQUE INDEX job_postings_external_ref ON job_postings (org_id, external_ref) WHERE external_ref IS NOT NULL;
CREATE INDEX job_postings_org_list ON job_postings (org_id, created_at DESC, id DESC);
CREATE INDEX job_postings_review_list ON job_postings (created_at DESC, id DESC) WHERE status = 'pending_review';
-- The expiry sweep reads only live postings.
CREATE INDEX job_postings_expiry ON job_postings (expires_at) WHERE status IN ('open', 'pending_review');
CREATE INDEX job_postings_occupation ON job_postings (occupation_code);
