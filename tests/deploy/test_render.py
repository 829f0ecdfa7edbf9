"""`deploy/render.py`: each supported kustomize feature, the refusals, and (where kubectl exists) agreement with
`kubectl kustomize` on the real overlays and on every example here."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from textwrap import dedent

import pytest
import yaml

from deploy.render import Doc, KustomizeError, object_id, render
from tests.deploy.conftest import TARGETS

KUBECTL = shutil.which("kubectl")

BASE = {
    "base/kustomization.yaml": """
        apiVersion: kustomize.config.k8s.io/v1beta1
        kind: Kustomization
        resources: [app.yaml]
    """,
    "base/app.yaml": """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web, labels: {app: web}}
        spec:
          selector: {matchLabels: {app: web}}
          template:
            metadata: {labels: {app: web}}
            spec:
              initContainers: [{name: init, image: gaap:0.1.0}]
              containers:
                - name: web
                  image: gaap:0.1.0
                  args: [serve, web]
                  env: [{name: A, value: "1"}, {name: B, value: "2"}, {name: C, value: "3"}]
                  resources: {requests: {cpu: 100m}, limits: {cpu: "1"}}
                - name: sidecar
                  image: other:1.0
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: web}
        spec:
          selector: {app: web}
          ports: [{port: 80}]
        ---
        apiVersion: batch/v1
        kind: Job
        metadata: {name: once}
        spec:
          template:
            metadata: {labels: {app: once}}
            spec:
              restartPolicy: Never
              containers: [{name: once, image: gaap:0.1.0}]
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: settings}
        data: {KEEP: "1", CHANGE: "2", DROP: "3"}
    """,
}

OVERLAY = {
    "overlay/kustomization.yaml": """
        apiVersion: kustomize.config.k8s.io/v1beta1
        kind: Kustomization
        namespace: team
        resources: [namespace.yaml, ../base]
        labels:
          - pairs: {env: test}
            includeTemplates: true
        images:
          - {name: gaap, newName: registry.example/gaap, newTag: "2.0.0"}
        patches:
          - path: patch.yaml
    """,
    "overlay/namespace.yaml": """
        apiVersion: v1
        kind: Namespace
        metadata: {name: team}
    """,
    "overlay/patch.yaml": """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web}
        spec:
          template:
            spec:
              containers:
                - name: sidecar
                  args: [--verbose]
                - name: web
                  args: [serve, web, --fast]
                  env: [{name: C, value: "30"}, {name: D, value: "4"}]
                  resources: {limits: {cpu: "2"}}
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: settings}
        data: {CHANGE: "20", DROP: null}
    """,
}


SERVICE = "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n"
#: kubectl merges Service ports by `port`, which the renderer refuses rather than guesses.
PORTS_PATCH = SERVICE + "spec: {ports: [{port: 1}]}\n"


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dedent(text).lstrip(), encoding="utf-8")


def by_id(docs: list[Doc]) -> dict[tuple[str, str, str], Doc]:
    return {object_id(doc): doc for doc in docs}


def kubectl_kustomize(directory: Path) -> list[Doc]:
    assert KUBECTL is not None
    out = subprocess.run([KUBECTL, "kustomize", str(directory)], check=True, capture_output=True, text=True).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


@pytest.fixture
def example(tmp_path: Path) -> Path:
    write(tmp_path, {**BASE, **OVERLAY})
    return tmp_path / "overlay"


def test_overlay_features(example: Path) -> None:
    docs = by_id(render(example))
    assert set(docs) == {
        ("Namespace", "", "team"),
        ("Deployment", "team", "web"),
        ("Service", "team", "web"),
        ("Job", "team", "once"),
        ("ConfigMap", "team", "settings"),
    }
    web = docs["Deployment", "team", "web"]
    assert web["metadata"]["labels"] == {"app": "web", "env": "test"}
    assert web["spec"]["template"]["metadata"]["labels"] == {"app": "web", "env": "test"}
    assert web["spec"]["selector"] == {"matchLabels": {"app": "web"}}, "selectors are never rewritten"
    assert docs["Job", "team", "once"]["spec"]["template"]["metadata"]["labels"] == {"app": "once", "env": "test"}
    assert docs["Service", "team", "web"]["spec"]["selector"] == {"app": "web"}
    pod = web["spec"]["template"]["spec"]
    # Patched containers come first, in the patch's order, then the untouched ones (as kubectl orders them).
    assert [c["name"] for c in pod["containers"]] == ["sidecar", "web"]
    main = pod["containers"][1]
    assert main["image"] == "registry.example/gaap:2.0.0"
    assert pod["initContainers"][0]["image"] == "registry.example/gaap:2.0.0"
    assert pod["containers"][0]["image"] == "other:1.0"
    assert main["args"] == ["serve", "web", "--fast"], "plain lists are replaced"
    assert main["env"] == [
        {"name": "C", "value": "30"},
        {"name": "D", "value": "4"},
        {"name": "A", "value": "1"},
        {"name": "B", "value": "2"},
    ]
    assert main["resources"] == {"requests": {"cpu": "100m"}, "limits": {"cpu": "2"}}
    assert docs["ConfigMap", "team", "settings"]["data"] == {"KEEP": "1", "CHANGE": "20"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"overlay/kustomization.yaml": "commonLabels: {a: b}\nresources: [../base]\n"},
            "unsupported kustomization keys",
        ),
        ({"overlay/kustomization.yaml": "resources: [https://example.org/x.yaml]\n"}, "remote resource"),
        ({"overlay/kustomization.yaml": "resources: [missing.yaml]\n"}, "does not exist"),
        ({"overlay/kustomization.yaml": "resources: [../base/app.yaml]\n"}, "outside the kustomization"),
        (
            {"overlay/kustomization.yaml": "resources: [../base, web.yaml]\n", "overlay/web.yaml": SERVICE},
            "defined twice",
        ),
        (
            {"overlay/kustomization.yaml": "resources: [../base]\nlabels: [{pairs: {a: b}, includeSelectors: true}]\n"},
            "includeSelectors",
        ),
        ({"overlay/kustomization.yaml": "resources: [../base]\nimages: [{name: gaap, digest: sha256:00}]\n"}, "images"),
        ({"overlay/kustomization.yaml": "resources: [../base]\npatches: [{patch: '{}'}]\n"}, "only `path`"),
        (
            {"overlay/patch.yaml": "apiVersion: v1\nkind: Service\nmetadata: {name: nothing}\n"},
            "matches 0 objects",
        ),
        (
            {"overlay/patch.yaml": PORTS_PATCH},
            "other than name",
        ),
        (
            {"overlay/patch.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\n$patch: delete\n"},
            "directives",
        ),
    ],
)
def test_refuses_what_it_does_not_support(example: Path, change: dict[str, str], message: str) -> None:
    if "overlay/kustomization.yaml" not in change:
        change = {**change, "overlay/kustomization.yaml": "resources: [../base]\npatches: [{path: patch.yaml}]\n"}
    write(example.parent, change)
    with pytest.raises(KustomizeError, match=message):
        render(example)


@pytest.mark.skipif(KUBECTL is None, reason="kubectl is not on PATH")
def test_example_matches_kubectl(example: Path) -> None:
    assert by_id(render(example)) == by_id(kubectl_kustomize(example))


@pytest.mark.skipif(KUBECTL is None, reason="kubectl is not on PATH")
@pytest.mark.parametrize("name", list(TARGETS))
def test_deploy_targets_match_kubectl(name: str) -> None:
    assert by_id(render(TARGETS[name])) == by_id(kubectl_kustomize(TARGETS[name]))
