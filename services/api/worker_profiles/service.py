"""Worker profiles: validation, personal-data protection, de-duplication, erasure.

Service functions take a parsed schema, a connection (inside the caller's transaction) and a WorkerContext,
so the HTTP routes and the bulk importer (one call per row) share every rule. Each change records a
`worker.index` outbox row in the same transaction; the indexer reads the current row after commit.

Personal data: name, ID number, phone and notes are encrypted with AES-256-GCM bound to the column and the
profile id (a blob copied to another row or column does not decrypt); ID number and phone also get a keyed
blind index. Error messages and logs never carry the values (`repr=False` on the schema fields,
identity errors without the number, conflicts without the other broker).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID, uuid4

import asyncpg
from pydantic import ValidationError

from matching.certificates import canonical_certificates
from matching.identity import (
    InvalidIdNumber,
    InvalidPhone,
    age_on,
    mask_id_number,
    mask_phone,
    parse_id_number,
    parse_mobile,
)
from matching.visible_text import visible_length
from services.api.auth.caller import Caller
from services.api.china_calendar import CHINA_TZ, china_today
from services.api.credit.service import DEFAULT_POLICY, CreditPolicy, credit_policy, hold_new_profile_if_grade_d
from services.api.jobs.occupation_inference import ResolvedOccupation, resolve_worker_occupation
from services.api.jobs.schemas import Wage
from services.api.notifications import erasure as notification_erasure
from services.api.pagination import Position, decode_cursor, encode_cursor, list_scope
from services.api.placements import repository as placements_repository
from services.api.plausible_dates import AVAILABILITY_YEARS_AHEAD, CONSENT_CLOCK_SKEW, latest_availability
from services.api.problems import (
    Conflict,
    FieldError,
    Forbidden,
    InvalidInput,
    NotFound,
    ProblemError,
    ServiceUnavailable,
    field_errors,
)
from services.api.regions.service import area_problem, county_errors
from services.api.sealed_text import printable_text
from services.api.settings import ApiSettings
from services.api.worker_profiles import repository
from services.api.worker_profiles.repository import WorkerRow
from services.api.worker_profiles.schemas import (
    Consent,
    OccupationOut,
    PersonalDataOut,
    ProfileWarning,
    WorkerFields,
    WorkerList,
    WorkerOut,
    WorkerPatch,
    identity_message,
)
from services.indexing.catalogue_source import CatalogueSnapshot, current_catalogue
from services.outbox.recorder import OutboxRecorder
from services.privacy.cipher import PersonalDataCipher, PrivacyError

INDEX_TOPIC = "worker.index"
NOT_A_CODE = "不是职业分类大典的代码 / not an occupation code of the 2022 classification"
LIST_SCOPE = "workers"
PERSONAL_FIELDS: tuple[str, ...] = ("name", "id_number", "phone", "notes")
MIN_PURPOSE_CHARACTERS = 2  # what the audit log must say at least about why full values were read
_CIPHER_KEY = "privacy.cipher"


@dataclass(frozen=True, slots=True)
class WorkerContext:
    cipher: PersonalDataCipher
    catalogue: CatalogueSnapshot
    outbox: OutboxRecorder
    today: date
    credit: CreditPolicy = DEFAULT_POLICY  # grade thresholds (issue 9)
    # Typed trade word → its resolution under `catalogue` (jieba segmentation is the costly part; an import
    # repeats the same few hundred words). Lives and dies with this context, i.e. with its catalogue snapshot.
    occupations_seen: dict[str, ResolvedOccupation | None] = dataclasses.field(default_factory=dict, compare=False,
                                                                             repr=False)

    def resolve_occupation(self, item: str) -> ResolvedOccupation | None:
        try:
            return self.occupations_seen[item]
        except KeyError:
            pass
        snapshot = self.catalogue
        resolved = resolve_worker_occupation(item, snapshot.catalogue, snapshot.analyzer, snapshot.occupations)
        if len(self.occupations_seen) >= _OCCUPATION_CACHE_SIZE:
            self.occupations_seen.clear()
        self.occupations_seen[item] = resolved
        return resolved


_OCCUPATION_CACHE_SIZE = 50_000


def personal_data_cipher(settings: ApiSettings, extensions: dict[str, Any]) -> PersonalDataCipher:
    """The process's cipher, built once from settings. Missing or bad keys → 503, never plaintext storage."""
    cipher = extensions.get(_CIPHER_KEY)
    if cipher is None:
        try:
            cipher = PersonalDataCipher.from_settings(settings.pii_keyring.get_secret_value(),
                                                      settings.pii_active_key_id,
                                                      settings.pii_blind_index_key.get_secret_value())
        except PrivacyError:
            raise ServiceUnavailable("个人信息加密密钥未配置 / personal-data keys are not configured") from None
        extensions[_CIPHER_KEY] = cipher
    assert isinstance(cipher, PersonalDataCipher)
    return cipher


