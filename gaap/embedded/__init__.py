"""Process management for `gaap up` and the test tooling: throwaway servers, a supervisor, shared helpers.

Everything here starts real processes, so everything here also guarantees they stop: each child is started
with Linux's parent-death signal, so even a SIGKILLed parent leaves no orphan behind, and each class stops its
own children by PID (never by name).
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1


def die_with_parent(sig: int = signal.SIGTERM) -> Callable[[], None] | None:
    """A `preexec_fn` making the child receive `sig` when its parent dies (None where Linux prctl is missing).

    The kernel ties the parent-death signal to the *thread* that forked, so start children from a thread
    that lives as long as they should (the main thread or the event loop's). libc is loaded here, before the
    fork, so the child only makes one foreign call. If the parent already died between fork and prctl the
    child would never be told, so it checks its parent and signals itself.
    """
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    parent = os.getpid()

    def _preexec() -> None:
        if prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"prctl(PR_SET_PDEATHSIG) failed: {os.strerror(err)}")
        if os.getppid() != parent:
            os.kill(os.getpid(), sig)

    return _preexec


def stop_process(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 10.0) -> int:
    """Ask a child to stop with `sig`, give it `timeout` seconds, then SIGKILL it; returns its exit status.

    Always reaps the child, so no zombie is left for a PID check to mistake for a live process.
    """
    if proc.poll() is None:
        try:
            proc.send_signal(sig)
            return proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.wait()
