"""The asyncio supervisor behind `gaap up`: start every role as a child, restart those that crash, stop all.

Rules, in the order a laptop user meets them:
- children start in the order given; one with a `ready_url` must answer it before the next starts, so the list
  order expresses dependencies (services before the gateway);
- a crash (non-zero exit or a signal) restarts the child after a backoff of 0.5 s doubling to 30 s, back to
  0.5 s once it has stayed up 60 s, so a crash loop neither spins nor leaves a once-flaky child slow to
  return;
- a clean exit (status 0) of any child means "we are done": everything stops;
- SIGINT or SIGTERM stops everything: SIGTERM to each child, SIGKILL to its process group after 10 s (a second
  signal kills at once), and `run` returns only when all are reaped.
No orphans: each child runs in its own process group (so a terminal's Ctrl-C reaches it once, through us, and
a SIGKILL reaches its own children too) and gets SIGTERM from the kernel if the supervisor dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx

from gaap.embedded import die_with_parent

_STREAM_LIMIT = 1 << 20


@dataclass
class ChildSpec:
    """One supervised process. `env` replaces the supervisor's environment when given."""

    name: str
    argv: list[str]
    env: dict[str, str] | None = None
    restart: bool = True
    ready_url: str | None = None


async def wait_ready(url: str, timeout: float = 30.0, *, interval: float = 0.1) -> None:  # noqa: ASYNC109
    """Poll `url` until it answers 200; TimeoutError (with the last failure) after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last = "no answer"
    async with httpx.AsyncClient(timeout=min(2.0, timeout), trust_env=False) as client:
        while True:
            try:
                response = await client.get(url)
                if response.status_code == 200:
                    return
                last = f"status {response.status_code}"
            except httpx.HTTPError as exc:
                last = repr(exc)
            if loop.time() >= deadline:
                raise TimeoutError(f"{url} not ready after {timeout:g}s: {last}")
            await asyncio.sleep(interval)


def _describe(returncode: int) -> str:
    if returncode < 0:
        return f"killed by {signal.Signals(-returncode).name}"
    return f"exited with status {returncode}"


def _kill_group(pgid: int) -> None:
    """SIGKILL what is left of a child's process group (its own children); nothing left is fine."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


