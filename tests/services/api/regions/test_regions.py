"""GET /v1/regions: a list like the others (api.md: `limit` default 20, max 100, a cursor to the end)."""

from __future__ import annotations

import httpx

from matching.regions import load_regions
from tests.conftest import MakeOrg
from tests.services.api.pages import read_pages


async def _every_page(client: httpx.AsyncClient, headers: dict[str, str],
                      **params: str) -> tuple[list[str], list[int]]:
    pages = await read_pages(client, "/v1/regions", headers, **params)
    return [r["adcode"] for page in pages for r in page["items"]], [len(page["items"]) for page in pages]


async def test_every_county_can_be_listed_a_page_at_a_time(client: httpx.AsyncClient, make_org: MakeOrg) -> None:
    # 221 counties and at most 100 a page: without a cursor the list stopped at the 100th, its next_cursor null.
    org = await make_org("enterprise")
    counties = sorted(r.adcode for r in load_regions() if r.level == "county")
    assert len(counties) > 100
    seen, sizes = await _every_page(client, org.headers, level="county")
    assert seen == counties
    assert sizes[0] == 20  # the default page
    seen, sizes = await _every_page(client, org.headers, level="county", limit="100")
    assert (seen, sizes) == (counties, [100, 100, len(counties) - 200])


async def test_exact_names_stay_first_across_pages(client: httpx.AsyncClient, make_org: MakeOrg) -> None:
    org = await make_org("enterprise")
    # The order's first key is "not an exact name": a page boundary between the exact names and the rest holds.
    # 九龙 is 九龙县 (513324) exactly and part of 九龙坡区 (500107): the exact name first, though its adcode is larger.
    seen, sizes = await _every_page(client, org.headers, q="九龙", limit="1")
    assert (seen, sizes) == (["513324", "500107"], [1, 1])


async def test_a_cursor_of_another_query_or_forged_is_a_problem(client: httpx.AsyncClient,
                                                                make_org: MakeOrg) -> None:
    org = await make_org("enterprise")
    page = (await client.get("/v1/regions", params={"level": "county"}, headers=org.headers)).json()
    cursor = page["next_cursor"]
    assert cursor
    payload, signature = cursor.split(".")
    for params in ({"level": "city", "cursor": cursor},  # signed for another query
                   {"cursor": cursor},
                   {"level": "county", "cursor": f"{payload}.{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"}):
        refused = await client.get("/v1/regions", params=params, headers=org.headers)
        assert refused.status_code == 422, (params, refused.text)
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert [e["field"] for e in refused.json()["errors"]] == ["cursor"]
