"""`deploy/Dockerfile` and `.dockerignore`: one image with role entrypoints, pinned bases, no secret, no
HEALTHCHECK, a non-root user, and a build context that carries nothing but the package (no Docker engine is
needed: the file is read, and hadolint lints it where it is installed)."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from deploy.envfile import secret_names
from deploy.render import split_image
from tests.deploy.conftest import DEPLOY, REPO, SECRET_LOOKING

DOCKERFILE = DEPLOY / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    logical: list[str] = []
    pending = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        pending += line.removesuffix("\\").strip() + " "
        if not line.endswith("\\"):
            logical.append(pending.strip())
            pending = ""
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in logical]


def final_stage() -> list[tuple[str, str]]:
    steps = instructions()
    last_from = max(i for i, (keyword, _) in enumerate(steps) if keyword == "FROM")
    return steps[last_from:]


def test_base_images_are_pinned_to_exact_versions() -> None:
    images = [args.split()[0] for keyword, args in instructions() if keyword == "FROM"]
    assert images, "no FROM"
    for image in images:
        _, tag = split_image(image)
        assert re.fullmatch(r"\d+\.\d+\.\d+-[a-z-]+", tag), f"{image}: pin an exact version tag"
    assert any(image.startswith("python:3.11.") for image in images), "the platform runs on Python 3.11"


def test_builds_the_package_and_the_assets() -> None:
    runs = " ".join(args for keyword, args in instructions() if keyword == "RUN")
    assert "npm ci" in runs
    assert "pip install -c constraints.txt ." in runs
    assert "-m gaap.pages.assets" in runs


def test_runs_gaap_as_a_non_root_user() -> None:
    stage = final_stage()
    users = [args for keyword, args in stage if keyword == "USER"]
    assert users and users[-1].split(":")[0] not in {"0", "root"}
    assert [args for keyword, args in stage if keyword == "ENTRYPOINT"] == ['["gaap"]']


def test_no_healthcheck_and_no_secret() -> None:
    steps = instructions()
    assert "HEALTHCHECK" not in {keyword for keyword, _ in steps}, "Kubernetes probes and compose check health"
    secrets = secret_names()
    for keyword, args in steps:
        if keyword in {"ENV", "ARG"}:
            for name in re.findall(r"([A-Za-z_][A-Za-z0-9_]*)=", args) or [args.split("=")[0]]:
                assert name not in secrets and not SECRET_LOOKING.search(name), f"{keyword} {name} bakes a secret in"


def test_build_context_is_only_the_package() -> None:
    """An allow-list: local state (.env, var/, .venv, node_modules, built assets) never reaches the image."""
    patterns = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert patterns[0] == "*"
    included = {p.removeprefix("!").rstrip("/") for p in patterns if p.startswith("!")}
    assert included == {
        "pyproject.toml",
        "constraints.txt",
        "README.md",
        "gaap",
        "gateway",
        "services",
        "sdk",
        "frontend/package.json",
        "frontend/package-lock.json",
    }
    assert "gaap/pages/static" in patterns, "assets are built inside the image, never copied from a checkout"


@pytest.mark.skipif(shutil.which("hadolint") is None, reason="hadolint is not on PATH")
def test_hadolint() -> None:
    subprocess.run(["hadolint", str(DOCKERFILE)], check=True)
