"""Running the API under uvicorn."""

from __future__ import annotations

import socket

from uvicorn.config import Config


def bind_listeners_as_tcp() -> None:
    """Keep TCP_NODELAY on connections accepted by several uvicorn workers.

    uvicorn's ``Config.bind_socket`` leaves a TCP listener's ``proto`` at 0, so asyncio does not
    set TCP_NODELAY on the connections it accepts, and every keep-alive response after the
    first waits about 40 ms for the client's delayed ACK (uvicorn issue 3149).
    """
    if getattr(Config.bind_socket, "keeps_nodelay", False):
        return
    original = Config.bind_socket

    def bind_socket(self: Config) -> socket.socket:
        sock = original(self)
        if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.proto == 0:
            sock = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, sock.detach())
        return sock

    bind_socket.keeps_nodelay = True  # type: ignore[attr-defined]
    Config.bind_socket = bind_socket  # type: ignore[method-assign]