async def build_context(settings: ApiSettings, extensions: dict[str, Any], outbox: OutboxRecorder,
                        *, today: date | None = None) -> WorkerContext:
    return WorkerContext(cipher=personal_data_cipher(settings, extensions),
                         catalogue=await current_catalogue(extensions), outbox=outbox,
                         today=today or china_today(), credit=credit_policy(settings))


# ------------------------------------------------------------------------------------------ access rules


def ensure_may_post(caller: Caller, today: date) -> None:
    """Issue 2: a broker whose HR-service licence has expired may not post or change profiles."""
    if caller.role != "broker":
        raise Forbidden("需要劳务经纪人角色 / requires role broker")
    if not caller.licence_valid_on(today):
        raise Forbidden("人力资源服务许可证已过期，暂停发布 / the broker's HR-service licence has expired; "
                        "renew it before posting or changing worker profiles",
                        extra={"reason": "licence_expired"})


def ensure_may_read_personal_data(caller: Caller, today: date) -> None:
    """Full ID numbers and phones are for a broker still licensed to place people (policy clause 21: a lapsed
    agency may not act as one); masked views and erasure stay open to it."""
    if not caller.licence_valid_on(today):
        raise Forbidden("人力资源服务许可证已过期，不能查看完整个人信息 / the broker's HR-service licence has expired; "
                        "full personal data can be read again once it is renewed",
                        extra={"reason": "licence_expired"})


def _not_found() -> NotFound:
    # Another broker's profile is answered exactly like a missing one: existence is not disclosed.
    return NotFound("没有此求职者 / no such worker profile")


async def _owned(conn: asyncpg.Connection, caller: Caller, worker_id: UUID, *,
                 for_update: bool = False) -> asyncpg.Record:
    record = await repository.get(conn, worker_id, for_update=for_update)
    if record is None or record["broker_org_id"] != caller.org_id:
        raise _not_found()
    return record


# ------------------------------------------------------------------------------------------- validation


@dataclass(frozen=True, slots=True)
class ValidatedWorker:
    """A profile that passed every rule, with normalised personal data, before encryption."""

    fields: WorkerFields
    id_number: str
    phone: str
    gender: Literal["male", "female"]
    birth_date: date
    occupations: list[dict[str, Any]]  # {input, code, inferred}

    @property
    def occupation_codes(self) -> list[str]:
        return occupation_codes_of(self.occupations)

    @property
    def occupation_terms(self) -> list[str]:
        return occupation_terms_of(self.occupations)


def occupation_codes_of(occupations: list[dict[str, Any]]) -> list[str]:
    """The `occupation_codes` column of resolved occupations: each code once, in the broker's order."""
    return list(dict.fromkeys(o["code"] for o in occupations if o["code"] is not None))


def occupation_terms_of(occupations: list[dict[str, Any]]) -> list[str]:
    """The `occupation_terms` column: what was typed that no catalogue trade fits (matched against aliases)."""
    return [o["input"] for o in occupations if o["code"] is None]


def parse_fields(data: dict[str, Any]) -> WorkerFields:
    """A dict (merged PATCH, an import row) → WorkerFields, or InvalidInput with one error per field."""
    try:
        return WorkerFields.model_validate(data)
    except ValidationError as exc:
        errors = field_errors(exc)
        raise InvalidInput(f"{len(errors)} 个字段无效 / {len(errors)} field(s) invalid", errors=errors) from None


