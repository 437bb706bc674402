"""Recording a broker's HR-service licence after registration: renewal, withdrawal, who may, and the record."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from services.api.china_calendar import china_today
from tests.conftest import LICENCE_VALID_UNTIL, MakeOrg, OrgKey
from tests.services.api.matches.test_matches import worker_body


def licence(days_left: int, *, province: str = "CQ", number: str = "渝人服证字〔2026〕第0042号") -> dict[str, Any]:
    return {"number": number, "issuer_province": province,
            "valid_until": (china_today() + timedelta(days=days_left)).isoformat()}


async def put_licence(client: httpx.AsyncClient, by: OrgKey, org_id: str, body: dict[str, Any]) -> httpx.Response:
    return await client.put(f"/v1/orgs/{org_id}/licence", json=body, headers=by.headers)


async def test_a_renewed_licence_lets_a_lapsed_broker_post_again_and_is_kept_on_record(
        client: httpx.AsyncClient, make_org: MakeOrg, admin: OrgKey, db: asyncpg.Connection) -> None:
    broker = await make_org("broker", licence=licence(-1))  # lapsed yesterday
    refused = await client.post("/v1/workers", json=worker_body(11), headers=broker.headers)
    assert refused.status_code == 403, refused.text
    assert refused.json()["reason"] == "licence_expired"

    renewed = await put_licence(client, admin, broker.org_id, licence(730))
    assert renewed.status_code == 200, renewed.text
    assert renewed.json()["licence"] == licence(730)
    assert (await client.get(f"/v1/orgs/{broker.org_id}", headers=broker.headers)).json()["licence"] == licence(730)
    posted = await client.post("/v1/workers", json=worker_body(11), headers=broker.headers)
    assert posted.status_code == 201, posted.text

    changes = await db.fetch("SELECT * FROM licence_changes WHERE org_id = $1::uuid", broker.org_id)
    assert [(c["valid_until"], c["previous_valid_until"], str(c["changed_by"])) for c in changes] == [
        (china_today() + timedelta(days=730), china_today() - timedelta(days=1), admin.org_id)]
    with pytest.raises(asyncpg.CheckViolationError):  # the record is only ever added to
        await db.execute("UPDATE licence_changes SET valid_until = '2099-01-01'")
    with pytest.raises(asyncpg.CheckViolationError):
        await db.execute("DELETE FROM licence_changes")


async def test_an_authority_records_and_withdraws_the_licences_its_province_issues(
        client: httpx.AsyncClient, make_org: MakeOrg, db: asyncpg.Connection) -> None:
    broker = await make_org("broker", licence=licence(30, province="SC", number="川人服证字〔2025〕第0007号"))
    sichuan, chongqing = await make_org("authority", province="SC"), await make_org("authority", province="CQ")

    other_province = await put_licence(client, chongqing, broker.org_id, licence(365, province="SC"))
    assert other_province.status_code == 403, other_province.text
    assert other_province.headers["content-type"].startswith("application/problem+json")

    # Withdrawn: an end date of yesterday; the broker cannot post from its next request on.
    withdrawn = await put_licence(client, sichuan, broker.org_id, licence(-1, province="SC"))
    assert withdrawn.status_code == 200, withdrawn.text
    refused = await client.post("/v1/workers", json=worker_body(12), headers=broker.headers)
    assert (refused.status_code, refused.json().get("reason")) == (403, "licence_expired")
    # A licence Chongqing issues to the same broker later is Chongqing's to record.
    assert (await put_licence(client, chongqing, broker.org_id, licence(365))).status_code == 200
    assert await db.fetchval("SELECT count(*) FROM licence_changes WHERE org_id = $1::uuid", broker.org_id) == 2


async def test_licences_are_refused_to_others_and_for_other_organisations(
        client: httpx.AsyncClient, make_org: MakeOrg, admin: OrgKey, db: asyncpg.Connection) -> None:
    broker, enterprise = await make_org("broker"), await make_org("enterprise")
    own = await put_licence(client, broker, broker.org_id, licence(3650))  # a broker cannot extend its own
    assert own.status_code == 403, own.text
    assert (await put_licence(client, enterprise, broker.org_id, licence(365))).status_code == 403

    not_a_broker = await put_licence(client, admin, enterprise.org_id, licence(365))
    assert not_a_broker.status_code == 409, not_a_broker.text
    assert not_a_broker.headers["content-type"].startswith("application/problem+json")
    missing = await put_licence(client, admin, "00000000-0000-0000-0000-000000000001", licence(365))
    assert missing.status_code == 404, missing.text

    bad = await put_licence(client, admin, broker.org_id, {"issuer_province": "GD", "valid_until": "2027-13-01"})
    assert bad.status_code == 422, bad.text
    assert {e["field"] for e in bad.json()["errors"]} >= {"number", "issuer_province", "valid_until"}
    body = {"number": "渝人服证字〔2026〕001号", "issuer_province": "CQ", "valid_until": 1893456000}
    as_seconds = await put_licence(client, admin, broker.org_id, body)  # midnight UTC, read by pydantic as 2030-01-01
    assert as_seconds.status_code == 422, as_seconds.text
    assert [e["field"] for e in as_seconds.json()["errors"]] == ["valid_until"], as_seconds.text
    forever = await put_licence(client, admin, broker.org_id, licence(11 * 366))  # "no end" is not a date
    assert forever.status_code == 422, forever.text
    assert [e["field"] for e in forever.json()["errors"]] == ["valid_until"]
    assert await db.fetchval("SELECT count(*) FROM licence_changes") == 0
    unchanged = await client.get(f"/v1/orgs/{broker.org_id}", headers=broker.headers)
    assert unchanged.json()["licence"]["valid_until"] == LICENCE_VALID_UNTIL


async def test_an_authority_cannot_replace_a_licence_the_other_province_issued_while_it_is_valid(
        client: httpx.AsyncClient, make_org: MakeOrg, admin: OrgKey, db: asyncpg.Connection) -> None:
    # Declaring its own province as the issuer must not let Chongqing end (or rewrite) a licence Sichuan issued
    # and that still holds: that is Sichuan's (or the platform admin's) to change.
    sichuan_licence = licence(365, province="SC", number="川人服证字〔2025〕第0008号")
    broker = await make_org("broker", licence=sichuan_licence)
    chongqing = await make_org("authority", province="CQ")

    taken_over = await put_licence(client, chongqing, broker.org_id, licence(-1))
    assert taken_over.status_code == 403, taken_over.text
    assert taken_over.headers["content-type"].startswith("application/problem+json")
    assert (await client.get(f"/v1/orgs/{broker.org_id}", headers=broker.headers)).json()["licence"] == sichuan_licence
    assert (await client.post("/v1/workers", json=worker_body(13), headers=broker.headers)).status_code == 201
    assert await db.fetchval("SELECT count(*) FROM licence_changes WHERE org_id = $1::uuid", broker.org_id) == 0

    # The admin still may (a broker moving to a Chongqing licence goes through the operator).
    assert (await put_licence(client, admin, broker.org_id, licence(365))).status_code == 200


async def test_a_blank_licence_number_is_refused(client: httpx.AsyncClient, make_org: MakeOrg, admin: OrgKey,
                                                 db: asyncpg.Connection) -> None:
    # min_length counted the spaces: "   " was recorded as a licence number (and listed on the credit platform).
    broker = await make_org("broker")
    blank = await put_licence(client, admin, broker.org_id, licence(365, number="   "))
    assert blank.status_code == 422, blank.text
    assert [e["field"] for e in blank.json()["errors"]] == ["number"]
    created = await client.post("/v1/orgs", headers=admin.headers, json={
        "type": "broker", "name": "空证号经纪", "licence": licence(365, number=" \t ")})
    assert created.status_code == 422, created.text
    assert await db.fetchval("SELECT count(*) FROM licence_changes") == 0

    padded = await put_licence(client, admin, broker.org_id, licence(365, number="  渝人服证字〔2026〕第0043号 "))
    assert padded.status_code == 200, padded.text
    assert padded.json()["licence"]["number"] == "渝人服证字〔2026〕第0043号"

    # One stored before this rule is still answered (as it is), not a 500.
    await db.execute("UPDATE organisations SET licence_number = '   ' WHERE id = $1::uuid", broker.org_id)
    stored = await client.get(f"/v1/orgs/{broker.org_id}", headers=broker.headers)
    assert stored.status_code == 200, stored.text
    assert stored.json()["licence"]["number"] == "   "


async def test_the_licence_record_is_readable_by_authorities_and_the_broker_newest_first(
        client: httpx.AsyncClient, make_org: MakeOrg, admin: OrgKey) -> None:
    broker = await make_org("broker", licence=licence(10))
    chongqing, sichuan = await make_org("authority", province="CQ"), await make_org("authority", province="SC")
    other_broker, enterprise = await make_org("broker"), await make_org("enterprise")
    for days in (400, 800, 1200):
        assert (await put_licence(client, chongqing, broker.org_id, licence(days))).status_code == 200

    path = f"/v1/orgs/{broker.org_id}/licence/changes"
    first = await client.get(path, params={"limit": 2}, headers=sichuan.headers)  # the other province reads it too
    assert first.status_code == 200, first.text
    page = first.json()
    assert [i["licence"]["valid_until"] for i in page["items"]] == [licence(1200)["valid_until"],
                                                                   licence(800)["valid_until"]]
    assert page["items"][0]["previous"] == licence(800)
    assert page["items"][0]["changed_by"] == chongqing.org_id
    rest = await client.get(path, params={"limit": 2, "cursor": page["next_cursor"]}, headers=broker.headers)
    assert rest.status_code == 200, rest.text
    assert [(i["licence"]["valid_until"], i["previous"]["valid_until"]) for i in rest.json()["items"]] == [
        (licence(400)["valid_until"], licence(10)["valid_until"])]
    assert rest.json()["next_cursor"] is None
    assert (await client.get(path, headers=admin.headers)).status_code == 200

    # Another broker or an enterprise: as if it did not exist. A forged cursor: 422.
    for stranger in (other_broker, enterprise):
        assert (await client.get(path, headers=stranger.headers)).status_code == 404
    forged = await client.get(path, params={"cursor": page["next_cursor"][:-2] + "xx"}, headers=broker.headers)
    assert forged.status_code == 422, forged.text
    not_a_broker = await client.get(f"/v1/orgs/{enterprise.org_id}/licence/changes", headers=admin.headers)
    assert not_a_broker.status_code == 404
    # One broker's cursor is not another's: it read the other broker's changes from that position on.
    for days in (400, 800):
        assert (await put_licence(client, chongqing, other_broker.org_id, licence(days))).status_code == 200
    replayed = await client.get(f"/v1/orgs/{other_broker.org_id}/licence/changes",
                                params={"cursor": page["next_cursor"]}, headers=admin.headers)
    assert replayed.status_code == 422, replayed.text
    assert [e["field"] for e in replayed.json()["errors"]] == ["cursor"]


async def test_a_licence_ended_centuries_ago_or_with_control_characters_is_refused(
        client: httpx.AsyncClient, make_org: MakeOrg, admin: OrgKey, db: asyncpg.Connection) -> None:
    # The admin API stored a licence valid until 1570 (a mistyped year, not a lapsed licence) and numbers holding
    # control characters, which the authorities' record then showed.
    broker = await make_org("broker")
    typo = await put_licence(client, admin, broker.org_id, {**licence(365), "valid_until": "1570-06-30"})
    assert typo.status_code == 422, typo.text
    assert [e["field"] for e in typo.json()["errors"]] == ["valid_until"], typo.text
    created = await client.post("/v1/orgs", headers=admin.headers, json={
        "type": "broker", "name": "古证经纪", "licence": {**licence(365), "valid_until": "1570-06-30"}})
    assert created.status_code == 422, created.text
    assert [e["field"] for e in created.json()["errors"]] == ["licence.valid_until"], created.text

    numbers = ("渝人服证字\x07〔2026〕第0042号", "渝人服证字\x1b[2J第0042号", "\u200b\u200b\u200b", "\u200b渝\u200b")
    for number in numbers:
        refused = await put_licence(client, admin, broker.org_id, licence(365, number=number))
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert [e["field"] for e in refused.json()["errors"]] == ["number"], refused.text
    created = await client.post("/v1/orgs", headers=admin.headers, json={
        "type": "broker", "name": "控制符经纪", "licence": licence(365, number="渝人服证字\x00第1号")})
    assert created.status_code == 422, created.text
    assert [e["field"] for e in created.json()["errors"]] == ["licence.number"], created.text
    assert await db.fetchval("SELECT count(*) FROM licence_changes") == 0
    assert await db.fetchval("SELECT count(*) FROM organisations WHERE name LIKE '%经纪'") == 0

    # A licence that lapsed years ago is still a record one may enter.
    lapsed = await put_licence(client, admin, broker.org_id, licence(-9 * 365))
    assert lapsed.status_code == 200, lapsed.text
