"""The trimmed Meilisearch `dictionary`: the rule (pure) and its check against the real server.

The server test indexes every word the catalogue, the county list and the pay words ask to keep whole, in
each of the rule's contexts (急招安保员若干名, 长期招…普工, …), into scratch indexes, searches each word as the
kiosk does (`locales: ["cmn"]`, `matchingStrategy: "all"`, title highlighted) and calls a word broken when a
posting containing it is missed or its highlight does not cover the word. It fails when a word the server
breaks without a dictionary is missing from the trimmed dictionary, or when the trimmed dictionary leaves
any word broken.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from matching.catalogue import load_initial_catalogue
from matching.index_dictionary import (
    CONTEXTS,
    PLACEHOLDER,
    broken_contexts,
    default_cut,
    needed_entries,
    segment,
)
from matching.regions import load_regions
from tests.conftest import MEILI_MASTER_KEY, MEILI_URL

PRE, POST = "\ue000", "\ue001"
WORDY = re.compile(r"\w")


def test_segment_takes_entries_leftmost_longest_and_cuts_the_rest() -> None:
    def chars(text: str) -> list[str]:
        return list(text)

    assert segment("招聘电焊工日结", frozenset({"电焊", "电焊工", "日结"}), chars) == ["招", "聘", "电焊工", "日结"]
    # An entry glues its neighbour: 招工 wins over 工地安全员, which starts one character later.
    assert segment("招工地安全员", frozenset({"招工", "工地安全员"}), chars)[0] == "招工"
    assert segment("急招安保员", frozenset(), chars) == list("急招安保员")


def test_a_word_glued_to_its_neighbour_needs_an_entry_and_one_cut_the_same_way_everywhere_does_not() -> None:
    cut = default_cut()
    assert broken_contexts("安保员", frozenset(), cut)  # 急招安保员 → 急/招安/保员
    assert not broken_contexts("安保员", frozenset({"安保员"}), cut)
    assert not broken_contexts("电焊工", frozenset(), cut)  # cut, but cut alike in query and posting
    entries = needed_entries(["安保员", "电焊工", "九龙坡区", "焊工"], cut)
    assert entries == ["安保员"]


def test_the_fixed_point_adds_words_broken_by_entries_already_chosen() -> None:
    def cut(text: str) -> list[str]:
        return list(text)

    # With single characters nothing is glued to a neighbour: no entries at all.
    assert needed_entries(["电焊工", "安保员"], cut) == []
    # A glued pair (招+安) makes 安保员 an entry.
    def gluing(text: str) -> list[str]:
        return re.findall("招安|.", text)

    assert needed_entries(["电焊工", "安保员"], gluing) == ["安保员"]


def test_dictionary_is_a_small_subset_of_the_words_kept_whole() -> None:
    shipped = load_initial_catalogue()
    every = shipped.kept_whole_words(load_regions())
    dictionary = shipped.meilisearch_dictionary(load_regions())
    assert set(dictionary) <= set(every)
    assert len(dictionary) < len(every) // 10
    assert {"安保员", "安全员", "数控车工"} <= set(dictionary)
    assert dictionary == sorted(set(dictionary))
    # Query understanding still gets every word.
    assert set(every) <= set(shipped.analyzer_words(load_regions()))


# ------------------------------------------------------------------------------------ real Meilisearch


@pytest.fixture
async def meili() -> AsyncIterator[httpx.AsyncClient]:
    headers = {"Authorization": f"Bearer {MEILI_MASTER_KEY}"} if MEILI_MASTER_KEY else {}
    async with httpx.AsyncClient(base_url=MEILI_URL, headers=headers, timeout=120) as client:
        yield client


async def _wait(client: httpx.AsyncClient, task: dict[str, Any]) -> None:
    while True:
        status = (await client.get(f"/tasks/{task['taskUid']}")).json()
        if status["status"] in ("succeeded", "failed", "canceled"):
            assert status["status"] == "succeeded", status
            return
        await asyncio.sleep(0.05)


def _covered(formatted: str, word: str) -> bool:
    """Every letter of `word` inside the highlight marks at some occurrence (punctuation never is)."""
    plain: list[str] = []
    marked: list[bool] = []
    inside = False
    for ch in formatted:
        if ch in (PRE, POST):
            inside = ch == PRE
            continue
        plain.append(ch)
        marked.append(inside)
    text = "".join(plain)
    return any(all(marked[m.start() + k] for k, ch in enumerate(word) if WORDY.match(ch))
               for m in re.finditer(re.escape(word), text))


async def _broken_on_server(client: httpx.AsyncClient, uid: str, words: list[str],
                            dictionary: list[str]) -> set[str]:
    await _wait(client, (await client.post("/indexes", json={"uid": uid, "primaryKey": "id"})).json())
    await _wait(client, (await client.patch(f"/indexes/{uid}/settings", json={
        "dictionary": dictionary, "searchableAttributes": ["title"], "filterableAttributes": ["word"],
        "localizedAttributes": [{"attributePatterns": ["*"], "locales": ["cmn"]}]})).json())
    documents = [{"id": f"w{i}c{j}", "word": i, "title": context.replace(PLACEHOLDER, word)}
                 for i, word in enumerate(words) for j, context in enumerate(CONTEXTS)]
    await _wait(client, (await client.post(f"/indexes/{uid}/documents", json=documents)).json())
    broken: set[str] = set()
    batch = 200
    for first in range(0, len(words), batch):
        queries = [{"indexUid": uid, "q": word, "filter": f"word = {first + k}", "matchingStrategy": "all",
                    "locales": ["cmn"], "limit": len(CONTEXTS) * 2, "attributesToHighlight": ["title"],
                    "highlightPreTag": PRE, "highlightPostTag": POST}
                   for k, word in enumerate(words[first:first + batch])]
        answer = await client.post("/multi-search", json={"queries": queries})
        assert answer.status_code == 200, answer.text
        for k, result in enumerate(answer.json()["results"]):
            word = words[first + k]
            hits = result["hits"]
            if len(hits) < len(CONTEXTS) or not all(_covered(h["_formatted"]["title"], word) for h in hits):
                broken.add(word)
    return broken


async def test_trimmed_dictionary_keeps_every_word_the_server_would_break(
        meili: httpx.AsyncClient, index_prefix: str, meili_cleanup: None) -> None:
    shipped = load_initial_catalogue()
    regions = load_regions()
    words = shipped.kept_whole_words(regions)
    dictionary = shipped.meilisearch_dictionary(regions)
    run = uuid.uuid4().hex[:6]
    without = await _broken_on_server(meili, f"{index_prefix}_nodict_{run}", words, [])
    trimmed = await _broken_on_server(meili, f"{index_prefix}_trimmed_{run}", words, dictionary)
    assert without, "the scratch index broke no word: the check would not notice a dropped entry"
    dropped = sorted(without - set(dictionary))
    assert not dropped, f"words the server breaks that the dictionary drops: {dropped}"
    assert trimmed == set(), f"words still broken with the trimmed dictionary: {sorted(trimmed)}"
