#!/usr/bin/env python3
"""Vendor the GraphiQL assets that Strawberry's IDE page loads from a CDN.

Strawberry's stock ``graphiql.html`` pulls seven files (React, ReactDOM,
js-cookie, GraphiQL script + stylesheet, explorer plugin script + stylesheet)
from a CDN, each pinned with a Subresource-Integrity hash.  The npm packages of
the same versions contain byte-identical files, so this script:

1. parses the *installed* Strawberry ``graphiql.html`` for the script/link URLs
   and their ``integrity`` attributes (no CDN host is hard-coded here: the URLs
   are read from Strawberry's page at run time),
2. fetches each matching npm package with ``npm pack`` into a temp dir,
3. extracts the exact file, verifies it against the integrity hash (and fails
   loudly on any mismatch),
4. writes the files to ``mobius/graphiql/static/`` plus ``manifest.json``.

The output is committed to the repository, so installing the gateway needs
neither network nor node.  Re-run this script after upgrading Strawberry.

Usage::

    python scripts/vendor_graphiql.py [--html PATH] [--out DIR] [--check]

Standard library only.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import importlib.metadata
import importlib.resources
import json
import posixpath
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "mobius" / "graphiql" / "static"
MANIFEST_NAME = "manifest.json"
SUPPORTED_ALGORITHMS = ("sha512", "sha384", "sha256")


class VendorError(RuntimeError):
    """Raised when the page cannot be parsed or a file fails verification."""


@dataclass(frozen=True)
class Asset:
    """One CDN reference found in Strawberry's page."""

    url: str
    integrity: str
    kind: str  # "script" or "stylesheet"
    package: str  # e.g. "@graphiql/plugin-explorer"
    version: str  # e.g. "1.0.2"
    path: str  # path inside the npm package, e.g. "dist/style.css"

    @property
    def spec(self) -> str:
        return f"{self.package}@{self.version}"

    @property
    def file_name(self) -> str:
        """Flat, unambiguous, versioned name for the vendored copy."""
        safe_pkg = self.package.lstrip("@").replace("/", "-")
        return f"{safe_pkg}-{self.version}-{posixpath.basename(self.path)}"


class _AssetParser(HTMLParser):
    """Collects ``<script src integrity>`` and ``<link rel=stylesheet href integrity>``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, str, str | None]] = []  # (kind, url, integrity)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name.lower(): value for name, value in attrs}
        if tag == "script" and attributes.get("src"):
            self.found.append(("script", attributes["src"] or "", attributes.get("integrity")))
        elif tag == "link":
            rel = (attributes.get("rel") or "").lower().split()
            if "stylesheet" in rel and attributes.get("href"):
                self.found.append(("stylesheet", attributes["href"] or "", attributes.get("integrity")))


def split_package_url(url: str) -> tuple[str, str, str]:
    """Split ``<origin>/[@scope/]name@version/path/in/package`` into its parts."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise VendorError(f"not an absolute http(s) URL: {url!r}")
    segments = [unquote(s) for s in parts.path.split("/") if s]
    if segments and segments[0].startswith("@"):
        if len(segments) < 3:
            raise VendorError(f"cannot find a scoped package in {url!r}")
        scope, name_version, rest = segments[0], segments[1], segments[2:]
        prefix = scope + "/"
    else:
        if len(segments) < 2:
            raise VendorError(f"cannot find a package in {url!r}")
        prefix, name_version, rest = "", segments[0], segments[1:]
    name, sep, version = name_version.partition("@")
    if not sep or not name or not version:
        raise VendorError(f"package in {url!r} is not pinned to an exact version")
    if any(seg in (".", "..") for seg in rest):
        raise VendorError(f"suspicious path in {url!r}")
    return prefix + name, version, "/".join(rest)


def parse_page(html: str) -> list[Asset]:
    """Return the CDN assets referenced by Strawberry's page, in page order."""
    parser = _AssetParser()
    parser.feed(html)
    parser.close()
    assets: list[Asset] = []
    for kind, url, integrity in parser.found:
        if not integrity:
            raise VendorError(f"{url!r} has no integrity attribute")
        package, version, path = split_package_url(url)
        assets.append(
            Asset(
                url=url,
                integrity=integrity.strip(),
                kind=kind,
                package=package,
                version=version,
                path=path,
            )
        )
    if not assets:
        raise VendorError("no <script src> or stylesheet <link> found in the page")
    names = [a.file_name for a in assets]
    if len(set(names)) != len(names):
        raise VendorError(f"vendored file names collide: {names}")
    return assets


def integrity_matches(data: bytes, integrity: str) -> bool:
    """SRI check: true if *data* matches at least one hash of the strongest algorithm.

    Follows the SRI spec: among the supported algorithms present, only the
    strongest ones count.  An integrity value with no supported hash is an error.
    """
    by_algorithm: dict[str, list[str]] = {}
    for token in integrity.split():
        algorithm, sep, digest = token.partition("-")
        digest = digest.split("?", 1)[0]  # drop SRI options
        if sep and algorithm in SUPPORTED_ALGORITHMS:
            by_algorithm.setdefault(algorithm, []).append(digest)
    for algorithm in SUPPORTED_ALGORITHMS:  # strongest first
        if algorithm in by_algorithm:
            actual = base64.b64encode(hashlib.new(algorithm, data).digest()).decode("ascii")
            return actual in by_algorithm[algorithm]
    raise VendorError(f"no supported hash algorithm in integrity {integrity!r}")


