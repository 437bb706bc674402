"""Catalogue versions: reading, drafting, importing, approving and publishing.

Rules (issue 3, api.md Catalogue):
- Only authorities edit, approve and publish; drafts are visible to authorities and admins only.
- Entries of a published or retired version never change (refused here, and by a trigger in the database).
- An edit of a draft clears its approvals: both provinces approve what is actually published.
- Publishing needs an approval from every province in `settings.catalogue_required_approvals`, a catalogue
  that validates (unknown codes, shared aliases, empty names … are reported, never silently resolved), and a
  draft based on the version currently published.
- Codes are never deleted from history: a code of the version a draft is based on stays in the draft, active
  or retired with `replaced_by` pointing at the code that replaced it.
- Every change is written to catalogue_changes with the organisation, key and time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, is_dataclass, replace
from typing import Literal
from uuid import UUID

import asyncpg

from matching.catalogue import Catalogue, CatalogueImportError, CatalogueProblem, RowError
from services.api.auth.caller import Caller
from services.api.catalogue import repository
from services.api.catalogue.reference import reference_occupations, reference_regions
from services.api.catalogue.schemas import (
    Approval,
    ChangeList,
    ChangeOut,
    CurrentCatalogue,
    DiffOut,
    EntryDeleted,
    EntryFields,
    EntryOut,
    EntryWritten,
    FieldChangeOut,
    ImportResult,
    VersionDetail,
    VersionList,
    VersionSummary,
)
from services.api.catalogue.spreadsheets import parse_spreadsheet
from services.api.pagination import invalid_cursor, sign_payload, signed_payload
from services.api.problems import Conflict, FieldError, Forbidden, InvalidInput, NotFound
from services.outbox.recorder import OutboxRecorder, UnqueuedOutbox

PUBLISHED_TOPIC = "catalogue.published"
EDITOR_ROLES = frozenset({"authority"})
DRAFT_READER_ROLES = frozenset({"authority", "admin"})
# Versions that were never published: only draft readers see them.
UNPUBLISHED = ("draft", "approved", "discarded")


@dataclass(frozen=True, slots=True)
class Actor:
    """Who makes a change: an authority's key, or an operator's command (all None)."""

    org_id: UUID | None = None
    api_key_id: UUID | None = None
    province: str | None = None

    @classmethod
    def of(cls, caller: Caller) -> Actor:
        return cls(org_id=caller.org_id, api_key_id=caller.key_id, province=caller.province)


# ----- validation -----

def problems_of(catalogue: Catalogue) -> list[CatalogueProblem]:
    return catalogue.validate(reference_occupations(), reference_regions())


def _field_errors(problems: Iterable[CatalogueProblem]) -> list[FieldError]:
    return [FieldError(field=f"entries[{p.occupation_code}].{p.field}", message=p.message) for p in problems]


def _row_errors(errors: Iterable[RowError]) -> list[FieldError]:
    return [FieldError(field=f"row {e.row}: {e.field}" if e.field else f"row {e.row}",
                       message=f"第 {e.row} 行 / row {e.row}: {e.message}") for e in errors]


def _refuse_new_problems(before: Catalogue, after: Catalogue, what: str) -> None:
    """Refuse a change that adds problems (problems already in the draft do not block unrelated edits)."""
    known = set(problems_of(before))
    new = [p for p in problems_of(after) if p not in known]
    if new:
        raise InvalidInput(f"{what}: {len(new)} 个问题 / {len(new)} problem(s); the draft is unchanged",
                           errors=_field_errors(new))


def _dropped_codes(base_codes: set[str], catalogue: Catalogue) -> list[str]:
    return sorted(base_codes - {e.occupation_code for e in catalogue.entries})


def _dropped_errors(dropped: Sequence[str], based_on: int | None) -> list[FieldError]:
    return [FieldError(
        field=f"entries[{code}]",
        message=f"代码 {code} 在第 {based_on} 版中存在，不能删除；请保留或用 replaced_by 指向替代代码 / "
                f"{code} is in version {based_on}: codes are never deleted, keep it or retire it with replaced_by",
    ) for code in dropped]


# ----- reading -----

def _summary(row: asyncpg.Record, required: Sequence[str]) -> VersionSummary:
    approvals = [Approval.model_validate(a) for a in row["approvals"]]
    approved = {a.province for a in approvals}
    missing = [p for p in required if p not in approved] if row["status"] in ("draft", "approved") else []
    return VersionSummary(
        version=row["version"], status=row["status"], based_on=row["based_on"], created_by=row["created_by"],
        created_at=row["created_at"], updated_at=row["updated_at"], published_at=row["published_at"],
        published_by=row["published_by"], retired_at=row["retired_at"], discarded_at=row["discarded_at"],
        discarded_by=row["discarded_by"], note=row["note"],
        entry_count=row["entry_count"], approvals=approvals, missing_approvals=missing,
    )


async def _visible_version(conn: asyncpg.Connection, caller: Caller, version: int, *,
                           lock: bool = False) -> asyncpg.Record:
    row = await repository.get_version(conn, version, lock=lock)
    # A draft is answered as missing to those who may not see drafts (no existence leak).
    if row is None or (row["status"] in UNPUBLISHED and caller.role not in DRAFT_READER_ROLES):
        raise NotFound(f"没有第 {version} 版目录 / no catalogue version {version}")
    return row


async def load_catalogue(conn: asyncpg.Connection, version: int) -> Catalogue:
    return Catalogue(version, await repository.entries(conn, version))


async def current_catalogue(conn: asyncpg.Connection) -> CurrentCatalogue:
    row = await repository.published_version(conn)
    if row is None:
        return CurrentCatalogue(version=0, published_at=None, entries=[])
    entries = await repository.entries(conn, row["version"])
    return CurrentCatalogue(version=row["version"], published_at=row["published_at"],
                            entries=[EntryOut.of(e) for e in entries])


# Both lists page by an integer (a version number, a change id), signed like every other list's position.
VERSIONS_SCOPE = "catalogue_versions"
CHANGES_SCOPE = "catalogue_changes"


def _cursor(secret: str, scope: str, value: int) -> str:
    return sign_payload(secret, scope, str(value).encode())


def _cursor_int(secret: str, scope: str, cursor: str | None) -> int | None:
    if cursor is None:
        return None
    payload = signed_payload(secret, scope, cursor)
    if not payload.isdigit():
        # Only reachable with our own secret, i.e. a bug, but still a clean 422 rather than a 500.
        raise invalid_cursor()
    return int(payload)


async def list_versions(conn: asyncpg.Connection, caller: Caller, *, limit: int, cursor: str | None,
                        secret: str, required: Sequence[str]) -> VersionList:
    before = _cursor_int(secret, VERSIONS_SCOPE, cursor)
    rows = await repository.list_versions(conn, include_drafts=caller.role in DRAFT_READER_ROLES,
                                          before=before, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = _cursor(secret, VERSIONS_SCOPE, rows[-1]["version"]) if more and rows else None
    return VersionList(items=[_summary(r, required) for r in rows], next_cursor=next_cursor)


async def version_detail(conn: asyncpg.Connection, caller: Caller, version: int,
                         required: Sequence[str]) -> VersionDetail:
    row = await _visible_version(conn, caller, version)
    entries = await repository.entries(conn, version)
    return VersionDetail(**_summary(row, required).model_dump(), entries=[EntryOut.of(e) for e in entries])


async def version_catalogue(conn: asyncpg.Connection, caller: Caller, version: int) -> Catalogue:
    await _visible_version(conn, caller, version)
    return await load_catalogue(conn, version)


def _jsonable(value: object) -> object:
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    if isinstance(value, tuple):
        return list(value)
    return value


async def diff(conn: asyncpg.Connection, caller: Caller, version: int, against: int) -> DiffOut:
    """What changed from `against` to `version` (added and removed codes, field-level changes)."""
    newer = await version_catalogue(conn, caller, version)
    older = await version_catalogue(conn, caller, against)
    result = older.diff(newer)
    return DiffOut(
        version=version, against=against, added=list(result.added), removed=list(result.removed),
        changed=[FieldChangeOut(occupation_code=c.occupation_code, field=c.field, before=_jsonable(c.before),
                                after=_jsonable(c.after)) for c in result.changed],
    )


async def list_changes(conn: asyncpg.Connection, caller: Caller, version: int, *, limit: int,
                       cursor: str | None, secret: str) -> ChangeList:
    if caller.role not in DRAFT_READER_ROLES:
        raise Forbidden("需要角色 authority/admin / requires role authority or admin")
    await _visible_version(conn, caller, version)
    # One version's changes: a cursor of another version's is refused, not read as a position in this one.
    scope = f"{CHANGES_SCOPE}:{version}"
    after = _cursor_int(secret, scope, cursor)
    rows = await repository.list_changes(conn, version, after=after, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return ChangeList(
        items=[ChangeOut(id=r["id"], version=r["version"], org_id=r["org_id"], action=r["action"],
                         occupation_code=r["occupation_code"], detail=r["detail"], at=r["at"]) for r in rows],
        next_cursor=_cursor(secret, scope, rows[-1]["id"]) if more and rows else None,
    )


# ----- drafting -----

def _require_editor(caller: Caller) -> Actor:
    if caller.role not in EDITOR_ROLES:
        raise Forbidden("只有人社部门可以编辑目录 / only authorities edit the catalogue")
    return Actor.of(caller)


async def _editable_draft(conn: asyncpg.Connection, caller: Caller, version: int) -> tuple[Actor, asyncpg.Record]:
    actor = _require_editor(caller)
    row = await _visible_version(conn, caller, version, lock=True)
    if row["status"] == "discarded":
        raise Conflict(f"第 {version} 版草稿已于 {row['discarded_at']} 作废，不可修改；请新建草稿 / version {version} "
                       "was discarded: create a new draft")
    if row["status"] not in ("draft", "approved"):
        raise Conflict(f"第 {version} 版已发布，不可修改；请新建草稿 / version {version} is {row['status']}: "
                       "published versions are immutable, create a new draft")
    return actor, row


async def discard_draft(conn: asyncpg.Connection, caller: Caller, version: int,
                        required: Sequence[str]) -> VersionSummary:
    """Discard a draft (or an approved, unpublished version) that will not be published. It stays readable,
    frozen, with its change log; its number is never published."""
    actor, row = await _editable_draft(conn, caller, version)
    await repository.discard(conn, version, by=actor.org_id)
    await repository.record_change(conn, version, "discard", org_id=actor.org_id, api_key_id=actor.api_key_id,
                                   detail={"status_before": row["status"]})
    updated = await repository.get_version(conn, version)
    assert updated is not None
    return _summary(updated, required)


async def _clear_approvals(conn: asyncpg.Connection, actor: Actor, row: asyncpg.Record) -> list[str]:
    """An edit invalidates the approvals: the draft goes back to `draft` and both sides approve again."""
    version = row["version"]
    if row["status"] == "approved":
        await repository.set_status(conn, version, "draft")
    cleared = await repository.clear_approvals(conn, version)
    if cleared:
        await repository.record_change(conn, version, "approvals_cleared", org_id=actor.org_id,
                                       api_key_id=actor.api_key_id, detail={"provinces": cleared})
    await repository.touch(conn, version)
    return cleared


async def create_draft(conn: asyncpg.Connection, caller: Caller, *, note: str = "",
                       required: Sequence[str] = ()) -> VersionSummary:
    """A new draft holding a copy of the current published version's entries (empty if none)."""
    actor = _require_editor(caller)
    published = await repository.published_version(conn)
    based_on = published["version"] if published is not None else None
    version = await repository.insert_version(conn, based_on=based_on, created_by=actor.org_id, note=note)
    if based_on is not None:
        await repository.copy_entries(conn, based_on, version)
    await repository.record_change(conn, version, "create_draft", org_id=actor.org_id, api_key_id=actor.api_key_id,
                                   detail={"based_on": based_on})
    row = await repository.get_version(conn, version)
    assert row is not None
    return _summary(row, required)


