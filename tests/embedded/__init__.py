"""Tests for the embedded runner's process management, and the PID checks they share.

A process that has exited but not been reaped (its parent died and PID 1 here does not reap) still answers
`os.kill(pid, 0)`, so "gone" means: no such PID, or a zombie.
"""

from __future__ import annotations

import os
import time
from pathlib import Path


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def wait_gone(pids: list[int], timeout: float = 5.0) -> list[int]:
    """Wait until none of `pids` is alive; returns those still alive after `timeout` (empty: all gone)."""
    deadline = time.monotonic() + timeout
    while True:
        left = [pid for pid in pids if alive(pid)]
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(0.02)


def wait_for_file(path: Path, timeout: float = 10.0) -> str:
    """The file's content once it exists and is non-empty (written by a child process)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and (text := path.read_text()).strip():
            return text
        time.sleep(0.02)
    raise TimeoutError(f"{path} was not written within {timeout}s")
