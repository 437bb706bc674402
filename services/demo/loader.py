"""`bashu demo load`: demo organisations, the initial catalogue, and a few thousand synthetic workers and jobs.

Everything goes through the same service functions the API uses (organisations, catalogue, worker profiles,
job postings), so personal data is encrypted, compliance runs, and every profile and posting writes its
outbox row; the running worker then indexes them. Idempotent: organisations are found by type and name,
workers and jobs by their `external_ref` (demo-w-…, demo-j-…) and skipped when present (demo postings that
have ended or end within RENEW_WITHIN are renewed instead), the catalogue is loaded only when nothing was ever
published. Each run issues a fresh API key per demo organisation (older
demo keys are revoked) and writes them to `.devstack/demo-keys.json` as `{name: api_key}`.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import structlog

from matching.catalogue import load_initial_catalogue
from services.api.auth import repository as keys_repository
from services.api.auth.caller import Caller
from services.api.auth.keys import generate_key
from services.api.china_calendar import china_today
from services.api.database import PendingWork
from services.api.organisations import repository as orgs_repository
from services.api.organisations.schemas import OrgCreate
from services.api.organisations.seal_contacts import seal_clear_contacts
from services.api.organisations.service import register_org
from services.api.problems import ProblemError
from services.api.settings import ApiSettings
from services.api.worker_profiles import repository as workers_repository
from services.db.pool import connect
from services.demo import repository as demo_repository
from services.demo.corpus import Corpus
from services.outbox.dispatch import enqueue_committed
from services.privacy.cipher import PersonalDataCipher

log = structlog.get_logger("bashu.demo")

DEFAULT_SEED = 20260101
KEY_LABEL = "demo"
BATCH = 250
# About what one worker indexes and matches per second on the development machines (5,000 rows in ~3.5 min).
DEMO_INDEX_ROWS_PER_SECOND = 25.0
JOB_REF_PREFIX = "demo-j-"
# Demo postings ending within this are renewed by the next load (for the default 30 days again).
RENEW_WITHIN = timedelta(days=3)

# `bashu admin kiosk-link --demo` finds the demo hall's terminal by its name.
DEMO_KIOSK_NAME = "演示·九龙坡区零工市场一号终端"

# name in demo-keys.json → the organisation. Names say "演示" so nobody mistakes them for real ones.
DEMO_ORGS: dict[str, dict[str, Any]] = {
    "broker_cq": {"type": "broker", "name": "演示·渝东北劳务经纪服务有限公司",
                  "unified_social_credit_code": "91500235MA6000001H",
                  "licence": {"number": "渝人服证字〔2024〕第0235号", "issuer_province": "CQ",
                              "valid_until": "2029-12-31"},
                  "contact": {"name": "向经理", "phone": "023-00000001", "address": "重庆市云阳县（演示）"}},
    "broker_sc": {"type": "broker", "name": "演示·川东北人力资源服务有限公司",
                  "unified_social_credit_code": "91511300MA6000002K",
                  "licence": {"number": "川人服证字〔2024〕第1300号", "issuer_province": "SC",
                              "valid_until": "2029-12-31"},
                  "contact": {"name": "蒲经理", "phone": "0817-0000002", "address": "四川省南充市（演示）"}},
    "enterprise_manufacturing": {"type": "enterprise", "name": "演示·两江智造汽车电子有限公司",
                                 "unified_social_credit_code": "91500112MA60000038",
                                 "contact": {"name": "人事部", "phone": "023-00000003"}},
    "enterprise_construction": {"type": "enterprise", "name": "演示·巴蜀建工物流集团有限公司",
                                "unified_social_credit_code": "91510100MA60000043",
                                "contact": {"name": "劳务部", "phone": "028-00000004"}},
    "enterprise_services": {"type": "enterprise", "name": "演示·成渝生活服务有限公司",
                            "unified_social_credit_code": "91500107MA60000057",
                            "contact": {"name": "招聘组", "phone": "023-00000005"}},
    "kiosk_jiulongpo": {"type": "kiosk", "name": DEMO_KIOSK_NAME, "kiosk_adcode": "500107"},
    "authority_cq": {"type": "authority", "name": "演示·重庆市人力资源和社会保障局", "province": "CQ"},
    "authority_sc": {"type": "authority", "name": "演示·四川省人力资源和社会保障厅", "province": "SC"},
}
# Which enterprise posts a trade of which industry.
_ENTERPRISE_BY_INDUSTRY = {
    "汽车制造": "enterprise_manufacturing", "电子信息": "enterprise_manufacturing",
    "装备制造": "enterprise_manufacturing", "材料化工": "enterprise_manufacturing",
    "建筑施工": "enterprise_construction", "交通物流": "enterprise_construction",
}


@dataclass
class DemoResult:
    org_ids: dict[str, str] = field(default_factory=dict)
    api_keys: dict[str, str] = field(default_factory=dict)
    catalogue_version: int | None = None
    workers: Counter[str] = field(default_factory=Counter)
    jobs: Counter[str] = field(default_factory=Counter)
    renewals: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


def default_keys_path() -> Path:
    override = os.environ.get("DEVSTACK_DIR")
    base = Path(override).resolve() if override else Path(__file__).resolve().parents[2] / ".devstack"
    return base / "demo-keys.json"


async def _ensure_orgs(conn: asyncpg.Connection, result: DemoResult,
                       cipher: PersonalDataCipher | None) -> dict[str, Caller]:
    callers: dict[str, Caller] = {}

    def cipher_source() -> PersonalDataCipher:
        assert cipher is not None
        return cipher

    async with conn.transaction():
        for name, fields in DEMO_ORGS.items():
            if cipher is None and "contact" in fields:
                # Without keys the contact person cannot be stored (never in clear): the office address only.
                fields = {**fields, "contact": {"address": fields["contact"].get("address")}}
            body = OrgCreate.model_validate(fields)
            row = await orgs_repository.find_by_name(conn, body.type, body.name)
            if row is None:
                row, _ = await register_org(conn, body, cipher=cipher_source if cipher else None)
            await keys_repository.revoke_active_keys_labelled(conn, org_id=row["id"], label=KEY_LABEL)
            key = generate_key()
            key_row = await keys_repository.insert_key(conn, org_id=row["id"], prefix=key.prefix,
                                                       digest=key.digest, label=KEY_LABEL)
            result.org_ids[name] = str(row["id"])
            result.api_keys[name] = key.plaintext
            callers[name] = Caller(org_id=row["id"], role=row["type"], key_id=key_row["id"],
                                   province=row["province"], licence_valid_until=row["licence_valid_until"],
                                   kiosk_adcode=row["kiosk_adcode"])
    return callers


@dataclass
class _Pace:
    """Spreads the demo's index jobs over time. All enqueued at once, they were a queue of thousands ahead of
    anything a developer did next: their first posting became searchable ~3.5 min after `make run`. Deferred
    batch by batch at about the rate a worker gets through them, a new job waits behind one batch at most."""

    rows_per_second: float
    rows: int = 0

    def next_defer(self, batch_rows: int) -> float:
        defer = self.rows / self.rows_per_second
        self.rows += batch_rows
        return defer


async def _flush(conn: asyncpg.Connection, redis: Any, outbox: PendingWork, pace: _Pace | None = None) -> None:
    if outbox.outbox_ids and redis is not None:
        defer = pace.next_defer(len(outbox.outbox_ids)) if pace is not None else 0.0
        await enqueue_committed(redis, conn, outbox.outbox_ids, defer_seconds=defer or None)
    outbox.outbox_ids.clear()


async def _load_rows(conn: asyncpg.Connection, redis: Any, items: list[tuple[Caller, dict[str, Any]]],
                     create: Callable[[Caller, dict[str, Any], PendingWork], Any], counts: Counter[str],
                     pace: _Pace) -> None:
    """Create rows in batches of BATCH, each row in a savepoint (a refused row does not undo its batch)."""
    outbox = PendingWork()
    for start in range(0, len(items), BATCH):
        async with conn.transaction():
            for caller, body in items[start:start + BATCH]:
                try:
                    async with conn.transaction():
                        counts[await create(caller, body, outbox)] += 1
                except ProblemError as exc:
                    counts[f"refused ({exc.status})"] += 1
        await _flush(conn, redis, outbox, pace)


async def load_demo(settings: ApiSettings, *, workers: int = 3000, jobs: int = 2000, seed: int = DEFAULT_SEED,
                    today: date | None = None, keys_path: Path | None = None, enqueue: bool = True) -> DemoResult:
    from services.api.catalogue.service import load_published_version
    from services.api.jobs import service as jobs_service
    from services.api.jobs.schemas import JobPatch
    from services.api.worker_profiles import service as workers_service
    from services.api.worker_profiles.schemas import WorkerFields

    started = time.monotonic()
    result = DemoResult()
    extensions: dict[str, Any] = {}
    today = today or china_today()
    corpus = Corpus(seed=seed, today=today)
    redis = None
    if enqueue:
        from services.api.redis_connection import create_arq_redis

        redis = create_arq_redis(str(settings.redis_url), queue_name=settings.arq_queue_name)
    conn = await connect(str(settings.database_url))
    try:
        await demo_repository.lock_demo_load(conn)
        outbox = PendingWork()
        async with conn.transaction():
            result.catalogue_version = await load_published_version(
                conn, load_initial_catalogue(), note="initial catalogue (demo load)", outbox=outbox)
        await _flush(conn, redis, outbox)
        try:
            cipher: PersonalDataCipher | None = workers_service.personal_data_cipher(settings, extensions)
        except ProblemError:
            cipher = None
        if cipher is not None:
            # A database from before migration 0010 holds organisation contacts in clear: seal them now.
            await seal_clear_contacts(conn, cipher)
        callers = await _ensure_orgs(conn, result, cipher)
        pace = _Pace(DEMO_INDEX_ROWS_PER_SECOND)

        # ---- jobs: each enterprise posts the trades of its industries. Before the workers: the worker takes
        # outbox rows in order, so the kiosk shows postings soon after start-up instead of after all profiles
        # are indexed (each profile's own matching then finds the postings).
        if jobs > 0:
            job_ctx = await jobs_service.build_context(settings, extensions, PendingWork())
            enterprise_names = [n for n, f in DEMO_ORGS.items() if f["type"] == "enterprise"]
            existing_jobs = {n: await demo_repository.job_refs(conn, callers[n].org_id) for n in enterprise_names}
            pending_jobs: list[tuple[Caller, dict[str, Any]]] = []
            for body in corpus.jobs(jobs, ref_prefix=JOB_REF_PREFIX, noncompliant_share=0.015):
                entry = corpus.catalogue.by_code(body["occupation_code"])
                name = _ENTERPRISE_BY_INDUSTRY.get(entry.industry if entry else "", "enterprise_services")
                if body["external_ref"] in existing_jobs[name]:
                    result.jobs["existing"] += 1
                else:
                    pending_jobs.append((callers[name], body))

            async def create_job(caller: Caller, body: dict[str, Any], outbox: PendingWork) -> str:
                ctx = replace(job_ctx, outbox=outbox)
                created = await jobs_service.create_job(conn, ctx, caller, jobs_service.parse_fields(body))
                return f"created ({created.status})"

            await _load_rows(conn, redis, pending_jobs, create_job, result.jobs, pace)

            # A month after the first `make run` every demo posting has expired and the kiosk is empty: renew
            # those that have ended or are about to, through the same update as PATCH /v1/jobs/{id} with a new
            # expires_at (validated again, status back to open, a job.index outbox row so the worker re-indexes).
            # Postings that end later, held ones and closed ones are left alone, so a second run renews nothing.
            renew_by = job_ctx.now + RENEW_WITHIN
            due: list[tuple[Caller, dict[str, Any]]] = [
                (callers[n], {"id": job_id}) for n in enterprise_names
                for job_id in await demo_repository.postings_to_renew(
                    conn, callers[n].org_id, ref_prefix=JOB_REF_PREFIX, expiring_before=renew_by)]
            renewal = JobPatch(expires_at=job_ctx.now + job_ctx.default_ttl)

            async def renew_job(caller: Caller, body: dict[str, Any], outbox: PendingWork) -> str:
                await jobs_service.update_job(conn, replace(job_ctx, outbox=outbox), caller, body["id"], renewal)
                return "renewed"

            await _load_rows(conn, redis, due, renew_job, result.renewals, pace)

        # ---- workers: CQ-born people registered by the Chongqing broker, the others by the Sichuan one
        try:
            worker_ctx = await workers_service.build_context(settings, extensions, PendingWork(), today=today)
        except ProblemError as exc:
            worker_ctx = None
            result.notes.append(f"workers skipped: {exc.detail} (set PII_KEYRING and PII_BLIND_INDEX_KEY)")
        if worker_ctx is not None and workers > 0:
            bodies = [("broker_cq" if body["home_adcode"].startswith("50") else "broker_sc", body)
                      for body in corpus.workers(workers)]
            existing = {name: set(await workers_repository.ids_by_external_ref(
                            conn, callers[name].org_id, [b["external_ref"] for n, b in bodies if n == name]))
                        for name in ("broker_cq", "broker_sc")}
            pending: list[tuple[Caller, dict[str, Any]]] = []
            for name, body in bodies:
                if body["external_ref"] in existing[name]:
                    result.workers["existing"] += 1
                else:
                    pending.append((callers[name], body))

            async def create_worker(caller: Caller, body: dict[str, Any], outbox: PendingWork) -> str:
                ctx = workers_service.WorkerContext(cipher=worker_ctx.cipher, catalogue=worker_ctx.catalogue,
                                                    outbox=outbox, today=today)
                fields = WorkerFields.model_validate(body)
                try:
                    async with conn.transaction():
                        await workers_service.create_worker(conn, ctx, caller, fields)
                except ProblemError as exc:
                    if exc.status != 422:
                        raise
                    # Free-text trades the analyzer does not know: fall back to the catalogue's codes.
                    codes = [corpus.catalogue.code_for_word(o) or o for o in body["occupations"]]
                    fields = WorkerFields.model_validate({**body, "occupations": codes})
                    await workers_service.create_worker(conn, ctx, caller, fields)
                return "created"

            await _load_rows(conn, redis, pending, create_worker, result.workers, pace)

        await _seed_placements(conn, settings, result)
        await demo_repository.unlock_demo_load(conn)
    finally:
        await conn.close()
        if redis is not None:
            await redis.aclose(close_connection_pool=True)

    path = keys_path or default_keys_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(result.api_keys, ensure_ascii=False, indent=2) + "\n")
    tmp.chmod(0o600)
    tmp.replace(path)
    result.seconds = time.monotonic() - started
    log.info("demo.loaded", workers=dict(result.workers), jobs=dict(result.jobs),
             renewals=dict(result.renewals), seconds=round(result.seconds, 1))
    return result


async def _seed_placements(conn: asyncpg.Connection, settings: ApiSettings, result: DemoResult) -> None:
    from services.api.placements.demo import seed_demo_placements

    try:
        outcome = await seed_demo_placements(conn, settings=settings, org_ids=result.org_ids)
    except Exception as exc:  # the demo must come up even when an optional seeding step fails
        result.notes.append(f"placements seeding failed: {type(exc).__name__}: {exc}")
        return
    result.notes.append(f"placements: {outcome}")


def summary(result: DemoResult, keys_path: Path) -> str:
    lines = [f"demo: catalogue {'version ' + str(result.catalogue_version) if result.catalogue_version else 'kept'}",
             f"demo: organisations {len(result.org_ids)} ({', '.join(result.org_ids)})",
             f"demo: workers {dict(result.workers) or 'none'}",
             f"demo: jobs {dict(result.jobs) or 'none'}",
             f"demo: postings renewed {dict(result.renewals) or 'none due'}",
             *(f"demo: {note}" for note in result.notes),
             f"demo: fresh API keys written to {keys_path} (older demo keys revoked); {result.seconds:.1f} s"]
    return "\n".join(lines)