async def _base_codes(conn: asyncpg.Connection, row: asyncpg.Record) -> set[str]:
    return await repository.codes(conn, row["based_on"]) if row["based_on"] is not None else set()


async def put_entry(conn: asyncpg.Connection, caller: Caller, version: int, code: str,
                    body: EntryFields) -> EntryWritten:
    if body.occupation_code is not None and body.occupation_code != code:
        raise InvalidInput("occupation_code 与路径不一致 / occupation_code differs from the path",
                           errors=[FieldError(field="occupation_code", message="must equal the code in the path")])
    actor, row = await _editable_draft(conn, caller, version)
    before = await load_catalogue(conn, version)
    entry = body.to_entry(code)
    after = Catalogue(version, [entry if e.occupation_code == code else e for e in before.entries]
                      + ([] if before.by_code(code) is not None else [entry]))
    _refuse_new_problems(before, after, f"条目 {code} / entry {code}")
    cleared = await _clear_approvals(conn, actor, row)
    created = await repository.upsert_entry(conn, version, entry, by=actor.org_id)
    await repository.record_change(conn, version, "entry_upsert", org_id=actor.org_id, api_key_id=actor.api_key_id,
                                   occupation_code=code, detail={"created": created})
    return EntryWritten(version=version, entry=EntryOut.of(entry), created=created, approvals_cleared=cleared)


