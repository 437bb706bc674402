"""The reference data a catalogue is validated against (2022 occupation classification, region directory).

The shipped copies live in matching/reference/. While they are being written, the development copies in
../shared/data are used instead.
TODO(reference-data): drop the fallback once matching/reference/{occupations-2022.json,regions.csv} are committed.
"""

from __future__ import annotations

import functools
from pathlib import Path

from matching.occupations import OCCUPATIONS_JSON, OccupationClassification, load_occupations
from matching.regions import REGIONS_CSV, RegionDirectory, load_regions

_SHARED_DATA = Path(__file__).resolve().parents[4] / "shared" / "data"


@functools.cache
def reference_occupations() -> OccupationClassification:
    if OCCUPATIONS_JSON.exists():
        return load_occupations()
    return load_occupations(_SHARED_DATA / "occupations-2022-draft.json")


@functools.cache
def reference_regions() -> RegionDirectory:
    if REGIONS_CSV.exists():
        return load_regions()
    return load_regions(_SHARED_DATA / "chengyu-regions.csv")
