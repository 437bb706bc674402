"""Secrets of the local stack: generated once into `.devstack/secrets.env` (mode 0600) and handed to the API,
worker and CLI, so personal data encrypted by one `make run` is still readable by the next. Values already
set in the environment win, so an operator can bring their own keys."""

from __future__ import annotations

import base64
import os
import secrets

from services.devstack.envfile import read_env_file, write_env_file
from services.devstack.paths import checkout_tag, state_dir

SECRET_NAMES = ("PII_KEYRING", "PII_ACTIVE_KEY_ID", "PII_BLIND_INDEX_KEY", "CURSOR_SECRET")


def _generate() -> dict[str, str]:
    def key() -> str:
        return base64.b64encode(secrets.token_bytes(32)).decode()

    return {"PII_KEYRING": f"k1:{key()}", "PII_ACTIVE_KEY_ID": "k1", "PII_BLIND_INDEX_KEY": key(),
            "CURSOR_SECRET": secrets.token_urlsafe(32)}


def local_secrets() -> dict[str, str]:
    path = state_dir() / "secrets.env"
    stored = read_env_file(path) if path.exists() else {}
    if any(name not in stored for name in SECRET_NAMES):
        # The checkout's names are settled before its first keys are written: new keys with a new database
        # (paths.checkout_tag), never with one whose personal data other keys encrypted.
        checkout_tag()
        stored = {**_generate(), **stored}
        write_env_file(path, stored)
    return {name: os.environ.get(name) or stored[name] for name in SECRET_NAMES}