async def delete_entry(conn: asyncpg.Connection, caller: Caller, version: int, code: str,
                       replaced_by: str | None) -> EntryDeleted:
    """Remove a code added in this draft, or retire a published code in favour of `replaced_by`."""
    actor, row = await _editable_draft(conn, caller, version)
    before = await load_catalogue(conn, version)
    existing = before.by_code(code)
    if existing is None:
        raise NotFound(f"第 {version} 版草稿中没有 {code} / no entry {code} in draft {version}")
    if replaced_by is None:
        if code in await _base_codes(conn, row):
            raise Conflict(
                f"{code} 已在第 {row['based_on']} 版发布，代码不能删除；请用 ?replaced_by= 指定替代代码 / {code} was "
                f"published in version {row['based_on']}: codes are never deleted, retire it with ?replaced_by=")
        after = Catalogue(version, [e for e in before.entries if e.occupation_code != code])
        _refuse_new_problems(before, after, f"删除 {code} / deleting {code}")
        cleared = await _clear_approvals(conn, actor, row)
        await repository.delete_entry(conn, version, code)
        await repository.record_change(conn, version, "entry_delete", org_id=actor.org_id,
                                       api_key_id=actor.api_key_id, occupation_code=code)
        return EntryDeleted(version=version, occupation_code=code, retired=False, approvals_cleared=cleared)
    retired = replace(existing, replaced_by=replaced_by)
    after = Catalogue(version, [retired if e.occupation_code == code else e for e in before.entries])
    _refuse_new_problems(before, after, f"停用 {code} / retiring {code}")
    cleared = await _clear_approvals(conn, actor, row)
    await repository.upsert_entry(conn, version, retired, by=actor.org_id)
    await repository.record_change(conn, version, "entry_retire", org_id=actor.org_id, api_key_id=actor.api_key_id,
                                   occupation_code=code, detail={"replaced_by": replaced_by})
    return EntryDeleted(version=version, occupation_code=code, retired=True, approvals_cleared=cleared)


