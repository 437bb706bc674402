-- Bulk imports of worker profiles and job postings (CSV, XLSX, NDJSON), processed by the arq worker.
--
-- The upload is stored in PostgreSQL, encrypted (it holds ID numbers and phones in clear), in 1 MiB chunks
-- written in the same transaction as the import row and its outbox row: a crash of the API or the worker
-- loses nothing, and there is no shared disk between API and worker hosts to keep in step. The chunks are
-- deleted once the import has finished, so personal data in the upload does not outlive its processing.

CREATE TABLE imports (
    id              uuid PRIMARY KEY,
    org_id          uuid NOT NULL REFERENCES organisations (id),
    api_key_id      uuid REFERENCES api_keys (id),
    kind            text NOT NULL CHECK (kind IN ('workers', 'jobs')),
    format          text NOT NULL CHECK (format IN ('csv', 'xlsx', 'ndjson')),
    filename        text,
    byte_size       bigint NOT NULL CHECK (byte_size >= 0),
    sha256          bytea NOT NULL,
    -- The character encoding the reader found (utf-8, utf-8-sig, gb18030); null until known.
    encoding        text,
    status          text NOT NULL DEFAULT 'queued'
                    CHECK (status IN ('queued', 'processing', 'completed', 'failed')),
    -- Why a whole import failed (empty file, unknown columns …): never contains personal data.
    detail          text,
    total           int NOT NULL DEFAULT 0,
    created         int NOT NULL DEFAULT 0,
    updated         int NOT NULL DEFAULT 0,
    unchanged       int NOT NULL DEFAULT 0,
    rejected        int NOT NULL DEFAULT 0,
    -- The last source row whose outcome is committed. A batch and this checkpoint commit together, so a
    -- worker that dies resumes after it without storing a row twice.
    checkpoint_row  int NOT NULL DEFAULT 0,
    batches         int NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    started_at      timestamptz,
    finished_at     timestamptz,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX imports_org ON imports (org_id, created_at DESC);

CREATE TABLE import_chunks (
    import_id       uuid NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
    seq             int NOT NULL,
    data            bytea NOT NULL,
    PRIMARY KEY (import_id, seq)
);
-- Ciphertext does not compress: skip TOAST's compression attempt.
ALTER TABLE import_chunks ALTER COLUMN data SET STORAGE EXTERNAL;

-- Row-level errors. Messages name the field and the rule, never the value.
CREATE TABLE import_errors (
    id              bigserial PRIMARY KEY,
    import_id       uuid NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
    row_number      int NOT NULL,
    field           text,
    message         text NOT NULL
);
CREATE INDEX import_errors_import ON import_errors (import_id, row_number, id);

-- Entities one committed batch touched, by outbox topic, so that one outbox row (one arq job) per batch does
-- the follow-up work (indexing …) of up to a few hundred records.
CREATE TABLE import_batches (
    import_id       uuid NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
    batch_no        int NOT NULL,
    topic           text NOT NULL,
    entity_ids      text[] NOT NULL,
    PRIMARY KEY (import_id, batch_no, topic)
);
