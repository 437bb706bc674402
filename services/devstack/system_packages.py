"""Debian packages the project needs on a developer or CI machine, installed only when missing and root.

dpkg-query answers in milliseconds, so the common case (everything there) costs nothing; `apt-get update`
runs at most once per install and only when something is actually missing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence

# Browser tests drive Debian's chromium (never a downloaded browser); wqy-microhei renders CJK text in
# screenshots. fonts-noto-cjk is ~90 MB installed, so it is opt-in (DEVSTACK_NOTO_CJK=1).
BROWSER_PACKAGES = ("chromium", "fonts-wqy-microhei")
NOTO_CJK = "fonts-noto-cjk"


def is_root() -> bool:
    return os.geteuid() == 0


def missing_packages(names: Sequence[str]) -> list[str]:
    dpkg_query = shutil.which("dpkg-query")
    if dpkg_query is None:
        return list(names)
    missing = []
    for name in names:
        result = subprocess.run(  # noqa: S603 - fixed argv, no shell
            [dpkg_query, "-W", "-f=${Status}", name], capture_output=True, text=True, check=False
        )
        if "install ok installed" not in result.stdout:
            missing.append(name)
    return missing


class Apt:
    """apt-get with a single `update` per process, however many install calls follow."""

    def __init__(self) -> None:
        self._updated = False

    def install(self, names: Sequence[str], why: str) -> bool:
        missing = missing_packages(names)
        if not missing:
            return True
        if not is_root() or shutil.which("apt-get") is None:
            print(
                f"devstack: WARNING: {why} needs Debian packages {' '.join(missing)}; "
                "not root, so not installing them. Run: sudo apt-get update && "
                f"sudo apt-get install -y {' '.join(missing)}",
                flush=True,
            )
            return False
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        if not self._updated:
            print("devstack: apt-get update", flush=True)
            subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)  # noqa: S607 - found via which above
            self._updated = True
        print(f"devstack: apt-get install {' '.join(missing)} ({why})", flush=True)
        subprocess.run(  # noqa: S603 - package names are our constants
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing],  # noqa: S607
            check=True,
            env=env,
            # dpkg's per-file progress is noise in CI logs; errors still reach stderr.
            stdout=subprocess.DEVNULL,
        )
        return True


def install_browser_prerequisites(apt: Apt) -> None:
    names = list(BROWSER_PACKAGES)
    if os.environ.get("DEVSTACK_NOTO_CJK") == "1":
        names.append(NOTO_CJK)
    apt.install(names, "browser tests")
