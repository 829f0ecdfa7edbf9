"""A round-robin TCP load balancer: each new connection goes to the next backend in turn (layer 4, like a cloud
network load balancer or a Kubernetes Service), and bytes are copied both ways until either side closes.

    python -m bench.balancer --listen 10.251.1.1:8080 10.251.1.2:8000 10.251.1.3:8000

A backend that refuses a connection is skipped for that connection (the next one is tried), so a stopped gateway
costs clients nothing but the retry. HTTP keep-alive connections stay on the backend they were given, so a
client needs about as many connections as there are backends, times a few, to spread its load (wrk's 64 do).
Prints `listening on HOST:PORT` once it accepts connections; SIGTERM or SIGINT stops it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import signal
from collections.abc import Sequence

_CHUNK = 65536


def _address(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"{value!r} is not HOST:PORT")
    return host, int(port)


class RoundRobin:
    """Accepts on `listen` and hands connections to `backends` in turn."""

    def __init__(self, listen: tuple[str, int], backends: Sequence[tuple[str, int]]) -> None:
        if not backends:
            raise ValueError("at least one backend is needed")
        self.listen = listen
        self.backends = list(backends)
        self._turn = itertools.cycle(range(len(self.backends)))
        self.server: asyncio.Server | None = None
        #: Connections handed to each backend, for a test to check the spread.
        self.handed = [0] * len(self.backends)

    async def start(self) -> tuple[str, int]:
        self.server = await asyncio.start_server(self._serve, *self.listen, backlog=4096, reuse_address=True)
        host, port = self.server.sockets[0].getsockname()[:2]
        return host, port

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        for _ in range(len(self.backends)):
            index = next(self._turn)
            with contextlib.suppress(OSError):
                streams = await asyncio.open_connection(*self.backends[index])
                self.handed[index] += 1
                return streams
        return None

    async def _serve(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        upstream = await self._connect()
        if upstream is None:  # every backend refused: close, as a balancer with no healthy target does
            client_writer.close()
            return
        backend_reader, backend_writer = upstream
        try:
            await asyncio.gather(
                _pipe(client_reader, backend_writer), _pipe(backend_reader, client_writer), return_exceptions=True
            )
        except asyncio.CancelledError:  # shutting down: drop the connection quietly
            pass
        finally:
            for writer in (client_writer, backend_writer):
                writer.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy until end of file, then pass the half-close on (HTTP/1.1 clients rarely half-close, but some do)."""
    try:
        while data := await reader.read(_CHUNK):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except (ConnectionError, OSError):
        writer.transport.abort()


async def _main(listen: tuple[str, int], backends: list[tuple[str, int]]) -> None:
    balancer = RoundRobin(listen, backends)
    host, port = await balancer.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"listening on {host}:{port}", flush=True)
    await stop.wait()
    assert balancer.server is not None
    balancer.server.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.balancer", description=__doc__.split("\n\n")[0])
    parser.add_argument("--listen", type=_address, required=True, help="HOST:PORT to accept on (port 0: any)")
    parser.add_argument("backends", type=_address, nargs="+", help="HOST:PORT of each backend, in turn")
    args = parser.parse_args(argv)
    try:
        import uvloop
    except ImportError:  # the stdlib loop works too, a little slower
        asyncio.run(_main(args.listen, args.backends))
    else:
        uvloop.run(_main(args.listen, args.backends))


if __name__ == "__main__":
    main()
