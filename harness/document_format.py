"""Reading documents in the two formats users give: Coveo's Test API request and the friendly one.

1. Coveo's Test API request as is (``{"document": {...}, "parameters": {...}}``) or its bare
   ``document`` object: metadata as ``[{"origin", "values"}]``, streams as base64
   ``inlineContent`` with a ``compressionType``.  A document copied out of Coveo runs unchanged.
2. The friendly format: ``{"uri", "metadata": {origin: {name: value(s)}}, "dataStreams":
   {name: text | {"file": path} | {"inlineContent", "compressionType"}}, "permissions",
   "parameters"}`` with files relative to the document's folder.

Parsing (:func:`parse_document`) does no I/O except reading ``{"file": ...}`` bodies; every
error names the source and the JSON path that is wrong.

As Coveo takes them: stream keys may be the OpenAPI document's ``BODY_TEXT``, ``BODY_HTML``,
``BODY_MARKDOWN``, ``THUMBNAIL``, ``DOCUMENT_DATA`` as well as the stream names (``body_text``,
``$thumbnail$``, ``documentdata``); stream names and origins are read lower-cased by the script.
A key in another case (``Values``, ``Origin``, ``InlineContent``, as Coveo's own tools write
them) is read as the key it spells; any other unknown key (``metdata``, ``compression``) is an
error naming it and the closest valid key, never silently dropped.  A stream given by ``id`` (an
upload through the Test API's ``/test/datastream``) cannot be fetched locally: it is an error
saying to inline the content.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import lzma
import os
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.document import STREAM_NAMES, DocumentData, StreamData, stream_encoding
from harness.errors import HarnessError, json_path, load_json_file
from harness.extension import closest
from harness.params import parameter_text

__all__ = ["load_document", "parse_document"]

_DECOMPRESS: dict[str, Callable[[bytes], bytes]] = {
    "UNCOMPRESSED": lambda data: data,
    "ZLIB": zlib.decompress,
    "DEFLATE": lambda data: zlib.decompress(data, -15),
    "GZIP": gzip.decompress,
    "LZMA": lzma.decompress,
}

_TEST_API_ORIGIN = "Extension tester"
"""The origin Coveo's Test API documents use for input metadata."""

# The keys each object may hold (the Test API's models, then harness-only ones).
_REQUEST_KEYS = ("document", "parameters", "versionId", "language")
_DOCUMENT_KEYS = ("id", "uri", "metadata", "dataStreams", "permissions", "parameters")
_ENTRY_KEYS = ("origin", "values")
_STREAM_KEYS = ("id", "inlineContent", "compressionType")
_FRIENDLY_KEYS = ("uri", "metadata", "dataStreams", "permissions", "parameters")
_BODY_KEYS = ("file", "text", "inlineContent", "compressionType", "id")
_LEVEL_KEYS = ("name", "permissionSets")
_SET_KEYS = ("name", "anonymousAllowed", "permissions", "allowedPermissions", "deniedPermissions")
_PERMISSION_KEYS = (
    "identity", "identityType", "securityProvider", "allowed", "additionalInfo",
    "lastUpdateDate", "lastUpdateResult", "lastUpdateErrorDetail", "state",
)
#: Other spellings of a key, as Coveo's runner writes its objects (``AllowAnonymous``).
_ALIASES = {"allowanonymous": "anonymousAllowed"}


def stream_name(key: str) -> str:
    """The stream name for a Test API stream key: ``BODY_TEXT`` -> ``body_text``, ``THUMBNAIL``
    -> ``$thumbnail$``...; any other key lower-cased (Coveo's runner lower-cases stream names)."""
    return STREAM_NAMES.get(key.upper(), key.lower())


