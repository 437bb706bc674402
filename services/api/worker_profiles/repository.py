"""SQL for worker profiles (and the personal-data access log they write)."""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

import asyncpg
import orjson

from services.api.pagination import Position

_COLUMNS = """id, broker_org_id, status, external_ref, name_enc, id_number_enc, id_number_bidx, phone_enc,
              phone_bidx, notes_enc, gender, birth_date, home_adcode, current_adcode, occupation_codes,
              occupations, occupation_terms, skills, certificates, labour_brand, experience_years, education,
              desired_adcodes, willing_to_relocate, max_commute_km, expected_wage_min, expected_wage_max,
              expected_wage_unit, available_from, available_until, work_types, consent_share_with_enterprises,
              consent_contact_by_sms, consent_given_at, created_at, updated_at, erased_at,
              -- issue 9 (credit): held for review (grade-D broker) and the broker's ledger points (→ grade)
              held_for_review, (SELECT COALESCE(sum(e.points), 0)::int FROM credit_events e
                                 WHERE e.org_id = worker_profiles.broker_org_id) AS credit_points"""


@dataclass(slots=True)  # not frozen: built once per imported row, and a frozen __init__ costs more
class WorkerRow:
    """The values a live profile is written with: personal data already encrypted."""

    status: str
    external_ref: str | None
    name_enc: bytes
    id_number_enc: bytes
    id_number_bidx: bytes
    phone_enc: bytes
    phone_bidx: bytes
    notes_enc: bytes | None
    gender: str
    birth_date: date
    home_adcode: str
    current_adcode: str | None
    occupation_codes: list[str]
    occupations: list[dict[str, Any]]
    occupation_terms: list[str]
    skills: list[str]
    certificates: list[str]
    labour_brand: str | None
    experience_years: int | None
    education: str | None
    desired_adcodes: list[str]
    willing_to_relocate: bool
    max_commute_km: float | None
    expected_wage_min: float | None
    expected_wage_max: float | None
    expected_wage_unit: str | None
    available_from: date
    available_until: date | None
    work_types: list[str]
    consent_share_with_enterprises: bool
    consent_contact_by_sms: bool
    consent_given_at: datetime

    def values(self) -> tuple[Any, ...]:
        values: tuple[Any, ...] = _write_values(self)
        return values


_WRITE_FIELDS: tuple[str, ...] = tuple(WorkerRow.__dataclass_fields__)
_write_values = operator.attrgetter(*_WRITE_FIELDS)  # the fields in order, as one tuple


async def insert(conn: asyncpg.Connection, worker_id: UUID, broker_org_id: UUID, row: WorkerRow) -> asyncpg.Record:
    names = ", ".join(_WRITE_FIELDS)
    params = ", ".join(f"${i}" for i in range(3, len(_WRITE_FIELDS) + 3))
    record = await conn.fetchrow(
        f"INSERT INTO worker_profiles (id, broker_org_id, {names}) VALUES ($1, $2, {params}) RETURNING {_COLUMNS}",
        worker_id, broker_org_id, *row.values(),
    )
    assert record is not None
    return record


async def update(conn: asyncpg.Connection, worker_id: UUID, row: WorkerRow) -> asyncpg.Record:
    assignments = ", ".join(f"{name} = ${i}" for i, name in enumerate(_WRITE_FIELDS, start=2))
    record = await conn.fetchrow(
        f"UPDATE worker_profiles SET {assignments}, updated_at = now() WHERE id = $1 RETURNING {_COLUMNS}",
        worker_id, *row.values(),
    )
    assert record is not None
    return record


def _insert_sql() -> str:
    names = ", ".join(_WRITE_FIELDS)
    params = ", ".join(f"${i}" for i in range(3, len(_WRITE_FIELDS) + 3))
    return f"INSERT INTO worker_profiles (id, broker_org_id, {names}) VALUES ($1, $2, {params})"