async def import_draft(conn: asyncpg.Connection, caller: Caller, version: int, data: bytes,
                       *, filename: str | None = None) -> ImportResult:
    """Replace the draft's entries with a spreadsheet's, all or nothing."""
    actor, row = await _editable_draft(conn, caller, version)
    try:
        # calamine, the workbook checks and parsing ~1,600 rows: seconds for a big sheet, off the event loop.
        parsed = await asyncio.to_thread(parse_spreadsheet, data, version)
    except CatalogueImportError as exc:
        raise InvalidInput(f"表格有 {len(exc.errors)} 处错误，草稿未改动 / {len(exc.errors)} problem(s) in the "
                           "spreadsheet; the draft is unchanged", errors=_row_errors(exc.errors)) from None
    catalogue = parsed.catalogue
    problems = problems_of(catalogue)
    errors: list[FieldError] = []
    for p in problems:
        line = parsed.row_of_code.get(p.occupation_code)
        where = f"row {line}: " if line else ""
        errors.append(FieldError(field=f"{where}{p.field}",
                                 message=(f"第 {line} 行 / row {line} " if line else "") + f"{p.occupation_code}: "
                                         f"{p.message}"))
    errors.extend(_dropped_errors(_dropped_codes(await _base_codes(conn, row), catalogue), row["based_on"]))
    if errors:
        raise InvalidInput(f"目录有 {len(errors)} 处问题，草稿未改动 / {len(errors)} problem(s); "
                           "the draft is unchanged", errors=errors)
    before = await load_catalogue(conn, version)
    change = before.diff(catalogue)
    cleared = await _clear_approvals(conn, actor, row)
    await repository.delete_all_entries(conn, version)
    await repository.insert_entries(conn, version, catalogue.entries, by=actor.org_id)
    await repository.record_change(
        conn, version, "import", org_id=actor.org_id, api_key_id=actor.api_key_id,
        detail={"format": parsed.format, "encoding": parsed.encoding, "filename": filename,
                "entries": len(catalogue), "added": list(change.added), "removed": list(change.removed),
                "changed": sorted({c.occupation_code for c in change.changed})})
    return ImportResult(version=version, format=parsed.format, encoding=parsed.encoding, entries=len(catalogue),
                        added=list(change.added), removed=list(change.removed),
                        changed=sorted({c.occupation_code for c in change.changed}), approvals_cleared=cleared)


