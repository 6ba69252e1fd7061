"""Reading documents in the two formats users give: Coveo's Test API request and the friendly one.

1. Coveo's Test API request as is (``{"document": {...}, "parameters": {...}}``) or its bare
   ``document`` object: metadata as ``[{"origin", "values"}]``, streams as base64
   ``inlineContent`` with a ``compressionType``.  A document copied out of Coveo runs unchanged.
2. The friendly format: ``{"uri", "metadata": {origin: {name: value(s)}}, "dataStreams":
   {name: text | {"file": path} | {"inlineContent", "compressionType"}}, "permissions",
   "parameters"}`` with files relative to the document's folder.

Parsing (:func:`parse_document`) does no I/O except reading ``{"file": ...}`` bodies; every
error names the source and the JSON path that is wrong.
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

from harness.document import DocumentData, StreamData, stream_encoding
from harness.errors import HarnessError, json_path, load_json_file
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


class _Reader:
    """Validates one document, remembering where it came from for error messages."""

    def __init__(self, source: str, base: Path | None) -> None:
        self.source = source
        self.base = base

    def fail(self, path: tuple[str | int, ...], message: str) -> HarnessError:
        return HarnessError(f"{self.source}: {json_path(*path)}: {message}")

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
        for i, level in enumerate(value):
            self.expect(level, dict, path + (i,), "a permission level object")
            sets = level.get("permissionSets", [])
            self.expect(sets, list, path + (i, "permissionSets"), "a list of permission sets")
            for j, pset in enumerate(sets):
                self.expect(pset, dict, path + (i, "permissionSets", j), "a permission set object")
                perms = pset.get("permissions", [])
                where = path + (i, "permissionSets", j, "permissions")
                self.expect(perms, list, where, "a list of permissions")
                for k, perm in enumerate(perms):
                    self.expect(perm, dict, where + (k,), "a permission object")
                    self.expect(perm.get("identity"), str, where + (k, "identity"), "a string")
        return tuple(value)

    def inline(self, value: dict[str, Any], path: tuple[str | int, ...]) -> bytes:
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
        uri = doc.get("id", doc.get("uri", ""))
        self.expect(uri, str, path + ("id",), "the document's URI as a string")
        metadata = []
        entries = self.expect(doc.get("metadata", []), list, path + ("metadata",), "a list of {origin, values}")
        for i, entry in enumerate(entries):
            where = path + ("metadata", i)
            self.expect(entry, dict, where, "an object with origin and values")
            origin = self.expect(entry.get("origin", _TEST_API_ORIGIN), str, where + ("origin",), "a string")
            values = self.expect(entry.get("values", {}), dict, where + ("values",), "an object of name -> values")
            metadata.append(
                (origin, {str(k).lower(): self.values(v, where + ("values", k)) for k, v in values.items()})
            )
        streams = []
        entries = self.expect(doc.get("dataStreams", []), list, path + ("dataStreams",), "a list of {origin, values}")
        for i, entry in enumerate(entries):
            where = path + ("dataStreams", i)
            self.expect(entry, dict, where, "an object with origin and values")
            origin = self.expect(entry.get("origin", _TEST_API_ORIGIN), str, where + ("origin",), "a string")
            values = self.expect(entry.get("values", {}), dict, where + ("values",), "an object of stream name -> content")
            for name, body in values.items():
                self.expect(body, dict, where + ("values", name), "an object with inlineContent")
                streams.append(StreamData(origin, str(name), self.inline(body, where + ("values", name))))
        permissions = self.permissions(doc.get("permissions"), path + ("permissions",))
        return DocumentData(uri, tuple(metadata), permissions, tuple(streams), parameters)

    # -- friendly format ----------------------------------------------------------------
    def friendly(self, doc: dict[str, Any]) -> DocumentData:
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
            streams.append(StreamData("crawler", str(name), self.body(str(name), body, ("dataStreams", name))))
        permissions = self.permissions(doc.get("permissions"), ("permissions",))
        return DocumentData(uri, tuple(metadata), permissions, tuple(streams), self.parameters(doc.get("parameters"), ("parameters",)))

    def body(self, name: str, body: Any, path: tuple[str | int, ...]) -> bytes:
        if isinstance(body, str):
            return body.encode(stream_encoding(name))
        self.expect(body, dict, path, 'text, {"file": path} or {"inlineContent": base64}')
        if "inlineContent" in body:
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
    if "document" in data:
        doc = reader.expect(data["document"], dict, ("document",), "the Test API document object")
        return reader.test_api(doc, reader.parameters(data.get("parameters"), ("parameters",)), ("document",))
    if isinstance(data.get("metadata"), list) or isinstance(data.get("dataStreams"), list) or "id" in data:
        return reader.test_api(data, reader.parameters(data.get("parameters"), ("parameters",)), ())
    if any(key in data for key in ("uri", "metadata", "dataStreams", "permissions")):
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
