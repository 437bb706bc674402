"""Stored rows → matching facts → Meilisearch documents, and whether a row belongs in the index at all.

Facts (matching/facts.py) carry no personal data by construction, and the documents are built by
matching/documents.py from facts only; `checked` refuses any document that would still carry a personal key.
Certificate names are made canonical here, in the facts (matching/certificates.py), whether or not the row was
stored canonical: the matches endpoint scores and filters with these facts, and the documents built from them
carry the same names (so a reindex brings rows stored before canonicalisation into line).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, TypeAlias

import asyncpg

from matching.catalogue import Catalogue
from matching.certificates import canonical_certificates
from matching.documents import PII_KEYS, Document, job_document, worker_document
from matching.facts import JobFacts, Wage, WorkerFacts
from matching.geo import GeoPoint
from matching.identity import age_on
from matching.regions import RegionDirectory


class PersonalDataInDocument(RuntimeError):
    pass


def job_is_indexable(record: asyncpg.Record) -> bool:
    """Only open, unexpired postings are searchable; held, closed and expired ones are removed."""
    return bool(record["effective_status"] == "open")


# A stored row as read (asyncpg) or as just written (`worker_profiles.repository.index_row_of`).
Row: TypeAlias = asyncpg.Record | Mapping[str, Any]


def worker_is_indexable(record: Row) -> bool:
    """Only available profiles whose person consented to being shown to enterprises are indexed at all: the
    workers index exists for enterprises and matching, so a profile without consent, or one that is placed
    (hired through a placement), inactive or erased, has no business in it."""
    return bool(record["status"] == "available" and record["consent_share_with_enterprises"]
                and not record["held_for_review"])  # held: new profile of a grade-D broker (issue 9)


def job_facts(record: asyncpg.Record) -> JobFacts:
    location = GeoPoint(record["lat"], record["lng"]) if record["lat"] is not None else None
    return JobFacts(
        id=str(record["id"]), title=record["title"], description=record["description"],
        # The headcount still open (the posting's headcount less its hires): what job seekers can still get.
        occupation_code=record["occupation_code"], headcount=record["open_headcount"], adcode=record["adcode"],
        wage=Wage(float(record["wage_min"]), float(record["wage_max"]), record["wage_unit"]),
        work_type=record["work_type"], start_date=record["start_date"], posted_at=record["created_at"],
        org_id=str(record["org_id"]), location=location, end_date=record["end_date"],
        benefits=tuple(record["benefits"]),
        required_certificates=tuple(canonical_certificates(record["required_certificates"])),
        age_min=record["age_min"], age_max=record["age_max"], status=record["effective_status"],
        updated_at=record["updated_at"], expires_at=record["expires_at"],
        occupation_inferred=record["occupation_inferred"],
    )


def worker_facts(record: Row, today: date) -> WorkerFacts:
    wage = None
    if record["expected_wage_unit"] is not None:
        wage = Wage(float(record["expected_wage_min"]), float(record["expected_wage_max"]),
                    record["expected_wage_unit"])
    return WorkerFacts(
        id=str(record["id"]), home_adcode=record["home_adcode"], available_from=record["available_from"],
        updated_at=record["updated_at"], broker_org_id=str(record["broker_org_id"]),
        current_adcode=record["current_adcode"], desired_adcodes=tuple(record["desired_adcodes"]),
        willing_to_relocate=record["willing_to_relocate"], max_commute_km=record["max_commute_km"],
        expected_wage=wage, occupation_codes=tuple(record["occupation_codes"]),
        occupation_terms=tuple(record["occupation_terms"]), skills=tuple(record["skills"]),
        certificates=tuple(canonical_certificates(record["certificates"])), labour_brand=record["labour_brand"],
        experience_years=record["experience_years"], available_until=record["available_until"],
        work_types=tuple(record["work_types"]), share_with_enterprises=record["consent_share_with_enterprises"],
        age=age_on(record["birth_date"], today) if record["birth_date"] is not None else None,
        status=record["status"],
    )


def checked(document: Document) -> Document:
    leaked = PII_KEYS & document.keys()
    if leaked:
        # Names of keys only: the values are what must not travel.
        raise PersonalDataInDocument(f"document {document.get('id')} carries personal keys {sorted(leaked)}")
    return document


def build_job_document(record: asyncpg.Record, catalogue: Catalogue, regions: RegionDirectory) -> Document:
    return checked(job_document(job_facts(record), catalogue, regions))


def build_worker_document(record: Row, catalogue: Catalogue, regions: RegionDirectory,
                          today: date) -> Document:
    return checked(worker_document(worker_facts(record, today), catalogue, regions))
