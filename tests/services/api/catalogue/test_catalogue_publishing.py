"""Joint compilation: the two-province approval rule, approvals cleared by edits, validation at publish,
diff between versions, and codes retired with replaced_by (never deleted)."""

from __future__ import annotations

import dataclasses

import asyncpg
import httpx
import orjson

from matching.catalogue import Catalogue
from matching.occupations import load_occupations
from tests.conftest import MakeOrg, OrgKey
from tests.services.api.catalogue.conftest import (
    CHEF,
    FOUNDRY,
    SAMPLE_ENTRIES,
    WELDER,
    approve_and_publish,
    entry_body,
    new_draft,
)

SOLDERER = "6-18-02-05"


async def test_publishing_needs_both_provinces(
    sample_version: int, client: httpx.AsyncClient, cq: OrgKey, sc: OrgKey, make_org: MakeOrg,
    db: asyncpg.Connection,
) -> None:
    draft = await new_draft(client, cq)
    edit = await client.put(f"/v1/catalogue/drafts/{draft}/entries/{WELDER}", headers=cq.headers,
                            json=entry_body(SAMPLE_ENTRIES[0], aliases=["焊接工", "电焊工"]))
    assert edit.status_code == 200, edit.text
    # One side only: refused, with the reason.
    approved = await client.post(f"/v1/catalogue/drafts/{draft}/approve", headers=cq.headers)
    assert approved.status_code == 200, approved.text
    assert approved.json()["missing_approvals"] == ["SC"]
    refused = await client.post(f"/v1/catalogue/drafts/{draft}/publish", headers=cq.headers)
    assert refused.status_code == 409
    assert "SC" in refused.json()["detail"]
    assert refused.json()["missing_approvals"] == ["SC"]
    # The same province approving again (even another CQ authority) is refused with a reason.
    twice = await client.post(f"/v1/catalogue/drafts/{draft}/approve", headers=cq.headers)
    assert twice.status_code == 409
    assert "already approved" in twice.json()["detail"]
    other_cq = await make_org("authority", province="CQ")
    assert (await client.post(f"/v1/catalogue/drafts/{draft}/approve", headers=other_cq.headers)).status_code == 409
    # Both sides: published; the previous version is retired.
    sc_approval = await client.post(f"/v1/catalogue/drafts/{draft}/approve", headers=sc.headers)
    assert sc_approval.status_code == 200
    assert sc_approval.json()["status"] == "approved"
    published = await client.post(f"/v1/catalogue/drafts/{draft}/publish", headers=sc.headers)
    assert published.status_code == 200, published.text
    assert published.json()["status"] == "published"
    assert published.json()["published_at"]
    assert {a["province"] for a in published.json()["approvals"]} == {"CQ", "SC"}
    current = (await client.get("/v1/catalogue", headers=cq.headers)).json()
    assert current["version"] == draft
    assert "电焊工" in next(e for e in current["entries"] if e["occupation_code"] == WELDER)["aliases"]
    previous = (await client.get(f"/v1/catalogue/versions/{sample_version}", headers=cq.headers)).json()
    assert previous["status"] == "retired"
    # The publication left an outbox row for the worker, in the same transaction.
    assert await db.fetchval("SELECT count(*) FROM outbox WHERE topic = 'catalogue.published' AND entity_id = $1",
                             str(draft)) == 1
    # Published now: no more approvals or edits.
    assert (await client.post(f"/v1/catalogue/drafts/{draft}/publish", headers=sc.headers)).status_code == 409


async def test_an_edit_after_an_approval_clears_the_approvals(
    sample_version: int, client: httpx.AsyncClient, cq: OrgKey, sc: OrgKey,
) -> None:
    draft = await new_draft(client, cq)
    for authority in (cq, sc):
        assert (await client.post(f"/v1/catalogue/drafts/{draft}/approve",
                                  headers=authority.headers)).status_code == 200
    edit = await client.put(f"/v1/catalogue/drafts/{draft}/entries/{CHEF}", headers=sc.headers,
                            json=entry_body(SAMPLE_ENTRIES[2], shortage_level=1))
    assert edit.status_code == 200
    assert edit.json()["approvals_cleared"] == ["CQ", "SC"]
    state = (await client.get(f"/v1/catalogue/versions/{draft}", headers=cq.headers)).json()
    assert state["status"] == "draft"
    assert state["approvals"] == []
    refused = await client.post(f"/v1/catalogue/drafts/{draft}/publish", headers=cq.headers)
    assert refused.status_code == 409
    assert refused.json()["missing_approvals"] == ["CQ", "SC"]
    assert (await approve_and_publish(client, draft, cq, sc)).status_code == 200


