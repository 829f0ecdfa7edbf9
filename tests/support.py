"""Real HTTP servers inside the test process: uvicorn in a background thread on a loopback socket it already holds
(so no other process can take the port between choosing it and listening)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from starlette.types import ASGIApp


def redis_database(redis_url: str, offset: int) -> str:
    """The same Redis server's database `offset` places after `redis_url`'s (of its 16): a rig of its own keys."""
    base, _, number = redis_url.rpartition("/")
    return f"{base}/{(int(number) + offset) % 16}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _bound_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextmanager
def serve_in_thread(app: ASGIApp, *, lifespan: str = "auto", timeout: float = 15.0) -> Iterator[str]:
    """Serve `app` until the block ends; yields `http://127.0.0.1:PORT`."""
    sock = _bound_socket()
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, lifespan=lifespan, log_config=None, access_log=False, loop="asyncio", timeout_keep_alive=75
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name=f"uvicorn-{port}")
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"uvicorn did not start on port {port}")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout)
        sock.close()
