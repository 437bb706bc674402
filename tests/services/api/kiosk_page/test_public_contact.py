"""The kiosk detail and the public page show a posting's own recruiting contact, never the employer's registration
contact person (personal data given to the platform's operators, not for publication)."""

from __future__ import annotations

from datetime import date, timedelta

import httpx

from tests.conftest import MakeOrg

PERSON = {"name": "冉小兰", "phone": "13912345678", "email": "ranxiaolan@example.cn"}


def _job(**extra: object) -> dict[str, object]:
    return {"title": "招聘电焊工", "description": "工厂招熟练电焊工，包吃包住。", "occupation_code": "6-18-02-04",
            "headcount": 2, "adcode": "500107", "wage": {"min": 6500, "max": 9000, "unit": "month"},
            "work_type": "full_time", "start_date": (date.today() + timedelta(days=3)).isoformat(),
            "benefits": ["包吃"], **extra}


async def test_detail_shows_the_postings_contact_only(client: httpx.AsyncClient, make_org: MakeOrg) -> None:
    enterprise = await make_org("enterprise", contact={**PERSON, "address": "重庆市九龙坡区"})
    kiosk = await make_org("kiosk")
    without = await client.post("/v1/jobs", json=_job(), headers=enterprise.headers)
    with_contact = await client.post("/v1/jobs", json=_job(contact={"name": "李经理", "phone": "023-68000000"}),
                                     headers=enterprise.headers)
    assert without.status_code == with_contact.status_code == 201, (without.text, with_contact.text)

    bare = await client.get(f"/v1/kiosk/jobs/{without.json()['id']}", headers=kiosk.headers)
    assert bare.status_code == 200, bare.text
    assert bare.json()["contact"] == {"employer": bare.json()["contact"]["employer"], "name": None, "phone": None,
                                      "note": None}
    page = await client.get(f"/jobs/{without.json()['id']}")
    assert page.status_code == 200
    for value in PERSON.values():
        assert value not in bare.text
        assert value not in page.text

    published = await client.get(f"/v1/kiosk/jobs/{with_contact.json()['id']}", headers=kiosk.headers)
    assert (published.json()["contact"]["name"], published.json()["contact"]["phone"]) == ("李经理", "023-68000000")
    assert "023-68000000" in (await client.get(f"/jobs/{with_contact.json()['id']}")).text