def _update_sql() -> str:
    assignments = ", ".join(f"{name} = ${i}" for i, name in enumerate(_WRITE_FIELDS, start=2))
    return f"UPDATE worker_profiles SET {assignments}, updated_at = now() WHERE id = $1"


_INSERT_MANY = _insert_sql()
_UPDATE_MANY = _update_sql()


# Above this many rows an insert goes through COPY into a temporary staging table (a few more round trips, but
# binary COPY costs a fraction of executemany's per-row bind/execute, in this process and in PostgreSQL).
COPY_THRESHOLD = 50
_STAGING = "worker_profiles_staging"
_OCCUPATIONS_AT = _WRITE_FIELDS.index("occupations")
# Same columns as the insert; `occupations` as text because binary COPY cannot use the pool's jsonb text codec.
# Session-scoped (a pooled connection keeps it), emptied at every commit and by the insert that reads it.
_CREATE_STAGING = (
    f"CREATE TEMP TABLE IF NOT EXISTS {_STAGING} ON COMMIT DELETE ROWS AS SELECT id, broker_org_id, "
    + ", ".join("occupations::text AS occupations" if n == "occupations" else n for n in _WRITE_FIELDS)
    + " FROM worker_profiles WITH NO DATA")
_INSERT_FROM_STAGING = (
    f"WITH staged AS (DELETE FROM {_STAGING} RETURNING *) "
    f"INSERT INTO worker_profiles (id, broker_org_id, {', '.join(_WRITE_FIELDS)}) SELECT id, broker_org_id, "
    + ", ".join("occupations::jsonb" if n == "occupations" else n for n in _WRITE_FIELDS)
    + " FROM staged")


async def insert_many(conn: asyncpg.Connection, broker_org_id: UUID, rows: Sequence[tuple[UUID, WorkerRow]]) -> None:
    """Many new profiles: executemany (one pipelined round trip) for a few, COPY through a staging table for
    an import batch. Unique violations surface from the final INSERT either way."""
    if not rows:
        return
    if len(rows) < COPY_THRESHOLD:
        await conn.executemany(_INSERT_MANY, [(worker_id, broker_org_id, *row.values()) for worker_id, row in rows])
        return
    records = []
    for worker_id, row in rows:
        values = list(row.values())
        values[_OCCUPATIONS_AT] = orjson.dumps(values[_OCCUPATIONS_AT]).decode()
        records.append((worker_id, broker_org_id, *values))
    await conn.execute(_CREATE_STAGING)
    await conn.copy_records_to_table(_STAGING, records=records, columns=("id", "broker_org_id", *_WRITE_FIELDS))
    await conn.execute(_INSERT_FROM_STAGING)


async def update_many(conn: asyncpg.Connection, rows: Sequence[tuple[UUID, WorkerRow]]) -> None:
    if rows:
        await conn.executemany(_UPDATE_MANY, [(worker_id, *row.values()) for worker_id, row in rows])


async def ids_by_external_ref(conn: asyncpg.Connection, broker_org_id: UUID,
                              external_refs: Sequence[str]) -> dict[str, UUID]:
    """The broker's profiles holding any of `external_refs` (one query for a whole import batch)."""
    if not external_refs:
        return {}
    # A join on unnest, not `external_ref = ANY($2)`: asyncpg's prepared statement gets a generic plan after five
    # runs, and with ANY over a parameter PostgreSQL cannot use the partial unique index (it scanned every
    # profile of the broker per batch: quadratic in the size of an import). The join probes the index per ref.
    rows = await conn.fetch(
        """SELECT w.external_ref, w.id FROM unnest($2::text[]) AS r(ref)
             JOIN worker_profiles w
               ON w.broker_org_id = $1 AND w.external_ref IS NOT NULL AND w.external_ref = r.ref""",
        broker_org_id, list(external_refs))
    return {r["external_ref"]: r["id"] for r in rows}


