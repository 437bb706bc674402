"""The kiosk page in a real Chromium (Debian's, driven by Playwright): provisioning, a trade tap, a district,
results with paging, a detail with a QR code, a report, lost connectivity, and the idle reset.

The app runs under uvicorn on a free loopback port inside the test's event loop; the data is posted through the
API and indexed by the real worker (burst mode), so what the page shows comes from the real search.
Screenshots (1080×1920) go to test-artifacts/kiosk/.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest
from playwright.async_api import Browser, Page, Route, expect
from playwright.async_api import Error as PlaywrightError
from redis.asyncio import Redis
from typer.testing import CliRunner, Result

from services.api.kiosk_page.provisioning import create_link_token
from services.api.settings import ApiSettings
from tests.conftest import OrgKey
from tests.services.indexing.pipeline import run_worker_burst, settle

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[4] / "test-artifacts" / "kiosk"
PORTRAIT = {"width": 1080, "height": 1920}
UI_TIMEOUT_MS = 20_000
WELDER = "6-18-02-04"
HOUSEKEEPER = "4-10-01-06"


async def _org(http: httpx.AsyncClient, admin: OrgKey, body: dict[str, Any]) -> OrgKey:
    response = await http.post("/v1/orgs", json=body, headers=admin.headers)
    assert response.status_code == 201, response.text
    data = response.json()
    return OrgKey(org_id=data["org"]["id"], api_key=data["api_key"], type=body["type"])


def _job(i: int, *, title: str, code: str, adcode: str, lat: float, lng: float, work_type: str = "daily",
         benefits: tuple[str, ...] = ("包吃",), start_in: int = 0) -> dict[str, Any]:
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    daily = work_type in ("daily", "gig")
    return {
        "external_ref": f"kiosk-test-{i}", "title": title,
        "description": "钢结构焊接，识图。早8点到晚6点，当天结算。不收任何费用。",
        "occupation_code": code, "headcount": 1 + i % 9, "adcode": adcode,
        "address": "工业园区88号", "location": {"lat": lat + i * 0.001, "lng": lng},
        "wage": {"min": 300 + i, "max": 380 + i, "unit": "day"} if daily else
                {"min": 6000, "max": 8000, "unit": "month"},
        "work_type": work_type, "start_date": (today + timedelta(days=start_in)).isoformat(),
        "benefits": list(benefits), "contact": {"name": "王师傅", "phone": "13800000000"},
    }


@pytest.fixture
async def seeded(live_server: str, admin: OrgKey, settings: ApiSettings) -> dict[str, Any]:
    """A kiosk in 九龙坡, an enterprise with 25 welding jobs there, 3 in 沙坪坝 and 2 housekeeping jobs; indexed."""
    async with httpx.AsyncClient(base_url=live_server, timeout=30) as http:
        kiosk = await _org(http, admin, {"type": "kiosk", "name": f"九龙坡零工市场-{uuid.uuid4().hex[:4]}",
                                         "kiosk_adcode": "500107"})
        authority = await _org(http, admin, {"type": "authority", "name": "重庆市人社局（测试）", "province": "CQ"})
        enterprise = await _org(http, admin, {"type": "enterprise", "name": "重庆钢构有限公司（测试）"})
        jobs = [_job(i, title=f"招聘电焊工 包吃住 日结 {i}号", code=WELDER, adcode="500107", lat=29.50, lng=106.51,
                     benefits=("包吃", "包住") if i % 2 else ("包吃",), start_in=i % 2) for i in range(25)]
        jobs += [_job(100 + i, title=f"沙坪坝电焊工 {i}号", code=WELDER, adcode="500106", lat=29.54, lng=106.45)
                 for i in range(3)]
        jobs += [_job(200 + i, title=f"住家保姆 {i}号", code=HOUSEKEEPER, adcode="500107", lat=29.50, lng=106.51,
                      work_type="full_time", benefits=("包吃", "包住"), start_in=3) for i in range(2)]
        ids = []
        for body in jobs:
            response = await http.post("/v1/jobs", json=body, headers=enterprise.headers)
            assert response.status_code == 201, response.text
            ids.append(response.json()["id"])
    await run_worker_burst(settings)
    await settle(settings)
    return {"kiosk": kiosk, "authority": authority, "enterprise": enterprise, "job_ids": ids}


async def _provision(page: Page, live_server: str, settings: ApiSettings, org_id: str, db: asyncpg.Connection,
                     query: str = "") -> str:
    redis = Redis.from_url(str(settings.redis_url))
    try:
        token = await create_link_token(db, redis, uuid.UUID(org_id))
    finally:
        await redis.aclose()
    await page.goto(f"{live_server}/kiosk/provision#token={token}")
    await page.wait_for_url(f"{live_server}/kiosk", timeout=UI_TIMEOUT_MS)
    if query:
        await page.goto(f"{live_server}/kiosk{query}")
    await page.wait_for_selector("body[data-ready='1']", timeout=UI_TIMEOUT_MS)
    return token


async def _shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


async def test_kiosk_flow_in_chromium(live_server: str, seeded: dict[str, Any], settings: ApiSettings,
                                      db: asyncpg.Connection, browser: Browser) -> None:
    context = await browser.new_context(viewport=PORTRAIT, locale="zh-CN", timezone_id="Asia/Shanghai")
    page = await context.new_page()
    page.set_default_timeout(UI_TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    # --- provisioning: a one-time link stores a fresh kiosk key in this device's localStorage only
    token = await _provision(page, live_server, settings, seeded["kiosk"].org_id, db, query="?idle=4")
    key = await page.evaluate("localStorage.getItem('bashu.kiosk.key')")
    assert key.startswith("bb_")
    assert key != seeded["kiosk"].api_key
    async with httpx.AsyncClient(base_url=live_server) as http:
        source = (await http.get("/kiosk")).text + (await http.get("/kiosk/assets/kiosk.js")).text
        assert key not in source
        assert "bb_" not in source.replace("bb_\"", "")
        again = await http.post("/kiosk/provision", json={"token": token})
        assert again.status_code == 404  # single use
    await expect(page.get_by_test_id("kiosk-place")).to_contain_text("九龙坡")
    await expect(page.get_by_test_id("district-current")).to_have_text("九龙坡区")
    tiles = page.get_by_test_id("trade")
    assert await tiles.count() >= 12
    await expect(tiles.first).to_contain_text("急缺")
    await _shot(page, "01-start")

    # --- tap a trade: results from the real search, nearest kiosk county by default
    await page.locator(f"[data-testid=trade][data-code='{WELDER}']").click()
    cards = page.get_by_test_id("job-card")
    await expect(cards.first).to_be_visible()
    await expect(page.get_by_test_id("results-summary")).to_contain_text("九龙坡区")
    await expect(cards.first).to_contain_text("元/天")
    await expect(cards.first).to_contain_text("九龙坡区")
    first_titles = await page.get_by_test_id("job-title").all_inner_texts()
    assert all("电焊工" in t and "沙坪坝" not in t for t in first_titles)
    await _shot(page, "02-results")

    # --- paging by scrolling: the second page arrives when the end of the list comes into view
    assert await cards.count() == 20
    await page.get_by_test_id("results-end").scroll_into_view_if_needed()
    await expect(cards).to_have_count(25)
    await expect(page.get_by_test_id("results-end")).to_have_text("没有更多了")

    # --- filter chip: 包住 narrows the results
    await page.get_by_test_id("chips-results").get_by_text("包住").click()
    await expect(cards).to_have_count(12)

    # --- pick a district
    await page.get_by_test_id("chips-results").get_by_text("包住").click()
    await page.get_by_test_id("district-button-results").click()
    await page.get_by_test_id("district-panel").get_by_role("button", name="沙坪坝区").click()
    await expect(page.get_by_test_id("results-summary")).to_contain_text("沙坪坝区")
    await expect(cards).to_have_count(3)
    assert all("沙坪坝" in t for t in await page.get_by_test_id("job-title").all_inner_texts())

    # --- open a detail: employer's public contact and a QR code of the posting's public link
    await cards.first.click()
    detail = page.get_by_test_id("job-detail")
    await expect(detail).to_be_visible()
    await expect(page.get_by_test_id("detail-phone")).to_have_text("13800000000")
    await expect(page.get_by_test_id("detail-employer")).to_contain_text("重庆钢构")
    await expect(page.locator("[data-testid=job-qr] svg")).to_be_visible()
    await _shot(page, "03-detail")
    job_id = await cards.first.get_attribute("data-id")
    async with httpx.AsyncClient(base_url=live_server) as http:
        public = await http.get(f"/jobs/{job_id}")
        assert public.status_code == 200
        assert "沙坪坝电焊工" in public.text
        assert "13800000000" in public.text

    # --- report the job as fee-charging: filed for the authority
    await page.get_by_test_id("report-button").click()
    await page.get_by_test_id("report-fees").click()
    await expect(page.get_by_test_id("report-result")).to_contain_text("已收到举报")
    await _shot(page, "04-report")
    row = await db.fetchrow("SELECT * FROM reports WHERE target_id = $1", uuid.UUID(job_id))
    assert row is not None
    assert row["reason"] == "fees"

    # --- lost connectivity: a clear notice, the last results stay on screen
    await page.locator("#report [data-close]").click()
    await page.get_by_test_id("detail-close").click()
    await context.set_offline(True)
    await page.get_by_test_id("chips-results").get_by_text("日结").click()
    await expect(page.get_by_test_id("offline-notice")).to_be_visible()
    await expect(cards).to_have_count(3)
    await _shot(page, "05-offline")
    await context.set_offline(False)
    await page.get_by_test_id("chips-results").get_by_text("日结").click()
    await expect(page.get_by_test_id("offline-notice")).to_be_hidden()

    # --- idle: back to the start screen, with everything the last person did cleared
    # (a locator assertion, not wait_for_function: the page's CSP forbids the eval that a string predicate needs)
    resets = int(await page.evaluate("document.body.dataset.resetCount"))
    await expect(page.locator("body")).to_have_attribute("data-reset-count", str(resets + 1), timeout=UI_TIMEOUT_MS)
    await expect(page.get_by_test_id("trade-grid")).to_be_visible()
    await expect(page.get_by_test_id("results")).to_be_empty()
    await expect(page.get_by_test_id("district-current")).to_have_text("九龙坡区")
    await expect(page.get_by_test_id("search-input")).to_have_value("")
    assert await page.locator(".chip[aria-pressed='true']").count() == 0
    await expect(page.get_by_test_id("job-detail")).to_be_hidden()
    await _shot(page, "06-after-idle")
    assert errors == []
    await context.close()


async def test_a_new_search_while_a_page_is_loading(live_server: str, seeded: dict[str, Any],
                                                    settings: ApiSettings, db: asyncpg.Connection,
                                                    browser: Browser) -> None:
    """A chip tapped while the next page is still on its way: the new search is sent and shown, and the late
    page of the old one is dropped (it neither blocks the new search nor lands among its cards)."""
    context = await browser.new_context(viewport=PORTRAIT, locale="zh-CN", timezone_id="Asia/Shanghai")
    page = await context.new_page()
    page.set_default_timeout(UI_TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await _provision(page, live_server, settings, seeded["kiosk"].org_id, db)
    release = asyncio.Event()
    holding = asyncio.Event()
    held: list[str] = []

    async def hold_next_pages(route: Route) -> None:
        if "cursor=" in route.request.url:
            held.append(route.request.url)
            holding.set()
            await release.wait()
        with contextlib.suppress(PlaywrightError):  # the page may have cancelled it meanwhile
            await route.continue_()

    await page.route("**/v1/kiosk/search?*", hold_next_pages)
    await page.locator(f"[data-testid=trade][data-code='{WELDER}']").click()
    cards = page.get_by_test_id("job-card")
    await expect(cards).to_have_count(20)
    await page.get_by_test_id("results-end").scroll_into_view_if_needed()
    await expect(page.get_by_test_id("results-end")).to_have_text("正在加载……")
    # The page shows "loading" as it sends the request; Playwright hands the request to the route handler a
    # moment later, so wait for it to be held rather than assume it already is.
    await asyncio.wait_for(holding.wait(), UI_TIMEOUT_MS / 1000)
    assert len(held) == 1

    await page.get_by_test_id("chips-results").get_by_text("包住").click()
    await expect(cards).to_have_count(12)
    await expect(page.get_by_test_id("results-summary")).to_contain_text("共 12 个岗位")
    release.set()
    await page.wait_for_timeout(500)
    await expect(cards).to_have_count(12)
    await expect(page.get_by_test_id("results-end")).to_have_text("没有更多了")
    assert errors == []
    await context.close()


async def test_typing_with_typeahead_and_other_screen_sizes(live_server: str, seeded: dict[str, Any],
                                                            settings: ApiSettings, db: asyncpg.Connection,
                                                            browser: Browser) -> None:
    for name, viewport in (("landscape", {"width": 1920, "height": 1080}), ("phone", {"width": 390, "height": 844})):
        context = await browser.new_context(viewport=viewport, locale="zh-CN", timezone_id="Asia/Shanghai")
        page = await context.new_page()
        page.set_default_timeout(UI_TIMEOUT_MS)
        await _provision(page, live_server, settings, seeded["kiosk"].org_id, db)
        await page.get_by_test_id("search-input").fill("dhg")
        await expect(page.get_by_test_id("suggestion").first).to_be_visible()
        await page.get_by_test_id("search-input").fill("电悍工")  # a pinyin-input homophone mistake
        await page.get_by_test_id("search-button").click()
        await expect(page.get_by_test_id("job-card").first).to_be_visible()
        assert "电焊工" in await page.get_by_test_id("job-title").first.inner_text()
        # every tap target is big enough for a finger
        for box in [await b.bounding_box() for b in await page.locator(".chip, .btn-back").all()]:
            if box is not None:
                assert box["height"] >= 40
        await _shot(page, f"07-{name}")
        await context.close()


async def test_unprovisioned_device_and_expired_links(live_server: str, browser: Browser) -> None:
    context = await browser.new_context(viewport=PORTRAIT, locale="zh-CN")
    page = await context.new_page()
    await page.goto(f"{live_server}/kiosk")
    await expect(page.get_by_text("此终端尚未开通")).to_be_visible()
    await page.goto(f"{live_server}/kiosk/provision#token=not-a-real-token-at-all")
    await expect(page.get_by_test_id("provision-status")).to_have_text("开通失败")
    assert await page.evaluate("localStorage.getItem('bashu.kiosk.key')") is None
    assert "#token" not in page.url
    await context.close()


def test_kiosk_link_command(settings: ApiSettings, monkeypatch: pytest.MonkeyPatch,
                            seeded_kiosk_id: str) -> None:
    from services.cli import app

    monkeypatch.setenv("DATABASE_URL", str(settings.database_url))
    monkeypatch.setenv("REDIS_URL", str(settings.redis_url))
    result = CliRunner().invoke(app, ["admin", "kiosk-link", "--org", seeded_kiosk_id,
                                      "--base-url", "http://127.0.0.1:9"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("http://127.0.0.1:9/kiosk/provision#token=")
    monkeypatch.setenv("API_URL", "http://kiosk.example:8000/")  # what `bashu devstack up` prints
    from_env = CliRunner().invoke(app, ["admin", "kiosk-link", "--org", seeded_kiosk_id])
    assert from_env.output.startswith("http://kiosk.example:8000/kiosk/provision#token="), from_env.output
    refused = CliRunner().invoke(app, ["admin", "kiosk-link", "--org", str(uuid.uuid4())])
    assert refused.exit_code == 2
    for neither_or_both in ([], ["--demo", "--org", seeded_kiosk_id]):
        assert CliRunner().invoke(app, ["admin", "kiosk-link", *neither_or_both]).exit_code == 2


async def test_kiosk_link_for_the_demo_hall(settings: ApiSettings, monkeypatch: pytest.MonkeyPatch,
                                            db: asyncpg.Connection) -> None:
    from services.api.kiosk_page.provisioning import redeem
    from services.api.organisations.schemas import OrgCreate
    from services.api.organisations.service import create_org
    from services.cli import app
    from services.demo.loader import DEMO_KIOSK_NAME

    monkeypatch.setenv("DATABASE_URL", str(settings.database_url))
    monkeypatch.setenv("REDIS_URL", str(settings.redis_url))

    def link() -> Result:  # the command runs its own event loop
        return CliRunner().invoke(app, ["admin", "kiosk-link", "--demo", "--base-url", "http://127.0.0.1:9"])

    missing = await asyncio.to_thread(link)
    assert missing.exit_code == 2
    assert "bashu demo load" in missing.output
    async with db.transaction():
        created = await create_org(db, OrgCreate(type="kiosk", name=DEMO_KIOSK_NAME, kiosk_adcode="500107"))
    result = await asyncio.to_thread(link)
    assert result.exit_code == 0, result.output
    token = result.output.strip().split("#token=")[1]
    redis = Redis.from_url(str(settings.redis_url))
    try:
        provisioned = await redeem(db, redis, token)
    finally:
        await redis.aclose()
    assert provisioned is not None
    assert provisioned.org_id == created.org.id


@pytest.fixture
async def seeded_kiosk_id(db: asyncpg.Connection) -> str:
    from services.api.organisations.schemas import OrgCreate
    from services.api.organisations.service import create_org

    async with db.transaction():
        created = await create_org(db, OrgCreate(type="kiosk", name="测试终端", kiosk_adcode="500107"))
    return str(created.org.id)
