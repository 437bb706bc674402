"""Reading versions, immutability of published versions (API and trigger), roles, the change log."""

from __future__ import annotations

import asyncpg
import httpx
import orjson
import pytest

from matching.catalogue import load_initial_catalogue
from services.api.catalogue.service import load_published_version
from tests.conftest import MakeOrg, OrgKey
from tests.services.api.catalogue.conftest import (
    CHEF,
    SAMPLE_ENTRIES,
    WELDER,
    entry_body,
    new_draft,
    publish_catalogue,
    sample_catalogue,
)


async def test_empty_database_has_an_empty_current_catalogue(client: httpx.AsyncClient, make_org: MakeOrg) -> None:
    kiosk = await make_org("kiosk")
    response = await client.get("/v1/catalogue", headers=kiosk.headers)
    assert response.status_code == 200, response.text
    assert response.json() == {"version": 0, "published_at": None, "entries": []}


async def test_initial_catalogue_is_published_once_for_any_key(
    initial_version: int, client: httpx.AsyncClient, make_org: MakeOrg, db: asyncpg.Connection,
) -> None:
    broker = await make_org("broker")
    body = (await client.get("/v1/catalogue", headers=broker.headers)).json()
    assert body["version"] == initial_version == 1
    assert body["published_at"] is not None
    assert len(body["entries"]) == len(load_initial_catalogue()) >= 300
    welder = next(e for e in body["entries"] if e["occupation_code"] == WELDER)
    assert welder["name"] == "焊工"
    assert "电焊工" in welder["aliases"]
    assert set(welder) >= {"occupation_code", "name", "aliases", "industry", "shortage_level", "regions",
                           "wage_band", "skills", "certificates", "side", "replaced_by", "notes"}
    assert welder["shortage_level"] in (1, 2, 3)
    # load-initial is idempotent: a second run does nothing.
    async with db.transaction():
        assert await load_published_version(db, load_initial_catalogue(), note="again") is None
    assert await db.fetchval("SELECT count(*) FROM catalogue_versions") == 1


async def test_versions_are_listed_newest_first_with_a_signed_cursor(
    db: asyncpg.Connection, client: httpx.AsyncClient, make_org: MakeOrg,
) -> None:
    for _ in range(3):
        await publish_catalogue(db, sample_catalogue())
    enterprise = await make_org("enterprise")
    first = await client.get("/v1/catalogue/versions?limit=2", headers=enterprise.headers)
    assert first.status_code == 200, first.text
    page = first.json()
    assert [v["version"] for v in page["items"]] == [3, 2]
    assert [v["status"] for v in page["items"]] == ["published", "retired"]
    assert page["next_cursor"]
    second = (await client.get(f"/v1/catalogue/versions?limit=2&cursor={page['next_cursor']}",
                               headers=enterprise.headers)).json()
    assert [v["version"] for v in second["items"]] == [1]
    assert second["next_cursor"] is None
    forged = await client.get(f"/v1/catalogue/versions?cursor={page['next_cursor'][:-2]}xx",
                              headers=enterprise.headers)
    assert forged.status_code == 422
    one = (await client.get("/v1/catalogue/versions/2", headers=enterprise.headers)).json()
    assert one["status"] == "retired"
    assert one["retired_at"]
    assert len(one["entries"]) == len(SAMPLE_ENTRIES)
    assert (await client.get("/v1/catalogue/versions/99", headers=enterprise.headers)).status_code == 404


async def test_drafts_are_visible_to_authorities_only(
    sample_version: int, client: httpx.AsyncClient, cq: OrgKey, make_org: MakeOrg, admin: OrgKey,
) -> None:
    draft = await new_draft(client, cq)
    broker = await make_org("broker")
    assert (await client.get(f"/v1/catalogue/versions/{draft}", headers=broker.headers)).status_code == 404
    listed = (await client.get("/v1/catalogue/versions", headers=broker.headers)).json()
    assert [v["version"] for v in listed["items"]] == [sample_version]
    mine = (await client.get(f"/v1/catalogue/versions/{draft}", headers=cq.headers)).json()
    assert mine["status"] == "draft"
    assert mine["based_on"] == sample_version
    assert mine["missing_approvals"] == ["CQ", "SC"]
    assert len(mine["entries"]) == len(SAMPLE_ENTRIES)  # starts from the published version's entries
    assert (await client.get(f"/v1/catalogue/versions/{draft}", headers=admin.headers)).status_code == 200


