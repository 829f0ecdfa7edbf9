"""Run a command beside throwaway PostgreSQL and Redis: `python -m gaap.embedded.testservers -- pytest ...`.

`make test` uses it so the suite finds its servers in `GAAP_TEST_POSTGRES_DSN` and `GAAP_TEST_REDIS_URL` (see
tests/conftest.py) without pytest fixtures that start processes in every xdist worker. The servers are stopped
whatever happens to the command: normal exit, failure, or SIGINT/SIGTERM/SIGHUP, which are forwarded to it.
A signal that arrives while the servers are still starting stops them too. The exit status is the command's
(128 + N when it died of signal N).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from contextlib import ExitStack
from types import FrameType

from gaap.embedded import die_with_parent
from gaap.embedded.postgres_server import PostgresServer
from gaap.embedded.redis_server import RedisServer

_FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class _Interrupted(Exception):
    """A signal arrived before the command started: unwind so the servers already up are stopped."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _parse(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(
        prog="python -m gaap.embedded.testservers",
        description="Start throwaway servers (both unless one is named), run CMD with their addresses.",
        usage="%(prog)s [--postgres] [--redis] -- CMD [ARGS...]",
    )
    parser.add_argument("--postgres", action="store_true", help="start PostgreSQL (GAAP_TEST_POSTGRES_DSN)")
    parser.add_argument("--redis", action="store_true", help="start Redis (GAAP_TEST_REDIS_URL)")
    if "--" in argv:
        split = argv.index("--")
        options, command = argv[:split], argv[split + 1 :]
    else:
        split = next((i for i, arg in enumerate(argv) if not arg.startswith("-")), len(argv))
        options, command = argv[:split], argv[split:]
    args = parser.parse_args(options)
    if not command:
        parser.error("no command given")
    if not (args.postgres or args.redis):
        args.postgres = args.redis = True
    return args, command


def _command_preexec() -> Callable[[], None]:
    """Runs in the command's process before exec: unblock the forwarded signals (a blocked mask would be
    inherited) and make the command die with us, since its servers die with us too."""
    die = die_with_parent()

    def preexec() -> None:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _FORWARDED)
        if die is not None:
            die()

    return preexec


def _exit_status(returncode: int) -> int:
    return 128 - returncode if returncode < 0 else returncode


def main(argv: list[str] | None = None) -> int:
    args, command = _parse(sys.argv[1:] if argv is None else argv)
    child: subprocess.Popen[bytes] | None = None

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        if child is None:
            raise _Interrupted(signum)
        child.send_signal(signum)

    previous = {sig: signal.signal(sig, on_signal) for sig in _FORWARDED}
    try:
        with ExitStack() as servers:
            env = dict(os.environ)
            where = []
            if args.redis:
                redis = servers.enter_context(RedisServer())
                env["GAAP_TEST_REDIS_URL"] = redis.url
                where.append(f"redis {redis.url} (pid {redis.pid}, dir {redis.data_dir})")
            if args.postgres:
                postgres = servers.enter_context(PostgresServer())
                env["GAAP_TEST_POSTGRES_DSN"] = postgres.dsn
                where.append(f"postgres {postgres.dsn} (pid {postgres.pid}, dir {postgres.root_dir})")
            print(f"testservers: {'; '.join(where)}", file=sys.stderr, flush=True)
            # Signals wait while the child is created, so none lands between fork and `child` being set.
            signal.pthread_sigmask(signal.SIG_BLOCK, _FORWARDED)
            try:
                child = subprocess.Popen(command, env=env, preexec_fn=_command_preexec())
            except OSError as exc:
                print(f"testservers: cannot run {command[0]}: {exc}", file=sys.stderr)
                return 127
            finally:
                signal.pthread_sigmask(signal.SIG_UNBLOCK, _FORWARDED)
            return _exit_status(child.wait())
    except _Interrupted as exc:
        return 128 + exc.signum
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


if __name__ == "__main__":
    sys.exit(main())
