"""The one shared copy of GOV.UK Frontend, built from npm and served by the gateway at `/assets`.

Pages point the govuk template's `assetPath` at `/assets`, and the precompiled CSS asks for its fonts and
images at absolute `/assets/fonts/...` and `/assets/images/...` paths, so the served tree is:

    /assets/govuk-frontend.min.css   the compiled styles
    /assets/govuk-frontend.min.js    the compiled components (an ES module exporting `initAll`)
    /assets/gaap-init.js             our progressive enhancement: imports the above and calls `initAll`
    /assets/manifest.json            the web app manifest the template links
    /assets/fonts/*, /assets/images/*

`build_assets` copies those files out of `frontend/node_modules/govuk-frontend/dist/govuk/` (installed with
`npm ci` in `frontend/`, which pins `govuk-frontend@6.3.0`) into `gaap/pages/static/govuk/` and writes
`gaap-assets.json` with each file's SHA-256. `verify_assets` re-checks those hashes and that every `url(...)`
the CSS names exists, so a half-copied tree fails at build or start-up rather than as unstyled pages.

`assets_app` serves the tree with long-lived caching: fonts carry a content hash in their names and requests
whose `v` query matches the file's hash (what `asset_url` produces) are `immutable` for a year; anything else
is cached for a day.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from starlette.datastructures import Headers
from starlette.responses import FileResponse, Response
from starlette.staticfiles import NotModifiedResponse, StaticFiles
from starlette.types import Scope

GOVUK_FRONTEND_VERSION = "6.3.0"
PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parents[1]
DEFAULT_SOURCE = REPO_DIR / "frontend" / "node_modules" / "govuk-frontend"
DEFAULT_TARGET = PACKAGE_DIR / "static" / "govuk"
MANIFEST_NAME = "gaap-assets.json"
INIT_SCRIPT_NAME = "gaap-init.js"

#: Loaded as `<script type="module">`: browsers without module support skip it, so pages stay plain HTML
#: there.
INIT_SCRIPT = 'import { initAll } from "./govuk-frontend.min.js";\n\ninitAll();\n'

#: Files copied from `dist/govuk/` to the root of the served tree.
_ROOT_FILES = ("govuk-frontend.min.css", "govuk-frontend.min.js")
#: Folders and files copied from `dist/govuk/assets/`.
_ASSET_ENTRIES = ("fonts", "images", "manifest.json")

_CSS_URL = re.compile(r"url\(\s*['\"]?(/assets/[^'\")\s]+)['\"]?\s*\)")
_FINGERPRINTED = re.compile(r"-[0-9a-f]{10}-v\d+\.[a-z0-9]+$")
_MEDIA_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".json": "application/manifest+json",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
}

ONE_YEAR = 31_536_000
ONE_DAY = 86_400


class AssetsError(RuntimeError):
    """The GOV.UK Frontend files are missing, from the wrong version, or do not match their manifest."""


@dataclass(frozen=True)
class AssetManifest:
    """What `build_assets` wrote: the govuk-frontend version and a SHA-256 per served file (relative path)."""

    version: str
    files: dict[str, str]

    def short_hash(self, path: str) -> str | None:
        digest = self.files.get(path)
        return digest[:12] if digest else None

    def to_json(self) -> str:
        return json.dumps({"govuk_frontend": self.version, "files": self.files}, indent=2, sort_keys=True) + "\n"

    @classmethod
    def read(cls, target: Path) -> AssetManifest:
        path = target / MANIFEST_NAME
        try:
            raw: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise AssetsError(
                f"{path} is missing: run `python -m gaap.pages.assets` after `npm ci` in frontend/"
            ) from exc
        return cls(version=str(raw["govuk_frontend"]), files={str(k): str(v) for k, v in raw["files"].items()})


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _served_files(target: Path) -> list[str]:
    return sorted(
        p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file() and p.name != MANIFEST_NAME
    )


def build_assets(source: Path = DEFAULT_SOURCE, target: Path = DEFAULT_TARGET) -> AssetManifest:
    """Copy the compiled GOV.UK Frontend files from the npm package into the served tree, then verify it.

    `source` is the installed `govuk-frontend` package folder. The target is replaced as a whole, so files
    from an older version never linger.
    """
    package_json = source / "package.json"
    if not package_json.is_file():
        raise AssetsError(f"{source} is not an installed govuk-frontend package: run `npm ci` in frontend/")
    version = json.loads(package_json.read_text(encoding="utf-8"))["version"]
    if version != GOVUK_FRONTEND_VERSION:
        raise AssetsError(f"govuk-frontend {version} is installed; the platform is pinned to {GOVUK_FRONTEND_VERSION}")
    dist = source / "dist" / "govuk"
    # A staging folder per process: test workers may build at once, and the last complete tree wins.
    staging = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for name in _ROOT_FILES:
        shutil.copy2(dist / name, staging / name)
    for name in _ASSET_ENTRIES:
        entry = dist / "assets" / name
        if entry.is_dir():
            shutil.copytree(entry, staging / name)
        else:
            shutil.copy2(entry, staging / name)
    (staging / INIT_SCRIPT_NAME).write_text(INIT_SCRIPT, encoding="utf-8")
    manifest = AssetManifest(version=version, files={rel: _sha256(staging / rel) for rel in _served_files(staging)})
    (staging / MANIFEST_NAME).write_text(manifest.to_json(), encoding="utf-8")
    verify_assets(staging)
    old = target.with_name(f".{target.name}.{os.getpid()}.old")
    if target.exists():
        os.replace(target, old)
    try:
        os.replace(staging, target)
    except OSError:
        # Another process put its tree in place between our two renames; it was built from the same files.
        shutil.rmtree(staging, ignore_errors=True)
    shutil.rmtree(old, ignore_errors=True)
    return manifest


def verify_assets(target: Path = DEFAULT_TARGET) -> AssetManifest:
    """Check the served tree against its manifest and the CSS's own references; return the manifest."""
    manifest = AssetManifest.read(target)
    if manifest.version != GOVUK_FRONTEND_VERSION:
        raise AssetsError(f"{target} holds govuk-frontend {manifest.version}, not {GOVUK_FRONTEND_VERSION}: rebuild")
    required = {*_ROOT_FILES, INIT_SCRIPT_NAME, "manifest.json", "images/favicon.ico"}
    missing = sorted(required - manifest.files.keys())
    if missing:
        raise AssetsError(f"{target} lacks {', '.join(missing)}")
    on_disk = _served_files(target)
    if on_disk != sorted(manifest.files):
        raise AssetsError(f"{target} does not hold exactly the files its manifest lists: rebuild")
    for rel, digest in manifest.files.items():
        if _sha256(target / rel) != digest:
            raise AssetsError(f"{target / rel} does not match its manifest hash: rebuild")
    css = (target / "govuk-frontend.min.css").read_text(encoding="utf-8")
    for url in _CSS_URL.findall(css):
        if url.removeprefix("/assets/") not in manifest.files:
            raise AssetsError(f"the CSS refers to {url}, which is not in {target}")
    return manifest


