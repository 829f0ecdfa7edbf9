"""The deployment files, loaded once: rendered kustomize targets, the compose file, and the roles they run.

These checks need no database, no Docker engine and no kubectl: `deploy/render.py` renders the overlays offline.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic_settings import BaseSettings

from deploy.render import Doc, render
from gaap.cli.components import COMPONENTS, resolve

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
K8S = DEPLOY / "k8s"
TARGETS = {
    "base": K8S / "base",
    "staging": K8S / "overlays" / "staging",
    "production": K8S / "overlays" / "production",
}
OVERLAYS = ("staging", "production")
#: The kinds that run pods.
WORKLOAD_KINDS = ("Deployment", "Job")
ROLES = {"serve": "api", "worker": "worker", "migrate": "migrate"}
#: A name that looks like a credential must never have an inline value, even if no settings class has it yet.
SECRET_LOOKING = re.compile(r"(_KEYS?|_SECRET|_PASSWORD|_SALT|_PEPPER|_CREDENTIALS|_TOKEN)$")


@dataclass(frozen=True)
class Workload:
    """A Deployment or Job of the platform, with what its command says it runs."""

    doc: Doc
    role: str  # api, worker or migrate
    component: str  # gateway, notify, pay, identity; "" for migrate

    @property
    def name(self) -> str:
        return str(self.doc["metadata"]["name"])

    @property
    def pod(self) -> Doc:
        return dict(self.doc["spec"]["template"])

    @property
    def containers(self) -> list[Doc]:
        return list(self.pod["spec"]["containers"])

    @property
    def args(self) -> list[str]:
        return [str(arg) for arg in self.containers[0].get("args", [])]

    def option(self, flag: str) -> str:
        """The value after `flag` in the main container's arguments."""
        args = self.args
        assert flag in args, f"{self.name}: {flag} missing from {args}"
        return args[args.index(flag) + 1]


def workloads(docs: list[Doc]) -> list[Workload]:
    found = []
    for doc in docs:
        if doc["kind"] in WORKLOAD_KINDS:
            args = [str(arg) for arg in doc["spec"]["template"]["spec"]["containers"][0].get("args", [])]
            assert args and args[0] in ROLES, f"{doc['metadata']['name']}: not a gaap role: {args}"
            found.append(Workload(doc, ROLES[args[0]], args[1] if len(args) > 1 else ""))
    return found


def of_kind(docs: list[Doc], kind: str) -> list[Doc]:
    return [doc for doc in docs if doc["kind"] == kind]


@pytest.fixture(scope="session")
def rendered() -> dict[str, list[Doc]]:
    return {name: render(path) for name, path in TARGETS.items()}


@pytest.fixture(params=list(TARGETS))
def target(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def docs(rendered: dict[str, list[Doc]], target: str) -> list[Doc]:
    return rendered[target]


@pytest.fixture(scope="session")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="session")
def setting_names() -> frozenset[str]:
    """Every environment variable some settings class of the platform reads, found by walking the subclasses
    of `BaseSettings` once every component's settings and worker modules are imported (workers have their own)."""
    for info in COMPONENTS.values():
        resolve(info.settings)
        if info.worker:
            resolve(info.worker)
    names: set[str] = set()
    pending: list[type[BaseSettings]] = [BaseSettings]
    while pending:
        cls = pending.pop()
        pending += cls.__subclasses__()
        prefix = str(cls.model_config.get("env_prefix", ""))
        if prefix and cls.__module__.split(".")[0] in {"gaap", "gateway", "services"}:
            names |= {prefix + field.upper() for field in cls.model_fields if field != "platform"}
    assert {"GAAP_ENV", "NOTIFY_CLAMD_SOCKET", "GATEWAY_NOTIFY_URL"} <= names
    return frozenset(names)
