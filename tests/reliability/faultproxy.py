"""A small fault-injecting TCP proxy on loopback, for the reliability suite (the machine has no `tc netem`).

It forwards every connection to one target and can be told, at any moment, to:
- `pass`: forward bytes both ways as they come;
- `slow`: hold each chunk coming back from the target for `delay` seconds (a slow upstream or database);
- `blackhole`: take connections and bytes, forward nothing, answer nothing (a hung upstream);
- `reset`: reset every open connection, and every new one as soon as it is accepted (a crashing upstream);
- `down`: reset every open connection and stop listening, so new ones are refused (the server is gone).

Resets are real TCP RSTs (`SO_LINGER` 0), so clients see "connection reset by peer", as from a dying server.
The proxy runs its own event loop in a daemon thread, so tests drive it from synchronous code.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from typing import Literal

Mode = Literal["pass", "slow", "blackhole", "reset", "down"]
_CHUNK = 65536


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with an RST rather than a FIN."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class FaultProxy:
    """`with FaultProxy(host, port) as proxy:` then point a client at `proxy.port` and call `proxy.set(...)`."""

    def __init__(self, target_host: str, target_port: int, *, host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.host = host
        self.mode: Mode = "pass"
        self.delay = 0.0
        self._port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fault-proxy", daemon=True)
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()

    @property
    def port(self) -> int:
        if not self._port:
            raise RuntimeError("the proxy is not started")
        return self._port

    def start(self) -> FaultProxy:
        self._thread.start()
        self._call(self._listen())
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self._call(self._shut(listen=False))
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)
        self._loop.close()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def set(self, mode: Mode, delay: float = 0.0) -> None:
        """Switch modes; `reset` and `down` also reset every connection open now."""
        self._call(self._switch(mode, delay))

    def _call(self, coro: object) -> None:
        asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)  # type: ignore[arg-type]

    async def _switch(self, mode: Mode, delay: float) -> None:
        self.mode, self.delay = mode, delay
        if mode in ("reset", "down"):
            await self._shut(listen=mode == "reset")
        elif self._server is None:
            await self._listen()

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._accept, self.host, self._port or 0, reuse_address=True)
        self._port = self._server.sockets[0].getsockname()[1]

    async def _shut(self, *, listen: bool) -> None:
        for writer in list(self._open):
            _reset(writer)
        self._open.clear()
        if not listen and self._server is not None:
            self._server.close()
            self._server = None
        elif listen and self._server is None:
            await self._listen()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.mode in ("reset", "down"):
            _reset(writer)
            return
        self._open.add(writer)
        upstream: asyncio.StreamWriter | None = None
        try:
            if self.mode == "blackhole":
                while await reader.read(_CHUNK):
                    pass
                return
            try:
                up_reader, upstream = await asyncio.open_connection(*self.target)
            except OSError:
                _reset(writer)
                return
            self._open.add(upstream)
            await asyncio.gather(self._pipe(reader, upstream, back=False), self._pipe(up_reader, writer, back=True))
        finally:
            for end in (writer, upstream):
                if end is not None:
                    self._open.discard(end)
                    with contextlib.suppress(Exception):
                        end.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, back: bool) -> None:
        try:
            while chunk := await reader.read(_CHUNK):
                if self.mode == "blackhole":
                    continue
                if back and self.mode == "slow":
                    await asyncio.sleep(self.delay)
                writer.write(chunk)
                await writer.drain()
            if writer.can_write_eof():
                writer.write_eof()
        except (OSError, RuntimeError):
            _reset(writer)
