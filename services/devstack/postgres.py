"""PostgreSQL: reuse a reachable server, or run a private cluster under `.devstack/postgres/`."""

from __future__ import annotations

import asyncio
import contextlib
import glob
import hashlib
import os
import pwd
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from services.devstack import paths, processes
from services.devstack.ports import free_loopback_port, is_port_open
from services.devstack.readiness import ServiceStartError, wait_ready


def default_url() -> str:
    """The machine's server, a database of this checkout's own."""
    return f"postgresql://postgres@127.0.0.1:5432/bashu_{paths.checkout_tag()}"


SUPERUSER = "postgres"
# postgres refuses to run as root; as root we run it as this (Debian's) account.
SERVICE_ACCOUNT = "postgres"


def host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 5432


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/") or "postgres"


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


async def _can_connect(url: str) -> bool:
    try:
        conn = await asyncpg.connect(url, timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    await conn.close()
    return True


async def probe(url: str) -> bool:
    """True when a usable server answers at `url` (the database itself may not exist yet).

    A port that is open but refuses our credentials is a misconfiguration we report, rather than
    silently starting a second server beside it.
    """
    host, port = host_port(url)
    if not is_port_open(host, port):
        return False
    admin = with_database(url, "postgres")
    try:
        conn = await asyncpg.connect(admin, timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        raise ServiceStartError(f"{host}:{port} is open but PostgreSQL login failed: {exc}") from exc
    await conn.close()
    return True


async def ensure_database(url: str) -> None:
    name = database_name(url)
    conn = await asyncpg.connect(with_database(url, "postgres"), timeout=5)
    try:
        if await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            return
        quoted = '"' + name.replace('"', '""') + '"'
        # Created concurrently by another run is what we wanted too.
        with contextlib.suppress(asyncpg.DuplicateDatabaseError):
            await conn.execute(f"CREATE DATABASE {quoted}")
    finally:
        await conn.close()


def server_bin_dir() -> Path:
    if os.environ.get("DEVSTACK_PG_BIN"):
        return Path(os.environ["DEVSTACK_PG_BIN"])
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/postgres"), key=lambda p: int(Path(p).parts[-3].split(".")[0])
    )
    if not candidates:
        raise ServiceStartError(
            "no PostgreSQL server binaries under /usr/lib/postgresql/*/bin and no server reachable; "
            "run `make install` as root, or `apt-get install postgresql`, or set DATABASE_URL"
        )
    return Path(candidates[-1]).parent


def _run_as() -> str | None:
    return SERVICE_ACCOUNT if os.geteuid() == 0 else None


def _account_can_write(account: str, directory: Path) -> bool:
    result = subprocess.run(  # noqa: S603 - fixed argv
        ["/usr/bin/test", "-w", str(directory), "-a", "-x", str(directory)],
        user=account,
        check=False,
    )
    return result.returncode == 0


def cluster_dir() -> Path:
    """Where the private cluster lives: `.devstack/postgres`, unless the service account can't reach it.

    As root, the checkout may sit under a directory the postgres account cannot traverse (a 0700
    home or pytest's tmp); then the cluster goes to /var/tmp, keyed by the state dir so clones don't share.
    """
    preferred = paths.service_dir("postgres")
    account = _run_as()
    if account is None:
        return preferred
    try:
        pw = pwd.getpwnam(account)
    except KeyError as exc:
        raise ServiceStartError(
            "running as root and there is no 'postgres' account to run a private PostgreSQL as; "
            "apt-get install postgresql creates it"
        ) from exc
    preferred.mkdir(parents=True, exist_ok=True)
    os.chown(preferred, pw.pw_uid, pw.pw_gid)
    if _account_can_write(account, preferred):
        return preferred
    key = hashlib.sha256(str(paths.state_dir()).encode()).hexdigest()[:12]
    fallback = Path("/var/tmp") / f"bashu-devstack-{key}" / "postgres"  # noqa: S108 - owned dir, not a tmp file
    fallback.mkdir(parents=True, exist_ok=True)
    os.chown(fallback, pw.pw_uid, pw.pw_gid)
    return fallback


def _initdb(bindir: Path, data: Path, account: str | None) -> None:
    if (data / "PG_VERSION").is_file():
        return
    if data.exists():
        shutil.rmtree(data)  # a half-initialised directory from an interrupted initdb
    subprocess.run(  # noqa: S603 - fixed argv
        [
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        ],
        check=True,
        user=account,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


@dataclass
class Started:
    url: str
    managed: processes.Managed
    popen: subprocess.Popen[bytes]


async def start_private(db_name: str, ready_within: float = 60.0) -> Started:
    bindir = server_bin_dir()
    account = _run_as()
    root = cluster_dir()
    data = root / "data"
    try:
        await asyncio.to_thread(_initdb, bindir, data, account)
    except subprocess.CalledProcessError as exc:
        raise ServiceStartError(f"initdb failed: {exc.stderr.decode(errors='replace')}") from exc
    port = free_loopback_port()
    url = f"postgresql://{SUPERUSER}@127.0.0.1:{port}/{db_name}"
    log = paths.service_dir("postgres") / "postgres.log"
    managed, popen = processes.spawn(
        "postgres",
        [
            str(bindir / "postgres"),
            "-D",
            str(data),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            # No unix socket: its path length limit bites in deep checkouts, and nothing here needs it.
            "-c",
            "unix_socket_directories=",
            # Throwaway dev/test data: durability costs time on every test database we create.
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
        ],
        log=log,
        user=account,
        url=url,
        stop_signal=int(signal.SIGINT),  # "fast shutdown"
    )
    admin = with_database(url, "postgres")
    try:
        await wait_ready("private PostgreSQL", lambda: _can_connect(admin), popen, log, ready_within)
        await ensure_database(url)
    except BaseException:
        processes.stop(managed)
        raise
    return Started(url, managed, popen)