def validate_worker(body: WorkerFields, ctx: WorkerContext) -> ValidatedWorker:
    """Every rule beyond the schema's shape; all failures at once, as per-field errors."""
    errors: list[FieldError] = []
    id_number: str | None = None
    birth: date | None = None
    id_gender: Literal["male", "female"] | None = None
    try:
        parsed = parse_id_number(body.id_number, today=ctx.today)
        id_number, birth, id_gender = parsed.value, parsed.birth_date, parsed.gender
    except InvalidIdNumber as exc:
        errors.append(FieldError(field="id_number", message=identity_message(exc)))
    phone: str | None = None
    try:
        phone = parse_mobile(body.phone)
    except InvalidPhone as exc:
        errors.append(FieldError(field="phone", message=identity_message(exc)))
    if body.gender is not None and id_gender is not None and body.gender != id_gender:
        errors.append(FieldError(field="gender", message="性别与身份证号不符 / gender does not match the ID number"))

    regions = ctx.catalogue.regions
    errors += county_errors([("home_adcode", body.home_adcode), ("current_adcode", body.current_adcode)], regions)
    # Desired places are areas: a city or province there means anywhere in it (matching compares the job's
    # county and its city with them), so any known code is fine.
    for i, adcode in enumerate(body.desired_adcodes):
        if (problem := area_problem(adcode, regions)) is not None:
            errors.append(FieldError(field=f"desired_adcodes[{i}]", message=problem))

    latest = latest_availability(ctx.today)  # plausible_dates: the bounds and why
    years = AVAILABILITY_YEARS_AHEAD
    if body.available_from > latest:
        errors.append(FieldError(field="available_from", message=f"不能晚于 {latest}（今天起 {years} 年内）/ must be "
                                                                 f"at most {years} years from today ({latest})"))
    if body.available_until is not None:
        if body.available_until < body.available_from:
            errors.append(FieldError(field="available_until",
                                     message="不能早于 available_from / must not be before available_from"))
        elif body.available_until < ctx.today:
            errors.append(FieldError(field="available_until",
                                     message="已经过去 / is in the past: the person is no longer available"))
        elif body.available_until > latest:
            errors.append(FieldError(field="available_until", message=(
                f"不能晚于 {latest}（今天起 {years} 年内），没有截止日期请留空 / must be at most {years} years from "
                f"today ({latest}); leave it empty when the person has no end date")))
    if body.consent.given_at > datetime.now(CHINA_TZ) + CONSENT_CLOCK_SKEW:
        errors.append(FieldError(field="consent.given_at", message="同意时间在未来 / consent given in the future"))

    occupations: list[dict[str, Any]] = []
    for i, item in enumerate(body.occupations):
        resolved = ctx.resolve_occupation(item)
        if resolved is None:
            errors.append(FieldError(field=f"occupations[{i}]",
                                     message=NOT_A_CODE))
        elif not any(o["input"] == resolved.input for o in occupations):
            occupations.append({"input": resolved.input, "code": resolved.code, "inferred": resolved.inferred})

    if errors:
        raise InvalidInput(f"{len(errors)} 个字段无效 / {len(errors)} field(s) invalid", errors=errors)
    assert id_number is not None
    assert phone is not None
    assert birth is not None
    assert id_gender is not None
    # The gender is the ID number's; normalised here so a stored profile compares equal to its re-import.
    fields = body if body.gender == id_gender else body.model_copy(update={"gender": id_gender})
    return ValidatedWorker(fields=fields, id_number=id_number, phone=phone, gender=id_gender, birth_date=birth,
                           occupations=occupations)


def field_context(worker_id: UUID, field: str) -> str:
    return f"worker:{worker_id}:{field}"


def person_index(cipher: PersonalDataCipher, id_number: str) -> bytes:
    """Blind index of a normalised ID number: the same person gives the same bytes under any broker."""
    return cipher.blind_index(id_number, context="worker:id_number")


def _row(v: ValidatedWorker, worker_id: UUID, status: str, cipher: PersonalDataCipher, *,
         person: bytes | None = None) -> WorkerRow:
    """The values to write, personal data encrypted for this profile id (`person`: the blind index of the ID
    number, when the caller has it already)."""
    f = v.fields
    wage = f.expected_wage
    prefix = field_context(worker_id, "")  # + the field: the id is formatted once, not per field
    return WorkerRow(
        status=status, external_ref=f.external_ref,
        name_enc=cipher.encrypt(f.name, context=prefix + "name"),
        id_number_enc=cipher.encrypt(v.id_number, context=prefix + "id_number"),
        id_number_bidx=person if person is not None else person_index(cipher, v.id_number),
        phone_enc=cipher.encrypt(v.phone, context=prefix + "phone"),
        phone_bidx=cipher.blind_index(v.phone, context="worker:phone"),
        notes_enc=cipher.encrypt(f.notes, context=prefix + "notes") if f.notes else None,
        gender=v.gender, birth_date=v.birth_date, home_adcode=f.home_adcode, current_adcode=f.current_adcode,
        occupation_codes=v.occupation_codes, occupations=v.occupations, occupation_terms=v.occupation_terms,
        skills=list(dict.fromkeys(f.skills)), certificates=list(dict.fromkeys(f.certificates)),
        labour_brand=f.labour_brand, experience_years=f.experience_years, education=f.education,
        desired_adcodes=list(dict.fromkeys(f.desired_adcodes)), willing_to_relocate=f.willing_to_relocate,
        max_commute_km=f.max_commute_km,
        expected_wage_min=wage.min if wage else None, expected_wage_max=wage.max if wage else None,
        expected_wage_unit=wage.unit if wage else None,
        available_from=f.available_from, available_until=f.available_until,
        work_types=list(dict.fromkeys(f.work_types)),
        consent_share_with_enterprises=f.consent.share_with_enterprises,
        consent_contact_by_sms=f.consent.contact_by_sms, consent_given_at=f.consent.given_at,
    )


# ---------------------------------------------------------------------------------------------- output


def _decrypt(cipher: PersonalDataCipher, record: asyncpg.Record, field: str) -> str | None:
    blob = record[f"{field}_enc"]
    return None if blob is None else cipher.decrypt(blob, context=field_context(record["id"], field))


def _wage(record: asyncpg.Record) -> Wage | None:
    if record["expected_wage_unit"] is None:
        return None
    return Wage(min=float(record["expected_wage_min"]), max=float(record["expected_wage_max"]),
                unit=record["expected_wage_unit"])


