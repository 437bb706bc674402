"""Fixtures for the catalogue service: authorities of both provinces, published versions, the worker.

Fixture order matters for the API's per-process CatalogueRuntime: it loads the published version when the app
starts and then checks the database at most every 2 s, so a test that needs a version in the typeahead asks
for `initial_version` / `sample_version` *before* `client`.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg
import httpx
import pytest

from matching.catalogue import Catalogue, CatalogueEntry, WageBand, load_initial_catalogue
from services.api.catalogue.service import load_published_version
from tests.conftest import MakeOrg, OrgKey

WELDER = "6-18-02-04"
FOUNDRY = "6-18-02-01"
CHEF = "4-03-02-01"
FORKLIFT = "6-30-05-01"
HOUSEKEEPER = "4-10-01-06"

SAMPLE_ENTRIES: tuple[CatalogueEntry, ...] = (
    CatalogueEntry(WELDER, "焊工", ("焊接工",), "制造业", 1, ("500107",), WageBand(6000, 9000, "month"),
                   ("氩弧焊", "二保焊"), ("焊工证",), "CQ", "九龙坡、璧山汽配厂", "test"),
    CatalogueEntry(FOUNDRY, "铸造工", ("翻砂工",), "制造业", 2, (), None, ("浇注",), (), "SC"),
    CatalogueEntry(CHEF, "中式烹调师", ("厨师", "炒菜师傅"), "餐饮", 2, (), WageBand(5000, 8000, "month"),
                   ("川菜",), ("健康证",), "SC"),
    CatalogueEntry(FORKLIFT, "起重装卸机械操作工", ("叉车司机", "开叉车的"), "物流", 1, (),
                   WageBand(5500, 7500, "month"), ("叉车驾驶",), ("叉车证",), "CQ"),
    CatalogueEntry(HOUSEKEEPER, "家政服务员", ("住家阿姨",), "家政", 1, (), WageBand(4500, 7000, "month"),
                   ("做饭", "带小孩"), (), "CQ"),
)


def sample_catalogue(entries: Sequence[CatalogueEntry] = SAMPLE_ENTRIES) -> Catalogue:
    return Catalogue(1, entries)


async def publish_catalogue(db: asyncpg.Connection, catalogue: Catalogue, *, note: str = "test") -> int:
    """Publish `catalogue` as a new version directly (no approval workflow), as `bashu catalogue` does."""
    async with db.transaction():
        version = await load_published_version(db, catalogue, note=note, only_if_none=False)
    assert version is not None
    return version


@pytest.fixture
async def sample_version(db: asyncpg.Connection) -> int:
    """A small published version (five trades); 焊工 has only the alias 焊接工."""
    return await publish_catalogue(db, sample_catalogue())


@pytest.fixture
async def initial_version(db: asyncpg.Connection) -> int:
    """The shipped initial catalogue, published as `bashu catalogue load-initial` does."""
    async with db.transaction():
        version = await load_published_version(db, load_initial_catalogue(), note="initial catalogue")
    assert version == 1
    return version


@pytest.fixture
async def cq(make_org: MakeOrg) -> OrgKey:
    return await make_org("authority", province="CQ", name="重庆市人力资源和社会保障局")


@pytest.fixture
async def sc(make_org: MakeOrg) -> OrgKey:
    return await make_org("authority", province="SC", name="四川省人力资源和社会保障厅")


async def new_draft(client: httpx.AsyncClient, authority: OrgKey) -> int:
    response = await client.post("/v1/catalogue/drafts", headers=authority.headers, json={"note": "test draft"})
    assert response.status_code == 201, response.text
    version: int = response.json()["version"]
    return version


def entry_body(entry: CatalogueEntry, **changes: object) -> dict[str, object]:
    band = entry.wage_band
    body: dict[str, object] = {
        "name": entry.name, "aliases": list(entry.aliases), "industry": entry.industry,
        "shortage_level": entry.shortage_level, "regions": list(entry.regions),
        "wage_band": {"min": band.min, "max": band.max, "unit": band.unit} if band else None,
        "skills": list(entry.skills), "certificates": list(entry.certificates), "side": entry.side,
        "notes": entry.notes, "source": entry.source, "replaced_by": entry.replaced_by,
    }
    body.update(changes)
    return body


async def approve_and_publish(client: httpx.AsyncClient, version: int, *authorities: OrgKey) -> httpx.Response:
    for authority in authorities:
        approved = await client.post(f"/v1/catalogue/drafts/{version}/approve", headers=authority.headers)
        assert approved.status_code == 200, approved.text
    return await client.post(f"/v1/catalogue/drafts/{version}/publish", headers=authorities[0].headers)
