"""CatalogueRuntime: the published catalogue as every API and worker process uses it.

One per process, in `resources.extensions["catalogue"]`: the current Catalogue, the typeahead built from it
(pure in-memory, per keystroke) and the jieba Analyzer loaded with its words. All three follow a publication
without a restart.

How a process learns about a new version: **poll on use, at most every 2 s.** `current()` compares the
version number of the published row (`SELECT … WHERE status = 'published'`, a partial unique index: one
index probe) with the one it holds, at most once per `check_interval` seconds, and reloads when they differ.
Why not Redis pub/sub: a subscriber task per process would miss messages while disconnected (pub/sub does
not queue) and would still need this check to recover; polling needs no extra connection, is self-healing
after any outage, and bounds staleness at ~2 s for every process — API and worker alike. A process that
publishes, and the worker that handles `catalogue.published`, call `refresh()` directly and see it at once.

Building an Analyzer costs about a second of CPU (jieba's dictionary), so it runs in a thread
(`asyncio.to_thread`) in the background: until the new one is ready, `get_analyzer()` (and the `analyzer`
property) keep answering with the previous version's (stale-while-revalidate); only a process that has none
yet waits (the property answers None then). Analyzers are shared
between runtimes of one process when the vocabulary is identical (tests start many apps in one process).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import structlog

from matching.catalogue import Catalogue
from matching.regions import RegionDirectory
from matching.segmentation import Analyzer, AnalyzerHolder
from matching.typeahead import Suggestion, SuggestionKind, Typeahead
from services.api.catalogue import repository
from services.api.catalogue.reference import reference_regions

log = structlog.get_logger("bashu.catalogue.runtime")

EXTENSION_KEY = "catalogue"
DEFAULT_CHECK_INTERVAL_SECONDS = 2.0


# Seconds the periodic version check waits for a pooled connection (see refresh).
PERIODIC_ACQUIRE_TIMEOUT = 0.5


@dataclass(frozen=True, slots=True)
class CatalogueSnapshot:
    """One published version as loaded into this process (version 0: nothing published yet)."""

    version: int
    published_at: datetime | None
    catalogue: Catalogue
    typeahead: Typeahead

    def suggest(self, text: str, limit: int = 10,
                kinds: tuple[SuggestionKind, ...] = ("occupation",)) -> list[Suggestion]:
        return self.typeahead.suggest(text, limit=limit, kinds=kinds)


# ----- analyzers shared by vocabulary within the process -----

_ANALYZER_CACHE: OrderedDict[tuple[str, int], Analyzer] = OrderedDict()
_ANALYZER_CACHE_LOCK = threading.Lock()
_ANALYZER_CACHE_SIZE = 4


def build_analyzer(catalogue: Catalogue, regions: RegionDirectory) -> Analyzer:
    """Blocking (about a second the first time): call through asyncio.to_thread."""
    words = sorted(catalogue.analyzer_words(regions))
    key = (hashlib.sha256("\n".join(words).encode()).hexdigest(), catalogue.version)
    with _ANALYZER_CACHE_LOCK:
        cached = _ANALYZER_CACHE.get(key)
        if cached is not None:
            _ANALYZER_CACHE.move_to_end(key)
            return cached
    analyzer = Analyzer(words, catalogue_version=catalogue.version)
    with _ANALYZER_CACHE_LOCK:
        _ANALYZER_CACHE[key] = analyzer
        while len(_ANALYZER_CACHE) > _ANALYZER_CACHE_SIZE:
            _ANALYZER_CACHE.popitem(last=False)
    return analyzer


async def load_published(conn: asyncpg.Connection) -> tuple[int, datetime | None, Catalogue]:
    row = await repository.published_version(conn)
    if row is None:
        return 0, None, Catalogue(0, ())
    version: int = row["version"]
    return version, row["published_at"], Catalogue(version, await repository.entries(conn, version))


class CatalogueRuntime:
    def __init__(self, pool: asyncpg.Pool, *, regions: RegionDirectory | None = None,
                 check_interval: float = DEFAULT_CHECK_INTERVAL_SECONDS) -> None:
        self._pool = pool
        self._regions = regions if regions is not None else reference_regions()
        self._check_interval = check_interval
        empty = Catalogue(0, ())
        self._snapshot = CatalogueSnapshot(0, None, empty, Typeahead(empty, self._regions))
        self._checked_at = float("-inf")
        self._reload_lock = asyncio.Lock()
        self._analyzers: AnalyzerHolder | None = None
        self._analyzer_task: asyncio.Task[Analyzer] | None = None
        self._closed = False

    # ----- lifecycle -----

    async def start(self) -> None:
        """Load the published version (an empty catalogue when there is none) and start the analyzer build."""
        await self.refresh()

    async def close(self) -> None:
        self._closed = True
        task = self._analyzer_task
        if task is not None and not task.done():
            # The thread cannot be interrupted; let it finish so the process exits cleanly.
            with contextlib.suppress(Exception):
                await task

    # ----- reading -----

    @property
    def snapshot(self) -> CatalogueSnapshot:
        """What this process holds now, without checking the database."""
        return self._snapshot

    @property
    def catalogue(self) -> Catalogue:
        return self._snapshot.catalogue

    async def current(self) -> CatalogueSnapshot:
        """The snapshot, after checking (at most every `check_interval` s) for a newer published version."""
        # While another caller checks or reloads, answer from what we hold instead of queueing behind it.
        if time.monotonic() - self._checked_at >= self._check_interval and not self._reload_lock.locked():
            try:
                await self.refresh(only_if_due=True)
            except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
                # A database hiccup must not break typeahead: answer from what we hold, retry next interval.
                self._checked_at = time.monotonic()
                log.warning("catalogue.refresh_failed", error=type(exc).__name__)
        return self._snapshot

    @property
    def analyzer(self) -> Analyzer | None:
        """The newest analyzer built so far, without waiting (None during the first second of a process)."""
        return self._analyzers.current if self._analyzers is not None else None

    async def get_analyzer(self) -> Analyzer:
        """The newest analyzer built; waits only when none has been built yet in this runtime."""
        await self.current()
        if self._analyzers is not None:
            return self._analyzers.current
        task = self._ensure_analyzer_task()
        return await asyncio.shield(task)

    async def wait_for_analyzer(self) -> Analyzer:
        """The analyzer of the snapshot's version (tests and the worker's publish handler wait for it)."""
        task = self._ensure_analyzer_task()
        return await asyncio.shield(task)

    async def suggest(self, text: str, limit: int = 10,
                      kinds: tuple[SuggestionKind, ...] = ("occupation",)) -> tuple[int, list[Suggestion]]:
        snapshot = await self.current()
        return snapshot.version, snapshot.suggest(text, limit, kinds)

    # ----- refreshing -----

    def invalidate(self) -> None:
        """Make the next `current()` check the database (after this process published a version)."""
        self._checked_at = float("-inf")

    async def refresh(self, *, force: bool = False, only_if_due: bool = False) -> bool:
        """Reload if the published version differs from the one held (always with force); True if reloaded."""
        async with self._reload_lock:
            if only_if_due and time.monotonic() - self._checked_at < self._check_interval:
                return False  # another caller checked while we waited for the lock
            # The periodic check runs inside requests that may already hold a pooled connection: with the pool
            # exhausted it gives up quickly (current() answers from the snapshot held) instead of waiting for a
            # connection that only other such requests could free.
            async with self._pool.acquire(timeout=PERIODIC_ACQUIRE_TIMEOUT if only_if_due else None) as conn:
                row = await repository.published_version(conn)
                published = row["version"] if row is not None else 0
                self._checked_at = time.monotonic()
                if published == self._snapshot.version and not force:
                    return False
                version, published_at, catalogue = await load_published(conn)
            typeahead = await asyncio.to_thread(Typeahead, catalogue, self._regions)
            self._snapshot = CatalogueSnapshot(version, published_at, catalogue, typeahead)
            self._start_analyzer_build()
            log.info("catalogue.loaded", version=version, entries=len(catalogue))
            return True

    def _ensure_analyzer_task(self) -> asyncio.Task[Analyzer]:
        task = self._analyzer_task
        if task is None or (task.done() and (task.cancelled() or task.exception() is not None)):
            task = self._start_analyzer_build()
        return task

    def _start_analyzer_build(self) -> asyncio.Task[Analyzer]:
        snapshot = self._snapshot
        task = asyncio.get_running_loop().create_task(self._build_analyzer(snapshot))
        self._analyzer_task = task
        return task

    async def _build_analyzer(self, snapshot: CatalogueSnapshot) -> Analyzer:
        analyzer = await asyncio.to_thread(build_analyzer, snapshot.catalogue, self._regions)
        if self._analyzers is None:
            self._analyzers = AnalyzerHolder(analyzer)
        else:
            self._analyzers.replace(analyzer)
        return analyzer


def runtime_of(extensions: dict[str, Any]) -> CatalogueRuntime:
    runtime: CatalogueRuntime = extensions[EXTENSION_KEY]
    return runtime


async def start_runtime(pool: asyncpg.Pool, extensions: dict[str, Any], *,
                        check_interval: float = DEFAULT_CHECK_INTERVAL_SECONDS) -> CatalogueRuntime:
    """For lifespans and worker startup: create, load and register the process's runtime."""
    runtime = CatalogueRuntime(pool, check_interval=check_interval)
    await runtime.start()
    extensions[EXTENSION_KEY] = runtime
    return runtime