def worker_out(record: asyncpg.Record, ctx: WorkerContext) -> WorkerOut:
    cipher, snapshot = ctx.cipher, ctx.catalogue
    id_number = _decrypt(cipher, record, "id_number")
    phone = _decrypt(cipher, record, "phone")
    occupations = []
    warnings = []
    for position, item in enumerate(record["occupations"]):
        code = item.get("code")
        entry = snapshot.catalogue.by_code(code) if code else None
        name = entry.name if entry else (snapshot.occupations.name_of(code) if code else None)
        occupations.append(OccupationOut(input=item["input"], code=code, name=name, inferred=item["inferred"]))
        if code is None:
            warnings.append(ProfileWarning(
                field=f"occupations[{position}]", code="occupation_not_recognised",
                message=f"未能识别工种「{item['input'][:20]}」，不参与按工种匹配；请改用目录中的工种名称或代码 / "
                        "not a trade of the catalogue: kept, but not matched by trade; use a catalogue name or code"))
    consent = None
    if record["consent_given_at"] is not None:
        consent = Consent(share_with_enterprises=record["consent_share_with_enterprises"],
                          contact_by_sms=record["consent_contact_by_sms"], given_at=record["consent_given_at"])
    return WorkerOut(
        id=record["id"], status=record["status"], external_ref=record["external_ref"],
        name=_decrypt(cipher, record, "name"),
        id_number=mask_id_number(id_number) if id_number else None,
        phone=mask_phone(phone) if phone else None,
        gender=record["gender"],
        age=age_on(record["birth_date"], ctx.today) if record["birth_date"] else None,
        home_adcode=record["home_adcode"], current_adcode=record["current_adcode"],
        occupations=occupations, occupation_codes=list(record["occupation_codes"]),
        # canonical also for a profile stored before certificate names were canonicalised on write
        skills=list(record["skills"]), certificates=canonical_certificates(record["certificates"]),
        labour_brand=record["labour_brand"], experience_years=record["experience_years"],
        education=record["education"], desired_adcodes=list(record["desired_adcodes"]),
        willing_to_relocate=record["willing_to_relocate"], max_commute_km=record["max_commute_km"],
        expected_wage=_wage(record), available_from=record["available_from"],
        available_until=record["available_until"], work_types=list(record["work_types"]),
        notes=_decrypt(cipher, record, "notes"), consent=consent,
        searchable=record["status"] == "available" and record["consent_share_with_enterprises"]
        and not record["held_for_review"],
        held_for_review=record["held_for_review"], credit_grade=ctx.credit.grade(record["credit_points"]),
        warnings=warnings, created_at=record["created_at"], updated_at=record["updated_at"],
        erased_at=record["erased_at"],
    )


def _fields_of(record: asyncpg.Record, cipher: PersonalDataCipher) -> dict[str, Any]:
    """The stored profile in request shape (decrypted), so a PATCH can be merged and validated as a whole."""
    wage = _wage(record)
    name, notes, brand = _decrypt(cipher, record, "name"), _decrypt(cipher, record, "notes"), record["labour_brand"]
    # Text stored before control characters were refused comes back printable (sealed_text.printable_text).
    return {
        "external_ref": record["external_ref"], "name": printable_text(name) if name is not None else None,
        "id_number": _decrypt(cipher, record, "id_number"), "phone": _decrypt(cipher, record, "phone"),
        "gender": record["gender"], "home_adcode": record["home_adcode"],
        "current_adcode": record["current_adcode"],
        "occupations": [printable_text(o["input"]) for o in record["occupations"]],
        "skills": [printable_text(s) for s in record["skills"]],
        "certificates": [printable_text(c) for c in record["certificates"]],
        "labour_brand": printable_text(brand) if brand is not None else None,
        "experience_years": record["experience_years"],
        "education": record["education"], "desired_adcodes": list(record["desired_adcodes"]),
        "willing_to_relocate": record["willing_to_relocate"], "max_commute_km": record["max_commute_km"],
        "expected_wage": wage.model_dump() if wage else None,
        "available_from": record["available_from"], "available_until": record["available_until"],
        "work_types": list(record["work_types"]), "notes": printable_text(notes) if notes is not None else None,
        "consent": {"share_with_enterprises": record["consent_share_with_enterprises"],
                    "contact_by_sms": record["consent_contact_by_sms"],
                    "given_at": record["consent_given_at"]},
    }


# ------------------------------------------------------------------------------------------ duplicates


class DuplicatePerson(Conflict):
    """The person already has a live profile. `existing_id` is set only when it is the caller's own."""

    def __init__(self, existing_id: UUID | None) -> None:
        if existing_id is not None:
            super().__init__("此人已由您登记 / you have already registered this person",
                             extra={"reason": "duplicate_person", "existing_id": str(existing_id)})
        else:
            # Not the other broker, not the other profile: only that the person is already on the platform.
            super().__init__("此人已由其他经纪人登记 / this person is already registered by another broker",
                             extra={"reason": "duplicate_person"})
        self.existing_id = existing_id


