"""The dashboard in a real Chromium (Debian's, driven by Playwright): the key handed over in the URL fragment
and removed from the address bar, the four charts drawn from real figures (demo placements seeded through the
placement service, the open month computed, past months as demo snapshots), the flows table, PNG and SVG
downloads, a CSV export, a wrong key. Screenshot (1920×1080) in test-artifacts/dashboard/.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
import pytest
from playwright.async_api import Browser, expect

from services.api.placements.demo import seed_demo_placements
from services.api.stats.periods import month_of
from tests.conftest import MakeOrg, OrgKey
from tests.services.api.placements.support import make_job, make_worker
from tests.services.api.stats.test_paging import COUNTIES, store_snapshot

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[4] / "test-artifacts" / "dashboard"
LANDSCAPE = {"width": 1920, "height": 1080}
UI_TIMEOUT_MS = 20_000
WELDER, OTHER, COOK = "6-18-02-04", "6-30-05-01", "4-03-02-01"


@pytest.fixture
async def seeded(client: httpx.AsyncClient, make_org: MakeOrg, db: asyncpg.Connection) -> dict[str, str]:
    """Two brokers (CQ and SC), two enterprises, jobs in Chongqing and Chengdu, workers from labour-exporting
    counties; then the demo seeding: placements in every state, the open month and past demo months."""
    broker_cq = await make_org("broker")
    broker_sc = await make_org("broker")
    factory = await make_org("enterprise")
    builder = await make_org("enterprise")
    for adcode, code, headcount in [("500107", WELDER, 6), ("500112", WELDER, 4), ("510104", WELDER, 3),
                                    ("510116", OTHER, 5), ("500106", OTHER, 4), ("510104", COOK, 6),
                                    ("500103", COOK, 3), ("500113", WELDER, 2)]:
        await make_job(client, factory if code == WELDER else builder, adcode=adcode, headcount=headcount,
                       occupation_code=code)
    homes_cq = ["500235", "500154", "500236", "500238", "500243"]  # 云阳 开州 奉节 巫溪 彭水
    homes_sc = ["511322", "511923", "511722", "510921"]  # 营山 平昌 宣汉 蓬溪
    codes = [WELDER, OTHER, COOK]
    for i in range(24):
        cq = i % 2 == 0
        home = homes_cq[i % len(homes_cq)] if cq else homes_sc[i % len(homes_sc)]
        await make_worker(client, broker_cq if cq else broker_sc, home=home, occupations=[codes[i % 3]])
    org_ids = {"broker_cq": broker_cq.org_id, "broker_sc": broker_sc.org_id,
               "enterprise_manufacturing": factory.org_id, "enterprise_construction": builder.org_id}
    summary = await seed_demo_placements(db, org_ids=org_ids, count=20)
    assert "placements created" in summary
    return org_ids


async def test_demo_seeding_is_idempotent_and_real(seeded: dict[str, str], db: asyncpg.Connection) -> None:
    states = {r["status"] for r in await db.fetch("SELECT DISTINCT status FROM placements")}
    assert {"proposed", "hired", "arrived", "retained_30"} <= states
    assert await db.fetchval("SELECT count(*) FROM placements WHERE transfer") > 0
    demo_months = await db.fetchval("SELECT count(*) FROM stats_periods WHERE source = 'demo' AND frozen_at IS NOT "
                                    "NULL")
    assert demo_months == 5
    before = await db.fetchval("SELECT count(*) FROM placements")
    again = await seed_demo_placements(db, org_ids=seeded, count=20)
    assert again.startswith("0 placements created")
    assert await db.fetchval("SELECT count(*) FROM placements") == before


async def test_dashboard_renders_in_chromium(live_server: str, browser: Browser, seeded: dict[str, str],
                                            make_org: MakeOrg, tmp_path: Path) -> None:
    authority: OrgKey = await make_org("authority")
    broker: OrgKey = await make_org("broker")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = await browser.new_context(viewport=LANDSCAPE, accept_downloads=True, locale="zh-CN")
    page = await context.new_page()
    page.set_default_timeout(UI_TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        # The served page never contains a key.
        source = await (await page.request.get(f"{live_server}/dashboard")).text()
        assert authority.api_key not in source
        assert "echarts-5.6.0.min.js" in source

        # A wrong role is told so and stays on the login form.
        await page.goto(f"{live_server}/dashboard#key={broker.api_key}")
        await expect(page.locator("body")).to_have_attribute("data-state", "login")
        await expect(page.locator("#login-error")).to_contain_text("主管部门")

        await page.goto(f"{live_server}/dashboard#key={authority.api_key}")
        await expect(page.locator("body")).to_have_attribute("data-state", "ready")
        assert authority.api_key not in page.url  # removed from the address bar at once
        for name in ("occupation", "county", "flows", "trend"):
            await expect(page.locator(f"#chart-{name} canvas").first).to_be_visible()
        rows = page.locator("#flows-table tbody tr")
        assert await rows.count() > 0
        await expect(page.locator("#summary")).to_contain_text("求人倍率")
        options = await page.locator("#period option").all_text_contents()
        assert len(options) >= 6  # the open month, five demo months, the quarter
        await page.screenshot(path=str(ARTIFACTS / "dashboard-1920x1080.png"), full_page=False)
        await page.screenshot(path=str(ARTIFACTS / "dashboard-full.png"), full_page=True)

        # Charts download as PNG and SVG; the figures as CSV.
        async with page.expect_download() as png:
            await page.locator('[data-download="flows-png"]').click()
        png_path = tmp_path / "flows.png"
        await (await png.value).save_as(png_path)
        assert png_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        async with page.expect_download() as svg:
            await page.locator('[data-download="trend-svg"]').click()
        svg_path = tmp_path / "trend.svg"
        await (await svg.value).save_as(svg_path)
        assert "<svg" in svg_path.read_text(encoding="utf-8")
        async with page.expect_download() as csv_download:
            await page.locator("#csv-transfers").click()
        csv_path = tmp_path / "transfers.csv"
        await (await csv_download.value).save_as(csv_path)
        assert csv_path.read_text(encoding="utf-8-sig").startswith("period,origin_adcode")

        # An earlier (demo, frozen) month.
        demo_month = month_of(datetime.now(UTC)).previous().previous().label
        await page.locator("#period").select_option(demo_month)
        await expect(page.locator("body")).to_have_attribute("data-state", "ready")
        await expect(page.locator("#period-meta")).to_contain_text("已冻结")
        await expect(page.locator("#period-meta")).to_contain_text("演示数据")
        assert errors == []
    finally:
        await context.close()


async def test_the_dashboard_reads_every_page_of_the_figures(live_server: str, browser: Browser, make_org: MakeOrg,
                                                             db: asyncpg.Connection) -> None:
    # The figures' lists are paged (20 by default): the flows table showed the first 20 of 25 flows.
    period = month_of(datetime.now(UTC))
    await store_snapshot(db, period, computed_at=datetime.now(UTC))
    authority: OrgKey = await make_org("authority")
    context = await browser.new_context(viewport=LANDSCAPE, locale="zh-CN")
    page = await context.new_page()
    page.set_default_timeout(UI_TIMEOUT_MS)
    try:
        await page.goto(f"{live_server}/dashboard#key={authority.api_key}")
        await expect(page.locator("body")).to_have_attribute("data-state", "ready")
        await expect(page.locator("#flows-table tbody tr")).to_have_count(len(COUNTIES))
    finally:
        await context.close()
