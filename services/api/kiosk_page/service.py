"""Data behind the kiosk page: the start screen (trades shortage first, nearby districts), a posting's public
detail with its employer's public contact and a QR code of its public link."""

from __future__ import annotations

from typing import Any

import asyncpg
import segno

from matching.catalogue import Catalogue, CatalogueEntry
from matching.certificates import canonical_certificates
from matching.geo import GeoPoint, distance_km
from matching.regions import Region, RegionDirectory

TRADE_TILES = 24
DISTRICT_CHOICES = 24
# Trades people ask for in gig halls, in the order they are shown within one shortage level.
HALL_TRADES = ("焊工", "装卸搬运工", "砌筑工", "钢筋工", "手工木工", "起重装卸机械操作工", "家政服务员", "保洁员",
               "中式烹调师", "计算机及外部设备装配调试员", "快递员", "道路货运汽车驾驶员", "养老护理员", "装饰装修工",
               "架子工", "混凝土工", "管道工", "中式面点师", "电工", "防水工", "快件处理员", "医疗护理员",
               "汽车维修工", "挖掘铲运和桩工机械司机", "餐厅服务员", "农艺工")
_HALL_RANK = {name: i for i, name in enumerate(HALL_TRADES)}
# Trades of the professional major group (doctors, engineers …) are not what a gig hall is for.
_PROFESSIONAL = "2-"


def tile_label(entry: CatalogueEntry) -> str:
    """What fits a big button: the name when short, else the shortest everyday alias (起重装卸机械操作工 → 叉车工)."""
    if len(entry.name) <= 5:
        return entry.name
    short = [a for a in entry.aliases if 2 <= len(a) <= 5 and not a.isascii()]
    return min(short, key=len) if short else entry.name


def trade_tiles(catalogue: Catalogue, limit: int = TRADE_TILES) -> list[dict[str, Any]]:
    entries = [e for e in catalogue.active_entries() if not e.occupation_code.startswith(_PROFESSIONAL)]
    entries.sort(key=lambda e: (e.shortage_level, _HALL_RANK.get(e.name, len(_HALL_RANK)), e.occupation_code))
    return [{"occupation_code": e.occupation_code, "name": e.name, "label": tile_label(e),
             "shortage_level": e.shortage_level} for e in entries[:limit]]


def kiosk_place(regions: RegionDirectory, adcode: str | None) -> Region | None:
    return regions.get(adcode) if adcode else None


def nearby_districts(regions: RegionDirectory, home: Region | None,
                     limit: int = DISTRICT_CHOICES) -> list[dict[str, Any]]:
    counties = list(regions.counties())
    if home is not None:
        origin = GeoPoint(home.lat, home.lng)
        ranked = sorted(counties, key=lambda r: distance_km(origin, GeoPoint(r.lat, r.lng)))
    else:
        ranked = sorted(counties, key=lambda r: r.adcode)
    out = []
    for region in ranked[:limit]:
        item: dict[str, Any] = {"adcode": region.adcode, "name": region.name, "short_name": region.short_name,
                                "lat": region.lat, "lng": region.lng}
        if home is not None:
            item["distance_km"] = round(distance_km(GeoPoint(home.lat, home.lng), GeoPoint(region.lat, region.lng)), 1)
        out.append(item)
    return out


def public_contact(record: asyncpg.Record) -> dict[str, Any]:
    """The employer's name and the posting's recruiting contact, which the enterprise publishes with the posting
    for job seekers. Never the organisation's registration contact: that is a person's name and phone given to the
    platform's operators, not for publication (personal data, stored encrypted: organisations/contact.py), so a
    posting without its own contact shows none and the page says to ask on site. Never anything about a worker."""
    contact = dict(record["contact"] or {})
    return {"employer": record["employer_name"], "name": contact.get("name"), "phone": contact.get("phone"),
            "note": contact.get("note")}


def public_job(record: asyncpg.Record, catalogue: Catalogue, regions: RegionDirectory, *,
               origin: Region | None = None) -> dict[str, Any]:
    entry = catalogue.by_code(record["occupation_code"])
    county = regions.get(record["adcode"])
    data: dict[str, Any] = {
        "id": str(record["id"]), "title": record["title"], "description": record["description"],
        "occupation_code": record["occupation_code"], "occupation_name": entry.name if entry else None,
        "county": {"adcode": record["adcode"], "name": county.name if county else record["adcode"]},
        "address": record["address"],
        "wage": {"min": float(record["wage_min"]), "max": float(record["wage_max"]), "unit": record["wage_unit"]},
        "work_type": record["work_type"], "start_date": record["start_date"].isoformat(),
        "end_date": record["end_date"].isoformat() if record["end_date"] else None,
        "benefits": list(record["benefits"]),
        "required_certificates": canonical_certificates(record["required_certificates"]),  # also for old rows
        "headcount": record["open_headcount"], "posted_at": record["created_at"].isoformat(),
        "contact": public_contact(record),
    }
    if origin is not None:
        lat, lng = record["lat"], record["lng"]
        if lat is None and county is not None:
            lat, lng = county.lat, county.lng
        if lat is not None:
            data["distance_km"] = round(distance_km(GeoPoint(origin.lat, origin.lng), GeoPoint(lat, lng)), 1)
    return data


def qr_svg(url: str) -> str:
    """The URL as an inline SVG QR code (medium error correction, a quiet zone, black on white)."""
    qr = segno.make(url, error="m")
    svg: str = qr.svg_inline(scale=6, border=3, dark="#000", light="#fff", title="扫码查看岗位")
    return svg