class _ExitAwareProtocol(asyncio.subprocess.SubprocessStreamProtocol):
    """asyncio's own subprocess protocol, plus an event set the moment the child is reaped.

    `Process.wait()` also waits for the child's output pipes to close, which never happens while a grandchild
    holds them, so a crashed child would look alive for as long as its children live.
    """

    def __init__(self, limit: int, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(limit=limit, loop=loop)
        self.exited = asyncio.Event()

    def process_exited(self) -> None:
        super().process_exited()
        self.exited.set()


@dataclass
class _Running:
    proc: asyncio.subprocess.Process
    exited: asyncio.Event

    async def status(self) -> int:
        await self.exited.wait()
        assert self.proc.returncode is not None
        return self.proc.returncode


def _say(message: str) -> None:
    print(f"supervisor | {message}", file=sys.stderr, flush=True)


class Supervisor:
    """Run a set of children until one exits cleanly, a non-restartable one fails, or we are told to stop.

    One instance supervises one `run`; `request_stop` may be called before or during it.
    """

    def __init__(
        self,
        *,
        prefix_output: bool = True,
        stop_timeout: float = 10.0,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        stable_after: float = 60.0,
        ready_timeout: float = 60.0,
        on_ready: Callable[[], None] | None = None,
        log: Callable[[str], None] = _say,
    ) -> None:
        self.prefix_output = prefix_output
        self.stop_timeout = stop_timeout
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.stable_after = stable_after
        self.ready_timeout = ready_timeout
        self.on_ready = on_ready
        self.log = log
        self._stopping = asyncio.Event()
        self._procs: dict[str, asyncio.subprocess.Process] = {}
        self._exit_code = 0
        self._width = 0

    def request_stop(self, exit_code: int | None = None) -> None:
        """Stop every child; `run` then returns `exit_code` (the first one recorded wins)."""
        if not self._stopping.is_set():
            if exit_code:
                self._exit_code = exit_code
            self._stopping.set()

    def _on_signal(self, signum: int) -> None:
        if self._stopping.is_set():
            self.log(f"{signal.Signals(signum).name} again: killing every child now")
            for proc in self._procs.values():
                _kill_group(proc.pid)
            return
        self.log(f"{signal.Signals(signum).name}: stopping every child")
        self.request_stop()

    async def run(self, specs: Sequence[ChildSpec]) -> int:
        """Supervise `specs` to the end; returns 0, or the status of a non-restartable child that failed."""
        names = [spec.name for spec in specs]
        if len(set(names)) != len(names):
            raise ValueError(f"child names must be unique: {names}")
        if not names:
            return 0
        self._width = max(map(len, names))
        loop = asyncio.get_running_loop()
        signals = (signal.SIGINT, signal.SIGTERM) if threading.current_thread() is threading.main_thread() else ()
        for sig in signals:
            loop.add_signal_handler(sig, self._on_signal, sig)
        tasks: list[asyncio.Task[None]] = []
        try:
            for spec in specs:
                if self._stopping.is_set():
                    break
                task = asyncio.create_task(self._keep_running(spec), name=f"supervise-{spec.name}")
                task.add_done_callback(self._watcher_done)
                tasks.append(task)
                if spec.ready_url:
                    await self._await_ready(spec)
            if self.on_ready is not None and not self._stopping.is_set():
                self.on_ready()
            await self._stopping.wait()
        finally:
            self._stopping.set()
            await asyncio.gather(*tasks, return_exceptions=True)
            for sig in signals:
                loop.remove_signal_handler(sig)
        return self._exit_code

    def _watcher_done(self, task: asyncio.Task[None]) -> None:
        """A watcher that died of a bug would leave its child unsupervised: stop everything instead."""
        if not task.cancelled() and task.exception() is not None:
            self.log(f"{task.get_name()} failed: {task.exception()!r}; stopping every child")
            self.request_stop(1)

    async def _await_ready(self, spec: ChildSpec) -> None:
        assert spec.ready_url is not None
        ready = asyncio.create_task(wait_ready(spec.ready_url, self.ready_timeout))
        stopping = asyncio.create_task(self._stopping.wait())
        await asyncio.wait({ready, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not ready.done():
            ready.cancel()
        elif ready.exception() is not None:
            self.log(f"{spec.name}: {ready.exception()}; starting the rest anyway")

    async def _keep_running(self, spec: ChildSpec) -> None:
        loop = asyncio.get_running_loop()
        delay = self.backoff_initial
        while not self._stopping.is_set():
            started = loop.time()
            try:
                child = await self._spawn(spec)
            except (OSError, subprocess.SubprocessError) as exc:
                self.log(f"{spec.name}: cannot start {spec.argv[0]}: {exc}")
                self.request_stop(127)
                return
            returncode = await self._wait_or_stop(spec, child)
            if returncode is None or self._stopping.is_set():  # we stopped it, or it ended as we stopped
                return
            if returncode == 0:
                self.log(f"{spec.name} exited cleanly: stopping every child")
                self.request_stop()
                return
            if not spec.restart:
                self.log(f"{spec.name} {_describe(returncode)} and is not restarted: stopping every child")
                self.request_stop(128 - returncode if returncode < 0 else returncode)
                return
            if loop.time() - started >= self.stable_after:
                delay = self.backoff_initial
            self.log(f"{spec.name} {_describe(returncode)}; restarting in {delay:g}s")
            try:
                await asyncio.wait_for(self._stopping.wait(), delay)
                return
            except TimeoutError:
                delay = min(delay * 2, self.backoff_max)

    async def _spawn(self, spec: ChildSpec) -> _Running:
        env = dict(os.environ if spec.env is None else spec.env)
        pipe = asyncio.subprocess.PIPE if self.prefix_output else None
        if self.prefix_output:
            env.setdefault("PYTHONUNBUFFERED", "1")  # a Python child behind a pipe would hold its lines back
        loop = asyncio.get_running_loop()
        transport, protocol = await loop.subprocess_exec(
            lambda: _ExitAwareProtocol(_STREAM_LIMIT, loop),
            *spec.argv,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=pipe,
            stderr=pipe,
            process_group=0,
            preexec_fn=die_with_parent(),
        )
        child = _Running(asyncio.subprocess.Process(transport, protocol, loop), protocol.exited)
        self._procs[spec.name] = child.proc
        return child

    async def _wait_or_stop(self, spec: ChildSpec, child: _Running) -> int | None:
        """The child's exit status, or None when a stop request ended it first."""
        proc = child.proc
        pumps = [
            asyncio.create_task(self._pump(spec.name, stream, to_stderr))
            for stream, to_stderr in ((proc.stdout, False), (proc.stderr, True))
            if stream is not None
        ]
        exited = asyncio.create_task(child.status())
        stopping = asyncio.create_task(self._stopping.wait())
        try:
            await asyncio.wait({exited, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if not exited.done():
                await self._terminate(spec.name, child)
                return None
            return exited.result()
        finally:
            exited.cancel()
            stopping.cancel()
            _kill_group(proc.pid)  # grandchildren of an exited child are orphans: never let them live on
            self._procs.pop(spec.name, None)
            if pumps:  # the pipes close once the group is gone; let the last lines through
                _, pending = await asyncio.wait(pumps, timeout=1.0)
                for task in pending:
                    task.cancel()

    async def _terminate(self, name: str, child: _Running) -> None:
        with contextlib.suppress(ProcessLookupError):
            child.proc.terminate()
        try:
            await asyncio.wait_for(child.status(), self.stop_timeout)
        except TimeoutError:
            self.log(f"{name} ignored SIGTERM for {self.stop_timeout:g}s: killing it")
            _kill_group(child.proc.pid)
            await child.status()

    async def _pump(self, name: str, stream: asyncio.StreamReader, to_stderr: bool) -> None:
        """Copy a child's output line by line, each line prefixed with the child's name."""
        prefix = f"{name:<{self._width}} | "
        while True:
            try:
                line = await stream.readline()
            except ValueError:  # asyncio drops a line longer than the stream limit; say so rather than stall
                line = b"(an over-long output line was dropped)\n"
            if not line:
                return
            text = line.decode(errors="replace")
            out = sys.stderr if to_stderr else sys.stdout  # looked up each time: tests swap these
            out.write(prefix + text + ("" if text.endswith("\n") else "\n"))
            out.flush()