class DuplicateExternalRef(Conflict):
    def __init__(self, existing_id: UUID) -> None:
        super().__init__("external_ref 已用于另一份档案 / external_ref is already used by another profile",
                         extra={"reason": "duplicate_external_ref", "existing_id": str(existing_id)})
        self.existing_id = existing_id


async def _ensure_unique(conn: asyncpg.Connection, caller: Caller, v: ValidatedWorker, cipher: PersonalDataCipher,
                         *, self_id: UUID | None) -> None:
    holder = await repository.find_live_by_person(conn, person_index(cipher, v.id_number))
    if holder is not None and holder["id"] != self_id:
        raise DuplicatePerson(holder["id"] if holder["broker_org_id"] == caller.org_id else None)
    if v.fields.external_ref is not None:
        other = await repository.find_by_external_ref(conn, caller.org_id, v.fields.external_ref)
        if other is not None and other["id"] != self_id:
            raise DuplicateExternalRef(other["id"])


async def _write(conn: asyncpg.Connection, caller: Caller, v: ValidatedWorker, ctx: WorkerContext, *,
                 worker_id: UUID, status: str, insert: bool, checked: bool = False) -> asyncpg.Record:
    # `checked`: the caller has just looked both up (the importer's path); the unique indexes still guard races.
    if not checked:
        await _ensure_unique(conn, caller, v, ctx.cipher, self_id=None if insert else worker_id)
    row = _row(v, worker_id, status, ctx.cipher)
    try:
        async with conn.transaction():  # savepoint: a concurrent registration of the same person loses cleanly
            if insert:
                record = await repository.insert(conn, worker_id, caller.org_id, row)
            else:
                record = await repository.update(conn, worker_id, row)
    except asyncpg.UniqueViolationError:
        await _ensure_unique(conn, caller, v, ctx.cipher, self_id=None if insert else worker_id)
        raise Conflict("并发登记冲突，请重试 / a concurrent change conflicted; retry") from None
    # Issue 9: a grade-D broker's new profile is held for review (not indexed until an authority releases it).
    if insert and await hold_new_profile_if_grade_d(conn, worker_id, caller.org_id, ctx.credit):
        held = await repository.get(conn, worker_id)
        assert held is not None
        record = held
    await ctx.outbox.record(conn, INDEX_TOPIC, str(worker_id))
    return record


# -------------------------------------------------------------------------------------------- commands


async def create_worker(conn: asyncpg.Connection, ctx: WorkerContext, caller: Caller, body: WorkerFields) -> WorkerOut:
    ensure_may_post(caller, ctx.today)
    validated = validate_worker(body, ctx)
    record = await _write(conn, caller, validated, ctx, worker_id=uuid4(), status="available", insert=True)
    return worker_out(record, ctx)


SaveOutcome = Literal["created", "updated", "unchanged"]
# Per row of a batch: what happened to which profile, or why the row was rejected.
SaveResult = tuple[SaveOutcome, UUID] | ProblemError


async def save_worker(conn: asyncpg.Connection, ctx: WorkerContext, caller: Caller,
                      body: WorkerFields) -> tuple[WorkerOut, SaveOutcome]:
    """Create, or update the caller's own profile of the same person (by external_ref, else by ID number).

    A batch of one of `save_workers`: re-saving the same profile changes nothing ("unchanged", no outbox row);
    a person registered by another broker is a DuplicatePerson conflict, as for a single create.
    """
    (result,) = await save_workers(conn, ctx, caller, [body])
    if isinstance(result, ProblemError):
        raise result
    outcome, worker_id = result
    record = await repository.get(conn, worker_id)
    assert record is not None
    return worker_out(record, ctx), outcome


@dataclass(frozen=True, slots=True)
class WrittenWorker:
    """What `save_workers` wrote for one profile it created or updated (for `written`)."""

    row: WorkerRow
    status: str
    held_for_review: bool


async def save_workers(conn: asyncpg.Connection, ctx: WorkerContext, caller: Caller,
                       bodies: Sequence[WorkerFields], *, prepared: PreparedWorkers | None = None,
                       written: dict[UUID, WrittenWorker] | None = None) -> list[SaveResult]:
    """`save_worker` for many rows at once (the bulk importer's path), with the same outcome for every row as
    saving them one after another in this order, but a handful of queries per batch instead of several per row.

    The licence is checked once (Forbidden for the whole batch). Each row is validated, normalised, indexed and
    encrypted as for a single create (`prepare_workers`; the importer runs it in a thread ahead of time, as
    `prepared`); then, per round, one lookup of the broker's profiles by external_ref, one of live profiles by
    blind index, one locked read of the profiles to compare or update, one multi-row insert and one multi-row
    update, all in a savepoint. A row whose external_ref or person an earlier row of the same round writes
    starts the next round (fresh lookups), so rows of one file that name the same person or reference see each
    other's effect exactly as in row-by-row saving. If a concurrent writer beats the round to a unique key, the
    round is rolled back to its savepoint and its rows are saved one at a time. Rejections come back as
    ProblemError values (DuplicatePerson never names the other broker or profile); nothing is half-written.

    `written`, when given, receives every profile the call created or updated (the row written, its status and
    hold), i.e. exactly the ids it records `worker.index` for: the bulk importer indexes them from it after
    commit instead of reading them back.
    """
    ensure_may_post(caller, ctx.today)
    if prepared is None:
        prepared = prepare_workers(ctx, bodies)
    assert len(prepared.results) == len(bodies)
    results = list(prepared.results)
    pending = list(prepared.candidates)
    while pending:
        pending = await _save_round(conn, ctx, caller, pending, results, written)
    assert all(r is not None for r in results)
    return [r for r in results if r is not None]


