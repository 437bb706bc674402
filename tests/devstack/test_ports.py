from __future__ import annotations

import socket

from services.devstack.ports import free_loopback_port, is_port_open, port_is_free


def test_free_port_is_bindable_and_closed() -> None:
    port = free_loopback_port()
    assert 1024 < port < 65536
    assert not is_port_open("127.0.0.1", port)
    assert port_is_free("127.0.0.1", port)


def test_listening_port_is_open_and_not_free() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert is_port_open("127.0.0.1", port)
        assert not port_is_free("127.0.0.1", port)
        assert free_loopback_port() != port