async def holders_by_person(conn: asyncpg.Connection, id_number_bidxs: Sequence[bytes]) -> dict[bytes, asyncpg.Record]:
    """Live profiles (any broker) of any of these people, by blind index → (id, broker_org_id)."""
    if not id_number_bidxs:
        return {}
    rows = await conn.fetch(
        """SELECT w.id_number_bidx, w.id, w.broker_org_id FROM unnest($1::bytea[]) AS p(bidx)
             JOIN worker_profiles w ON w.id_number_bidx IS NOT NULL AND w.id_number_bidx = p.bidx""",
        list(id_number_bidxs))
    return {bytes(r["id_number_bidx"]): r for r in rows}


async def get_many_for_update(conn: asyncpg.Connection, worker_ids: Sequence[UUID]) -> dict[UUID, asyncpg.Record]:
    """Full rows, locked in id order (two importers touching the same profiles cannot deadlock)."""
    if not worker_ids:
        return {}
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM worker_profiles WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE",
        sorted(set(worker_ids)))
    return {r["id"]: r for r in rows}


async def get(conn: asyncpg.Connection, worker_id: UUID, *, for_update: bool = False) -> asyncpg.Record | None:
    lock = " FOR UPDATE" if for_update else ""
    return await conn.fetchrow(f"SELECT {_COLUMNS} FROM worker_profiles WHERE id = $1{lock}", worker_id)


async def get_many(conn: asyncpg.Connection, worker_ids: Sequence[UUID]) -> list[asyncpg.Record]:
    return list(await conn.fetch(f"SELECT {_COLUMNS} FROM worker_profiles WHERE id = ANY($1::uuid[])",
                                 list(worker_ids)))


async def share_locked(conn: asyncpg.Connection, worker_ids: Sequence[UUID]) -> list[asyncpg.Record]:
    """The indexability columns of these profiles, locked against changes until the transaction ends (in id
    order, as every caller locks them): a notice recorded in that transaction cannot follow a withdrawal of
    consent, an erasure or a placement that committed first."""
    return list(await conn.fetch(
        """SELECT id, status, consent_share_with_enterprises, held_for_review FROM worker_profiles
            WHERE id = ANY($1::uuid[]) ORDER BY id FOR SHARE""", sorted(set(worker_ids))))


# What a search document and the indexability rule read (services/indexing/documents.py): no personal data, no
# credit subquery. The indexer reads thousands of rows per import batch; the full row costs several times more.
_INDEX_COLUMNS = """id, broker_org_id, status, held_for_review, birth_date, home_adcode, current_adcode,
                    occupation_codes, occupation_terms, skills, certificates, labour_brand, experience_years,
                    desired_adcodes, willing_to_relocate, max_commute_km, expected_wage_min, expected_wage_max,
                    expected_wage_unit, available_from, available_until, work_types,
                    consent_share_with_enterprises, updated_at"""


async def get_many_for_index(conn: asyncpg.Connection, worker_ids: Sequence[UUID]) -> list[asyncpg.Record]:
    return list(await conn.fetch(f"SELECT {_INDEX_COLUMNS} FROM worker_profiles WHERE id = ANY($1::uuid[])",
                                 list(worker_ids)))