async def test_only_authorities_edit(
    sample_version: int, client: httpx.AsyncClient, cq: OrgKey, make_org: MakeOrg, admin: OrgKey,
) -> None:
    draft = await new_draft(client, cq)
    others = [await make_org(kind) for kind in ("broker", "enterprise", "kiosk")] + [admin]
    body = entry_body(SAMPLE_ENTRIES[0], shortage_level=2)
    for other in others:
        calls = [
            client.post("/v1/catalogue/drafts", headers=other.headers),
            client.put(f"/v1/catalogue/drafts/{draft}/entries/{WELDER}", headers=other.headers, json=body),
            client.delete(f"/v1/catalogue/drafts/{draft}/entries/{WELDER}", headers=other.headers),
            client.post(f"/v1/catalogue/drafts/{draft}/import", headers=other.headers,
                        files={"file": ("c.csv", b"x", "text/csv")}),
            client.post(f"/v1/catalogue/drafts/{draft}/approve", headers=other.headers),
            client.post(f"/v1/catalogue/drafts/{draft}/publish", headers=other.headers),
            client.delete(f"/v1/catalogue/drafts/{draft}", headers=other.headers),
        ]
        for call in calls:
            response = await call
            assert response.status_code == 403, (other.type, response.request.url, response.text)
            assert response.headers["content-type"].startswith("application/problem+json")
    assert (await client.get("/v1/catalogue")).status_code == 401
    assert (await client.get("/v1/occupations/suggest?q=hg")).status_code == 401


async def test_published_versions_are_immutable_through_the_api(
    sample_version: int, client: httpx.AsyncClient, cq: OrgKey,
) -> None:
    body = entry_body(SAMPLE_ENTRIES[0], shortage_level=3)
    put = await client.put(f"/v1/catalogue/drafts/{sample_version}/entries/{WELDER}", headers=cq.headers,
                           json=body)
    assert put.status_code == 409
    assert "immutable" in put.json()["detail"]
    delete = await client.delete(f"/v1/catalogue/drafts/{sample_version}/entries/{CHEF}", headers=cq.headers)
    assert delete.status_code == 409
    approve = await client.post(f"/v1/catalogue/drafts/{sample_version}/approve", headers=cq.headers)
    assert approve.status_code == 409
    current = (await client.get("/v1/catalogue", headers=cq.headers)).json()
    assert next(e for e in current["entries"] if e["occupation_code"] == WELDER)["shortage_level"] == 1


async def test_the_database_refuses_changes_to_published_entries(
    sample_version: int, db: asyncpg.Connection,
) -> None:
    with pytest.raises(asyncpg.CheckViolationError, match="immutable"):
        await db.execute("UPDATE catalogue_entries SET shortage_level = 3 WHERE version = $1", sample_version)
    with pytest.raises(asyncpg.CheckViolationError, match="immutable"):
        await db.execute("DELETE FROM catalogue_entries WHERE version = $1", sample_version)
    with pytest.raises(asyncpg.CheckViolationError, match="immutable"):
        await db.execute(
            """INSERT INTO catalogue_entries (version, occupation_code, position, name, shortage_level, side)
               VALUES ($1, '6-18-02-05', 99, '钎焊工', 2, 'CQ')""", sample_version)
    with pytest.raises(asyncpg.CheckViolationError, match="only be retired"):
        await db.execute("UPDATE catalogue_versions SET status = 'draft', published_at = NULL WHERE version = $1",
                         sample_version)
    with pytest.raises(asyncpg.CheckViolationError, match="kept forever"):
        await db.execute("DELETE FROM catalogue_versions WHERE version = $1", sample_version)
    assert await db.fetchval("SELECT count(*) FROM catalogue_entries WHERE version = $1",
                             sample_version) == len(SAMPLE_ENTRIES)


async def test_every_change_records_who_and_when(
    sample_version: int, client: httpx.AsyncClient, cq: OrgKey, sc: OrgKey, make_org: MakeOrg,
) -> None:
    draft = await new_draft(client, cq)
    put = await client.put(f"/v1/catalogue/drafts/{draft}/entries/{WELDER}", headers=sc.headers,
                           json=entry_body(SAMPLE_ENTRIES[0], shortage_level=2))
    assert put.status_code == 200, put.text
    assert (await client.post(f"/v1/catalogue/drafts/{draft}/approve", headers=cq.headers)).status_code == 200
    changes = await client.get(f"/v1/catalogue/versions/{draft}/changes", headers=sc.headers)
    assert changes.status_code == 200, changes.text
    items = changes.json()["items"]
    assert [(c["action"], c["org_id"], c["occupation_code"]) for c in items] == [
        ("create_draft", cq.org_id, None), ("entry_upsert", sc.org_id, WELDER), ("approve", cq.org_id, None)]
    assert all(c["at"] for c in items)
    broker = await make_org("broker")
    assert (await client.get(f"/v1/catalogue/versions/{sample_version}/changes",
                             headers=broker.headers)).status_code == 403


