"""Render a kustomization the way `kubectl kustomize` does, for the few features `deploy/k8s` uses.

CI machines have no kubectl, and the manifest checks (`tests/deploy`) must run everywhere, so this renders the
overlays offline. It supports exactly what the kustomizations here use and refuses everything else loudly, so a
new kustomize feature cannot be added to an overlay and then silently ignored by the checks:

- `resources`: files (one or more YAML documents) inside the kustomization's directory, and directories
  holding a `kustomization.yaml`;
- `namespace`: set on every namespaced object;
- `labels`: `pairs` added to `metadata.labels`, and with `includeTemplates` to pod templates too
  (`includeSelectors` is refused: changing selectors of live objects breaks rollouts);
- `images`: `name` → `newName` and/or `newTag` on every container and init container;
- `patches`: `path` only, each document a strategic-merge patch matched by kind and name. Maps merge
  recursively, `null` deletes a key, `containers`, `initContainers`, `env` and `volumes` merge by `name` (the
  patch's entries first, then the untouched originals, as kubectl orders them), every other list is replaced.
  Lists that kubectl would merge by another key (`ports`, `volumeMounts`) are refused rather than guessed.

When kubectl is on PATH a test compares this output with `kubectl kustomize` for every overlay.

    python deploy/render.py deploy/k8s/overlays/production
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

import yaml

Doc = dict[str, Any]

KUSTOMIZATION_FILE = "kustomization.yaml"
SUPPORTED_KEYS = frozenset({"apiVersion", "kind", "resources", "namespace", "labels", "images", "patches"})
LABEL_KEYS = frozenset({"pairs", "includeSelectors", "includeTemplates"})
IMAGE_KEYS = frozenset({"name", "newName", "newTag"})
PATCH_KEYS = frozenset({"path"})
#: Lists a strategic-merge patch merges by `name` (pod spec and container fields).
NAMED_LISTS = frozenset({"containers", "initContainers", "env", "volumes"})
#: Lists kubectl merges by a key other than `name`: refused in patches, since this renderer would replace them.
REFUSED_LISTS = frozenset({"ports", "volumeMounts"})
#: Kinds whose objects are not namespaced (the ones an overlay might plausibly hold).
CLUSTER_SCOPED = frozenset({"Namespace", "ClusterRole", "ClusterRoleBinding", "PriorityClass", "StorageClass"})
#: Where `includeTemplates` puts labels, by kind (kustomize's own field specs for these kinds).
TEMPLATE_LABEL_PATHS = {
    "Deployment": ("spec", "template", "metadata", "labels"),
    "ReplicaSet": ("spec", "template", "metadata", "labels"),
    "DaemonSet": ("spec", "template", "metadata", "labels"),
    "StatefulSet": ("spec", "template", "metadata", "labels"),
    "Job": ("spec", "template", "metadata", "labels"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "metadata", "labels"),
}


class KustomizeError(ValueError):
    """The kustomization uses something this renderer does not support, or is inconsistent."""


def render(directory: Path) -> list[Doc]:
    """The objects a kustomization directory produces, transformed as kubectl would."""
    directory = Path(directory)
    kustomization = _load_kustomization(directory)
    docs: list[Doc] = []
    for entry in kustomization.get("resources") or []:
        docs += _load_resource(directory, entry)
    _refuse_duplicates(docs, directory)
    for patch in kustomization.get("patches") or []:
        _apply_patch_file(docs, directory, patch)
    if "namespace" in kustomization:
        for doc in docs:
            if doc["kind"] not in CLUSTER_SCOPED:
                doc["metadata"]["namespace"] = kustomization["namespace"]
    for label in kustomization.get("labels") or []:
        _apply_labels(docs, label)
    for image in kustomization.get("images") or []:
        _apply_image(docs, image)
    return docs


def dump(docs: list[Doc]) -> str:
    return str(yaml.safe_dump_all(docs, sort_keys=False, default_flow_style=False))


def object_id(doc: Doc) -> tuple[str, str, str]:
    """(kind, namespace, name): what kustomize calls a resource id, without the API group."""
    metadata = doc.get("metadata") or {}
    return doc["kind"], metadata.get("namespace", ""), metadata["name"]


def _load_kustomization(directory: Path) -> Doc:
    path = directory / KUSTOMIZATION_FILE
    if not path.is_file():
        raise KustomizeError(f"{directory} has no {KUSTOMIZATION_FILE}")
    kustomization = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    unknown = sorted(set(kustomization) - SUPPORTED_KEYS)
    if unknown:
        raise KustomizeError(f"{path}: unsupported kustomization keys {unknown}; supported: {sorted(SUPPORTED_KEYS)}")
    if kustomization.get("kind", "Kustomization") != "Kustomization":
        raise KustomizeError(f"{path}: kind must be Kustomization")
    return dict(kustomization)


def _load_resource(directory: Path, entry: str) -> list[Doc]:
    if "://" in entry or entry.startswith(("github.com/", "git@")):
        raise KustomizeError(f"{directory}: remote resource {entry!r} is not supported")
    path = (directory / entry).resolve()
    if path.is_dir():
        return render(path)
    if not path.is_file():
        raise KustomizeError(f"{directory}: resource {entry!r} does not exist")
    if directory.resolve() not in path.parents:
        # kustomize's load restrictor: a file from elsewhere must come in through its own kustomization.
        raise KustomizeError(f"{directory}: file {entry!r} is outside the kustomization's directory")
    return _load_documents(path)


def _load_documents(path: Path) -> list[Doc]:
    docs = [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc is not None]
    for doc in docs:
        if not isinstance(doc, dict) or not doc.get("kind") or not (doc.get("metadata") or {}).get("name"):
            raise KustomizeError(f"{path}: every document needs a kind and metadata.name")
    return docs


def _refuse_duplicates(docs: list[Doc], directory: Path) -> None:
    seen: set[tuple[str, str, str]] = set()
    for doc in docs:
        key = object_id(doc)
        if key in seen:
            raise KustomizeError(f"{directory}: {key} is defined twice")
        seen.add(key)


def _apply_patch_file(docs: list[Doc], directory: Path, patch: Doc) -> None:
    unknown = sorted(set(patch) - PATCH_KEYS)
    if unknown or "path" not in patch:
        raise KustomizeError(f"{directory}: a patch takes only `path` (got {sorted(patch)})")
    path = directory / patch["path"]
    for change in _load_documents(path):
        kind, name = change["kind"], change["metadata"]["name"]
        targets = [doc for doc in docs if doc["kind"] == kind and doc["metadata"]["name"] == name]
        if len(targets) != 1:
            raise KustomizeError(f"{path}: the patch for {kind}/{name} matches {len(targets)} objects, not 1")
        merged = _merge(targets[0], change, f"{kind}/{name}")
        targets[0].clear()
        targets[0].update(merged)


def _merge(original: Any, patch: Any, where: str) -> Any:
    """Strategic-merge `patch` into a copy of `original` (see the module docstring for the rules)."""
    if not isinstance(patch, dict) or not isinstance(original, dict):
        return copy.deepcopy(patch)
    merged = copy.deepcopy(original)
    for key, value in patch.items():
        here = f"{where}.{key}"
        if key.startswith("$"):
            raise KustomizeError(f"{here}: patch directives are not supported")
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, list) and key in REFUSED_LISTS:
            raise KustomizeError(f"{here}: kubectl merges this list by a key other than name; not supported")
        elif isinstance(value, list) and key in NAMED_LISTS:
            merged[key] = _merge_named(merged.get(key) or [], value, here)
        else:
            merged[key] = _merge(merged.get(key), value, here)
    return merged


def _merge_named(original: list[Doc], patch: list[Doc], where: str) -> list[Doc]:
    by_name = {item["name"]: item for item in original}
    if any("name" not in item for item in patch):
        raise KustomizeError(f"{where}: every entry of a merged list needs a name")
    patched = [_merge(by_name.get(item["name"], {}), item, f"{where}[{item['name']}]") for item in patch]
    names = {item["name"] for item in patch}
    return patched + [copy.deepcopy(item) for item in original if item["name"] not in names]


def _apply_labels(docs: list[Doc], label: Doc) -> None:
    unknown = sorted(set(label) - LABEL_KEYS)
    if unknown:
        raise KustomizeError(f"labels: unsupported keys {unknown}")
    if label.get("includeSelectors"):
        raise KustomizeError("labels: includeSelectors is not supported (it rewrites the selectors of live objects)")
    pairs = {str(k): str(v) for k, v in (label.get("pairs") or {}).items()}
    for doc in docs:
        doc["metadata"].setdefault("labels", {}).update(pairs)
        path = TEMPLATE_LABEL_PATHS.get(doc["kind"])
        if label.get("includeTemplates") and path:
            node = doc
            for part in path[:-1]:
                node = node.setdefault(part, {})
            node.setdefault(path[-1], {}).update(pairs)


def _apply_image(docs: list[Doc], image: Doc) -> None:
    unknown = sorted(set(image) - IMAGE_KEYS)
    if unknown or "name" not in image:
        raise KustomizeError(f"images: each entry takes name, newName and newTag (got {sorted(image)})")
    for container in containers(docs):
        name, tag = split_image(container.get("image", ""))
        if name == image["name"]:
            new_name = image.get("newName", name)
            new_tag = image.get("newTag", tag)
            container["image"] = f"{new_name}:{new_tag}" if new_tag else new_name


def split_image(reference: str) -> tuple[str, str]:
    """("registry:5000/gaap", "0.1.0") from "registry:5000/gaap:0.1.0"; the tag is "" when there is none."""
    last = reference.rsplit("/", 1)[-1]
    if ":" in last:
        return reference.rsplit(":", 1)[0], reference.rsplit(":", 1)[1]
    return reference, ""


def containers(node: Any) -> list[Doc]:
    """Every container and init container anywhere under `node` (a document, or a list of them)."""
    found: list[Doc] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in {"containers", "initContainers"} and isinstance(value, list):
                found += [item for item in value if isinstance(item, dict)]
            else:
                found += containers(value)
    elif isinstance(node, list):
        for item in node:
            found += containers(item)
    return found


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python deploy/render.py KUSTOMIZATION_DIR")
    try:
        sys.stdout.write(dump(render(Path(sys.argv[1]))))
    except KustomizeError as exc:
        sys.exit(f"error: {exc}")