class _Reader:
    """Validates one document, remembering where it came from for error messages."""

    def __init__(self, source: str, base: Path | None) -> None:
        self.source = source
        self.base = base

    def fail(self, path: tuple[str | int, ...], message: str) -> HarnessError:
        return HarnessError(f"{self.source}: {json_path(*path)}: {message}")

    def keys(self, value: dict[str, Any], valid: tuple[str, ...], path: tuple[str | int, ...]) -> dict[str, Any]:
        """``value`` with its keys spelled as in ``valid`` (any case accepted); an unknown key is
        an error naming it and the closest valid key."""
        out: dict[str, Any] = {}
        lowered = {v.lower(): v for v in valid}
        for key, item in value.items():
            name = key if key in valid else lowered.get(str(key).lower()) or _ALIASES.get(str(key).lower())
            if name is None or name not in valid:
                raise self.fail(path + (key,), f"unknown key{closest(str(key), valid)}")
            if name in out:
                raise self.fail(path + (key,), f"{name!r} is given twice (in two spellings)")
            out[name] = item
        return out

    def expect(self, value: Any, kind: type | tuple[type, ...], path: tuple[str | int, ...], what: str) -> Any:
        if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
            raise self.fail(path, f"expected {what}, found {_json_type(value)}")
        return value

    # -- shared pieces ------------------------------------------------------------------
    def parameters(self, value: Any, path: tuple[str | int, ...]) -> dict[str, str]:
        if value is None:
            return {}
        self.expect(value, dict, path, "an object of parameter name -> string")
        out = {}
        for name, item in value.items():
            if isinstance(item, (dict, list)):
                raise self.fail(path + (name,), f"expected a string, found {_json_type(item)}")
            out[str(name)] = _param_str(item)
        return out

    def values(self, value: Any, path: tuple[str | int, ...]) -> list[Any]:
        if isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, (dict, list)):
                    raise self.fail(path + (i,), f"expected a string or number, found {_json_type(item)}")
            return ["" if v is None else v for v in value]
        if isinstance(value, dict):
            raise self.fail(path, "expected a value or a list of values, found an object")
        return ["" if value is None else value]

    def permissions(self, value: Any, path: tuple[str | int, ...]) -> tuple[dict[str, Any], ...]:
        if value is None:
            return ()
        self.expect(value, list, path, "a list of permission levels")
        levels = []
        for i, given in enumerate(value):
            level = self.keys(self.expect(given, dict, path + (i,), "a permission level object"), _LEVEL_KEYS, path + (i,))
            sets = level.get("permissionSets", [])
            self.expect(sets, list, path + (i, "permissionSets"), "a list of permission sets")
            out_sets = []
            for j, given_set in enumerate(sets):
                here = path + (i, "permissionSets", j)
                pset = self.keys(self.expect(given_set, dict, here, "a permission set object"), _SET_KEYS, here)
                perms = []
                # Coveo's runner writes allowed and denied identities as two lists: read both forms
                for key, allowed in (("permissions", None), ("allowedPermissions", True), ("deniedPermissions", False)):
                    where = here + (key,)
                    for k, given_perm in enumerate(self.expect(pset.pop(key, []), list, where, "a list of permissions")):
                        perm = self.keys(self.expect(given_perm, dict, where + (k,), "a permission object"),
                                         _PERMISSION_KEYS, where + (k,))
                        self.expect(perm.get("identity"), str, where + (k, "identity"), "a string")
                        if allowed is not None:
                            perm["allowed"] = allowed
                        perms.append(perm)
                out_sets.append({**pset, "permissions": perms})
            levels.append({**level, "permissionSets": out_sets})
        return tuple(levels)

    def inline(self, value: dict[str, Any], path: tuple[str | int, ...]) -> bytes:
        if "id" in value:
            raise self.fail(
                path + ("id",),
                "a stream given by id (uploaded through Coveo's /test/datastream) cannot be fetched locally: "
                "give its content inline instead (\"inlineContent\": base64, or in the friendly format "
                "text or {\"file\": path})",
            )
        content = self.expect(value.get("inlineContent", ""), str, path + ("inlineContent",), "base64 text")
        compression = value.get("compressionType", "UNCOMPRESSED")
        decompress = _DECOMPRESS.get(str(compression).upper())
        if decompress is None:
            raise self.fail(
                path + ("compressionType",),
                f"unknown compression {compression!r} (expected one of {', '.join(_DECOMPRESS)})",
            )
        try:
            raw = base64.b64decode(content, validate=True)
        except (binascii.Error, ValueError):
            raise self.fail(path + ("inlineContent",), "not valid base64") from None
        try:
            return decompress(raw)
        except (zlib.error, OSError, EOFError, lzma.LZMAError):
            raise self.fail(path + ("inlineContent",), f"not valid {str(compression).upper()} data") from None

    # -- Test API format ----------------------------------------------------------------
    def test_api(self, doc: dict[str, Any], parameters: dict[str, str], path: tuple[str | int, ...]) -> DocumentData:
        doc = self.keys(doc, _DOCUMENT_KEYS, path)
        uri = doc.get("id", doc.get("uri", ""))
        self.expect(uri, str, path + ("id",), "the document's URI as a string")
        metadata = []
        entries = self.expect(doc.get("metadata", []), list, path + ("metadata",), "a list of {origin, values}")
        for i, entry in enumerate(entries):
            where = path + ("metadata", i)
            entry = self.keys(self.expect(entry, dict, where, "an object with origin and values"), _ENTRY_KEYS, where)
            origin = self.expect(entry.get("origin", _TEST_API_ORIGIN), str, where + ("origin",), "a string")
            values = self.expect(entry.get("values", {}), dict, where + ("values",), "an object of name -> values")
            metadata.append(
                (origin, {str(k).lower(): self.values(v, where + ("values", k)) for k, v in values.items()})
            )
        streams = []
        entries = self.expect(doc.get("dataStreams", []), list, path + ("dataStreams",), "a list of {origin, values}")
        for i, entry in enumerate(entries):
            where = path + ("dataStreams", i)
            entry = self.keys(self.expect(entry, dict, where, "an object with origin and values"), _ENTRY_KEYS, where)
            origin = self.expect(entry.get("origin", _TEST_API_ORIGIN), str, where + ("origin",), "a string")
            values = self.expect(entry.get("values", {}), dict, where + ("values",), "an object of stream name -> content")
            for name, body in values.items():
                here = where + ("values", name)
                body = self.keys(self.expect(body, dict, here, "an object with inlineContent"), _STREAM_KEYS, here)
                streams.append(StreamData(origin, stream_name(str(name)), self.inline(body, here)))
        permissions = self.permissions(doc.get("permissions"), path + ("permissions",))
        return DocumentData(uri, tuple(metadata), permissions, tuple(streams), parameters)

    # -- friendly format ----------------------------------------------------------------
    def friendly(self, doc: dict[str, Any]) -> DocumentData:
        doc = self.keys(doc, _FRIENDLY_KEYS, ())
        uri = self.expect(doc.get("uri", ""), str, ("uri",), "the document's URI as a string")
        metadata = []
        origins = self.expect(doc.get("metadata", {}), dict, ("metadata",), "an object of origin -> {name: value(s)}")
        for origin, values in origins.items():
            self.expect(values, dict, ("metadata", origin), "an object of name -> value(s)")
            metadata.append(
                (str(origin), {str(k).lower(): self.values(v, ("metadata", origin, k)) for k, v in values.items()})
            )
        streams = []
        bodies = self.expect(doc.get("dataStreams", {}), dict, ("dataStreams",), "an object of stream name -> content")
        for name, body in bodies.items():
            streams.append(StreamData("crawler", stream_name(str(name)), self.body(stream_name(str(name)), body, ("dataStreams", name))))
        permissions = self.permissions(doc.get("permissions"), ("permissions",))
        return DocumentData(uri, tuple(metadata), permissions, tuple(streams), self.parameters(doc.get("parameters"), ("parameters",)))

    def body(self, name: str, body: Any, path: tuple[str | int, ...]) -> bytes:
        if isinstance(body, str):
            return body.encode(stream_encoding(name))
        body = self.keys(self.expect(body, dict, path, 'text, {"file": path} or {"inlineContent": base64}'), _BODY_KEYS, path)
        if "inlineContent" in body or "id" in body:
            inline: bytes = self.inline(body, path)
            return inline
        if "text" in body:
            text: str = self.expect(body["text"], str, path + ("text",), "a string")
            return text.encode(stream_encoding(name))
        file = self.expect(body.get("file"), str, path + ("file",), "a file path relative to the document")
        target: Path = (self.base or Path.cwd()) / file
        try:
            return target.read_bytes()
        except OSError as exc:
            raise self.fail(path + ("file",), f"cannot read {target} ({exc.strerror or exc})") from None


