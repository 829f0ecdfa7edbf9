"""Virus scanning of files that come from outside: precompiled letters (notify spec §5.5), later files by email.

Callers see one small interface, `Scanner.scan(data) -> ScanResult`, so the engine can change without touching
them. The default is ClamAV, run as a subprocess on a temporary file:

- `clamscan` loads its signature database on every run. That is fine for tests and small volumes, and it lets a
  test point `NOTIFY_CLAMAV_DATABASE` at a project-made signature file (ClamAV has no signatures offline);
- `clamdscan` asks a running `clamd`, which keeps the signatures loaded (production's choice: a full database
  takes tens of seconds and about 1 GB to load). It is used when `NOTIFY_CLAMD_SOCKET` is set, to a Unix
  socket path (the file descriptor is passed, so `clamd` may run as another user) or `tcp://host:port` (the
  file is streamed).

Exit status 0 is clean and 1 infected; anything else (no signatures, daemon down, a crash) and a timeout are a
`ScannerError`: no verdict, so the caller must try again later rather than guess.

`NOTIFY_LETTER_SCANNER=none` accepts every file without looking at it, for development machines without
ClamAV; it logs a warning on every file and the worker refuses to start with it outside development.
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol
from urllib.parse import urlsplit

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from gaap.logging import get_logger
from gaap.settings import ConfigurationError, PlatformSettings

log = get_logger("notify.scanning")

#: ClamAV's exit statuses (clamscan and clamdscan agree).
CLEAN, INFECTED = 0, 1
MAX_LOGGED_OUTPUT = 500


class ScannerSettings(BaseSettings):
    """The scanner's knobs (prefix `NOTIFY_`), read by the worker at start-up."""

    model_config = SettingsConfigDict(env_prefix="NOTIFY_", extra="ignore")

    #: `clamav`, or `none` (development only: nothing is scanned).
    letter_scanner: Literal["clamav", "none"] = "clamav"
    #: A signature database (file or directory) for `clamscan -d`; empty means ClamAV's default.
    clamav_database: str = ""
    #: A clamd socket: a Unix socket path or `tcp://host:port`. Set, scans go to clamd through `clamdscan`.
    clamd_socket: str = ""
    #: A scan that takes longer is an error (and is tried again later). Kept below the worker's lease.
    clamav_timeout_seconds: float = Field(default=120.0, gt=0, le=240)


@dataclass(frozen=True)
class ScanResult:
    """A verdict: `clean`, or not, with the signature that matched (as ClamAV names it)."""

    clean: bool
    signature: str | None = None


class ScannerError(RuntimeError):
    """The scanner gave no verdict (not installed, no signatures, daemon unreachable, timed out)."""


class Scanner(Protocol):
    async def scan(self, data: bytes) -> ScanResult: ...


class ClamAvScanner:
    """ClamAV through its command-line clients; see the module docstring."""

    def __init__(self, *, database: str = "", clamd_socket: str = "", timeout: float = 120.0) -> None:
        self.database = database
        self.clamd_socket = clamd_socket
        self.timeout = timeout

    def command(self, path: Path, workdir: Path) -> list[str]:
        """The argv that scans `path`; for clamd, a client configuration naming the socket is written to `workdir`
        (clamdscan reads the socket only from a configuration file)."""
        if not self.clamd_socket:
            return ["clamscan", "--no-summary", *(["-d", self.database] if self.database else []), str(path)]
        if self.clamd_socket.startswith("tcp://"):
            address = urlsplit(self.clamd_socket)
            settings, transfer = f"TCPSocket {address.port or 3310}\nTCPAddr {address.hostname}\n", "--stream"
        else:
            settings, transfer = f"LocalSocket {self.clamd_socket}\n", "--fdpass"
        config = workdir / "clamd.conf"
        config.write_text(settings)
        return ["clamdscan", f"--config-file={config}", "--no-summary", transfer, str(path)]

    async def scan(self, data: bytes) -> ScanResult:
        with tempfile.TemporaryDirectory(prefix="notify-scan-") as directory:
            workdir = Path(directory)
            path = workdir / "file"
            path.write_bytes(data)
            argv = self.command(path, workdir)
            status, output = await self._run(argv)
        if status == CLEAN:
            return ScanResult(clean=True)
        if status == INFECTED:
            return ScanResult(clean=False, signature=_signature(output))
        raise ScannerError(f"{argv[0]} exited with status {status}: {output[-MAX_LOGGED_OUTPUT:].strip()}")

    async def _run(self, argv: list[str]) -> tuple[int, str]:
        try:
            process = await asyncio.create_subprocess_exec(
                *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
            )
        except FileNotFoundError:
            raise ScannerError(f"{argv[0]} is not installed (Debian: apt-get install clamav)") from None
        try:
            async with asyncio.timeout(self.timeout):
                stdout, _ = await process.communicate()
        except TimeoutError:
            process.kill()
            await process.wait()
            raise ScannerError(f"{argv[0]} took longer than {self.timeout:g} s") from None
        return await process.wait(), stdout.decode(errors="replace")


def _signature(output: str) -> str | None:
    """`/tmp/…/file: Eicar-Test-Signature FOUND` -> `Eicar-Test-Signature`."""
    for line in output.splitlines():
        if line.endswith(" FOUND"):
            return line.removesuffix(" FOUND").rpartition(": ")[2] or None
    return None


class NoScanner:
    """Development only: every file is clean. Each call says so in the log, so it is never silently in use."""

    async def scan(self, data: bytes) -> ScanResult:
        log.warning("notify.scanning.disabled", detail="NOTIFY_LETTER_SCANNER=none: file accepted unscanned")
        return ScanResult(clean=True)


def build_scanner(settings: ScannerSettings, platform: PlatformSettings) -> Scanner:
    """The configured scanner; refuses `none` outside development, where an unscanned file could reach print."""
    if settings.letter_scanner == "none":
        if not platform.is_development:
            raise ConfigurationError(
                f"NOTIFY_LETTER_SCANNER=none is only allowed in development, not in {platform.env.value}"
            )
        log.warning("notify.scanning.disabled", detail="NOTIFY_LETTER_SCANNER=none: files will not be scanned")
        return NoScanner()
    return ClamAvScanner(
        database=settings.clamav_database,
        clamd_socket=settings.clamd_socket,
        timeout=settings.clamav_timeout_seconds,
    )
