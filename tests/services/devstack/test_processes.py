from __future__ import annotations

import shutil
from pathlib import Path

from services.devstack import processes


def test_spawned_process_is_recorded_and_stopped(state_dir: Path) -> None:
    sleep = shutil.which("sleep")
    assert sleep is not None
    managed, popen = processes.spawn("sleeper", [sleep, "60"], log=state_dir / "sleeper.log")
    processes.record([managed])
    assert processes.is_alive(managed)
    assert processes.find_recorded("sleeper") == managed

    processes.stop(managed, timeout=5)

    assert popen.returncode is not None
    assert not processes.is_alive(managed)
    processes.save_pid_file(processes.load_pid_file())
    assert processes.load_pid_file() == []
    assert not (state_dir / "pids.json").exists()


def test_recycled_pid_is_not_killed(state_dir: Path) -> None:
    sleep = shutil.which("sleep")
    assert sleep is not None
    managed, _popen = processes.spawn("sleeper", [sleep, "60"], log=state_dir / "sleeper.log")
    # Same pid, different start time: what the pid file would hold if the pid had been reused.
    stale = processes.Managed(managed.name, managed.pid, managed.start_ticks - 1, managed.log)
    try:
        assert not processes.is_alive(stale)
        processes.stop(stale)
        assert processes.is_alive(managed)
    finally:
        processes.stop(managed, timeout=5)
