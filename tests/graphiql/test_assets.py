"""The vendored files, their manifest and the vendoring script."""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

from mobius.graphiql import STATIC_DIR

VENDOR_SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "vendor_graphiql.py"


def load_vendor_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("vendor_graphiql", VENDOR_SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses need the module registered
    spec.loader.exec_module(module)
    return module


vendor_graphiql = load_vendor_script()


def manifest_files() -> dict[str, dict[str, str]]:
    manifest = json.loads((STATIC_DIR / "manifest.json").read_text(encoding="utf-8"))
    files: dict[str, dict[str, str]] = manifest["files"]
    return files


def sri(algorithm: str, data: bytes) -> str:
    digest = hashlib.new(algorithm, data).digest()
    return f"{algorithm}-{base64.b64encode(digest).decode('ascii')}"


def test_manifest_lists_the_seven_strawberry_files() -> None:
    files = manifest_files()
    assert len(files) == 7
    packages = {entry["package"].rsplit("@", 1)[0] for entry in files.values()}
    assert packages == {
        "react",
        "react-dom",
        "js-cookie",
        "graphiql",
        "@graphiql/plugin-explorer",
    }
    kinds = [entry["kind"] for entry in files.values()]
    assert kinds.count("script") == 5
    assert kinds.count("stylesheet") == 2


@pytest.mark.parametrize("name", sorted(manifest_files()))
def test_manifest_file_exists_and_matches_integrity(name: str) -> None:
    entry = manifest_files()[name]
    path = STATIC_DIR / name
    assert path.is_file(), f"{name} listed in manifest.json but missing"
    data = path.read_bytes()
    algorithm = entry["integrity"].split("-", 1)[0]
    assert algorithm in ("sha256", "sha384", "sha512")
    assert sri(algorithm, data) == entry["integrity"], f"{name} does not match its integrity"
    assert vendor_graphiql.integrity_matches(data, entry["integrity"])


def test_manifest_matches_installed_strawberry_page() -> None:
    """After a Strawberry upgrade this fails: re-run scripts/vendor_graphiql.py."""
    html, _source = vendor_graphiql.strawberry_page()
    expected = {
        asset.file_name: (asset.spec, asset.path, asset.integrity) for asset in vendor_graphiql.parse_page(html)
    }
    actual = {name: (entry["package"], entry["path"], entry["integrity"]) for name, entry in manifest_files().items()}
    assert actual == expected


def test_static_dir_has_no_unlisted_third_party_files() -> None:
    ours = {
        "manifest.json",
        "mobius-graphiql.js",
        "mobius-graphiql.css",
        "favicon.svg",
    }
    present = {p.name for p in STATIC_DIR.iterdir()}
    assert present == ours | set(manifest_files())


def test_split_package_url() -> None:
    split = vendor_graphiql.split_package_url
    assert split("https://cdn.example/react@18.2.0/umd/react.production.min.js") == (
        "react",
        "18.2.0",
        "umd/react.production.min.js",
    )
    assert split("https://cdn.example/@graphiql/plugin-explorer@1.0.2/dist/style.css") == (
        "@graphiql/plugin-explorer",
        "1.0.2",
        "dist/style.css",
    )
    with pytest.raises(vendor_graphiql.VendorError):
        split("https://cdn.example/react/umd/react.js")  # unpinned
    with pytest.raises(vendor_graphiql.VendorError):
        split("/react@18.2.0/umd/react.js")  # not absolute


def test_parse_page_requires_integrity() -> None:
    page = '<script src="https://cdn.example/a@1.0.0/a.js"></script>'
    with pytest.raises(vendor_graphiql.VendorError, match="no integrity"):
        vendor_graphiql.parse_page(page)


def test_integrity_matches_uses_strongest_algorithm() -> None:
    data = b"console.log(1)"
    good384 = sri("sha384", data)
    assert vendor_graphiql.integrity_matches(data, good384)
    assert vendor_graphiql.integrity_matches(data, sri("sha256", data))
    assert not vendor_graphiql.integrity_matches(data + b" ", good384)
    # sha256 present but a (wrong) sha384 wins: SRI only uses the strongest.
    assert not vendor_graphiql.integrity_matches(data, f"{sri('sha256', data)} {sri('sha384', b'other')}")
    with pytest.raises(vendor_graphiql.VendorError):
        vendor_graphiql.integrity_matches(data, "md5-abc")


def test_vendor_fails_loudly_on_mismatch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = b"/* tampered */"
    page = f'<script src="https://cdn.example/lib@1.2.3/dist/lib.js" integrity="{sri("sha384", b"original")}"></script>'
    monkeypatch.setattr(vendor_graphiql, "npm_pack", lambda spec, dest: dest / "x.tgz")
    monkeypatch.setattr(vendor_graphiql, "extract_file", lambda tarball, path: data)
    out = tmp_path / "static"
    with pytest.raises(vendor_graphiql.VendorError, match="INTEGRITY MISMATCH"):
        vendor_graphiql.vendor(page, "test page", out)
    assert not out.exists()


def test_vendor_writes_files_and_manifest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = b"/* lib */"
    page = (
        '<link rel="stylesheet" href="https://cdn.example/@s/lib@1.2.3/dist/style.css" '
        f'integrity="{sri("sha256", data)}">'
    )
    monkeypatch.setattr(vendor_graphiql, "npm_pack", lambda spec, dest: dest / "x.tgz")
    monkeypatch.setattr(vendor_graphiql, "extract_file", lambda tarball, path: data)
    out = tmp_path / "static"
    vendor_graphiql.vendor(page, "test page", out)
    assert (out / "s-lib-1.2.3-style.css").read_bytes() == data
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["files"] == {
        "s-lib-1.2.3-style.css": {
            "package": "@s/lib@1.2.3",
            "path": "dist/style.css",
            "integrity": sri("sha256", data),
            "kind": "stylesheet",
        }
    }
