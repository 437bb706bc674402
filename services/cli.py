"""`bashu`: the operators' command line (migrations, organisations and keys, the dev stack, the worker)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import asyncpg
import typer

from services.api.logging_setup import configure_logging
from services.api.settings import ApiSettings, load_api_settings
from services.db.migrate import apply_migrations
from services.db.pool import connect
from services.outbox.repository import STUCK_AFTER_ATTEMPTS

T = TypeVar("T")

app = typer.Typer(help="巴蜀劳务桥 operators' tool", no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="Database schema", no_args_is_help=True)
admin_app = typer.Typer(help="Organisations and API keys", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(admin_app, name="admin")
catalogue_app = typer.Typer(help="The shared shortage-talent catalogue", no_args_is_help=True)
app.add_typer(catalogue_app, name="catalogue")
demo_app = typer.Typer(help="Synthetic demo data for the local stack", no_args_is_help=True)
app.add_typer(demo_app, name="demo")
pii_app = typer.Typer(help="Personal-data keys", no_args_is_help=True)
app.add_typer(pii_app, name="pii")
# `bashu outbox stuck`'s exit code when it lists rows (1 stays a failure of the command itself).
STUCK_ROWS_FOUND = 3
outbox_app = typer.Typer(help="Follow-up work that keeps failing (the outbox)", no_args_is_help=True)
app.add_typer(outbox_app, name="outbox")
index_app = typer.Typer(help="The Meilisearch indexes (derived from PostgreSQL)", no_args_is_help=True)
app.add_typer(index_app, name="index")


@app.callback()
def _configure_logging() -> None:
    # stdout carries the commands' output (`--json` for scripts): logs go to stderr, rendered as the API's are
    # (never structlog's default, whose rich tracebacks would print the local variables of a failing command).
    settings = load_api_settings()
    configure_logging(json_lines=settings.logs_as_json, level=settings.log_level)


def _with_connection(settings: ApiSettings, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    async def run() -> T:
        conn = await connect(str(settings.database_url))
        try:
            return await work(conn)
        finally:
            await conn.close()

    return asyncio.run(run())


def _emit(payload: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(payload, ensure_ascii=False, default=str))
    else:
        for key, value in payload.items():
            typer.echo(f"{key}: {value}")


@db_app.command("migrate")
def db_migrate() -> None:
    """Apply pending migrations (forward-only, under an advisory lock)."""
    settings = load_api_settings()
    applied = _with_connection(settings, apply_migrations)
    typer.echo(f"applied {len(applied)} migration(s)" + (": " + ", ".join(applied) if applied else ""))
    # Migration 0010 moved organisation contacts into an encrypted column; SQL cannot encrypt (the database never
    # sees a key), so the rows written before it are sealed here, at every deploy's migrate (a no-op once done).
    from services.api.organisations.repository import count_clear_contacts
    from services.api.organisations.seal_contacts import seal_clear_contacts
    from services.api.problems import ProblemError
    from services.api.worker_profiles.service import personal_data_cipher

    if not _with_connection(settings, count_clear_contacts):
        return
    try:
        cipher = personal_data_cipher(settings, {})
    except ProblemError:
        typer.echo("organisation contacts not sealed: PII_KEYRING / PII_BLIND_INDEX_KEY are not set", err=True)
        raise typer.Exit(1) from None
    sealed = _with_connection(settings, lambda conn: seal_clear_contacts(conn, cipher))
    if sealed:
        typer.echo(f"sealed {sealed} organisation contact(s) stored before encryption")


@catalogue_app.command("load-initial")
def catalogue_load_initial(
    path: Annotated[str | None, typer.Option(help="CSV to load (default: the shipped initial catalogue)")] = None,
) -> None:
    """Publish the shipped initial catalogue as version 1. Does nothing if any version was ever published.

    Separate from `db migrate` on purpose: the schema must not depend on reference data. The dev stack runs it
    after migrating; the worker applies it to Meilisearch when it picks up the outbox row (reconciler).
    """
    from pathlib import Path

    from matching.catalogue import INITIAL_CATALOGUE_CSV, parse_catalogue_csv
    from services.api.catalogue.service import load_published_version
    from services.api.problems import ProblemError

    source = Path(path) if path else INITIAL_CATALOGUE_CSV
    if not source.exists():
        typer.echo(f"refused: {source} does not exist", err=True)
        raise typer.Exit(2)
    catalogue = parse_catalogue_csv(source.read_text(encoding="utf-8-sig"), version=1)

    settings = load_api_settings()

    async def work(conn: asyncpg.Connection) -> int | None:
        from services.api.database import PendingWork
        from services.api.redis_connection import create_arq_redis
        from services.outbox.dispatch import enqueue_committed

        pending = PendingWork()
        async with conn.transaction():
            version = await load_published_version(conn, catalogue, note=f"initial catalogue ({source.name})",
                                                    outbox=pending)
        if pending.outbox_ids:
            # Best effort: a running worker applies it to Meilisearch now; otherwise the reconciler will.
            redis = create_arq_redis(str(settings.redis_url), queue_name=settings.arq_queue_name)
            try:
                await enqueue_committed(redis, conn, pending.outbox_ids)
            finally:
                await redis.aclose(close_connection_pool=True)
        return version

    try:
        version = _with_connection(settings, work)
    except ProblemError as exc:
        typer.echo(f"refused: {exc.detail}", err=True)
        for error in (exc.errors or [])[:50]:
            typer.echo(f"  {error.field}: {error.message}", err=True)
        raise typer.Exit(2) from None
    if version is None:
        typer.echo("catalogue: a version is already published; nothing loaded")
    else:
        typer.echo(f"catalogue: published version {version} with {len(catalogue)} entries")


@admin_app.command("create-org")
def create_org(
    org_type: Annotated[str, typer.Option("--type", help="broker | enterprise | kiosk | authority | admin")],
    name: Annotated[str, typer.Option()],
    province: Annotated[str | None, typer.Option(help="CQ or SC (authorities)")] = None,
    uscc: Annotated[str | None, typer.Option("--uscc", help="统一社会信用代码")] = None,
    licence_number: Annotated[str | None, typer.Option()] = None,
    licence_province: Annotated[str | None, typer.Option(help="CQ or SC")] = None,
    licence_valid_until: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
    kiosk_adcode: Annotated[str | None, typer.Option()] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Create an organisation and print its first API key (shown once)."""
    from pydantic import ValidationError

    from services.api.organisations.schemas import OrgCreate
    from services.api.organisations.service import create_org as create
    from services.api.problems import ProblemError

    licence = None
    if licence_number or licence_province or licence_valid_until:
        licence = {"number": licence_number, "issuer_province": licence_province,
                   "valid_until": licence_valid_until}
    try:
        body = OrgCreate.model_validate({
            "type": org_type, "name": name, "province": province, "unified_social_credit_code": uscc,
            "licence": licence, "kiosk_adcode": kiosk_adcode,
        })
    except ValidationError as exc:
        # Locations and reasons only: the values may be a contact's name or phone.
        for error in exc.errors(include_input=False, include_url=False):
            location = ".".join(str(part) for part in error["loc"]) or "body"
            typer.echo(f"invalid: {location}: {error['msg']}", err=True)
        raise typer.Exit(2) from None

    async def work(conn: asyncpg.Connection) -> dict[str, Any]:
        async with conn.transaction():
            created = await create(conn, body, key_label="cli")
        return {"org_id": str(created.org.id), "api_key": created.api_key, "type": created.org.type,
                "name": created.org.name}

    try:
        _emit(_with_connection(load_api_settings(), work), as_json)
    except ProblemError as exc:
        typer.echo(f"refused: {exc.detail}", err=True)
        raise typer.Exit(2) from None