async def test_a_versions_changes_are_paged_and_its_cursor_is_its_own(
    sample_version: int, client: httpx.AsyncClient, cq: OrgKey, sc: OrgKey,
) -> None:
    draft = await new_draft(client, cq)
    for level in (2, 3, 2, 1):
        put = await client.put(f"/v1/catalogue/drafts/{draft}/entries/{WELDER}", headers=sc.headers,
                               json=entry_body(SAMPLE_ENTRIES[0], shortage_level=level))
        assert put.status_code == 200, put.text
    whole = (await client.get(f"/v1/catalogue/versions/{draft}/changes", headers=cq.headers)).json()
    assert len(whole["items"]) == 5
    assert whole["next_cursor"] is None
    seen: list[int] = []
    cursor: str | None = None
    first_cursor: str | None = None
    while True:
        page = (await client.get(f"/v1/catalogue/versions/{draft}/changes", headers=cq.headers,
                                 params={"limit": 2, **({"cursor": cursor} if cursor else {})})).json()
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        first_cursor = first_cursor or cursor
        if cursor is None:
            break
    assert seen == [c["id"] for c in whole["items"]]
    # A cursor of one version's changes is not a position in another's: it was read from that id on.
    other = await client.get(f"/v1/catalogue/versions/{sample_version}/changes", headers=cq.headers,
                             params={"cursor": first_cursor})
    assert other.status_code == 422, other.text
    assert [e["field"] for e in other.json()["errors"]] == ["cursor"]


@pytest.mark.parametrize("wage_band", [
    '{"min": 0, "max": Infinity, "unit": "month"}',
    '{"min": 1e400, "max": 1e400, "unit": "month"}',
    '{"min": NaN, "max": 9000, "unit": "month"}',
])
async def test_a_wage_band_that_is_not_a_finite_number_is_422_and_the_draft_unchanged(
    sample_version: int, client: httpx.AsyncClient, cq: OrgKey, wage_band: str,
) -> None:
    # Python's JSON reader takes these as infinity / NaN. Infinity was stored, then answered as `"max": null`
    # (against the documented schema) and exported as `inf`.
    draft = await new_draft(client, cq)
    body = entry_body(SAMPLE_ENTRIES[0])
    del body["wage_band"]
    raw = orjson.dumps(body)[:-1] + b', "wage_band": ' + wage_band.encode() + b"}"
    put = await client.put(f"/v1/catalogue/drafts/{draft}/entries/{WELDER}", content=raw,
                           headers={**cq.headers, "content-type": "application/json"})
    assert put.status_code == 422, put.text
    assert put.headers["content-type"].startswith("application/problem+json")
    assert any(e["field"].startswith("wage_band") for e in put.json()["errors"]), put.text
    version = await client.get(f"/v1/catalogue/versions/{draft}", headers=cq.headers)
    assert version.status_code == 200
    welder = next(e for e in version.json()["entries"] if e["occupation_code"] == WELDER)
    assert welder["wage_band"] == {"min": 6000, "max": 9000, "unit": "month"}


@pytest.mark.parametrize(("band", "fields"), [
    ({"min": 6000, "max": 1e12, "unit": "month"}, ["wage_band.max"]),
    ({"min": 1e12, "max": 1e12, "unit": "month"}, ["wage_band.min", "wage_band.max"]),
])
async def test_a_wage_band_past_a_postings_wage_bound_is_422_naming_the_bound(
    sample_version: int, client: httpx.AsyncClient, cq: OrgKey, band: dict[str, object], fields: list[str],
) -> None:
    # A posting's wage is at most 1,000,000 (per unit); the catalogue's reference band took 1e12.
    draft = await new_draft(client, cq)
    body = {**entry_body(SAMPLE_ENTRIES[0]), "wage_band": band}
    put = await client.put(f"/v1/catalogue/drafts/{draft}/entries/{WELDER}", json=body, headers=cq.headers)
    assert put.status_code == 422, put.text
    assert put.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in put.json()["errors"]] == fields, put.text
    body["wage_band"] = {"min": 6000, "max": 1_000_000, "unit": "month"}
    at_bound = await client.put(f"/v1/catalogue/drafts/{draft}/entries/{WELDER}", json=body, headers=cq.headers)
    assert at_bound.status_code == 200, at_bound.text


