"""Loopback port helpers."""

from __future__ import annotations

import socket


def free_loopback_port() -> int:
    """A port that nothing listens on at 127.0.0.1 right now.

    The kernel picks it from the ephemeral range; there is an unavoidable window before the service binds
    it, which is fine for a developer machine (the service then fails loudly and can be restarted).
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def is_port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def port_is_free(host: str, port: int) -> bool:
    """Whether a server could listen on the port now. SO_REUSEADDR as the servers themselves bind (uvicorn,
    PostgreSQL, Redis): without it, connections of a stopped server still in TIME_WAIT made the port look taken
    for about a minute after Ctrl-C, and `make run` refused to start again."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True
