"""`gaap up --with-example`: the example departmental service (`examples/report-a-problem`) as one more child.

It is a department's service, not part of the platform: it reads `demo.json` (the gateway's address, the demo
service's keys, the demo identity client) and reaches the platform only through the SDK. It listens where the demo
client's redirect URI points, `http://127.0.0.1:8400`. Its officer token (for the status updates that send the
second message) is kept in `report-a-problem.json` in the data dir.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from gaap.embedded.supervisor import ChildSpec

EXAMPLE_DIR = Path(__file__).resolve().parents[2] / "examples" / "report-a-problem"
EXAMPLE_URL = "http://127.0.0.1:8400"


def officer_token(data_dir: Path) -> str:
    """The data dir's officer token, made on first use (readable only by the owner)."""
    path = data_dir / "report-a-problem.json"
    if path.exists():
        token: str = json.loads(path.read_text())["officer_token"]
        return token
    token = secrets.token_urlsafe(24)
    path.touch(mode=0o600)
    path.write_text(json.dumps({"officer_token": token, "url": EXAMPLE_URL}, indent=2))
    return token


def example_child(python: str, *, data_dir: Path, env: dict[str, str]) -> ChildSpec:
    if not EXAMPLE_DIR.is_dir():
        raise FileNotFoundError(f"the example is not here ({EXAMPLE_DIR}): --with-example needs a source checkout")
    child_env = {
        **env,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(EXAMPLE_DIR), env.get("PYTHONPATH")])),
        "REPORT_OFFICER_TOKEN": officer_token(data_dir),
    }
    argv = [python, "-m", "report_a_problem", "--demo", str(data_dir / "demo.json")]
    return ChildSpec("report-a-problem", [*argv, "--data", str(data_dir / "report-a-problem.db")], env=child_env)