@admin_app.command("ensure-demo-admin")
def ensure_demo_admin(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """For the local stack: make sure the platform admin organisation exists and print a fresh key for it
    (older keys issued by this command are revoked, so only the latest one works)."""
    from services.api.auth import repository as keys_repository
    from services.api.auth.keys import generate_key
    from services.api.organisations import repository
    from services.api.organisations.schemas import OrgCreate

    async def work(conn: asyncpg.Connection) -> dict[str, Any]:
        async with conn.transaction():
            await keys_repository.lock_devstack_admin_setup(conn)
            row = await repository.find_by_name(conn, "admin", "平台管理员")
            if row is None:
                row = await repository.insert(conn, OrgCreate(type="admin", name="平台管理员"))
            await keys_repository.revoke_active_keys_labelled(conn, org_id=row["id"], label="devstack")
            key = generate_key()
            await keys_repository.insert_key(conn, org_id=row["id"], prefix=key.prefix, digest=key.digest,
                                             label="devstack")
        return {"org_id": str(row["id"]), "api_key": key.plaintext}

    _emit(_with_connection(load_api_settings(), work), as_json)


@admin_app.command("kiosk-link")
def kiosk_link(
    org: Annotated[str | None, typer.Option("--org", help="id of the kiosk organisation")] = None,
    demo: Annotated[bool, typer.Option("--demo", help="the demo hall's terminal (from `bashu demo load`)")] = False,
    base_url: Annotated[str | None, typer.Option(envvar="API_URL", help="the API as the device reaches it")] = None,
    ttl_minutes: Annotated[int, typer.Option(min=1, max=24 * 60)] = 15,
) -> None:
    """Print a one-time provisioning URL for a kiosk device: opening it on the device stores a fresh kiosk key
    there (never in any page source) and opens /kiosk. The link works once and expires after --ttl-minutes."""
    from uuid import UUID

    from redis.asyncio import Redis

    from services.api.kiosk_page.provisioning import ProvisioningError, create_link_token

    settings = load_api_settings()
    if (org is None) == (not demo):
        typer.echo("refused: give either --org <kiosk organisation id> or --demo", err=True)
        raise typer.Exit(2)
    org_id: UUID | None = None
    if org is not None:
        try:
            org_id = UUID(org)
        except ValueError:
            typer.echo("refused: --org is not an organisation id", err=True)
            raise typer.Exit(2) from None

    async def work(conn: asyncpg.Connection) -> str:
        target = org_id
        if target is None:
            from services.api.organisations import repository as orgs_repository
            from services.demo.loader import DEMO_KIOSK_NAME

            row = await orgs_repository.find_by_name(conn, "kiosk", DEMO_KIOSK_NAME)
            if row is None:
                raise ProvisioningError("no demo kiosk here: `bashu demo load` (part of `make run`) creates it")
            target = row["id"]
        redis = Redis.from_url(str(settings.redis_url))
        try:
            return await create_link_token(conn, redis, target, ttl_seconds=ttl_minutes * 60)
        finally:
            await redis.aclose()

    try:
        token = _with_connection(settings, work)
    except ProvisioningError as exc:
        typer.echo(f"refused: {exc}", err=True)
        raise typer.Exit(2) from None
    base = (base_url or f"http://{settings.host}:{settings.port}").rstrip("/")
    # The token goes in the fragment: browsers never send it to the server, so no access log or proxy sees it.
    typer.echo(f"{base}/kiosk/provision#token={token}")


@admin_app.command("revoke-key")
def revoke_key(org_id: str, key_id: str) -> None:
    """Revoke one API key of an organisation."""
    from uuid import UUID

    from services.api.auth import repository as keys_repository

    async def work(conn: asyncpg.Connection) -> bool:
        return await keys_repository.revoke_key(conn, org_id=UUID(org_id), key_id=UUID(key_id)) is not None

    if not _with_connection(load_api_settings(), work):
        typer.echo("no such key", err=True)
        raise typer.Exit(1)
    typer.echo("revoked")


@outbox_app.command("stuck")
def outbox_stuck(
    min_attempts: Annotated[int, typer.Option(min=1, help="failed attempts from which a row is listed")] = (
        STUCK_AFTER_ATTEMPTS),
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 100,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List undone follow-up rows that keep failing (by default those the worker logs as `outbox.poisoned`),
    with their last error. They are still retried every few hours; fix the cause, then `bashu outbox retry`.
    Exits 3 when there are any (for monitoring: 1 is a failure of the command itself)."""
    from services.outbox import repository as outbox_repository

    async def work(conn: asyncpg.Connection) -> list[asyncpg.Record]:
        return await outbox_repository.stuck(conn, min_attempts=min_attempts, limit=limit)

    rows = _with_connection(load_api_settings(), work)
    if as_json:
        typer.echo(json.dumps([dict(r) for r in rows], ensure_ascii=False, default=str))
    else:
        for r in rows:
            typer.echo(f"{r['id']}\t{r['topic']}\t{r['entity_id']}\tattempts={r['attempts']}\t"
                       f"since={r['created_at']:%Y-%m-%d %H:%M}\t{r['last_error'] or ''}")
        typer.echo(f"{len(rows)} row(s) with {min_attempts} or more failed attempts", err=True)
    if rows:
        raise typer.Exit(STUCK_ROWS_FOUND)


@outbox_app.command("retry")
def outbox_retry(
    ids: Annotated[list[int] | None, typer.Argument(help="outbox row ids (from `bashu outbox stuck`)")] = None,
    all_stuck: Annotated[bool, typer.Option("--all-stuck", help="every row `bashu outbox stuck` lists")] = False,
) -> None:
    """Retry rows soon (within the reconciler's next run, ~30 s) instead of at their long backoff."""
    from services.outbox import repository as outbox_repository

    if bool(ids) == all_stuck:
        typer.echo("give row ids or --all-stuck (not both)", err=True)
        raise typer.Exit(2)

    async def work(conn: asyncpg.Connection) -> list[int]:
        chosen = ids or [r["id"] for r in await outbox_repository.stuck(
            conn, min_attempts=STUCK_AFTER_ATTEMPTS, limit=10_000)]
        return await outbox_repository.retry_soon(conn, chosen)

    retried = _with_connection(load_api_settings(), work)
    typer.echo(f"{len(retried)} row(s) will be retried: {' '.join(map(str, retried))}".rstrip(": "))
    if ids and len(retried) < len(ids):
        missing = sorted(set(ids) - set(retried))
        typer.echo(f"not undone rows (done or unknown): {' '.join(map(str, missing))}", err=True)
        raise typer.Exit(1)


@index_app.command("rebuild")
def index_rebuild(
    kind: Annotated[list[str] | None, typer.Option(help="jobs or workers (repeatable); default both")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Send every posting and profile to Meilisearch again from PostgreSQL: after Meilisearch lost its data, or
    to bring documents written by older code up to date. Runs beside the API and worker; may be stopped and
    run again. Exits 1 when Meilisearch failed a write."""
    from services.indexing.rebuild import rebuild_indexes
    from services.indexing.sync import Kind

    known: dict[str, Kind] = {"jobs": "jobs", "workers": "workers"}
    unknown = [k for k in kind or () if k not in known]
    if unknown:
        typer.echo(f"unknown index kind: {', '.join(unknown)} (jobs or workers)", err=True)
        raise typer.Exit(2)
    kinds = [known[k] for k in dict.fromkeys(kind or known)]
    rebuilt = asyncio.run(rebuild_indexes(load_api_settings(), kinds))
    report: dict[str, Any] = {r.kind: {"upserted": r.upserted, "deleted": r.deleted, "failed_tasks": r.failed_tasks}
              for r in rebuilt}
    _emit(report, as_json)
    if any(r.failed_tasks for r in rebuilt):
        raise typer.Exit(1)


@pii_app.command("rotate")
def pii_rotate(
    batch: Annotated[int, typer.Option(min=1, max=10_000, help="rows per transaction")] = 500,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Re-encrypt every sealed value under PII_ACTIVE_KEY_ID (after adding a new active key to PII_KEYRING).

    Runs alongside the API and worker, and may be stopped and run again. Exits 1 while values under other keys
    remain (written meanwhile by a process that still had the old active key): run it again once every process
    has the new settings. A key may leave PII_KEYRING when this reports nothing remaining.
    """
    from services.api.key_rotation.service import rotate_keys
    from services.api.problems import ProblemError
    from services.api.worker_profiles.service import personal_data_cipher

    settings = load_api_settings()
    try:
        cipher = personal_data_cipher(settings, {})
    except ProblemError:
        typer.echo("refused: PII_KEYRING / PII_BLIND_INDEX_KEY are not set", err=True)
        raise typer.Exit(2) from None
    report = _with_connection(settings, lambda conn: rotate_keys(conn, cipher, batch=batch))
    remaining = {name: n for name, n in report.remaining.items() if n}
    _emit({"active_key_id": report.active_key_id, "rewritten": sum(report.rewritten.values()),
           "rewritten_by_column": {k: v for k, v in report.rewritten.items() if v},
           "remaining": remaining}, as_json)
    if remaining:
        raise typer.Exit(1)


@demo_app.command("load")
def demo_load(
    workers: Annotated[int, typer.Option(min=0, help="synthetic worker profiles")] = 3000,
    jobs: Annotated[int, typer.Option(min=0, help="synthetic job postings")] = 2000,
    seed: Annotated[int, typer.Option(help="corpus seed (same seed, same data)")] = 20260101,
    keys_file: Annotated[str | None, typer.Option(help="where to write {name: api_key}")] = None,
) -> None:
    """Demo organisations, the initial catalogue and synthetic workers/jobs (idempotent; fresh demo keys)."""
    from pathlib import Path

    from services.demo.loader import default_keys_path, load_demo, summary

    path = Path(keys_file) if keys_file else default_keys_path()
    result = asyncio.run(load_demo(load_api_settings(), workers=workers, jobs=jobs, seed=seed, keys_path=path))
    typer.echo(summary(result, path))


@app.command("serve")
def serve() -> None:
    """Run the API (HOST/PORT from the environment)."""
    from services.api.__main__ import main as serve_api

    serve_api()


@app.command("worker")
def worker() -> None:
    """Run an arq worker for the platform's queue."""
    from workers.__main__ import main as run_worker

    run_worker()


def _mount_devstack() -> None:
    try:
        from services.devstack.cli import devstack_app
    except ImportError:  # the dev stack is a development tool; production images may leave it out
        return
    app.add_typer(devstack_app, name="devstack")


_mount_devstack()


def main() -> None:
    app()


if __name__ == "__main__":
    main()