async def test_bad_entries_are_refused_and_leave_the_draft_as_it_was(
    sample_version: int, client: httpx.AsyncClient, cq: OrgKey,
) -> None:
    draft = await new_draft(client, cq)
    url = f"/v1/catalogue/drafts/{draft}/entries"
    before = (await client.get(f"/v1/catalogue/versions/{draft}", headers=cq.headers)).json()["entries"]
    # An alias that already belongs to another trade: reported, not silently resolved.
    shared = await client.put(f"{url}/{CHEF}", headers=cq.headers,
                              json=entry_body(SAMPLE_ENTRIES[2], aliases=["厨师", "焊接工"]))
    assert shared.status_code == 422
    assert any(e["field"] == f"entries[{CHEF}].aliases" and "焊接工" in e["message"]
               for e in shared.json()["errors"])
    unknown = await client.put(f"{url}/6-99-99-99", headers=cq.headers,
                               json=entry_body(SAMPLE_ENTRIES[0], name="不存在的工种", aliases=[]))
    assert unknown.status_code == 422
    assert "2022" in unknown.text
    empty = await client.put(f"{url}/{WELDER}", headers=cq.headers, json=entry_body(SAMPLE_ENTRIES[0], name=" "))
    assert empty.status_code == 422
    level = await client.put(f"{url}/{WELDER}", headers=cq.headers,
                             json=entry_body(SAMPLE_ENTRIES[0], shortage_level=4))
    assert level.status_code == 422
    region = await client.put(f"{url}/{WELDER}", headers=cq.headers,
                              json=entry_body(SAMPLE_ENTRIES[0], regions=["999999"]))
    assert region.status_code == 422
    after = (await client.get(f"/v1/catalogue/versions/{draft}", headers=cq.headers)).json()["entries"]
    assert after == before


async def test_an_alias_may_not_be_another_entrys_occupation_code(
    sample_version: int, client: httpx.AsyncClient, cq: OrgKey,
) -> None:
    # Codes are looked up like names and aliases (typeahead, the index's synonyms): 6-18-02-04 as an alias of
    # 中式烹调师 would offer the cooks to whoever types the welders' code.
    draft = await new_draft(client, cq)
    url = f"/v1/catalogue/drafts/{draft}/entries"
    before = (await client.get(f"/v1/catalogue/versions/{draft}", headers=cq.headers)).json()["entries"]
    refused = await client.put(f"{url}/{CHEF}", headers=cq.headers,
                               json=entry_body(SAMPLE_ENTRIES[2], aliases=["厨师", f" {WELDER} "]))
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    errors = refused.json()["errors"]
    assert [e["field"] for e in errors] == [f"entries[{CHEF}].aliases"]
    assert WELDER in errors[0]["message"]
    assert "职业代码" in errors[0]["message"]
    assert "occupation code" in errors[0]["message"]
    after = (await client.get(f"/v1/catalogue/versions/{draft}", headers=cq.headers)).json()["entries"]
    assert after == before
    # The other way round: a new entry whose code is already another entry's alias (a code of no entry is
    # only a word).
    aliased = await client.put(f"{url}/{CHEF}", headers=cq.headers,
                               json=entry_body(SAMPLE_ENTRIES[2], aliases=["厨师", SOLDERER]))
    assert aliased.status_code == 200, aliased.text
    added = await client.put(f"{url}/{SOLDERER}", headers=cq.headers, json={
        "name": "钎焊工", "aliases": [], "industry": "制造业", "shortage_level": 3, "side": "SC"})
    assert added.status_code == 422, added.text
    assert [e["field"] for e in added.json()["errors"]] == [f"entries[{CHEF}].aliases"]
    # An entry's own code as its alias names the same trade: nothing to refuse.
    own = await client.put(f"{url}/{CHEF}", headers=cq.headers,
                           json=entry_body(SAMPLE_ENTRIES[2], aliases=["厨师", CHEF]))
    assert own.status_code == 200, own.text
    # A spreadsheet import is held to the same rule, with the row named.
    csv_text = (await client.get(f"/v1/catalogue/versions/{sample_version}/export", headers=cq.headers)).text
    csv_text = csv_text.lstrip("\ufeff").replace("厨师;炒菜师傅", f"厨师;炒菜师傅;{WELDER}")
    imported = await client.post(f"/v1/catalogue/drafts/{draft}/import", headers=cq.headers,
                                 files={"file": ("catalogue.csv", csv_text.encode(), "text/csv")})
    assert imported.status_code == 422, imported.text
    assert [e["field"] for e in imported.json()["errors"]] == ["row 4: aliases"]