@dataclass(frozen=True, slots=True)
class PreparedWorkers:
    """A batch after the work that needs no database: rejections by position, and the valid rows."""

    results: list[SaveResult | None]
    candidates: list[_Candidate]


def prepare_workers(ctx: WorkerContext, bodies: Sequence[WorkerFields]) -> PreparedWorkers:
    """Validation, normalisation, blind index and encryption (for a new profile; a row that turns out to update
    one is encrypted again for that profile's id). CPU only, no I/O: safe to run in a thread."""
    results: list[SaveResult | None] = [None] * len(bodies)
    candidates: list[_Candidate] = []
    for i, body in enumerate(bodies):
        try:
            validated = validate_worker(body, ctx)
        except ProblemError as exc:
            results[i] = exc
            continue
        person = person_index(ctx.cipher, validated.id_number)
        new_id = uuid4()
        candidates.append(_Candidate(i, validated, person, new_id,
                                     _row(validated, new_id, "available", ctx.cipher, person=person)))
    return PreparedWorkers(results, candidates)


@dataclass(frozen=True, slots=True)
class _Candidate:
    position: int  # in the batch
    validated: ValidatedWorker
    person: bytes  # blind index of the ID number
    new_id: UUID  # the id and row it is inserted with, if it is new
    new_row: WorkerRow


@dataclass(frozen=True, slots=True)
class _Plan:
    candidate: _Candidate
    existing_id: UUID | None


_ALL_WORKER_FIELDS: frozenset[str] = frozenset(WorkerFields.model_fields)


def _unchanged(record: asyncpg.Record, validated: ValidatedWorker, ctx: WorkerContext) -> bool:
    try:
        return validate_worker(parse_fields(_fields_of(record, ctx.cipher)), ctx) == validated
    except InvalidInput:  # the stored profile no longer passes today's rules (e.g. availability ended)
        return False