def strawberry_page() -> tuple[str, str]:
    """Return (text, description) of the installed Strawberry graphiql.html."""
    resource = importlib.resources.files("strawberry") / "static" / "graphiql.html"
    version = importlib.metadata.version("strawberry-graphql")
    return resource.read_text(encoding="utf-8"), f"strawberry-graphql {version}"


def npm_pack(spec: str, dest: Path) -> Path:
    """Download the tarball of *spec* with ``npm pack`` and return its path."""
    npm = shutil.which("npm")
    if npm is None:
        raise VendorError("npm is required to vendor GraphiQL (only to run this script)")
    result = subprocess.run(  # noqa: S603 - npm from PATH, spec parsed from Strawberry's page
        [npm, "pack", spec, "--json", "--silent", "--pack-destination", str(dest)],
        cwd=dest,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise VendorError(f"npm pack {spec} failed:\n{result.stderr.strip()}")
    try:
        info = json.loads(result.stdout)
        filename = str(info[0]["filename"])
    except (ValueError, LookupError, TypeError) as exc:
        raise VendorError(f"unexpected npm pack output for {spec}: {result.stdout!r}") from exc
    # npm names scoped tarballs "scope-name-1.0.0.tgz"
    tarball = dest / filename.lstrip("@").replace("/", "-")
    if not tarball.is_file():
        raise VendorError(f"npm pack {spec} did not produce {tarball}")
    return tarball


def extract_file(tarball: Path, path: str) -> bytes:
    """Read *path* (relative to the package root) out of an npm tarball."""
    with tarfile.open(tarball, "r:gz") as tar:
        for member in tar.getmembers():
            # npm tarballs put everything under one top folder, usually "package/"
            _top, _, inner = member.name.partition("/")
            if inner == path and member.isfile():
                handle = tar.extractfile(member)
                if handle is None:
                    break
                with handle:
                    return handle.read()
    raise VendorError(f"{path!r} not found in {tarball.name}")


def vendor(html: str, source: str, out_dir: Path, *, check_only: bool = False) -> dict[str, object]:
    assets = parse_page(html)
    manifest_files: dict[str, dict[str, str]] = {}
    with tempfile.TemporaryDirectory(prefix="vendor-graphiql-") as tmp:
        tmp_dir = Path(tmp)
        tarballs: dict[str, Path] = {}
        blobs: dict[str, bytes] = {}
        for asset in assets:
            if asset.spec not in tarballs:
                print(f"npm pack {asset.spec}", file=sys.stderr)
                tarballs[asset.spec] = npm_pack(asset.spec, tmp_dir)
            data = extract_file(tarballs[asset.spec], asset.path)
            if not integrity_matches(data, asset.integrity):
                raise VendorError(
                    f"INTEGRITY MISMATCH for {asset.spec}/{asset.path}: the npm file does not "
                    f"match {asset.integrity!r} from {source}'s page"
                )
            print(f"  ok {asset.file_name} ({len(data)} bytes)", file=sys.stderr)
            blobs[asset.file_name] = data
            manifest_files[asset.file_name] = {
                "package": asset.spec,
                "path": asset.path,
                "integrity": asset.integrity,
                "kind": asset.kind,
            }
    manifest: dict[str, object] = {"source": source, "files": manifest_files}
    if check_only:
        for name, data in blobs.items():
            existing = out_dir / name
            if not existing.is_file() or existing.read_bytes() != data:
                raise VendorError(f"{existing} is missing or differs; re-run without --check")
        return manifest
    out_dir.mkdir(parents=True, exist_ok=True)
    stale = _previous_files(out_dir) - set(blobs)
    for name in sorted(stale):
        (out_dir / name).unlink(missing_ok=True)
        print(f"  removed stale {name}", file=sys.stderr)
    for name, data in blobs.items():
        (out_dir / name).write_bytes(data)
    (out_dir / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def _previous_files(out_dir: Path) -> set[str]:
    """Files listed by an earlier manifest (so upgrades drop old versions)."""
    manifest_path = out_dir / MANIFEST_NAME
    if not manifest_path.is_file():
        return set()
    try:
        files = json.loads(manifest_path.read_text(encoding="utf-8")).get("files", {})
    except ValueError:
        return set()
    return {name for name in files if isinstance(name, str) and "/" not in name}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--html", type=Path, help="page to parse (default: installed Strawberry)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    parser.add_argument("--check", action="store_true", help="verify the vendored files are up to date, write nothing")
    args = parser.parse_args(argv)
    if args.html is not None:
        html, source = args.html.read_text(encoding="utf-8"), str(args.html)
    else:
        html, source = strawberry_page()
    try:
        manifest = vendor(html, source, args.out, check_only=args.check)
    except VendorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    files = manifest["files"]
    count = len(files) if isinstance(files, dict) else 0
    verb = "verified" if args.check else "wrote"
    print(f"{verb} {count} files in {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