def parse_document(data: Any, source: str = "<document>", base: Path | None = None) -> DocumentData:
    """Turn a parsed JSON document, in either format, into :class:`DocumentData`.

    ``source`` names the document in error messages; ``base`` is the folder that
    ``{"file": ...}`` bodies are relative to.
    """
    reader = _Reader(source, base)
    if not isinstance(data, dict):
        raise reader.fail((), f"expected a document object, found {_json_type(data)}")
    if "document" in data or "Document" in data:
        data = reader.keys(data, _REQUEST_KEYS, ())
        doc = reader.expect(data["document"], dict, ("document",), "the Test API document object")
        return reader.test_api(doc, reader.parameters(data.get("parameters"), ("parameters",)), ("document",))
    lowered = {str(k).lower(): v for k, v in data.items()}
    if isinstance(lowered.get("metadata"), list) or isinstance(lowered.get("datastreams"), list) or "id" in lowered:
        return reader.test_api(data, reader.parameters(data.get("parameters"), ("parameters",)), ())
    if any(key in lowered for key in ("uri", "metadata", "datastreams", "permissions")):
        return reader.friendly(data)
    raise reader.fail(
        (),
        "not a Coveo document: expected a Test API request ({\"document\": ...}), a Test API document "
        "({\"id\", \"metadata\": [...]}) or the friendly format ({\"uri\", \"metadata\": {...}})",
    )


def load_document(path: str | os.PathLike[str]) -> DocumentData:
    """Read a document file; errors name the file and the JSON path."""
    path = Path(path)
    return parse_document(load_json_file(path, "document"), str(path), path.parent)


def _param_str(value: Any) -> str:
    return parameter_text(value)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