async def test_a_lone_surrogate_in_an_entry_list_is_a_422_problem_not_a_500(
    sample_version: int, client: httpx.AsyncClient, cq: OrgKey,
) -> None:
    # JSON may escape half of a surrogate pair ("\ud800"); pydantic refuses it in a `str` field but lets it
    # through inside `list[str]`, and asyncpg then fails to encode it: the client's bad text, never a 500.
    draft = await new_draft(client, cq)
    before = (await client.get(f"/v1/catalogue/versions/{draft}", headers=cq.headers)).json()["entries"]
    for field in ("aliases", "skills", "certificates"):
        body = orjson.dumps(entry_body(SAMPLE_ENTRIES[0], **{field: ["SURROGATE"]})).replace(
            b"SURROGATE", b"\\ud800")
        response = await client.put(f"/v1/catalogue/drafts/{draft}/entries/{WELDER}", content=body,
                                    headers={**cq.headers, "content-type": "application/json"})
        assert response.status_code == 422, (field, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["type"].endswith("/validation")
    after = (await client.get(f"/v1/catalogue/versions/{draft}", headers=cq.headers)).json()["entries"]
    assert after == before


async def test_a_paragraph_is_not_an_alias_skill_or_certificate(
    sample_version: int, client: httpx.AsyncClient, cq: OrgKey,
) -> None:
    # A pasting mistake (5,000 characters in one alias) would be published to every kiosk's typeahead.
    draft = await new_draft(client, cq)
    for field in ("aliases", "skills", "certificates"):
        response = await client.put(f"/v1/catalogue/drafts/{draft}/entries/{WELDER}", headers=cq.headers,
                                    json=entry_body(SAMPLE_ENTRIES[0], **{field: ["焊" * 5000]}))
        assert response.status_code == 422, (field, response.text)
        assert [e["field"] for e in response.json()["errors"]] == [f"{field}.0"]
    # The same rule for spreadsheet imports, which build entries without this schema.
    entry = dataclasses.replace(SAMPLE_ENTRIES[0], skills=("焊" * 101,))
    problems = Catalogue(9, (entry,)).validate(load_occupations())
    assert [(p.field, p.message) for p in problems] == [("skills", "skills items are at most 100 characters")]


async def test_diff_between_versions(
    sample_version: int, client: httpx.AsyncClient, cq: OrgKey, sc: OrgKey, make_org: MakeOrg,
) -> None:
    draft = await new_draft(client, cq)
    url = f"/v1/catalogue/drafts/{draft}/entries"
    assert (await client.put(f"{url}/{WELDER}", headers=cq.headers, json=entry_body(
        SAMPLE_ENTRIES[0], aliases=["焊接工", "电焊工"], shortage_level=2))).status_code == 200
    added = await client.put(f"{url}/{SOLDERER}", headers=sc.headers, json={
        "name": "钎焊工", "aliases": ["钎焊师傅"], "industry": "制造业", "shortage_level": 3, "side": "SC"})
    assert added.status_code == 200
    assert added.json()["created"] is True
    assert (await approve_and_publish(client, draft, cq, sc)).status_code == 200
    kiosk = await make_org("kiosk")
    diff = await client.get(f"/v1/catalogue/versions/{draft}/diff?against={sample_version}", headers=kiosk.headers)
    assert diff.status_code == 200, diff.text
    body = diff.json()
    assert body["added"] == [SOLDERER]
    assert body["removed"] == []
    assert {(c["occupation_code"], c["field"]) for c in body["changed"]} == {
        (WELDER, "aliases"), (WELDER, "shortage_level")}
    aliases = next(c for c in body["changed"] if c["field"] == "aliases")
    assert aliases["before"] == ["焊接工"]
    assert aliases["after"] == ["焊接工", "电焊工"]
    backwards = (await client.get(f"/v1/catalogue/versions/{sample_version}/diff?against={draft}",
                                  headers=kiosk.headers)).json()
    assert backwards["removed"] == [SOLDERER]
    assert backwards["added"] == []


async def test_codes_are_never_deleted_only_retired_with_replaced_by(
    sample_version: int, client: httpx.AsyncClient, cq: OrgKey, sc: OrgKey,
) -> None:
    draft = await new_draft(client, cq)
    url = f"/v1/catalogue/drafts/{draft}/entries"
    # A published code cannot simply disappear.
    refused = await client.delete(f"{url}/{FOUNDRY}", headers=cq.headers)
    assert refused.status_code == 409
    assert "replaced_by" in refused.json()["detail"]
    # A code added in this draft can be removed again.
    assert (await client.put(f"{url}/{SOLDERER}", headers=cq.headers, json={
        "name": "钎焊工", "shortage_level": 3, "side": "CQ"})).status_code == 200
    removed = await client.delete(f"{url}/{SOLDERER}", headers=cq.headers)
    assert removed.status_code == 200
    assert removed.json()["retired"] is False
    # Retiring needs a replacement that exists in the draft.
    dangling = await client.delete(f"{url}/{FOUNDRY}?replaced_by={SOLDERER}", headers=cq.headers)
    assert dangling.status_code == 422
    retired = await client.delete(f"{url}/{FOUNDRY}?replaced_by={WELDER}", headers=cq.headers)
    assert retired.status_code == 200, retired.text
    assert retired.json()["retired"] is True
    assert (await approve_and_publish(client, draft, cq, sc)).status_code == 200
    current = (await client.get("/v1/catalogue", headers=cq.headers)).json()
    foundry = next(e for e in current["entries"] if e["occupation_code"] == FOUNDRY)
    assert foundry["replaced_by"] == WELDER
    diff = (await client.get(f"/v1/catalogue/versions/{draft}/diff?against={sample_version}",
                             headers=cq.headers)).json()
    assert diff["removed"] == []
    assert {"occupation_code": FOUNDRY, "field": "replaced_by", "before": None, "after": WELDER} in diff["changed"]


async def test_a_draft_based_on_an_older_version_cannot_be_published(
    sample_version: int, client: httpx.AsyncClient, cq: OrgKey, sc: OrgKey,
) -> None:
    first = await new_draft(client, cq)
    second = await new_draft(client, sc)
    assert (await approve_and_publish(client, second, cq, sc)).status_code == 200
    stale = await approve_and_publish(client, first, cq, sc)
    assert stale.status_code == 409
    assert f"version {second} is published" in stale.json()["detail"]


async def test_publish_reports_alias_conflicts_instead_of_resolving_them(
    sample_version: int, client: httpx.AsyncClient, cq: OrgKey, sc: OrgKey, db: asyncpg.Connection,
) -> None:
    draft = await new_draft(client, cq)
    for authority in (cq, sc):
        assert (await client.post(f"/v1/catalogue/drafts/{draft}/approve",
                                  headers=authority.headers)).status_code == 200
    # A conflict that got into the draft behind the API's back (the API itself refuses to create one).
    await db.execute("UPDATE catalogue_versions SET status = 'draft' WHERE version = $1", draft)
    await db.execute("UPDATE catalogue_entries SET aliases = aliases || '{焊接工}' WHERE version = $1 "
                     "AND occupation_code = $2", draft, CHEF)
    refused = await client.post(f"/v1/catalogue/drafts/{draft}/publish", headers=cq.headers)
    assert refused.status_code == 422
    messages = [e["message"] for e in refused.json()["errors"] if e["field"] == f"entries[{CHEF}].aliases"]
    assert messages
    assert "焊接工" in messages[0]
    assert WELDER in messages[0]
    current = (await client.get("/v1/catalogue", headers=cq.headers)).json()
    assert current["version"] == sample_version