def index_row_of(worker_id: UUID, broker_org_id: UUID, row: WorkerRow, *, status: str, held_for_review: bool,
                 updated_at: datetime) -> dict[str, Any]:
    """What `get_many_for_index` reads for a profile just written with `row` (by insert_many / update_many in
    a transaction whose `now()` is `updated_at`), without reading it back: the bulk importer indexes a
    committed batch from memory. Same keys and values as the query's record (a test holds them equal)."""
    return {"id": worker_id, "broker_org_id": broker_org_id, "status": status, "held_for_review": held_for_review,
            "birth_date": row.birth_date, "home_adcode": row.home_adcode, "current_adcode": row.current_adcode,
            "occupation_codes": row.occupation_codes, "occupation_terms": row.occupation_terms,
            "skills": row.skills, "certificates": row.certificates, "labour_brand": row.labour_brand,
            "experience_years": row.experience_years, "desired_adcodes": row.desired_adcodes,
            "willing_to_relocate": row.willing_to_relocate, "max_commute_km": row.max_commute_km,
            "expected_wage_min": row.expected_wage_min, "expected_wage_max": row.expected_wage_max,
            "expected_wage_unit": row.expected_wage_unit, "available_from": row.available_from,
            "available_until": row.available_until, "work_types": row.work_types,
            "consent_share_with_enterprises": row.consent_share_with_enterprises, "updated_at": updated_at}


async def changed_since_written(conn: asyncpg.Connection, written: Sequence[tuple[UUID, datetime]]) -> set[UUID]:
    """Of these profiles, each written by a transaction whose `now()` is given, those changed by another write
    since (every later write of a profile stamps `updated_at` with its own transaction's `now()`) or gone."""
    if not written:
        return set()
    rows = await conn.fetch(
        """SELECT t.id FROM unnest($1::uuid[], $2::timestamptz[]) AS t(id, written_at)
             LEFT JOIN worker_profiles w ON w.id = t.id
            WHERE w.id IS NULL OR w.updated_at IS DISTINCT FROM t.written_at""",
        [worker_id for worker_id, _ in written], [at for _, at in written])
    return {r["id"] for r in rows}


async def find_live_by_person(conn: asyncpg.Connection, id_number_bidx: bytes) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT id, broker_org_id FROM worker_profiles WHERE id_number_bidx = $1",
                               id_number_bidx)


async def find_by_external_ref(conn: asyncpg.Connection, broker_org_id: UUID,
                               external_ref: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM worker_profiles WHERE broker_org_id = $1 AND external_ref = $2",
        broker_org_id, external_ref)


async def list_for_broker(conn: asyncpg.Connection, broker_org_id: UUID, *, after: Position | None,
                          limit: int) -> list[asyncpg.Record]:
    """Newest first; `limit + 1` rows so the caller can tell whether another page follows."""
    if after is None:
        return list(await conn.fetch(
            f"""SELECT {_COLUMNS} FROM worker_profiles WHERE broker_org_id = $1 AND status <> 'erased'
                ORDER BY created_at DESC, id DESC LIMIT $2""", broker_org_id, limit + 1))
    return list(await conn.fetch(
        f"""SELECT {_COLUMNS} FROM worker_profiles WHERE broker_org_id = $1 AND status <> 'erased'
              AND (created_at, id) < ($2, $3)
            ORDER BY created_at DESC, id DESC LIMIT $4""", broker_org_id, after.created_at, after.id, limit + 1))


async def erase(conn: asyncpg.Connection, worker_id: UUID) -> asyncpg.Record:
    """Remove every personal and profile value, keep the tombstone (id, broker, times)."""
    record = await conn.fetchrow(
        f"""UPDATE worker_profiles SET
                status = 'erased', external_ref = NULL, name_enc = NULL, id_number_enc = NULL,
                id_number_bidx = NULL, phone_enc = NULL, phone_bidx = NULL, notes_enc = NULL, gender = NULL,
                birth_date = NULL, home_adcode = NULL, current_adcode = NULL, occupation_codes = '{{}}',
                occupations = '[]'::jsonb, occupation_terms = '{{}}', skills = '{{}}', certificates = '{{}}',
                labour_brand = NULL, experience_years = NULL, education = NULL, desired_adcodes = '{{}}',
                willing_to_relocate = false, max_commute_km = NULL, expected_wage_min = NULL,
                expected_wage_max = NULL, expected_wage_unit = NULL, available_from = NULL,
                available_until = NULL, work_types = '{{}}', consent_share_with_enterprises = false,
                consent_contact_by_sms = false, consent_given_at = NULL,
                erased_at = now(), updated_at = now()
            WHERE id = $1 RETURNING {_COLUMNS}""", worker_id)
    assert record is not None
    return record


