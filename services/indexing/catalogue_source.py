"""The catalogue (and its analyzer) a process uses for occupation inference and for building documents.

The catalogue domain keeps a per-process `CatalogueRuntime` in `extensions["catalogue"]` with the published
version and its analyzer, refreshed when a new version is published. Before anything is published (version 0),
or in a process without a runtime, the shipped initial catalogue stands in, with an analyzer built once per
process: building jieba's tokenizer takes about a second, so it happens in a thread, once.
"""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass
from typing import Any

from matching.catalogue import Catalogue, load_initial_catalogue
from matching.occupations import OccupationClassification, load_occupations
from matching.regions import RegionDirectory, load_regions
from matching.segmentation import Analyzer

RUNTIME_KEY = "catalogue"  # services.api.catalogue.runtime.EXTENSION_KEY
_FALLBACK_KEY = "indexing.fallback_catalogue"
_FALLBACK_LOCK_KEY = "indexing.fallback_catalogue_lock"


@dataclass(frozen=True, slots=True)
class CatalogueSnapshot:
    """One consistent view for one request or job: never mix two catalogue versions in one document."""

    catalogue: Catalogue
    analyzer: Analyzer
    regions: RegionDirectory
    occupations: OccupationClassification


async def _from_runtime(extensions: dict[str, Any]) -> tuple[Catalogue, Analyzer] | None:
    # Duck-typed (CatalogueRuntime.current / get_analyzer) so the worker side does not import the API package.
    runtime = extensions.get(RUNTIME_KEY)
    if runtime is None or not hasattr(runtime, "current") or not hasattr(runtime, "get_analyzer"):
        return None
    snapshot = await runtime.current()
    if snapshot.version == 0:  # nothing published yet: the shipped initial catalogue stands in
        return None
    catalogue, analyzer = snapshot.catalogue, await runtime.get_analyzer()
    assert isinstance(catalogue, Catalogue)
    assert isinstance(analyzer, Analyzer)
    return catalogue, analyzer


@functools.cache
def _build_fallback() -> tuple[Catalogue, Analyzer]:
    # The shipped catalogue never changes within a process, so one analyzer serves every app in it.
    catalogue = load_initial_catalogue()
    return catalogue, Analyzer.build(catalogue, load_regions())


async def current_catalogue(extensions: dict[str, Any]) -> CatalogueSnapshot:
    found = await _from_runtime(extensions)
    if found is None:
        found = extensions.get(_FALLBACK_KEY)
        if found is None:
            lock = extensions.setdefault(_FALLBACK_LOCK_KEY, asyncio.Lock())
            async with lock:
                found = extensions.get(_FALLBACK_KEY)
                if found is None:
                    found = await asyncio.to_thread(_build_fallback)
                    extensions[_FALLBACK_KEY] = found
    catalogue, analyzer = found
    return CatalogueSnapshot(catalogue=catalogue, analyzer=analyzer, regions=load_regions(),
                             occupations=load_occupations())
