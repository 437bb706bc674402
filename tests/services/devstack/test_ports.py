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


def test_a_stopped_servers_closing_connections_do_not_hold_the_port() -> None:
    # The server side closes first, so its end of the connection sits in TIME_WAIT after the listener is gone.
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    with socket.create_connection(("127.0.0.1", port)) as client:
        accepted, _ = listener.accept()
        accepted.close()
        listener.close()
        assert client.recv(1) == b""
    assert not is_port_open("127.0.0.1", port)
    assert port_is_free("127.0.0.1", port)
