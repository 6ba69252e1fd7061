"""An extension: its script, compiled once per process, and its manifest (``extension.json``).

The manifest follows the Extensions API model (``name``, ``description``, ``apiVersion``,
``requiredDataStreams``, ``useVault``) plus local-only keys: ``id`` (the Coveo extension id,
used to match vault scopes), ``stage`` (``pre`` or ``post``), ``parameters`` (defaults for
local runs) and ``allowedHosts`` (the hosts vault values may be sent to: a list for every key,
or an object of key -> list; ``*.example.com`` wildcards allowed).  Any other key is an error
naming it and the closest valid one (``apiVersoin`` -> ``apiVersion``).

The manifest is honoured as Coveo honours it: only the ``requiredDataStreams`` reach the script
and ``"useVault": false`` empties its ``vault_parameters`` (see :mod:`harness.document`,
:mod:`harness.unused_vault`).  A script without a manifest declares nothing, so it sees every
stream and its vault.  At load, the script is also checked against Coveo's Python 3.10 and
packages (:mod:`harness.python310`).
"""

from __future__ import annotations

import difflib
import linecache
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import CodeType
from typing import Any

from harness.errors import HarnessError, json_path, load_json_file
from harness.params import parameter_text
from harness.python310 import static_warnings, syntax_error_310

__all__ = ["Extension", "document_files", "find_extensions", "load_extension", "SCRIPT_NAME", "MANIFEST_NAME"]

SCRIPT_NAME = "extension.py"
MANIFEST_NAME = "extension.json"
CASSETTE_FOLDER = "cassettes"
"""The folder of an extension holding its documents' recorded HTTP, one YAML file a document."""

_API_VERSIONS = ("v1", "v2")
_STAGES = ("pre", "post")
_DATA_STREAMS = ("BODY_TEXT", "BODY_HTML", "BODY_MARKDOWN", "THUMBNAIL", "DOCUMENT_DATA")

#: Every key a manifest may hold: the Extensions API's EditExtensionModel and ExtensionModel
#: (what ``GET /extensions/{id}`` returns, so a pulled extension loads as is), then the
#: harness's local keys.  Any other key is a typo, reported with the closest valid key.
MANIFEST_KEYS = (
    "name", "description", "content", "apiVersion", "language", "requiredDataStreams", "useVault", "enabled",
    "id", "versionId", "status", "usedBy", "createdDate", "lastModified", "timeout", "projectIds",
    "groupsThatCanEdit", "apiKeysThatCanEdit",
    "stage", "parameters", "allowedHosts",
)


@dataclass
class Extension:
    """A script and its manifest, ready to run."""

    script: Path
    name: str
    id: str | None = None
    description: str = ""
    api_version: str = "v1"
    stage: str = "pre"
    required_data_streams: list[str] = field(default_factory=list)
    use_vault: bool = False
    use_vault_stated: bool = False
    """Whether the manifest says ``useVault`` at all: only an explicit ``false`` empties the vault."""
    parameters: dict[str, str] = field(default_factory=dict)
    allowed_hosts: dict[str, list[str]] = field(default_factory=dict)
    """Vault key -> host patterns its value may be sent to; ``"*"`` is the default for every key."""
    manifest: Path | None = None
    source: str = ""
    """The script's text, byte for byte what gets uploaded to Coveo."""
    code: CodeType | None = None
    """The compiled script, or None when it does not compile (see ``syntax_error``)."""
    syntax_error: SyntaxError | None = None
    static_warnings: list[str] = field(default_factory=list)
    """What differs in Coveo's Python 3.10 and packages, found without running the script
    (imports of packages Coveo lacks, standard-library names 3.10 lacks), each naming its line."""

    @property
    def traceback_name(self) -> str:
        """The file name Coveo gives the script in tracebacks: ``<organization>--<extension part>``.

        An extension id is ``<organization id>-<its own part>``; Coveo's Test API names the
        script after both, joined by two hyphens (``mycoveocloudv2organizationg8tp8wu3--
        vwlyqfbtjkotxqkmrxqjcbcpoy`` in its OpenAPI example).  Without an id (an extension
        never pushed) it is ``extension.py``, the file the user edits.
        """
        if self.id and "-" in self.id:
            organization, _, part = self.id.rpartition("-")
            return f"{organization}--{part}"
        return SCRIPT_NAME

    @property
    def vault_disabled(self) -> bool:
        """The manifest says ``"useVault": false``: Coveo gives the script an empty vault."""
        return self.use_vault_stated and not self.use_vault

    @property
    def folder(self) -> Path:
        return self.script.parent

    @property
    def documents(self) -> list[Path]:
        """The sample documents shipped in the extension's ``documents/`` folder, sorted
        (``*.expected.json`` files are golden results, not documents)."""
        folder = self.folder / "documents"
        return list(document_files(folder)) if folder.is_dir() else []

    def cassette(self, document: str | os.PathLike[str]) -> Path:
        """Where the cassette of ``document`` (a path, or a bare name) lives: ``cassettes/<stem>.yaml``
        in this folder.  Here, not in :mod:`harness.cassette`, so that knowing whether a document has
        one does not import vcrpy."""
        return self.folder / CASSETTE_FOLDER / f"{Path(document).stem}.yaml"

    @property
    def scope_ids(self) -> set[str]:
        """The ids a vault scope may use to reach this extension: its Coveo id, and its name."""
        return {value for value in (self.id, self.name) if value}


