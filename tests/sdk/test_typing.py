"""The SDK is typed strictly, and its types say what users get: `mypy --strict` on the package and on a usage file
whose deliberate mistakes must be reported (`warn_unused_ignores` turns an unreported one into an error)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_mypy_strict_passes_on_the_sdk_and_its_usage() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--warn-unused-ignores", "--no-incremental",
         "--config-file", str(ROOT / "sdk" / "pyproject.toml"),
         str(ROOT / "sdk" / "gaap_client"), str(ROOT / "tests" / "sdk" / "typed_usage.py")],
        capture_output=True, text=True, cwd=ROOT / "sdk", check=False, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
