"""GET /v1/kiosk/search and /v1/kiosk/suggest through the API, against a real Meilisearch index."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from unittest.mock import ANY

import asyncpg
import httpx
import pytest

from matching.facts import Wage
from matching.kiosk_search_query import SearchPlan
from services.api.china_calendar import CHINA_TZ
from services.api.kiosk import service
from services.api.kiosk.schemas import KioskSearchResponse, KioskSuggestions
from services.api.search_index import create_search_client, index_name
from services.api.settings import ApiSettings
from tests.conftest import MakeOrg, OrgKey
from tests.services.api.kiosk.support import index_jobs, job, point

WELDER = "6-18-02-04"
HELPER = "6-25-03-00"  # 普工
NANNY = "4-10-01-06"  # 家政服务员 (保姆)
WAITER = "4-03-02-05"  # 餐厅服务员
FORKLIFT = "6-30-05-01"
JIULONGPO, JIANGBEI, YUBEI, CHENGDU_WUHOU = "500107", "500105", "500112", "510107"


@pytest.fixture
async def kiosk(make_org: MakeOrg) -> OrgKey:
    return await make_org("kiosk")


@pytest.fixture
async def corpus(settings: ApiSettings) -> dict[str, dict[str, Any]]:
    now = datetime.now(UTC)
    jobs = {
        "welder_jlp_daily": job("九龙坡急招电焊工 日结", JIULONGPO, WELDER, work_type="daily",
                                benefits=("包住", "包吃")),
        "welder_jlp_full": job("招聘熟练焊工 长期", JIULONGPO, WELDER, benefits=("社保",)),
        "welder_jb": job("江北电焊工 包吃住", JIANGBEI, WELDER, benefits=("包吃", "包住")),
        "helper_jlp_daily": job("九龙坡普工 日结200", JIULONGPO, HELPER, work_type="daily"),
        "helper_yb": job("渝北电子厂普工", YUBEI, HELPER, wage=Wage(5000, 6500, "month")),
        "nanny_jb": job("江北住家保姆", JIANGBEI, NANNY, wage=Wage(6000, 7000, "month")),
        "waiter_kana": job("鲜の屋火锅店招聘服务员", CHENGDU_WUHOU, WAITER),
        "forklift_cd": job("成都叉车司机 持证", CHENGDU_WUHOU, FORKLIFT, required_certificates=("叉车证",)),
        # never shown: closed, held for review, expired (not yet swept) and open-but-past-expiry
        "closed": job("九龙坡电焊工（已招满）", JIULONGPO, WELDER, status="closed"),
        "pending": job("九龙坡电焊工 只招男性", JIULONGPO, WELDER, status="pending_review"),
        "expired": job("九龙坡电焊工 过期", JIULONGPO, WELDER, status="expired"),
        "past_expiry": job("九龙坡电焊工 昨日到期", JIULONGPO, WELDER, expires_at=now - timedelta(hours=1)),
    }
    documents = await index_jobs(settings, jobs.values())
    return {name: doc for name, doc in zip(jobs, documents, strict=True)}


def facet_counts(documents: Iterable[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """The facets a kiosk search must show over `documents`: counted among the open, unexpired ones only."""
    shown = [d for d in documents if d["status"] == "open" and d["expires_at"] > time.time()]
    return {name: dict(Counter(d[name] for d in shown)) for name in ("adcode", "work_type", "occupation_code")}


def ids(data: dict[str, Any]) -> set[str]:
    return {h["id"] for h in data["hits"]}


async def search(client: httpx.AsyncClient, kiosk: OrgKey, **params: Any) -> dict[str, Any]:
    response = await client.get("/v1/kiosk/search", params=params, headers=kiosk.headers)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    KioskSearchResponse.model_validate(data)
    return data


async def test_a_kiosk_phrase_becomes_filters_and_finds_exactly_those_postings(
        client: httpx.AsyncClient, kiosk: OrgKey, corpus: dict[str, dict[str, Any]]) -> None:
    data = await search(client, kiosk, q="九龙坡 电焊 日结 包住")
    interpreted = data["query"]["interpreted"]
    assert interpreted["adcodes"] == [JIULONGPO]
    assert interpreted["occupation_codes"] == [WELDER]
    assert interpreted["work_type"] == "daily"
    assert interpreted["benefits"] == ["包住"]
    assert interpreted["remaining_text"] == ""
    assert ids(data) == {corpus["welder_jlp_daily"]["id"]}
    hit = data["hits"][0]
    assert hit["county"] == {"adcode": JIULONGPO, "name": "九龙坡区"}
    assert hit["occupation_name"] == "焊工"
    assert hit["wage"] == {"min": 200, "max": 260, "unit": "day"}
    assert set(hit) <= set(KioskSearchResponse.model_fields["hits"].annotation.__args__[0].model_fields)  # type: ignore[union-attr]
    assert "description" not in hit
    assert "org_id" not in hit


async def test_pay_words_and_cities(client: httpx.AsyncClient, kiosk: OrgKey,
                                    corpus: dict[str, dict[str, Any]]) -> None:
    data = await search(client, kiosk, q="月薪6000 保姆")
    assert data["query"]["interpreted"]["wage_min"] == 6000
    assert ids(data) == {corpus["nanny_jb"]["id"]}
    data = await search(client, kiosk, q="成都 叉车")
    assert data["query"]["interpreted"]["city_adcodes"] == ["510100"]
    assert ids(data) == {corpus["forklift_cd"]["id"]}


async def test_homophone_mistakes_are_corrected_and_shown(client: httpx.AsyncClient, kiosk: OrgKey,
                                                          corpus: dict[str, dict[str, Any]]) -> None:
    data = await search(client, kiosk, q="电悍工")
    assert data["query"]["corrected"] == "电焊工"
    assert data["query"]["interpreted"]["corrections"] == [{"from": "电悍工", "to": "电焊工"}]
    welders = {corpus[n]["id"] for n in ("welder_jlp_daily", "welder_jlp_full", "welder_jb")}
    assert ids(data) == welders
    data = await search(client, kiosk, q="叉车师机")
    assert data["query"]["corrected"] == "叉车司机"
    assert ids(data) == {corpus["forklift_cd"]["id"]}


async def test_words_typed_right_are_not_corrected(client: httpx.AsyncClient, kiosk: OrgKey,
                                                   corpus: dict[str, dict[str, Any]]) -> None:
    for q in ("电焊工", "叉车司机", "九龙坡 普工", "保姆", "服务员"):
        data = await search(client, kiosk, q=q)
        assert "corrected" not in data["query"], (q, data["query"])
        assert "corrections" not in data["query"]["interpreted"]
        assert data["hits"], q


async def test_kana_in_a_title_does_not_hide_it(client: httpx.AsyncClient, kiosk: OrgKey,
                                                corpus: dict[str, dict[str, Any]]) -> None:
    assert corpus["waiter_kana"]["id"] in ids(await search(client, kiosk, q="服务员"))
    data = await search(client, kiosk, q="鲜の屋")
    assert corpus["waiter_kana"]["id"] in ids(data)
    highlighted = [h for h in data["hits"] if h.get("highlight")]
    assert highlighted
    assert "<em>" in highlighted[0]["highlight"]["title"]


async def test_closed_held_and_expired_postings_never_appear(client: httpx.AsyncClient, kiosk: OrgKey,
                                                             corpus: dict[str, dict[str, Any]]) -> None:
    hidden = {corpus[n]["id"] for n in ("closed", "pending", "expired", "past_expiry")}
    for params in ({"q": "电焊工"}, {"q": "九龙坡"}, {}, {"adcode": JIULONGPO}, {"q": "已招满"}, {"q": "过期"}):
        data = await search(client, kiosk, limit=100, **params)
        assert not ids(data) & hidden, params
        assert not set(data["facets"]["occupation_code"]) - {WELDER, HELPER, NANNY, WAITER, FORKLIFT}
    everything = await search(client, kiosk, limit=100)
    assert everything["total"] == 8
    # The facet counts too: exactly the shown postings, counted once each, the hidden ones nowhere.
    expected = facet_counts(corpus.values())
    assert sum(expected["work_type"].values()) == 8
    assert everything["facets"] == expected
    narrowed = await search(client, kiosk, adcode=JIULONGPO)
    assert narrowed["facets"] == facet_counts(d for d in corpus.values() if d["adcode"] == JIULONGPO)
    assert narrowed["total"] > 0
    assert narrowed["facets"]["adcode"] == {JIULONGPO: narrowed["total"]}


async def test_filter_syntax_in_q_is_only_text(client: httpx.AsyncClient, kiosk: OrgKey,
                                               corpus: dict[str, dict[str, Any]]) -> None:
    for q in ('x" OR status = "closed', "电焊 OR status = closed", "') OR 1=1 --", "DROP TABLE job_postings;",
              "status != open", '"九龙坡"', "-电焊工", "电焊 \\", "😀🔥", "👷 电焊"):
        data = await search(client, kiosk, q=q, limit=100)
        assert not ids(data) & {corpus["closed"]["id"], corpus["pending"]["id"]}, q


async def test_chongqings_grouping_codes_name_its_districts_or_its_counties(
        client: httpx.AsyncClient, kiosk: OrgKey, settings: ApiSettings) -> None:
    # GB/T 2260's 500100 (重庆市市辖区) was refused as "unknown adcode"; 500200 (县) likewise.
    postings = {"district": job("九龙坡电焊工", JIULONGPO, WELDER), "county": job("云阳县普工", "500235", HELPER),
                "chengdu": job("成都武侯叉车司机", CHENGDU_WUHOU, FORKLIFT)}
    docs = dict(zip(postings, await index_jobs(settings, postings.values()), strict=True))
    found = {name: {docs[n]["id"] for n in names} for name, names in {
        "500100": ["district"], "500200": ["county"], "500000": ["district", "county"]}.items()}
    for adcode, expected in found.items():
        assert ids(await search(client, kiosk, adcode=adcode)) == expected, adcode
    both = await search(client, kiosk, adcode=["500100", "510100"])  # with a Sichuan city: any of them
    assert ids(both) == {docs["district"]["id"], docs["chengdu"]["id"]}
    response = await client.get("/v1/kiosk/search", params={"adcode": "500300"}, headers=kiosk.headers)
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "adcode", "message": "未知的地区代码 / unknown adcode '500300'"}]


async def test_an_adcode_or_benefit_that_tries_injection_is_refused(client: httpx.AsyncClient, kiosk: OrgKey,
                                                                    corpus: dict[str, dict[str, Any]]) -> None:
    for params in ({"adcode": '500107" OR status = "closed'}, {"adcode": "999999"}, {"adcode": ""},
                   {"benefits": '包住" OR status = "closed'}, {"work_type": "daily OR 1=1"}):
        response = await client.get("/v1/kiosk/search", params=params, headers=kiosk.headers)
        assert response.status_code == 422, (params, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "meili" not in response.text.lower()


@pytest.mark.parametrize("params", [
    {"q": "电" * 500}, {"limit": 10000}, {"limit": 0}, {"radius_km": 100000, "near": "29.5,106.5"},
    {"near": "91,106"}, {"near": "29.5,181"}, {"near": "abc"}, {"near": "nan,nan"}, {"near": "29.5"},
    {"near": "2_9.5,10_6.5"}, {"near": "inf,106"}, {"near": "２９.５,１０６.５"}, {"near": "29.5,106.5,1"},
    {"radius_km": 10}, {"start_within_days": -1}, {"wage_min": -5}, {"cursor": "forged.cursor"},
    {"cursor": "eyJvIjoxfQ.AAAAAAAAAAAAAAAAAAAAAA"}, {"wage_unit": "day"},
    {"near": "90,180", "radius_km": 300},  # no cell filter can hold it: refused, never searched without it
])
async def test_bad_input_is_a_clear_422(client: httpx.AsyncClient, kiosk: OrgKey, corpus: dict[str, dict[str, Any]],
                                        params: dict[str, Any]) -> None:
    response = await client.get("/v1/kiosk/search", params=params, headers=kiosk.headers)
    assert response.status_code == 422, (params, response.text)
    problem = response.json()
    assert problem["status"] == 422
    assert problem["errors"]


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
async def test_a_radius_that_is_not_a_number_says_so(client: httpx.AsyncClient, kiosk: OrgKey,
                                                     corpus: dict[str, dict[str, Any]], value: str) -> None:
    # Not "should be less than or equal to 300" for NaN, which compares false with everything.
    response = await client.get("/v1/kiosk/search", params={"near": "29.5,106.5", "radius_km": value},
                                headers=kiosk.headers)
    assert response.status_code == 422, response.text
    assert response.json()["errors"] == [{"field": "radius_km",
                                          "message": "须为有限的数字 / Input should be a finite number"}]


async def test_empty_and_odd_queries_are_sane(client: httpx.AsyncClient, kiosk: OrgKey,
                                              corpus: dict[str, dict[str, Any]]) -> None:
    assert (await search(client, kiosk, q=""))["total"] == 8
    assert (await search(client, kiosk, q="   "))["total"] == 8
    assert (await search(client, kiosk, q="😀"))["total"] == 8  # nothing searchable left: every open posting
    assert (await search(client, kiosk, q="完全不存在的词语组合"))["hits"] == []


async def test_roles(client: httpx.AsyncClient, make_org: MakeOrg, corpus: dict[str, dict[str, Any]]) -> None:
    enterprise = await make_org("enterprise")
    assert (await client.get("/v1/kiosk/search", headers=enterprise.headers)).status_code == 403
    assert (await client.get("/v1/kiosk/suggest", params={"q": "hg"}, headers=enterprise.headers)).status_code == 403
    missing = await client.get("/v1/kiosk/search")  # answered by the lane in front of the router
    assert (missing.status_code, missing.headers["www-authenticate"]) == (401, "Bearer")
    invalid = await client.get("/v1/kiosk/search", headers={"Authorization": "Bearer nope"})
    assert (invalid.status_code, invalid.headers["www-authenticate"]) == (401, 'Bearer error="invalid_token"')


async def test_cursor_paging_walks_every_hit_once(client: httpx.AsyncClient, kiosk: OrgKey,
                                                  corpus: dict[str, dict[str, Any]]) -> None:
    seen: list[str] = []
    page = await search(client, kiosk, limit=3)
    assert page["facets"] == facet_counts(corpus.values())  # over every hit, not the first page's
    while True:
        seen.extend(h["id"] for h in page["hits"])
        if page["next_cursor"] is None:
            break
        page = await search(client, kiosk, limit=3, cursor=page["next_cursor"])
        assert page["facets"]["adcode"] == {}  # facets come with the first page only
    assert len(seen) == len(set(seen)) == 8
    # a cursor belongs to its search
    first = await search(client, kiosk, limit=3)
    response = await client.get("/v1/kiosk/search", params={"q": "电焊", "limit": 3, "cursor": first["next_cursor"]},
                                headers=kiosk.headers)
    assert response.status_code == 422
    tampered = first["next_cursor"][:-2] + ("AA" if not first["next_cursor"].endswith("AA") else "BB")
    response = await client.get("/v1/kiosk/search", params={"limit": 3, "cursor": tampered}, headers=kiosk.headers)
    assert response.status_code == 422


async def test_fallback_to_last_when_all_words_find_nothing(client: httpx.AsyncClient, kiosk: OrgKey,
                                                            corpus: dict[str, dict[str, Any]]) -> None:
    data = await search(client, kiosk, q="火锅店 不存在的词")
    assert data["query"]["matching_strategy"] == "last"
    assert corpus["waiter_kana"]["id"] in ids(data)


async def test_unknown_extra_words_fall_back_to_the_understood_filters(
        client: httpx.AsyncClient, kiosk: OrgKey, corpus: dict[str, dict[str, Any]]) -> None:
    data = await search(client, kiosk, q="电焊 学徒")
    assert data["query"]["matching_strategy"] == "filters"
    assert ids(data) == {corpus[n]["id"] for n in ("welder_jlp_daily", "welder_jlp_full", "welder_jb")}
    assert (await search(client, kiosk, q="学徒"))["hits"] == []  # nothing understood: nothing to fall back on


async def test_the_fallback_never_searches_a_lone_character(client: httpx.AsyncClient, kiosk: OrgKey,
                                                             settings: ApiSettings) -> None:
    # `last` used to drop the word that means something and answer every posting with a 带 somewhere (新手可以带,
    # 带电作业: 334 of the demo's postings); the fallback searches only the words that mean something on their own,
    # or answers nothing. (带小孩 itself is now read as a trade: matching/reference/work_phrases.csv.)
    jobs = {
        "carpenter": job("木工 日结", JIULONGPO, "6-06-03-01", work_type="daily",
                         description="要求：有经验优先，新手可以带。"),
        "lineman": job("线路工 包吃住", JIANGBEI, "6-31-01-03", description="工作内容：带电作业配合、巡线。"),
        "childcare": job("育儿嫂 住家", JIANGBEI, NANNY, description="照顾小孩，做饭，住家"),
    }
    documents = dict(zip(jobs, await index_jobs(settings, jobs.values()), strict=True))
    data = await search(client, kiosk, q="带 做饭")
    assert data["query"]["text"] == "带 做饭"
    assert ids(data) == {documents["childcare"]["id"]}
    assert data["query"]["matching_strategy"] == "last"
    assert data["total"] == 1
    for q in ("带 猫", "带 小"):  # nothing but single characters left once 带 and the other find nothing together
        data = await search(client, kiosk, q=q)
        assert data["hits"] == [], q
        assert data["total"] == 0, q
    # A task people name instead of the trade is read as that trade: every nanny posting, no words to search.
    data = await search(client, kiosk, q="带小孩")
    assert data["query"]["interpreted"]["occupation_codes"] == [NANNY]
    assert data["query"]["text"] == ""
    assert ids(data) == {documents["childcare"]["id"]}


def test_the_last_fallback_searches_only_words_of_two_characters_or_more() -> None:
    plan = SearchPlan(q="带 小孩", filter="", words=2)
    assert plan.fallbacks() == ("last",)
    assert plan.text_for("all") == "带 小孩"
    assert plan.text_for("last") == "小孩"
    assert SearchPlan(q="带 娃", filter="", words=2).fallbacks() == ()
    assert SearchPlan(q="带 娃", filter="x", words=2, has_filters=True).fallbacks() == ("filters",)
    assert SearchPlan(q="带", filter="", words=1).text_for("last") == "带"  # what was typed, as typed


async def test_near_me_orders_equally_good_hits_by_distance(client: httpx.AsyncClient, kiosk: OrgKey,
                                                            settings: ApiSettings) -> None:
    here = point(29.50, 106.50)
    postings = [job(f"普工{i}号", JIULONGPO, HELPER, location=point(29.50 + d, 106.50))
                for i, d in enumerate((0.30, 0.02, 0.15, 0.06))]
    await index_jobs(settings, postings)
    data = await search(client, kiosk, q="普工", near=f"{here.lat},{here.lng}")
    distances = [h["distance_km"] for h in data["hits"]]
    assert distances == sorted(distances)
    assert len(distances) == 4
    within = await search(client, kiosk, q="普工", near=f"{here.lat},{here.lng}", radius_km=5)
    assert {h["distance_km"] < 12 for h in within["hits"]} == {True}  # coarse cells, exact distance shown
    assert 1 <= len(within["hits"]) < 4


async def test_a_wide_radius_still_leaves_out_what_is_far_away(client: httpx.AsyncClient, kiosk: OrgKey,
                                                               settings: ApiSettings) -> None:
    # 300 km needs more cells than the finer precisions allow; the radius used to be dropped then.
    near_postings = [job("普工 江北", "500105", HELPER, location=point(29.60, 106.55))]
    far = [job("普工 甘孜", "513301", HELPER, location=point(30.05, 101.96))]  # ~450 km west
    await index_jobs(settings, near_postings + far)
    everywhere = await search(client, kiosk, q="普工", near="29.5,106.5")
    assert len(everywhere["hits"]) == 2
    within = await search(client, kiosk, q="普工", near="29.5,106.5", radius_km=300)
    assert [h["title"] for h in within["hits"]] == ["普工 江北"]


async def test_start_within_days_and_explicit_filters(client: httpx.AsyncClient, kiosk: OrgKey,
                                                      settings: ApiSettings) -> None:
    today = date.today()
    await index_jobs(settings, [
        job("今天开工 普工", YUBEI, HELPER, start_date=today, work_type="daily", benefits=("包吃",)),
        job("下月开工 普工", YUBEI, HELPER, start_date=today + timedelta(days=30), work_type="daily"),
    ])
    data = await search(client, kiosk, adcode=YUBEI, start_within_days=1)
    assert [h["title"] for h in data["hits"]] == ["今天开工 普工"]
    data = await search(client, kiosk, adcode="500000", work_type="daily", benefits=["包吃"])
    assert [h["title"] for h in data["hits"]] == ["今天开工 普工"]
    data = await search(client, kiosk, q="普工", wage_min=300, wage_unit="day")
    assert data["hits"] == []


async def test_every_benefit_postings_carry_can_be_asked_for(client: httpx.AsyncClient, kiosk: OrgKey,
                                                             settings: ApiSettings) -> None:
    # A hit shows its benefits; asking for one of them is no "unknown benefit", typed or tapped.
    await index_jobs(settings, [
        job("渝北电子厂普工 满勤奖", YUBEI, HELPER, benefits=("满勤奖", "工作餐")),
        job("渝北电子厂普工 年终奖", YUBEI, HELPER, benefits=("年终奖",)),
    ])
    data = await search(client, kiosk, benefits=["满勤奖", "工作餐"])
    assert [h["title"] for h in data["hits"]] == ["渝北电子厂普工 满勤奖"]
    typed = await search(client, kiosk, q="普工 有年终奖")
    assert typed["query"]["interpreted"]["benefits"] == ["年终奖"]
    assert [h["title"] for h in typed["hits"]] == ["渝北电子厂普工 年终奖"]


async def test_no_index_yet_is_an_empty_answer(client: httpx.AsyncClient, kiosk: OrgKey) -> None:
    data = await search(client, kiosk, q="电焊")
    assert data["hits"] == []
    assert data["total"] == 0
    assert data["next_cursor"] is None


async def test_suggest_trades_and_districts_by_pinyin_and_initials(client: httpx.AsyncClient, kiosk: OrgKey) -> None:
    async def suggest(q: str) -> list[dict[str, Any]]:
        response = await client.get("/v1/kiosk/suggest", params={"q": q}, headers=kiosk.headers)
        assert response.status_code == 200, response.text
        KioskSuggestions.model_validate(response.json())
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    assert (await suggest("hg"))[0] == {"kind": "occupation", "text": "焊工", "code": WELDER, "matched": "hg",
                                        "occupation_code": WELDER, "shortage_level": 1}
    assert any(i["kind"] == "region" and i["adcode"] == JIULONGPO for i in await suggest("jlp"))
    assert any(i["text"] == "九龙坡区" for i in await suggest("九龙"))
    assert any(i["text"] == "焊工" for i in await suggest("hangong"))
    assert await suggest("😀") == []
    response = await client.get("/v1/kiosk/suggest", params={"q": "x" * 41}, headers=kiosk.headers)
    assert response.status_code == 422


async def test_repeated_searches_follow_every_change_of_the_index(
        client: httpx.AsyncClient, kiosk: OrgKey, settings: ApiSettings,
        corpus: dict[str, dict[str, Any]]) -> None:
    # The same tap three times: the second and third are answered from the process's cache; a posting that
    # changes in the index is seen on the very next request, cache or not (the index version is read each time).
    first = await search(client, kiosk, q="电焊", adcode=JIULONGPO)
    assert await search(client, kiosk, q="电焊", adcode=JIULONGPO) == {**first, "took_ms": ANY}
    assert await search(client, kiosk, q="电焊", adcode=JIULONGPO) == {**first, "took_ms": ANY}
    gone = corpus["welder_jlp_full"]
    assert gone["id"] in ids(first)
    client_sdk = create_search_client(settings.meili_url, settings.meili_master_key.get_secret_value())
    try:
        index = client_sdk.index(index_name(settings.meili_index_prefix, "jobs"))
        task = await index.update_documents([{"id": gone["id"], "status": "closed"}])
        assert (await client_sdk.wait_for_task(task.task_uid, timeout_in_ms=60_000)).status == "succeeded"
    finally:
        await client_sdk.aclose()
    after = await search(client, kiosk, q="电焊", adcode=JIULONGPO)
    assert ids(after) == ids(first) - {gone["id"]}
    uncached = await client.get("/v1/kiosk/search", params={"q": "电焊", "adcode": JIULONGPO},
                                headers={**kiosk.headers, "Cache-Control": "no-cache"})
    assert ids(uncached.json()) == ids(after)


async def test_a_revoked_kiosk_key_stops_working_once_its_cached_lookup_expires(
        client: httpx.AsyncClient, kiosk: OrgKey, make_org: MakeOrg, db: asyncpg.Connection,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    from services.api.auth import caller

    assert (await client.get("/v1/kiosk/suggest", params={"q": "hg"}, headers=kiosk.headers)).status_code == 200
    await db.execute("UPDATE api_keys SET revoked_at = now() WHERE org_id = $1::uuid", kiosk.org_id)
    # Within KIOSK_KEY_TTL_SECONDS of the last lookup the process may still accept it (the documented bound) …
    later = time.monotonic() + caller.KIOSK_KEY_TTL_SECONDS + 0.01

    class Clock:
        @staticmethod
        def monotonic() -> float:
            return later

    monkeypatch.setattr(caller, "time", Clock)  # … and after it, never: no waiting in the test
    refused = await client.get("/v1/kiosk/suggest", params={"q": "hg"}, headers=kiosk.headers)
    assert refused.status_code == 401
    # Keys of other roles are never cached: a used enterprise key is refused at once after revocation.
    enterprise = await make_org("enterprise")
    assert (await client.get("/v1/jobs", headers=enterprise.headers)).status_code == 200
    await db.execute("UPDATE api_keys SET revoked_at = now() WHERE org_id = $1::uuid", enterprise.org_id)
    assert (await client.get("/v1/jobs", headers=enterprise.headers)).status_code == 401


async def test_a_fallback_chain_sent_at_once_answers_exactly_as_one_search_after_the_other(
        settings: ApiSettings, corpus: dict[str, dict[str, Any]]) -> None:
    ctx = await service.kiosk_context({})
    now = datetime.now(CHINA_TZ)
    key = settings.meili_master_key.get_secret_value()
    searches: list[str] = []

    async def count(request: httpx.Request) -> None:
        searches.append(request.url.path)

    async with httpx.AsyncClient(base_url=settings.meili_url, headers={"Authorization": f"Bearer {key}"},
                                 event_hooks={"request": [count]}) as http:
        uid = index_name(settings.meili_index_prefix, "jobs")
        one_by_one = service.SearchIndex(http=http, uid=uid)
        at_once = service.SearchIndex(http=http, uid=uid, odds=service.FallbackOdds(threshold=0.0))
        strategies = set()
        sent = {}
        # all → last → filters chains (two words or more, and a filter): `last` finds nothing (九龙坡 不存在 词语,
        # 江北 不存在 词语), `last` finds what `all` does not (九龙坡 熟练 学徒), `all` finds (武侯区 火锅店 鲜の屋).
        for q in ("火锅店 不存在的词", "电焊 学徒", "学徒", "江北 不存在 词语", "鲜の屋", "火锅店 鲜の屋",
                  "九龙坡 电焊", "九龙坡 不存在 词语", "九龙坡 熟练 学徒", "武侯区 火锅店 鲜の屋"):
            request = service.KioskSearchRequest(q=q)
            expected = await service.search(ctx, one_by_one, request, cursor_secret="s", now=now)
            searches.clear()
            answer = await service.search(ctx, at_once, request, cursor_secret="s", now=now)
            sent[q] = len(searches)
            assert {**answer, "took_ms": 0} == {**expected, "took_ms": 0}, q
            strategies.add(answer["query"]["matching_strategy"])
    assert strategies == {"all", "last", "filters"}
    # An empty `last` implies an empty `all`: such a chain costs two searches, not three; `all` is asked
    # only when `last` finds something.
    assert sent["九龙坡 不存在 词语"] == sent["江北 不存在 词语"] == 2
    assert sent["九龙坡 熟练 学徒"] == sent["武侯区 火锅店 鲜の屋"] == 3
    assert sent["电焊 学徒"] == sent["火锅店 不存在的词"] == 2
    assert sent["鲜の屋"] == 1  # 鲜 の 屋: one-character words only, no `last` fallback (a lone 鲜 means nothing)


async def test_without_the_memo_each_phrase_is_interpreted_afresh_with_the_same_answer(
        settings: ApiSettings, corpus: dict[str, dict[str, Any]]) -> None:
    ctx = await service.kiosk_context({})
    now = datetime.now(CHINA_TZ)
    key = settings.meili_master_key.get_secret_value()
    async with httpx.AsyncClient(base_url=settings.meili_url, headers={"Authorization": f"Bearer {key}"}) as http:
        index = service.SearchIndex(http=http, uid=index_name(settings.meili_index_prefix, "jobs"))
        request = service.KioskSearchRequest(q="九龙坡 电悍工 包住")
        ctx.interpretations.pop("九龙坡 电悍工 包住", None)
        fresh = await service.search(ctx, index, request, cursor_secret="s", now=now, memo=False)
        assert "九龙坡 电悍工 包住" not in ctx.interpretations
        remembered = await service.search(ctx, index, request, cursor_secret="s", now=now)
        assert "九龙坡 电悍工 包住" in ctx.interpretations
    assert {**fresh, "took_ms": 0} == {**remembered, "took_ms": 0}
    assert fresh["query"]["corrected"] == "九龙坡 电焊工 包住"


def test_fallback_odds_learn_whether_last_falls_back_too() -> None:
    odds = service.FallbackOdds()
    three_words = SearchPlan(q="不 存在 词语", filter="", words=3, has_filters=True)
    assert not odds.likely_empty_through_last(three_words)
    for _ in range(10):
        odds.record_last(three_words, last_was_empty=True)
    assert odds.likely_empty_through_last(three_words)
    for _ in range(10):
        odds.record_last(three_words, last_was_empty=False)
    assert not odds.likely_empty_through_last(three_words)


def test_fallback_odds_follow_what_recent_phrases_did() -> None:
    odds = service.FallbackOdds()
    two_words = SearchPlan(q="火锅店 学徒", filter="", words=2)
    one_word = SearchPlan(q="学徒", filter="", words=1)
    assert not odds.likely_empty(two_words)
    for _ in range(10):
        odds.record(two_words, first_was_empty=True)
    assert odds.likely_empty(two_words)
    assert not odds.likely_empty(one_word)  # counted per number of words
    for _ in range(10):
        odds.record(two_words, first_was_empty=False)
    assert not odds.likely_empty(two_words)


async def test_bad_parameters_are_located_in_the_query_and_unknown_ones_ignored(
        client: httpx.AsyncClient, kiosk: OrgKey, corpus: dict[str, dict[str, Any]]) -> None:
    response = await client.get("/v1/kiosk/search", params={"limit": 10000, "radius_km": "x", "near": "29.5,106.5"},
                                headers=kiosk.headers)
    assert response.status_code == 422
    problem = response.json()
    assert problem["type"].endswith("/validation")
    assert {e["field"] for e in problem["errors"]} == {"limit", "radius_km"}
    assert problem["request_id"] == response.headers["x-request-id"]
    # One name per parameter, whether its shape (21 codes) or its meaning (an unknown code) is wrong.
    response = await client.get("/v1/kiosk/search", params={"adcode": [JIULONGPO] * 21}, headers=kiosk.headers)
    assert [e["field"] for e in response.json()["errors"]] == ["adcode"]
    response = await client.get("/v1/kiosk/search", params={"adcode": "999999"}, headers=kiosk.headers)
    assert [e["field"] for e in response.json()["errors"]] == ["adcode"]
    data = await search(client, kiosk, q=["电焊", "江北 电焊"], whatever="1", benefits=["包吃", "包住"])
    assert ids(data) == {corpus["welder_jb"]["id"]}  # a repeated single-valued parameter keeps the last value


async def test_the_search_parameters_are_documented(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    parameters = spec["paths"]["/v1/kiosk/search"]["get"]["parameters"]
    assert {p["name"] for p in parameters if p["in"] == "query"} == {
        "q", "adcode", "near", "radius_km", "work_type", "wage_min", "wage_unit", "start_within_days", "benefits",
        "limit", "cursor"}
    limit = next(p for p in parameters if p["name"] == "limit")
    assert limit["schema"]["maximum"] == 100
    assert "max 100" in limit["description"]


async def test_the_kiosk_routes_declare_the_bearer_key_like_every_other_route(client: httpx.AsyncClient) -> None:
    # The kiosk routes check the key in one dependency of their own (the hot path), not FastAPI's security
    # dependency: the contract must still say they need it, as the routes using the shared dependency do.
    spec = (await client.get("/openapi.json")).json()
    assert spec["paths"]["/v1/jobs"]["get"]["security"] == [{"HTTPBearer": []}]
    assert "HTTPBearer" in spec["components"]["securitySchemes"]
    for path in ("/v1/kiosk/search", "/v1/kiosk/suggest"):
        assert spec["paths"][path]["get"]["security"] == [{"HTTPBearer": []}]
