"""The reference data a catalogue is validated against: the shipped 2022 occupation classification and
region directory (matching/reference/), each read once per process."""

from __future__ import annotations

from matching.occupations import OccupationClassification, load_occupations
from matching.regions import RegionDirectory, load_regions


def reference_occupations() -> OccupationClassification:
    return load_occupations()


def reference_regions() -> RegionDirectory:
    return load_regions()