# ----- approving and publishing -----

async def approve(conn: asyncpg.Connection, caller: Caller, version: int,
                  required: Sequence[str]) -> VersionSummary:
    actor, row = await _editable_draft(conn, caller, version)
    province = actor.province
    if province not in ("CQ", "SC"):
        raise Forbidden("批准需要所属省份的人社部门 / approving needs an authority of CQ or SC")
    for approval in row["approvals"]:
        if approval["province"] == province:
            raise Conflict(f"{province} 已于 {approval['approved_at']} 批准第 {version} 版（机构 "
                           f"{approval['authority_org']}）/ {province} already approved version {version} "
                           f"(organisation {approval['authority_org']} at {approval['approved_at']})")
    problems = problems_of(await load_catalogue(conn, version))
    if problems:
        raise InvalidInput(f"草稿有 {len(problems)} 个问题，不能批准 / the draft has {len(problems)} problem(s)",
                           errors=_field_errors(problems))
    await repository.add_approval(conn, version, province=province, org_id=actor.org_id)  # type: ignore[arg-type]
    await repository.record_change(conn, version, "approve", org_id=actor.org_id, api_key_id=actor.api_key_id,
                                   detail={"province": province})
    approved = {a["province"] for a in row["approvals"]} | {province}
    if all(p in approved for p in required):
        await repository.set_status(conn, version, "approved")
    else:
        await repository.touch(conn, version)
    updated = await repository.get_version(conn, version)
    assert updated is not None
    return _summary(updated, required)