async def set_status(conn: asyncpg.Connection, worker_id: UUID, status: str, *,
                     only_from: Sequence[str] | None = None) -> asyncpg.Record | None:
    """Move a live profile to `status` (from one of `only_from`, if given). None: erased, missing, not in
    `only_from`, or already in `status`."""
    return await conn.fetchrow(
        """UPDATE worker_profiles SET status = $2, updated_at = now()
            WHERE id = $1 AND status <> 'erased' AND status <> $2 AND ($3::text[] IS NULL OR status = ANY($3::text[]))
            RETURNING id, status""", worker_id, status, None if only_from is None else list(only_from))


async def forget_idempotent_responses(conn: asyncpg.Connection, worker_id: UUID) -> None:
    # A stored create response holds the name (and masked ID/phone): erasure must not leave it behind.
    await conn.execute("DELETE FROM idempotency_records WHERE response_body->>'id' = $1", str(worker_id))


async def shown_to_enterprises(conn: asyncpg.Connection, worker_ids: Sequence[UUID]) -> set[UUID]:
    """Of these profiles, the ones an enterprise may be shown now: the row's side of the indexability rule
    (services/indexing/documents.py::worker_is_indexable), read here because the workers index lags the row."""
    rows = await conn.fetch(
        """SELECT id FROM worker_profiles
            WHERE id = ANY($1::uuid[]) AND status = 'available' AND consent_share_with_enterprises
              AND NOT held_for_review""", list(worker_ids))
    return {r["id"] for r in rows}


async def brokers_unlicensed_on(conn: asyncpg.Connection, today: date) -> list[UUID]:
    """Brokers whose HR-service licence has expired by `today` (or who hold none) and who still have available
    profiles. An expired licence blocks posting (issue 2), so their profiles are not offered to enterprises:
    matching leaves them out (services/api/matches/service.py). Only brokers with available profiles are
    named, which keeps the exclusion filter as short as the brokers it is for."""
    rows = await conn.fetch(
        """SELECT o.id FROM organisations o
            WHERE o.type = 'broker' AND (o.licence_valid_until IS NULL OR o.licence_valid_until < $1)
              AND EXISTS (SELECT 1 FROM worker_profiles w WHERE w.broker_org_id = o.id AND w.status = 'available')
            ORDER BY o.id""", today)
    return [r["id"] for r in rows]


async def available_ids_of_broker(conn: asyncpg.Connection, broker_org_id: UUID, *, after: UUID | None,
                                  limit: int) -> list[UUID]:
    """The broker's available profiles, by id, from after `after` on (a job matching them hands over by id)."""
    rows = await conn.fetch(
        """SELECT id FROM worker_profiles
            WHERE broker_org_id = $1 AND status = 'available' AND ($2::uuid IS NULL OR id > $2)
            ORDER BY id LIMIT $3""", broker_org_id, after, limit)
    return [r["id"] for r in rows]


# What an erased person's read log says instead of the reader's free-text purpose.
ERASED_PURPOSE = "已随档案删除 / erased with the profile"


async def forget_access_purposes(conn: asyncpg.Connection, worker_id: UUID) -> None:
    # Who read which fields of the person, and when, stays (policy clause 22); the reason given is free text
    # that may name them ("给张三打电话"), so it goes with the profile.
    await conn.execute(
        """UPDATE pii_access_log SET purpose = $2
            WHERE subject_kind = 'worker' AND subject_id = $1 AND purpose <> $2""", worker_id, ERASED_PURPOSE)


