"""The per-process CatalogueRuntime and the typeahead it serves: pinyin, initials, codes, aliases; and
every process (API or worker) following a publication without a restart."""

from __future__ import annotations

import asyncio

import asyncpg
import httpx

from matching.catalogue import load_initial_catalogue
from services.api.catalogue.runtime import CatalogueRuntime
from services.db.pool import create_pool
from tests.conftest import MakeOrg, OrgKey
from tests.services.api.catalogue.conftest import (
    SAMPLE_ENTRIES,
    WELDER,
    approve_and_publish,
    entry_body,
    new_draft,
)


async def _suggest(client: httpx.AsyncClient, who: OrgKey, q: str, limit: int = 5) -> list[dict[str, object]]:
    response = await client.get("/v1/occupations/suggest", params={"q": q, "limit": limit}, headers=who.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, object]] = response.json()["items"]
    return items


async def test_typeahead_by_pinyin_initials_codes_and_aliases(
    initial_version: int, client: httpx.AsyncClient, make_org: MakeOrg,
) -> None:
    kiosk = await make_org("kiosk")
    by_initials = await _suggest(client, kiosk, "hg")
    assert by_initials[0]["occupation_code"] == WELDER
    assert by_initials[0]["name"] == "焊工"
    assert by_initials[0]["kind"] == "pinyin"
    by_pinyin = await _suggest(client, kiosk, "hangong")
    assert [s["occupation_code"] for s in by_pinyin] == [WELDER]
    assert (await _suggest(client, kiosk, "HanGong"))[0]["occupation_code"] == WELDER
    by_alias = await _suggest(client, kiosk, "电焊工")
    assert by_alias[0]["occupation_code"] == WELDER
    assert by_alias[0]["kind"] == "alias"
    by_code = await _suggest(client, kiosk, "6-18-02-0", limit=10)
    assert WELDER in [s["occupation_code"] for s in by_code]
    assert (await _suggest(client, kiosk, "保姆"))[0]["name"] == "家政服务员"
    assert await _suggest(client, kiosk, "zzzzqqq") == []
    too_long = await client.get("/v1/occupations/suggest", params={"q": "x" * 41}, headers=kiosk.headers)
    assert too_long.status_code == 422


async def test_runtime_typeahead_answers_from_the_published_catalogue(initial_version: int,
                                                                     database_url: str) -> None:
    # Speed is measured by loadtests/typeahead_benchmark.py, never asserted here.
    pool = await create_pool(database_url, min_size=1, max_size=2)
    runtime = CatalogueRuntime(pool)
    try:
        await runtime.start()
        snapshot = runtime.snapshot
        assert len(snapshot.catalogue) == len(load_initial_catalogue())
        for query in ("hg", "hangong", "电焊"):
            labels = [s.label for s in snapshot.suggest(query, 10)]
            assert "焊工" in labels, (query, labels)
    finally:
        await runtime.close()
        await pool.close()


async def test_publication_reaches_every_process_without_restart(
    sample_version: int, client: httpx.AsyncClient, cq: OrgKey, sc: OrgKey, database_url: str,
) -> None:
    # Two more "processes": runtimes with their own pools, as another API instance and a worker would have.
    pools = [await create_pool(database_url, min_size=1, max_size=2) for _ in range(2)]
    runtimes = [CatalogueRuntime(pool, check_interval=0.2) for pool in pools]
    try:
        for runtime in runtimes:
            await runtime.start()
            assert runtime.snapshot.version == sample_version
        before = await runtimes[0].wait_for_analyzer()
        assert "电焊工" not in before.cut("招聘电焊工包吃住")
        assert (await _suggest(client, cq, "dhg")) == []

        draft = await new_draft(client, cq)
        put = await client.put(f"/v1/catalogue/drafts/{draft}/entries/{WELDER}", headers=cq.headers,
                               json=entry_body(SAMPLE_ENTRIES[0], aliases=["焊接工", "电焊工", "烧电焊的"]))
        assert put.status_code == 200
        assert (await approve_and_publish(client, draft, cq, sc)).status_code == 200

        # The publishing API process sees it on next use (it invalidated its check after the commit).
        suggested = await _suggest(client, cq, "dhg")
        assert [s["occupation_code"] for s in suggested] == [WELDER]
        # The other processes within their check interval, with no message needed.
        await asyncio.sleep(0.25)
        for runtime in runtimes:
            snapshot = await runtime.current()
            assert snapshot.version == draft
            assert snapshot.catalogue.code_for_word("烧电焊的") == WELDER
            analyzer = await runtime.wait_for_analyzer()
            assert analyzer.catalogue_version == draft
            assert "电焊工" in analyzer.cut("招聘电焊工包吃住")
            assert (await runtime.get_analyzer()).catalogue_version == draft
    finally:
        for runtime in runtimes:
            await runtime.close()
        for pool in pools:
            await pool.close()


async def test_empty_database_gives_an_empty_runtime(db: asyncpg.Connection, database_url: str) -> None:
    pool = await create_pool(database_url, min_size=1, max_size=2)
    runtime = CatalogueRuntime(pool)
    try:
        await runtime.start()
        assert runtime.snapshot.version == 0
        assert len(runtime.catalogue) == 0
        assert runtime.snapshot.suggest("hg") == []
        analyzer = await runtime.get_analyzer()
        assert analyzer.catalogue_version == 0
    finally:
        await runtime.close()
        await pool.close()
