"""Running the API under uvicorn: one worker in this process, or several, each with a listener of
its own.

uvicorn's ``--workers N`` binds one listening socket and hands it to every worker; the first
worker the kernel wakes accepts every connection queued at that moment (asyncio accepts up to
the backlog at once). A client that opens its keep-alive connections together (a benchmark, a
proxy's connection pool) then often has them all served by one worker while the others idle:
with 8 connections from ``wrk`` that happened in about half the runs. :func:`serve` instead
gives each worker its own listener on the same address with ``SO_REUSEPORT``, so the kernel
spreads new connections over the workers by a hash of their addresses; a worker that dies is
replaced on the same listener, where connections wait meanwhile.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
import socket
import sys
import threading
from multiprocessing.context import SpawnProcess
from types import FrameType

import uvicorn
from uvicorn.config import STARTUP_FAILURE, Config

POLL_SECONDS = 0.5
STOP_SECONDS = 30.0


def one_listener_each() -> bool:
    """Whether this platform spreads connections over ``SO_REUSEPORT`` listeners (Linux)."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def reuse_port_listeners(host: str, port: int, count: int) -> list[socket.socket]:
    """``count`` TCP sockets bound to ``host:port`` with ``SO_REUSEPORT`` (port 0: one free port
    for all), not yet listening: each worker's uvicorn listens on its own."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listeners: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
            listeners.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((host, port))
            port = sock.getsockname()[1]
            sock.set_inheritable(True)
    except OSError:
        for sock in listeners:
            sock.close()
        raise
    return listeners


def serve(factory: str, host: str, port: int, workers: int, log_level: str = "warning") -> int:
    """Serve the app that ``factory`` ("module:function") makes with ``workers`` processes;
    return the exit status (``STARTUP_FAILURE`` when a worker could not start)."""
    if workers <= 1 or not one_listener_each():
        if workers > 1:
            bind_listeners_as_tcp()
        uvicorn.run(
            factory, factory=True, host=host, port=port, workers=workers, log_level=log_level
        )
        return 0
    config = Config(factory, factory=True, host=host, port=port, log_level=log_level)
    try:
        listeners = reuse_port_listeners(host, port, workers)
    except OSError as error:
        print(f"cannot listen on {host}:{port}: {error}", file=sys.stderr)
        return STARTUP_FAILURE
    try:
        return supervise(config, listeners)
    finally:
        for sock in listeners:
            sock.close()


def supervise(config: Config, listeners: list[socket.socket]) -> int:
    """One worker per listener until SIGINT or SIGTERM; a worker that dies is started again on
    its listener, unless it failed while starting (the next would fail the same way)."""
    stop = threading.Event()

    def stopping(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, stopping) for sig in (signal.SIGINT, signal.SIGTERM)}
    status = 0
    workers = [_start(config, sock) for sock in listeners]
    try:
        while not stop.wait(POLL_SECONDS):
            for position, worker in enumerate(workers):
                if worker.is_alive() or stop.is_set():  # stopping: Ctrl-C reaches every worker
                    continue
                worker.join()
                if worker.exitcode == STARTUP_FAILURE:
                    print(f"worker {worker.pid} failed to start; stopping", file=sys.stderr)
                    status = STARTUP_FAILURE
                    stop.set()
                    break
                workers[position] = _start(config, listeners[position])
    finally:
        _stop(workers)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return status


def _start(config: Config, listener: socket.socket) -> SpawnProcess:
    multiprocessing.allow_connection_pickling()  # the listener goes to the worker
    worker = multiprocessing.get_context("spawn").Process(
        target=_serve_worker, args=(config, listener)
    )
    worker.start()
    return worker


def _serve_worker(config: Config, listener: socket.socket) -> None:
    config.configure_logging()
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C: the parent stops the workers
        uvicorn.Server(config).run(sockets=[listener])


def _stop(workers: list[SpawnProcess]) -> None:
    for worker in workers:
        if worker.is_alive():
            worker.terminate()  # SIGTERM: uvicorn finishes the requests in flight
    for worker in workers:
        worker.join(STOP_SECONDS)
        if worker.is_alive():
            worker.kill()
            worker.join()


def bind_listeners_as_tcp() -> None:
    """Keep TCP_NODELAY on connections accepted by several uvicorn workers (where
    :func:`serve` leaves the listener to uvicorn).

    Older uvicorn's ``Config.bind_socket`` leaves a TCP listener's ``proto`` at 0, so asyncio
    does not set TCP_NODELAY on the connections it accepts, and every keep-alive response after
    the first waits about 40 ms for the client's delayed ACK (uvicorn issue 3149).
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