async def _save_round(conn: asyncpg.Connection, ctx: WorkerContext, caller: Caller, pending: list[_Candidate],
                      results: list[SaveResult | None],
                      written: dict[UUID, WrittenWorker] | None = None) -> list[_Candidate]:
    """Decide and write a prefix of `pending` (see save_workers); returns the rows left for the next round."""
    refs = [c.validated.fields.external_ref for c in pending if c.validated.fields.external_ref is not None]
    by_ref = await repository.ids_by_external_ref(conn, caller.org_id, refs)
    holders = await repository.holders_by_person(conn, [c.person for c in pending])
    plans: list[_Plan] = []
    written_refs: set[str] = set()
    written_people: set[bytes] = set()
    written_ids: set[UUID] = set()
    rest: list[_Candidate] = []
    for k, c in enumerate(pending):
        ref = c.validated.fields.external_ref
        if (ref is not None and ref in written_refs) or c.person in written_people:
            rest = pending[k:]  # an earlier row of this round changes what this one finds: look again
            break
        holder = holders.get(c.person)
        existing_id = by_ref.get(ref) if ref is not None else None
        if existing_id in written_ids or (holder is not None and holder["id"] in written_ids):
            rest = pending[k:]  # the profile this row finds is rewritten by an earlier row of this round
            break
        if existing_id is None:
            if holder is not None and holder["broker_org_id"] != caller.org_id:
                results[c.position] = DuplicatePerson(None)
                continue
            existing_id = holder["id"] if holder is not None else None
        elif holder is not None and holder["id"] != existing_id:
            # The reference names one profile, the ID number a person with another live profile.
            results[c.position] = DuplicatePerson(holder["id"] if holder["broker_org_id"] == caller.org_id else None)
            continue
        plans.append(_Plan(c, existing_id))
        if ref is not None:
            written_refs.add(ref)
        written_people.add(c.person)
        if existing_id is not None:
            written_ids.add(existing_id)

    stored = await repository.get_many_for_update(conn, [p.existing_id for p in plans if p.existing_id is not None])
    inserts: list[tuple[UUID, WorkerRow]] = []
    updates: list[tuple[UUID, WorkerRow]] = []
    updated_state: dict[UUID, tuple[str, bool]] = {}  # status, held_for_review of the profiles updated
    outcomes: list[tuple[int, SaveOutcome, UUID]] = []
    for plan in plans:
        v = plan.candidate.validated
        if plan.existing_id is None:
            inserts.append((plan.candidate.new_id, plan.candidate.new_row))
            outcomes.append((plan.candidate.position, "created", plan.candidate.new_id))
            continue
        record = stored.get(plan.existing_id)
        if record is None or record["status"] == "erased":  # erased since the lookup (it was not locked then)
            results[plan.candidate.position] = Conflict("并发修改冲突，请重试 / a concurrent change conflicted; retry")
            continue
        if not v.fields.model_fields_set >= _ALL_WORKER_FIELDS:
            # A sheet with fewer columns (or empty cells) updates what it gives and keeps the rest, as a PATCH
            # would: rebuilding the profile from the row alone silently wiped skills, certificates, notes, …
            given = v.fields.model_dump(include=v.fields.model_fields_set)
            try:
                v = validate_worker(parse_fields({**_fields_of(record, ctx.cipher), **given}), ctx)
            except ProblemError as exc:
                results[plan.candidate.position] = exc
                continue
        if _unchanged(record, v, ctx):
            outcomes.append((plan.candidate.position, "unchanged", record["id"]))
            continue
        updates.append((record["id"], _row(v, record["id"], record["status"], ctx.cipher,
                                           person=plan.candidate.person)))
        updated_state[record["id"]] = (record["status"], record["held_for_review"])
        outcomes.append((plan.candidate.position, "updated", record["id"]))
    try:
        async with conn.transaction():  # savepoint: a concurrent registration of the same person loses cleanly
            await repository.insert_many(conn, caller.org_id, inserts)
            await repository.update_many(conn, updates)
    except asyncpg.UniqueViolationError:
        if len(plans) == 1:
            c = plans[0].candidate
            try:
                await _ensure_unique(conn, caller, c.validated, ctx.cipher, self_id=plans[0].existing_id)
                results[c.position] = Conflict("并发登记冲突，请重试 / a concurrent change conflicted; retry")
            except ProblemError as exc:
                results[c.position] = exc
            return rest
        # Someone else wrote one of these keys since the lookup: the same rows again, one per round.
        for plan in plans:
            await _save_round_until_done(conn, ctx, caller, [plan.candidate], results, written)
        return rest
    # Issue 9: a grade-D broker's new profiles are held for review (not indexed until an authority releases
    # them). The hook asks for the grade; it cannot change within this transaction, so once is enough when no.
    held = bool(inserts) and await hold_new_profile_if_grade_d(conn, inserts[0][0], caller.org_id, ctx.credit)
    if held:
        for worker_id, _ in inserts[1:]:
            await hold_new_profile_if_grade_d(conn, worker_id, caller.org_id, ctx.credit)
    if written is not None:
        for worker_id, row in inserts:
            written[worker_id] = WrittenWorker(row, row.status, held)
        for worker_id, row in updates:
            status, was_held = updated_state[worker_id]
            written[worker_id] = WrittenWorker(row, status, was_held)
    for position, outcome, worker_id in outcomes:
        results[position] = (outcome, worker_id)
        if outcome != "unchanged":
            await ctx.outbox.record(conn, INDEX_TOPIC, str(worker_id))
    return rest


async def _save_round_until_done(conn: asyncpg.Connection, ctx: WorkerContext, caller: Caller,
                                 pending: list[_Candidate], results: list[SaveResult | None],
                                 written: dict[UUID, WrittenWorker] | None = None) -> None:
    while pending:
        pending = await _save_round(conn, ctx, caller, pending, results, written)


async def update_worker(conn: asyncpg.Connection, ctx: WorkerContext, caller: Caller, worker_id: UUID,
                        patch: WorkerPatch) -> WorkerOut:
    ensure_may_post(caller, ctx.today)
    record = await _owned(conn, caller, worker_id, for_update=True)
    if record["status"] == "erased":
        raise Conflict("档案已删除 / the profile was erased", extra={"reason": "erased"})
    changes = patch.model_dump(exclude_unset=True, exclude={"status"})
    merged = {**_fields_of(record, ctx.cipher), **changes}
    validated = validate_worker(parse_fields(merged), ctx)
    status = patch.status if patch.status is not None else record["status"]
    # A person holding a job through a placement is back on the market when the placement ends (its `end` makes
    # them available), not by a PATCH that leaves the placement `hired`: they would be matched and offered while
    # employed. Under the profile's row lock, which a hire also takes, so a hire cannot slip in between.
    if (status == "available" and record["status"] != "available"
            and await placements_repository.employment_of_worker(conn, worker_id) is not None):
        raise Conflict("求职者正通过安置在岗，请先结束该安置 / the person holds a job through a placement: end the "
                       "placement to make them available", extra={"reason": "placement_open"})
    record = await _write(conn, caller, validated, ctx, worker_id=worker_id, status=status, insert=False)
    return worker_out(record, ctx)