def document_files(folder: Path) -> Iterator[Path]:
    """The ``*.json`` documents of a folder, by name, one at a time (a batch's folder may hold
    100,000); ``*.expected.json`` files are golden results, not documents."""
    for name in sorted(entry.name for entry in os.scandir(folder) if entry.name.endswith(".json")):
        file = folder / name
        if not name.endswith(".expected.json") and file.is_file():
            yield file


_CACHE: dict[str, tuple[tuple[int, ...], Extension]] = {}
_GIVEN: dict[tuple[str, str], tuple[str, str]] = {}
"""(cwd, path as given) -> (script, manifest) paths: lets a repeated call skip path resolution."""


def load_extension(path: str | os.PathLike[str] | Extension) -> Extension:
    """Load an extension from its folder or its script path.

    Results are cached per process and reloaded only when the script or the manifest
    changes on disk, so running one extension on thousands of documents compiles it once;
    a repeated call with the same path costs two ``stat`` calls.
    """
    if isinstance(path, Extension):
        return path
    given = (os.getcwd(), os.fspath(path))
    known = _GIVEN.get(given)
    if known is not None:
        stamp = _stamp_of(*known)
        cached = _CACHE.get(known[0])
        if stamp is not None and cached and cached[0] == stamp:
            return cached[1]
    script = _script_path(Path(path))
    manifest = script.parent / MANIFEST_NAME
    stamp = _stamp_of(str(script), str(manifest))
    cached = _CACHE.get(str(script))
    if stamp is not None and cached and cached[0] == stamp:
        _GIVEN[given] = (str(script), str(manifest))
        return cached[1]
    extension = _build(script, manifest if manifest.is_file() else None)
    if stamp is not None:
        _CACHE[str(script)] = (stamp, extension)
        _GIVEN[given] = (str(script), str(manifest))
    return extension


def _script_path(given: Path) -> Path:
    if given.is_dir():
        script = given / SCRIPT_NAME
        if not script.is_file():
            raise HarnessError(f"{given}: no {SCRIPT_NAME} in this extension folder")
    elif given.is_file():
        script = given
    else:
        raise HarnessError(f"{given}: no such extension folder or script")
    return script.resolve()


def _stamp_of(script: str, manifest: str) -> tuple[int, ...] | None:
    """Modification time and size of the script and the manifest (zeros when it has none)."""
    try:
        info = os.stat(script)
    except OSError:
        return None
    try:
        extra = os.stat(manifest)
        manifest_stamp: tuple[int, int] = (extra.st_mtime_ns, extra.st_size)
    except OSError:
        manifest_stamp = (0, 0)
    return (info.st_mtime_ns, info.st_size) + manifest_stamp


