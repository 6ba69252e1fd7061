"""The local extension folder as ``ipe push`` and ``ipe pull`` change it.

``ipe push`` writes the id Coveo gave into ``extension.json``: the manifest is the user's file,
so every other key keeps its place and value, and its indentation is kept.  ``ipe pull`` writes
a new folder from an ``ExtensionModel``: ``extension.py`` is ``content`` byte for byte (no
newline translation), ``extension.json`` holds the id and the manifest fields, and nothing
existing is overwritten without ``force``.  Files are written to a temporary name then renamed,
so an interrupted write never leaves half a manifest.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from harness.errors import HarnessError, load_json_file
from harness.extension import MANIFEST_NAME, SCRIPT_NAME, Extension

__all__ = ["default_folder", "manifest_of", "write_id", "write_pulled"]

_MANIFEST_KEYS = ("name", "id", "description", "apiVersion", "requiredDataStreams", "useVault")


def write_id(extension: Extension, extension_id: str) -> Path:
    """Put ``"id": extension_id`` into the extension's manifest (created when it has none)."""
    manifest = extension.manifest or extension.folder / MANIFEST_NAME
    if manifest.is_file():
        data = load_json_file(manifest, "manifest")
        if not isinstance(data, dict):
            raise HarnessError(f"{manifest}: $: expected an object (the extension's manifest)")
        indent = _indent_of(manifest.read_text(encoding="utf-8-sig"))
    else:
        data, indent = {"name": extension.name}, 2
    if "id" in data:
        data["id"] = extension_id
    else:  # right after the name, where a reader looks for it; every other key keeps its order
        items = list(data.items())
        at = next((i + 1 for i, (key, _) in enumerate(items) if key == "name"), 0)
        items.insert(at, ("id", extension_id))
        data = dict(items)
    _write(manifest, (json.dumps(data, indent=indent, ensure_ascii=False) + "\n").encode("utf-8"))
    return manifest


def manifest_of(model: dict[str, Any]) -> dict[str, Any]:
    """The ``extension.json`` of an ``ExtensionModel``: the keys the harness reads, in a fixed order."""
    manifest = {key: model[key] for key in _MANIFEST_KEYS if key in model and model[key] is not None}
    manifest.setdefault("apiVersion", "v1")
    return manifest


def default_folder(model: dict[str, Any], root: Path | None = None) -> Path:
    """``extensions/<name>`` in a project made by ``ipe new`` (it has ``extensions/``), else ``./<name>``."""
    base = root or Path.cwd()
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", str(model.get("name") or model.get("id") or "extension")).strip("-.")
    parent = base / "extensions" if (base / "extensions").is_dir() else base
    return parent / (name or "extension")


def write_pulled(model: dict[str, Any], folder: Path, *, force: bool = False) -> list[Path]:
    """Write ``extension.py`` and ``extension.json`` of ``model`` into ``folder``; the paths written."""
    content = model.get("content")
    if not isinstance(content, str):
        raise HarnessError(f"extension {model.get('id')!r}: Coveo gave no script content")
    script, manifest = folder / SCRIPT_NAME, folder / MANIFEST_NAME
    if folder.exists() and not folder.is_dir():
        raise HarnessError(f"{folder}: exists and is not a folder")
    existing = [p for p in (script, manifest) if p.exists()]
    if existing and not force:
        raise HarnessError(f"{existing[0]}: already exists; pull into another folder, or give --force to overwrite")
    folder.mkdir(parents=True, exist_ok=True)
    _write(script, content.encode("utf-8"))
    _write(manifest, (json.dumps(manifest_of(model), indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
    return [script, manifest]


def _indent_of(text: str) -> int | str:
    """The indentation of the first nested line of a JSON text (2 when it has none)."""
    match = re.search(r"\n([ \t]+)\S", text)
    if not match:
        return 2
    white = match.group(1)
    return "\t" if "\t" in white else len(white)


def _write(path: Path, data: bytes) -> None:
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(temporary, path.stat().st_mode & 0o777 if path.exists() else 0o644)  # mkstemp makes 0600
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