def ensure_assets(source: Path = DEFAULT_SOURCE, target: Path = DEFAULT_TARGET) -> AssetManifest:
    """Verify the served tree, building it first when it is missing or stale and the npm package is there.

    For `gaap up` and the test suite on a checkout; production images run the build step explicitly.
    """
    try:
        return verify_assets(target)
    except AssetsError:
        if not (source / "package.json").is_file():
            raise
        return build_assets(source, target)


class GovukAssets(StaticFiles):
    """Static files with cache headers, exact media types, `nosniff` and CORS (fonts and modules need it when
    pages live on another host than the gateway)."""

    def __init__(self, directory: Path, manifest: AssetManifest) -> None:
        super().__init__(directory=directory)
        self.root = directory.resolve()
        self.manifest = manifest

    def cache_control(self, rel: str, scope: Scope) -> str:
        expected = self.manifest.short_hash(rel)
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        if _FINGERPRINTED.search(rel) or (expected is not None and query.get("v") == [expected]):
            return f"public, max-age={ONE_YEAR}, immutable"
        return f"public, max-age={ONE_DAY}"

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        path = Path(full_path)
        rel = path.relative_to(self.root).as_posix()
        headers = {
            "Cache-Control": self.cache_control(rel, scope),
            "X-Content-Type-Options": "nosniff",
            "Access-Control-Allow-Origin": "*",
        }
        response = FileResponse(
            path,
            status_code=status_code,
            stat_result=stat_result,
            headers=headers,
            media_type=_MEDIA_TYPES.get(path.suffix),
        )
        if self.is_not_modified(response.headers, Headers(scope=scope)):
            return NotModifiedResponse(response.headers)
        return response


def assets_app(directory: Path = DEFAULT_TARGET) -> GovukAssets:
    """The ASGI app the gateway mounts at `/assets`: `app.mount("/assets", assets_app())`.

    Verifies the tree once, at start-up, so a missing build stops the process with the command that fixes it.
    """
    manifest = verify_assets(directory)
    return GovukAssets(directory, manifest)


def read_manifest(directory: Path = DEFAULT_TARGET) -> AssetManifest | None:
    """The built manifest, or None when the tree is not built here (a service whose pages use the
    gateway's)."""
    try:
        return AssetManifest.read(directory)
    except AssetsError:
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m gaap.pages.assets", description="Copy GOV.UK Frontend into gaap/pages/static/govuk/."
    )
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="the installed govuk-frontend package")
    parser.add_argument("--target", type=Path, default=DEFAULT_TARGET, help="the served tree")
    parser.add_argument("--check", action="store_true", help="only verify the served tree")
    args = parser.parse_args(argv)
    try:
        manifest = verify_assets(args.target) if args.check else build_assets(args.source, args.target)
    except AssetsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"govuk-frontend {manifest.version}: {len(manifest.files)} files in {args.target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