async def log_personal_data_access(conn: asyncpg.Connection, *, org_id: UUID, api_key_id: UUID | None,
                                   subject_id: UUID, fields: Sequence[str], purpose: str,
                                   request_id: str | None) -> datetime:
    at: datetime = await conn.fetchval(
        """INSERT INTO pii_access_log (org_id, api_key_id, subject_kind, subject_id, fields, purpose, request_id)
           VALUES ($1, $2, 'worker', $3, $4, $5, $6) RETURNING at""",
        org_id, api_key_id, subject_id, list(fields), purpose, request_id)
    return at


async def ids_with_occupations(conn: asyncpg.Connection, codes: Sequence[str], *, after: UUID | None,
                               limit: int) -> list[UUID]:
    """Live profiles holding any of `codes`, by id (keyset), for re-indexing after a catalogue change."""
    rows = await conn.fetch(
        """SELECT id FROM worker_profiles
            WHERE occupation_codes && $1::text[] AND status <> 'erased' AND ($2::uuid IS NULL OR id > $2)
            ORDER BY id LIMIT $3""", list(codes), after, limit)
    return [r["id"] for r in rows]


async def ids_with_numbers_in_free_text(conn: asyncpg.Connection, *, after: UUID | None, limit: int) -> list[UUID]:
    """Live profiles with 11 or more digits (ASCII or full-width) in one item of their skills or certificates or in
    their labour brand, by id (keyset): the only documents whose masking (`mask_numbers_in_free_text`: fewer digits
    hold no ID or mobile number) a change to it can change. Migration 0021 selects with the same condition."""
    rows = await conn.fetch(
        """SELECT id FROM worker_profiles p
            WHERE p.status <> 'erased' AND ($1::uuid IS NULL OR p.id > $1)
              AND EXISTS (SELECT 1 FROM unnest(p.skills || p.certificates || p.labour_brand) AS t(item)
                           WHERE length(t.item) >= 11
                             AND length(t.item) - length(translate(t.item, '0123456789０１２３４５６７８９', '')) >= 11)
            ORDER BY p.id LIMIT $2""", after, limit)
    return [r["id"] for r in rows]


# Items of `occupations` typed as text: inferred, or not recognised (code null). Migration 0022 selects the same.
_FREE_TEXT_OCCUPATION = "$[*] ? (@.inferred == true || @.code == null)"


async def free_text_occupations_page(conn: asyncpg.Connection, *, after: UUID | None,
                                     limit: int) -> list[asyncpg.Record]:
    """Live profiles with an occupation typed as free text, by id (keyset), with their `occupations`: for inferring
    them again (workers/reinference_tasks.py)."""
    records: list[asyncpg.Record] = await conn.fetch(
        """SELECT id, occupations FROM worker_profiles
            WHERE status <> 'erased' AND occupations @? $1::jsonpath AND ($2::uuid IS NULL OR id > $2)
            ORDER BY id LIMIT $3""", _FREE_TEXT_OCCUPATION, after, limit)
    return records


async def set_occupations(conn: asyncpg.Connection, worker_id: UUID, occupations: list[dict[str, Any]], *,
                          codes: list[str], terms: list[str], was: list[dict[str, Any]]) -> bool:
    """Replace a live profile's resolved occupations, only if they are still `was` (a broker's edit committed
    meanwhile resolved its own). `updated_at` stays: the broker changed nothing (matches order by it)."""
    status: str = await conn.execute(
        """UPDATE worker_profiles SET occupations = $2, occupation_codes = $3, occupation_terms = $4
            WHERE id = $1 AND occupations = $5 AND status <> 'erased'""", worker_id, occupations, codes, terms, was)
    return status == "UPDATE 1"


async def ids_after(conn: asyncpg.Connection, *, after: UUID | None, limit: int) -> list[UUID]:
    rows = await conn.fetch(
        "SELECT id FROM worker_profiles WHERE ($1::uuid IS NULL OR id > $1) ORDER BY id LIMIT $2", after, limit)
    return [r["id"] for r in rows]