def find_extensions(root: str | os.PathLike[str] = "extensions") -> list[Path]:
    """Every extension folder (one holding an ``extension.py``) directly under ``root``, sorted."""
    base = Path(root)
    return sorted(p for p in base.iterdir() if (p / SCRIPT_NAME).is_file()) if base.is_dir() else []


def _build(script: Path, manifest: Path | None) -> Extension:
    extension = Extension(script=script, name=script.parent.name, manifest=manifest)
    if manifest is not None:
        _apply_manifest(extension, load_json_file(manifest, "manifest"), manifest)
    try:
        extension.source = script.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise HarnessError(f"{script}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise HarnessError(f"{script}: cannot read script ({exc.strerror})") from None
    filename = str(script)
    # Keep the source for tracebacks even if the file changes or disappears later.
    linecache.cache[filename] = (
        len(extension.source), None, extension.source.splitlines(True), filename
    )
    try:
        code = compile(extension.source, filename, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        extension.syntax_error = exc if isinstance(exc, SyntaxError) else SyntaxError(str(exc))
        return extension
    extension.syntax_error = syntax_error_310(extension.source, filename)  # 3.11+ syntax fails in Coveo
    if extension.syntax_error is None:
        extension.code = code
        extension.static_warnings = static_warnings(extension.source, script)
    return extension


def _apply_manifest(extension: Extension, data: Any, manifest: Path) -> None:
    def fail(key: str, message: str) -> HarnessError:
        return HarnessError(f"{manifest}: {json_path(key)}: {message}")

    if not isinstance(data, dict):
        raise HarnessError(f"{manifest}: {json_path()}: expected an object (the extension's manifest)")
    for key in data:
        if key not in MANIFEST_KEYS:
            raise fail(key, f"unknown key{closest(key, MANIFEST_KEYS)}")
    for key in ("name", "id", "description"):
        if key in data and not isinstance(data[key], str):
            raise fail(key, "expected a string")
    if data.get("name"):
        extension.name = data["name"]
    extension.id = data.get("id") or None
    extension.description = data.get("description", "")
    version = str(data.get("apiVersion", "v1")).lower()
    if version not in _API_VERSIONS:
        raise fail("apiVersion", f"expected one of {', '.join(_API_VERSIONS)}, found {data['apiVersion']!r}")
    extension.api_version = version
    stage = str(data.get("stage", "pre")).lower()
    if stage not in _STAGES:
        raise fail("stage", f"expected pre or post, found {data['stage']!r}")
    extension.stage = stage
    streams = data.get("requiredDataStreams", [])
    if not isinstance(streams, list) or any(str(s).upper() not in _DATA_STREAMS for s in streams):
        raise fail("requiredDataStreams", f"expected a list of {', '.join(_DATA_STREAMS)}")
    extension.required_data_streams = [str(s).upper() for s in streams]
    if not isinstance(data.get("useVault", False), bool):
        raise fail("useVault", "expected true or false")
    extension.use_vault = data.get("useVault", False)
    extension.use_vault_stated = "useVault" in data
    parameters = data.get("parameters", {})
    if not isinstance(parameters, dict) or any(isinstance(v, (dict, list)) for v in parameters.values()):
        raise fail("parameters", "expected an object of parameter name -> string")
    extension.parameters = {str(k): parameter_text(v) for k, v in parameters.items()}
    hosts = data.get("allowedHosts", {})
    if isinstance(hosts, list):
        hosts = {"*": hosts}
    if not isinstance(hosts, dict) or not all(
        isinstance(v, list) and all(isinstance(h, str) for h in v) for v in hosts.values()
    ):
        raise fail("allowedHosts", "expected a list of host names, or an object of vault key -> list of host names")
    extension.allowed_hosts = {str(k): list(v) for k, v in hosts.items()}


def closest(key: str, valid: tuple[str, ...] | list[str]) -> str:
    """`` (did you mean 'x'?)`` with the valid key closest to ``key`` (any case), or ``''``."""
    lowered = {v.lower(): v for v in valid}
    match = difflib.get_close_matches(key.lower(), list(lowered), n=1, cutoff=0.6)
    return f" (did you mean {lowered[match[0]]!r}?)" if match else f" (expected one of {', '.join(valid)})"
