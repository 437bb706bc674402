"""The authorities' dashboard page (`/dashboard`) and its assets, all served by this service (no CDN).

The page is static and the same for everyone: it holds no key and no figures. The authority key is typed into
the page or handed over as `#key=…` / `?key=…`, which the page's script moves into sessionStorage and removes
from the address bar; the data comes from `/v1/stats/*` with the key as the Authorization header. ECharts 5.6.0
(Apache-2.0, `echarts/dist/echarts.min.js` from the npm package, vendored with its LICENSE and NOTICE) draws the
charts.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse

from services.api.problems import NotFound

STATIC_DIR = Path(__file__).parent / "static"
ECHARTS = "echarts-5.6.0.min.js"
ASSETS = {"dashboard.css": "text/css; charset=utf-8", "dashboard.js": "text/javascript; charset=utf-8",
          ECHARTS: "text/javascript; charset=utf-8", "LICENSE-echarts.txt": "text/plain; charset=utf-8",
          "NOTICE-echarts.txt": "text/plain; charset=utf-8"}
# Scripts only from this service; ECharts sets inline styles on its tooltips, hence 'unsafe-inline' for styles
# (never for scripts). Downloads are data: and blob: URLs made by the page.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
                               "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
                               "form-action 'self'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}

router = APIRouter(tags=["dashboard"])


@router.get("/dashboard", response_class=HTMLResponse, summary="The authorities' supply–demand dashboard")
async def dashboard_page() -> FileResponse:
    """求人倍率 by occupation and by county, transfer flows (table and Sankey chart) and the monthly trend, each
    chart downloadable as PNG or SVG, the figures as CSV. Needs an authority key (entered on the page)."""
    return FileResponse(STATIC_DIR / "dashboard.html", media_type="text/html; charset=utf-8", headers=PAGE_HEADERS)


@router.get("/dashboard/assets/{name}", include_in_schema=False)
async def dashboard_asset(name: str) -> FileResponse:
    media_type = ASSETS.get(name)
    if media_type is None:
        raise NotFound("no such asset")
    headers = {**PAGE_HEADERS}
    if name == ECHARTS:  # versioned file name: safe to cache
        headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return FileResponse(STATIC_DIR / name, media_type=media_type, headers=headers)