async def erase_worker(conn: asyncpg.Connection, ctx: WorkerContext, caller: Caller, worker_id: UUID) -> WorkerOut:
    """Right to erasure: personal and profile data leave PostgreSQL now (the profile, stored create responses,
    the copies in notices and webhook bodies, the free text of its read log and placements) and the index after
    commit; a tombstone stays. Allowed with an
    expired licence (the person's right does not depend on the broker's). Idempotent."""
    if caller.role != "broker":
        raise Forbidden("需要劳务经纪人角色 / requires role broker")
    await _owned(conn, caller, worker_id)  # another broker's id locks nothing
    # The person's proposals and acceptances before the profile: the order in which accept and hire lock them.
    await placements_repository.lock_before_hire_of_worker(conn, worker_id)
    record = await _owned(conn, caller, worker_id, for_update=True)
    if record["status"] != "erased":
        record = await repository.erase(conn, worker_id)
        await repository.forget_idempotent_responses(conn, worker_id)
        await repository.forget_access_purposes(conn, worker_id)
        await notification_erasure.forget_worker(conn, worker_id)
        await placements_repository.forget_notes_about_worker(conn, worker_id)
        # Nobody can be hired through them any more (accept and hire need an available profile): they end now, as
        # a closed posting's do, rather than stay open for the enterprise to be refused later. The note names no one.
        await placements_repository.end_before_hire_of_worker(
            conn, worker_id, note="求职者档案已删除 / the worker's profile was erased",
            detail={"reason": "other", "worker_erased": True})
    await ctx.outbox.record(conn, INDEX_TOPIC, str(worker_id))
    return worker_out(record, ctx)


async def set_worker_status(conn: asyncpg.Connection, outbox: OutboxRecorder, worker_id: UUID,
                            status: Literal["available", "placed", "inactive"], *,
                            only_from: tuple[str, ...] | None = None) -> bool:
    """For other domains, in their transaction (placements: hired → `placed`, ended → `available` again).

    An erased profile stays erased; with `only_from` the profile moves only from one of those statuses. A change
    records `worker.index`, so the profile leaves search and matching (only `available` ones are indexed) or
    comes back. Returns whether the status changed."""
    if await repository.set_status(conn, worker_id, status, only_from=only_from) is None:
        return False
    await outbox.record(conn, INDEX_TOPIC, str(worker_id))
    return True


# --------------------------------------------------------------------------------------------- queries


async def get_worker(conn: asyncpg.Connection, ctx: WorkerContext, caller: Caller, worker_id: UUID) -> WorkerOut:
    return worker_out(await _owned(conn, caller, worker_id), ctx)


async def list_workers(conn: asyncpg.Connection, ctx: WorkerContext, caller: Caller, *, limit: int,
                       cursor: str | None, cursor_secret: str) -> WorkerList:
    scope = list_scope(caller.org_id, LIST_SCOPE)  # a cursor of another organisation's list is refused
    after = decode_cursor(cursor_secret, scope, cursor) if cursor else None
    rows = await repository.list_for_broker(conn, caller.org_id, after=after, limit=limit)
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor(cursor_secret, scope, Position(last["created_at"], last["id"]))
    return WorkerList(items=[worker_out(r, ctx) for r in rows[:limit]], next_cursor=next_cursor)


async def read_personal_data(conn: asyncpg.Connection, ctx: WorkerContext, caller: Caller, worker_id: UUID, *,
                             purpose: str, request_id: str | None) -> PersonalDataOut:
    """Full values for the owning broker, written to the audit log (who, what, when, why) in the same
    transaction: no read without its log line. The row is held for update: an erasure under way is waited for
    (then the profile is erased, 409); one that starts meanwhile waits for this read, then replaces its purpose."""
    # The query's min_length counts spaces and zero-width characters: "  " was logged as an empty purpose.
    if visible_length(purpose) < MIN_PURPOSE_CHARACTERS:
        message = (f"请写明查看用途（至少 {MIN_PURPOSE_CHARACTERS} 个可见字符）/ say why the full values are needed "
                   f"(at least {MIN_PURPOSE_CHARACTERS} visible characters)")
        raise InvalidInput(message, errors=[FieldError(field="purpose", message=message)])
    record = await _owned(conn, caller, worker_id, for_update=True)
    ensure_may_read_personal_data(caller, china_today())
    if record["status"] == "erased":
        raise Conflict("档案已删除，无个人信息 / the profile was erased; there is no personal data",
                       extra={"reason": "erased"})
    fields = [f for f in PERSONAL_FIELDS if record[f"{f}_enc"] is not None]
    at = await repository.log_personal_data_access(conn, org_id=caller.org_id, api_key_id=caller.key_id,
                                                   subject_id=worker_id, fields=fields, purpose=purpose,
                                                   request_id=request_id)
    name, id_number, phone = (_decrypt(ctx.cipher, record, f) for f in ("name", "id_number", "phone"))
    assert name is not None
    assert id_number is not None
    assert phone is not None
    return PersonalDataOut(id=worker_id, name=name, id_number=id_number, phone=phone,
                           notes=_decrypt(ctx.cipher, record, "notes"), purpose=purpose, accessed_at=at)
