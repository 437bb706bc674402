"""Routes of the kiosk page: the page and its assets, device provisioning, start-screen data, job detail with
a QR code, and the public posting page (`/jobs/{id}`) the QR code points to.

The page itself is static and identical for everyone: no key, no personal data. The device's kiosk key lives
in its localStorage (see provisioning.py) and goes out only as the Authorization header of API calls.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from services.api.auth.caller import Caller, require_roles
from services.api.kiosk_page import provisioning, repository, service
from services.api.problems import NotFound, problem_responses
from services.api.resources import Resources, get_resources
from services.indexing.catalogue_source import current_catalogue

STATIC_DIR = Path(__file__).parent / "static"
ASSETS = {"kiosk.css": "text/css; charset=utf-8", "kiosk.js": "text/javascript; charset=utf-8",
          "provision.js": "text/javascript; charset=utf-8", "public.css": "text/css; charset=utf-8"}
# Everything the page loads comes from this service: no CDN, no inline script, no framing.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                               "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}

page_router = APIRouter(tags=["kiosk page"], include_in_schema=True)
api_router = APIRouter(prefix="/v1/kiosk", tags=["kiosk search"], responses=problem_responses(401, 403, 404))
KioskCaller = Annotated[Caller, require_roles("kiosk")]
ResourcesDep = Annotated[Resources, Depends(get_resources)]


def _page(name: str) -> FileResponse:
    return FileResponse(STATIC_DIR / name, media_type="text/html; charset=utf-8", headers=PAGE_HEADERS)


@page_router.get("/kiosk", response_class=HTMLResponse, summary="The touch-screen page for gig-market kiosks")
async def kiosk_page() -> FileResponse:
    """Simplified Chinese, portrait 1080×1920 first. `?idle=SECONDS` shortens the idle reset (default 90)."""
    return _page("kiosk.html")


@page_router.get("/kiosk/assets/{name}", include_in_schema=False)
async def kiosk_asset(name: str) -> FileResponse:
    media_type = ASSETS.get(name)
    if media_type is None:
        raise NotFound("no such asset")
    return FileResponse(STATIC_DIR / name, media_type=media_type, headers={**PAGE_HEADERS})


@page_router.get("/kiosk/provision", response_class=HTMLResponse, include_in_schema=False)
async def provision_page() -> FileResponse:
    """Static: the token in the URL is redeemed by the page's script (a POST), so a link preview that fetches
    this URL consumes nothing."""
    return _page("provision.html")


class RedeemBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: str = Field(min_length=10, max_length=200)


class Provisioned(BaseModel):
    api_key: str = Field(description="The device's kiosk key, shown only in this response.")
    org_id: UUID
    org_name: str
    kiosk_adcode: str | None


@page_router.post("/kiosk/provision", status_code=201, response_model=Provisioned,
                  responses=problem_responses(404, 422), summary="Redeem a one-time kiosk provisioning token")
async def redeem(body: RedeemBody, resources: ResourcesDep) -> Provisioned:
    async with resources.pool.acquire() as conn:
        done = await provisioning.redeem(conn, resources.redis, body.token)
    if done is None:
        raise NotFound("开通链接无效、已使用或已过期 / the provisioning link is unknown, used or expired")
    return Provisioned(api_key=done.api_key, org_id=done.org_id, org_name=done.org_name,
                       kiosk_adcode=done.kiosk_adcode)


@api_router.get("/start", summary="Start screen of the kiosk page: trades (shortage first) and nearby districts")
async def start(caller: KioskCaller, resources: ResourcesDep) -> dict[str, Any]:
    snapshot = await current_catalogue(resources.extensions)
    home = service.kiosk_place(snapshot.regions, caller.kiosk_adcode)
    return {
        "kiosk": {"org_id": str(caller.org_id), "adcode": caller.kiosk_adcode,
                  "name": home.name if home else None, "lat": home.lat if home else None,
                  "lng": home.lng if home else None},
        "catalogue_version": snapshot.catalogue.version,
        "trades": service.trade_tiles(snapshot.catalogue),
        "districts": service.nearby_districts(snapshot.regions, home),
    }


def public_url(request: Request, job_id: str) -> str:
    return str(request.base_url).rstrip("/") + f"/jobs/{job_id}"


@api_router.get("/jobs/{job_id}", summary="A posting's public detail for the kiosk, with a QR code of its link")
async def job_detail(job_id: UUID, request: Request, caller: KioskCaller, resources: ResourcesDep) -> dict[str, Any]:
    async with resources.pool.acquire() as conn:
        record = await repository.fetch_open_job(conn, job_id)
    if record is None:
        raise NotFound("岗位不存在或已停止招聘 / no such open posting")
    snapshot = await current_catalogue(resources.extensions)
    data = service.public_job(record, snapshot.catalogue, snapshot.regions,
                              origin=service.kiosk_place(snapshot.regions, caller.kiosk_adcode))
    data["public_url"] = public_url(request, data["id"])
    data["qr_svg"] = service.qr_svg(data["public_url"])
    return data


_UNIT = {"month": "月", "day": "天", "hour": "小时", "piece": "件"}
_WORK_TYPE = {"full_time": "全职", "daily": "日结", "gig": "零工", "seasonal": "季节工"}


def _money(value: float) -> str:
    return f"{value:g}"


def render_public_job(job: dict[str, Any]) -> str:
    e = html.escape
    wage = job["wage"]
    pay = _money(wage["min"]) if wage["min"] == wage["max"] else f"{_money(wage['min'])}–{_money(wage['max'])}"
    contact = job["contact"]
    rows = [("工种", job["occupation_name"] or ""), ("地点", f"{job['county']['name']} {job['address'] or ''}"),
            ("开工", job["start_date"] + (f" 至 {job['end_date']}" if job["end_date"] else "")),
            ("类型", _WORK_TYPE.get(job["work_type"], job["work_type"])), ("人数", f"{job['headcount']} 人"),
            ("待遇", "、".join(job["benefits"]) or "—"), ("单位", contact["employer"] or ""),
            ("联系", " ".join(x for x in (contact["name"], contact["phone"]) if x))]
    table = "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in rows)
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>{e(job['title'])} · 巴蜀劳务桥</title>
<link rel="stylesheet" href="/kiosk/assets/public.css"></head>
<body><main><p class="brand">巴蜀劳务桥 · 岗位信息</p><h1>{e(job['title'])}</h1>
<p class="wage">{e(pay)} <small>元/{e(_UNIT.get(wage['unit'], wage['unit']))}</small></p>
<table>{table}</table><h2>岗位说明</h2><p class="desc">{e(job['description'])}</p>
<p class="warn">求职不收费：凡要求交押金、报名费、扣身份证的，请向当地人社部门举报。</p></main></body></html>"""


@page_router.get("/jobs/{job_id}", response_class=HTMLResponse, summary="Public page of an open posting",
                 responses={404: {"description": "No open posting with this id: a page saying so (HTML, for the "
                                                 "phone that scanned the code, not a problem document).",
                                  "content": {"text/html": {}}}})
async def public_job_page(job_id: UUID, resources: ResourcesDep) -> HTMLResponse:
    """Minimal public fields only (what the kiosk shows), for a phone that scanned the kiosk's QR code."""
    async with resources.pool.acquire() as conn:
        record = await repository.fetch_open_job(conn, job_id)
    if record is None:
        body = ("<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'><title>岗位已结束</title>"
                "<link rel='stylesheet' href='/kiosk/assets/public.css'></head><body><main>"
                "<h1>该岗位已结束招聘或不存在</h1></main></body></html>")
        return HTMLResponse(body, status_code=404, headers=PAGE_HEADERS)
    snapshot = await current_catalogue(resources.extensions)
    job = service.public_job(record, snapshot.catalogue, snapshot.regions)
    return HTMLResponse(render_public_job(job), headers=PAGE_HEADERS)
