"""Child processes the devstack starts, and the pid file that lets `down` stop them later.

Each child gets its own session (process group) and writes to a log file, never to our stdout: a
detached service must not hold the caller's pipes open (a CI runner waiting for EOF would hang), and a
terminal Ctrl-C must reach only us, so that we stop children in order rather than all at once.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from services.devstack import paths

# Popen objects of children started by this process: waiting through them (rather than a bare waitpid)
# sets their returncode, so they don't warn "still running" when garbage-collected.
_children: dict[int, subprocess.Popen[bytes]] = {}


@dataclass(frozen=True)
class Managed:
    name: str
    pid: int
    # Kernel start time of the pid (clock ticks since boot); guards against killing a recycled pid.
    start_ticks: int
    log: str
    url: str = ""
    # How `stop` asks it to quit: postgres treats SIGINT as "fast shutdown", the rest take SIGTERM.
    stop_signal: int = int(signal.SIGTERM)


def process_start_ticks(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Field 2 (comm) may contain spaces and parentheses; everything after the last ')' is well-formed.
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[19])


def is_alive(proc: Managed) -> bool:
    ticks = process_start_ticks(proc.pid)
    if ticks is None or ticks != proc.start_ticks:
        return False
    state = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    return state != "Z"


def spawn(
    name: str,
    argv: Sequence[str],
    log: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    user: str | None = None,
    url: str = "",
    stop_signal: int = int(signal.SIGTERM),
) -> tuple[Managed, subprocess.Popen[bytes]]:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        popen = subprocess.Popen(  # noqa: S603 - argv built by the devstack from fixed parts
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            user=user,
            start_new_session=True,
        )
    _children[popen.pid] = popen
    ticks = process_start_ticks(popen.pid) or 0
    return Managed(name, popen.pid, ticks, str(log), url, stop_signal), popen


def stop(proc: Managed, timeout: float = 20.0) -> None:
    """Ask politely, then SIGKILL; a no-op for a process that is gone or whose pid was recycled."""
    ticks = process_start_ticks(proc.pid)
    if ticks is not None and ticks != proc.start_ticks:
        return  # the pid now belongs to another process
    if is_alive(proc):
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, proc.stop_signal)
        deadline = time.monotonic() + timeout
        # is_alive counts a zombie as gone, so this ends as soon as the process has exited.
        while is_alive(proc) and time.monotonic() < deadline:
            time.sleep(0.1)
        if is_alive(proc):
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGKILL)
    _reap(proc.pid)


def _reap(pid: int) -> None:
    # Our own children stay zombies until waited for (and their Popen warns when collected unwaited);
    # other processes' children are not ours to reap.
    popen = _children.pop(pid, None)
    if popen is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            popen.wait(timeout=10)


def load_pid_file(path: Path | None = None) -> list[Managed]:
    path = path or paths.pid_file()
    if not path.is_file():
        return []
    data = json.loads(path.read_text())
    return [Managed(**item) for item in data.get("processes", [])]


def save_pid_file(procs: Sequence[Managed], path: Path | None = None) -> None:
    path = path or paths.pid_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    live = [p for p in procs if is_alive(p)]
    if not live:
        path.unlink(missing_ok=True)
        return
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"processes": [asdict(p) for p in live]}, indent=2))
    os.replace(tmp, path)


def record(new: Sequence[Managed], path: Path | None = None) -> None:
    """Add processes to the pid file, keeping earlier live entries."""
    existing = [p for p in load_pid_file(path) if p.pid not in {n.pid for n in new}]
    save_pid_file([*existing, *new], path)


def find_recorded(name: str) -> Managed | None:
    """A live process of that name that an earlier detached run started (and still owns)."""
    for proc in load_pid_file():
        if proc.name == name and is_alive(proc):
            return proc
    return None