async def _check_publishable(conn: asyncpg.Connection, row: asyncpg.Record, catalogue: Catalogue,
                             required: Sequence[str]) -> None:
    version = row["version"]
    approved = {a["province"] for a in row["approvals"]}
    missing = [p for p in required if p not in approved]
    if missing:
        raise Conflict(
            f"第 {version} 版尚缺 {'、'.join(missing)} 的批准 / version {version} still needs the approval of "
            f"{', '.join(missing)} (required: {', '.join(required)})", extra={"missing_approvals": missing})
    published = await repository.published_version(conn)
    current = published["version"] if published is not None else None
    if current is not None and row["based_on"] != current:
        raise Conflict(f"草稿基于第 {row['based_on']} 版，但当前发布的是第 {current} 版；请基于新版重新起草 / "
                       f"the draft is based on version {row['based_on']} but version {current} is published: "
                       "start a new draft")
    problems = problems_of(catalogue)
    errors = _field_errors(problems)
    errors.extend(_dropped_errors(_dropped_codes(await _base_codes(conn, row), catalogue), row["based_on"]))
    if errors:
        raise InvalidInput(f"目录有 {len(errors)} 处问题，不能发布 / {len(errors)} problem(s): not published",
                           errors=errors)


async def publish(conn: asyncpg.Connection, caller: Caller, version: int, required: Sequence[str],
                  outbox: OutboxRecorder) -> VersionSummary:
    """Publish a fully approved, valid draft; the previous version is retired. `outbox.record(...)` gets the
    `catalogue.published` row in this same transaction (search follows it in the worker)."""
    await repository.lock_publishing(conn)
    actor, row = await _editable_draft(conn, caller, version)
    catalogue = await load_catalogue(conn, version)
    await _check_publishable(conn, row, catalogue, required)
    return await _publish(conn, actor, version, outbox, required, action="publish")


async def _publish(conn: asyncpg.Connection, actor: Actor, version: int, outbox: OutboxRecorder,
                   required: Sequence[str], *, action: Literal["publish", "load_initial"]) -> VersionSummary:
    previous = await repository.published_version(conn)
    published = await repository.publish(conn, version, by=actor.org_id)
    if previous is not None:
        await repository.record_change(conn, previous["version"], "retire", org_id=actor.org_id,
                                       api_key_id=actor.api_key_id, detail={"replaced_by_version": version})
    await repository.record_change(conn, version, action, org_id=actor.org_id, api_key_id=actor.api_key_id,
                                   detail={"previous": previous["version"] if previous else None,
                                           "published_at": published["published_at"].isoformat()})
    await outbox.record(conn, PUBLISHED_TOPIC, str(version))
    row = await repository.get_version(conn, version)
    assert row is not None
    return _summary(row, required)


async def load_published_version(conn: asyncpg.Connection, catalogue: Catalogue, *, note: str,
                                 outbox: OutboxRecorder | None = None, only_if_none: bool = True) -> int | None:
    """Operators and tests: store `catalogue` as a new published version without the approval workflow.

    With only_if_none (the `load-initial` case) nothing happens when any version was ever published; the
    caller holds the transaction. Returns the new version number, or None when nothing was done.
    """
    await repository.lock_publishing(conn)
    if only_if_none and await repository.ever_published(conn):
        return None
    problems = problems_of(catalogue)
    if problems:
        first = "; ".join(f"{p.occupation_code} {p.field}: {p.message}" for p in problems[:10])
        raise InvalidInput(f"{len(problems)} problem(s) in the catalogue: {first}", errors=_field_errors(problems))
    published = await repository.published_version(conn)
    based_on = published["version"] if published is not None else None
    if based_on is not None:
        dropped = _dropped_codes(await repository.codes(conn, based_on), catalogue)
        if dropped:
            raise InvalidInput("codes are never deleted", errors=_dropped_errors(dropped, based_on))
    version = await repository.insert_version(conn, based_on=based_on, created_by=None, note=note)
    await repository.insert_entries(conn, version, catalogue.entries, by=None)
    await _publish(conn, Actor(), version, outbox or UnqueuedOutbox(), (), action="load_initial")
    return version