async def test_idempotent_draft_creation(sample_version: int, client: httpx.AsyncClient, cq: OrgKey,
                                         db: asyncpg.Connection) -> None:
    headers = {**cq.headers, "Idempotency-Key": "draft-2026-q4"}
    first = await client.post("/v1/catalogue/drafts", headers=headers, json={"note": "2026 Q4"})
    again = await client.post("/v1/catalogue/drafts", headers=headers, json={"note": "2026 Q4"})
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert await db.fetchval("SELECT count(*) FROM catalogue_versions WHERE status = 'draft'") == 1


async def test_a_discarded_draft_is_kept_frozen_and_never_published(
    sample_version: int, client: httpx.AsyncClient, cq: OrgKey, sc: OrgKey, make_org: MakeOrg, db: asyncpg.Connection,
) -> None:
    draft = await new_draft(client, cq)
    assert (await client.post(f"/v1/catalogue/drafts/{draft}/approve", headers=cq.headers)).status_code == 200
    assert (await client.post(f"/v1/catalogue/drafts/{draft}/approve", headers=sc.headers)).status_code == 200

    discarded = await client.delete(f"/v1/catalogue/drafts/{draft}", headers=sc.headers)

    assert discarded.status_code == 200, discarded.text
    body = discarded.json()
    assert (body["status"], body["discarded_by"], body["missing_approvals"]) == ("discarded", sc.org_id, [])
    assert body["discarded_at"]
    # Frozen: no edit, approval, publication or second discard; the published version is untouched.
    for call in (
        client.put(f"/v1/catalogue/drafts/{draft}/entries/{WELDER}", headers=cq.headers,
                   json=entry_body(SAMPLE_ENTRIES[0], shortage_level=3)),
        client.post(f"/v1/catalogue/drafts/{draft}/approve", headers=cq.headers),
        client.post(f"/v1/catalogue/drafts/{draft}/publish", headers=cq.headers),
        client.delete(f"/v1/catalogue/drafts/{draft}", headers=cq.headers),
    ):
        response = await call
        assert response.status_code == 409, (response.request.url, response.text)
        assert "discarded" in response.json()["detail"]
    assert (await client.get("/v1/catalogue", headers=cq.headers)).json()["version"] == sample_version
    # Kept with its log for authorities, invisible to others, and the database refuses to revive it.
    changes = (await client.get(f"/v1/catalogue/versions/{draft}/changes", headers=cq.headers)).json()["items"]
    assert [(c["action"], c["org_id"]) for c in changes][-1] == ("discard", sc.org_id)
    broker = await make_org("broker")
    assert (await client.get(f"/v1/catalogue/versions/{draft}", headers=broker.headers)).status_code == 404
    with pytest.raises(asyncpg.CheckViolationError, match="discarded"):
        await db.execute("UPDATE catalogue_versions SET status = 'draft', discarded_at = NULL WHERE version = $1",
                         draft)
    with pytest.raises(asyncpg.CheckViolationError, match="immutable"):
        await db.execute("DELETE FROM catalogue_approvals WHERE version = $1", draft)


async def test_a_published_version_cannot_be_discarded(
    sample_version: int, client: httpx.AsyncClient, cq: OrgKey,
) -> None:
    response = await client.delete(f"/v1/catalogue/drafts/{sample_version}", headers=cq.headers)
    assert response.status_code == 409
    assert response.headers["content-type"].startswith("application/problem+json")
    assert (await client.get(f"/v1/catalogue/versions/{sample_version}", headers=cq.headers)).json()["status"] \
        == "published"
    missing = await client.delete("/v1/catalogue/drafts/99999", headers=cq.headers)
    assert missing.status_code == 404


async def test_an_upside_down_wage_band_names_both_bounds(sample_version: int, client: httpx.AsyncClient,
                                                          cq: OrgKey) -> None:
    draft = await new_draft(client, cq)
    body = entry_body(SAMPLE_ENTRIES[0])
    body["wage_band"] = {"min": 9000, "max": 6000, "unit": "month"}
    put = await client.put(f"/v1/catalogue/drafts/{draft}/entries/{WELDER}", json=body, headers=cq.headers)
    assert put.status_code == 422, put.text
    assert [e["field"] for e in put.json()["errors"]] == ["wage_band.min", "wage_band.max"], put.text
