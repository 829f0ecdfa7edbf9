"""Run the example against a platform: `python -m report_a_problem --demo var/demo.json` (what `gaap up
--with-example` runs). The demo document gives the gateway's address, the demo service's keys and the demo identity
client, whose registered redirect URI is `http://127.0.0.1:8400/callback`: the example listens there."""

from __future__ import annotations

import argparse
import json
import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

import uvicorn

from report_a_problem.app import Config, create_app


def config_from_demo(demo_path: Path, data: Path, officer_token: str) -> Config:
    demo = json.loads(demo_path.read_text(encoding="utf-8"))
    client = demo["identity"]["client"]
    callback = urlsplit(client["redirect_uri"])
    return Config(
        base_url=f"{callback.scheme}://{callback.netloc}",
        gateway_url=demo["gateway_url"],
        notify_key=demo["notify"]["live_key"],
        notify_templates_key=demo["notify"]["templates_key"],
        pay_key=demo["pay"]["test_key"],
        issuer=demo["identity"]["issuer"],
        client_id=client["client_id"],
        client_jwk=client["private_key_jwk"],
        officer_token=officer_token,
        data=data,
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m report_a_problem", description=__doc__)
    parser.add_argument("--demo", type=Path, default=Path("var/demo.json"), help="the platform's demo.json")
    parser.add_argument("--data", type=Path, default=Path("var/report-a-problem.db"), help="the service's SQLite file")
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    officer = os.environ.get("REPORT_OFFICER_TOKEN") or secrets.token_urlsafe(24)
    config = config_from_demo(args.demo, args.data, officer)
    port = urlsplit(config.base_url).port or 8400
    uvicorn.run(create_app(config), host=args.host, port=port, log_level="warning")


if __name__ == "__main__":
    main()
