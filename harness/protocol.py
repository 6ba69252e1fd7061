"""The messages a script's child process sends its parent: small, typed, JSON, never pickle.

The child runs an untrusted script, so everything it sends is untrusted data.  Unpickling it
would let the script run code in the trusted parent (a pickle is a program), so the child
sends JSON instead, bytes as base64, and the parent checks every field's type before it
builds a single object from it.  A message that is not what this module describes is a
:class:`ProtocolError` naming the field, which the parent reports as the document's
``EXECUTION_ERROR``.

Framing: an 8-byte header (``b"IPE1"`` and the payload's length, big-endian ``uint32``) then
the UTF-8 JSON payload.  A payload over :data:`MAX_MESSAGE` bytes is refused before it is read.

Messages (the payload's ``"type"``):

* ``"result"``: the run's raw :class:`~harness.result.ExtensionResult` (``"result"``), the vault
  entries the run added (``"minted"``: ``[key, value]`` pairs, canaries minted on first read),
  and the HTTP interactions a cassette recorded (``"interactions"``, see
  :func:`harness.cassette.export_recorded`);
* ``"error"``: the harness's own code failed in the child (``"message"``: an exception's type and
  harness line, never a value).
"""

from __future__ import annotations

import base64
import binascii
import json
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from harness.document import DocumentData, StreamData
from harness.outbound import OutgoingRequest
from harness.result import Change, ExtensionResult, LogEntry, LoggingRecord

__all__ = [
    "HEADER",
    "MAX_MESSAGE",
    "ChildMessage",
    "ProtocolError",
    "decode_message",
    "encode_error",
    "encode_result",
    "frame_length",
]

MAGIC = b"IPE1"
HEADER = struct.Struct("!4sI")
MAX_MESSAGE = 512 * 1024 * 1024
"""The largest payload the parent reads (512 MiB): Coveo's items are capped far below that
(50 MB of body text, 10 MB of HTML), base64 adds a third, and a runaway child must not make
the parent allocate without bound."""

_T = TypeVar("_T")


class ProtocolError(Exception):
    """A message from a child that is not what this protocol describes (the text names the field)."""


@dataclass
class ChildMessage:
    """What the parent got from a child, once checked."""

    result: ExtensionResult | None = None
    minted: list[tuple[str, str]] = field(default_factory=list)
    interactions: list[Any] = field(default_factory=list)
    error: str | None = None


# -- child side: encoding -------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _tagged(value: Any) -> Any:
    """A JSON-able copy of ``value`` where bytes become ``{"$bytes": base64}``."""
    if isinstance(value, (bytes, bytearray)):
        return {"$bytes": _b64(bytes(value))}
    if isinstance(value, dict):
        return {str(k): _tagged(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_tagged(v) for v in value]
    return value


def _jsonable(value: Any) -> Any:
    """Metadata and permission values as JSON carries them (what ``to_json`` would print anyway)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    return str(value)


def _frame(payload: dict[str, Any]) -> bytes:
    body = json.dumps(payload, separators=(",", ":")).encode("ascii")
    return HEADER.pack(MAGIC, len(body)) + body


def encode_result(
    result: ExtensionResult, minted: list[tuple[str, str]], interactions: list[Any]
) -> bytes:
    """The framed ``result`` message of one run (bytes ready to write to the parent's pipe)."""
    doc = result.document
    return _frame({
        "type": "result",
        "result": {
            "status": result.status,
            "reason": result.reason,
            "logs": [[e.comment, e.severity, e.date, e.duration] for e in result.logs],
            "document": {
                "uri": doc.uri,
                "metadata": [[origin, _jsonable(values)] for origin, values in doc.metadata],
                "permissions": _jsonable(list(doc.permissions)),
                "data_streams": [[s.origin, s.name, _b64(s.content)] for s in doc.data_streams],
                "parameters": {str(k): str(v) for k, v in doc.parameters.items()},
            },
            "duration": result.duration,
            "changes": [[c.name, _jsonable(c.before), _jsonable(c.after)] for c in result.changes],
            "stdout": result.stdout,
            "stderr": result.stderr,
            "warnings": list(result.warnings),
            "extension": result.extension,
            "source": result.source,
            "date": result.date,
            "logging": [[r.logger, r.level, r.message] for r in result.logging],
            "requests": [[r.method, r.url, r.headers, _b64(r.body), r.via] for r in result.requests],
            "permissions_before": (
                None if result.permissions_before is None else _jsonable(list(result.permissions_before))
            ),
        },
        "minted": [[k, v] for k, v in minted],
        "interactions": _tagged(interactions),
    })


def encode_error(message: str) -> bytes:
    """The framed ``error`` message: the harness's own code failed in the child."""
    return _frame({"type": "error", "message": message})


# -- parent side: decoding and checking -----------------------------------------------------------


def frame_length(header: bytes) -> int:
    """The payload length a header announces; a ProtocolError for a bad or oversized header."""
    magic, length = HEADER.unpack(header)
    if magic != MAGIC:
        raise ProtocolError("the message does not start with the protocol's header")
    if length > MAX_MESSAGE:
        raise ProtocolError(f"the message is {length:,} bytes, over the limit of {MAX_MESSAGE:,}")
    return int(length)


class _Reader:
    """Typed access to a decoded JSON value; every failure names the path of the bad field."""

    def __init__(self, value: Any, path: str) -> None:
        self.value = value
        self.path = path

    def fail(self, what: str) -> ProtocolError:
        return ProtocolError(f"{self.path}: expected {what}, got {type(self.value).__name__}")

    def of(self, kind: type[_T], what: str) -> _T:
        if not isinstance(self.value, kind) or (kind is not bool and isinstance(self.value, bool)):
            raise self.fail(what)
        return self.value

    def text(self) -> str:
        return self.of(str, "a string")

    def number(self) -> float:
        if isinstance(self.value, bool) or not isinstance(self.value, (int, float)):
            raise self.fail("a number")
        return float(self.value)

    def blob(self) -> bytes:
        try:
            return base64.b64decode(self.text(), validate=True)
        except (binascii.Error, ValueError):
            raise ProtocolError(f"{self.path}: not valid base64") from None

    def key(self, name: str) -> _Reader:
        mapping = self.of(dict, "an object")
        if name not in mapping:
            raise ProtocolError(f"{self.path}: missing {name!r}")
        return _Reader(mapping[name], f"{self.path}.{name}")

    def items(self) -> list[_Reader]:
        return [_Reader(v, f"{self.path}[{i}]") for i, v in enumerate(self.of(list, "a list"))]

    def fixed(self, size: int) -> list[_Reader]:
        items = self.items()
        if len(items) != size:
            raise ProtocolError(f"{self.path}: expected {size} items, got {len(items)}")
        return items

    def strings(self) -> dict[str, str]:
        return {k: _Reader(v, f"{self.path}.{k}").text() for k, v in self.of(dict, "an object").items()}

    def json(self) -> Any:
        """Any JSON value (metadata, permissions); already only JSON types once parsed."""
        return self.value


def _list_of(reader: _Reader, build: Callable[[_Reader], _T]) -> list[_T]:
    return [build(item) for item in reader.items()]


def _log(r: _Reader) -> LogEntry:
    comment, severity, date, duration = r.fixed(4)
    return LogEntry(comment.text(), severity.text(), date.number(), duration.number())


def _change(r: _Reader) -> Change:
    name, before, after = r.fixed(3)
    return Change(name.text(), before.of(list, "a list"), after.of(list, "a list"))


def _record(r: _Reader) -> LoggingRecord:
    logger, level, message = r.fixed(3)
    return LoggingRecord(logger.text(), level.text(), message.text())


def _request(r: _Reader) -> OutgoingRequest:
    method, url, headers, body, via = r.fixed(5)
    return OutgoingRequest(method.text(), url.text(), headers.strings(), body.blob(), via.text())


def _metadata(r: _Reader) -> tuple[str, dict[str, list[Any]]]:
    origin, values = r.fixed(2)
    checked = {}
    for name, item in values.of(dict, "an object").items():
        checked[name] = _Reader(item, f"{values.path}.{name}").of(list, "a list")
    return origin.text(), checked


def _stream(r: _Reader) -> StreamData:
    origin, name, content = r.fixed(3)
    return StreamData(origin.text(), name.text(), content.blob())


def _document(r: _Reader) -> DocumentData:
    return DocumentData(
        uri=r.key("uri").text(),
        metadata=tuple(_list_of(r.key("metadata"), _metadata)),
        permissions=tuple(p.of(dict, "an object") for p in r.key("permissions").items()),
        data_streams=tuple(_list_of(r.key("data_streams"), _stream)),
        parameters=r.key("parameters").strings(),
    )


def _result(r: _Reader) -> ExtensionResult:
    status = r.key("status").text()
    if status not in ("SUCCESS", "REJECTED", "SKIPPED", "EXECUTION_ERROR", "TIMEOUT"):
        raise ProtocolError(f"{r.path}.status: not a status: {status[:40]!r}")
    return ExtensionResult(
        status=status,
        reason=r.key("reason").text(),
        logs=_list_of(r.key("logs"), _log),
        document=_document(r.key("document")),
        duration=r.key("duration").number(),
        changes=_list_of(r.key("changes"), _change),
        stdout=r.key("stdout").text(),
        stderr=r.key("stderr").text(),
        warnings=[w.text() for w in r.key("warnings").items()],
        extension=r.key("extension").text(),
        source=r.key("source").text(),
        date=r.key("date").number(),
        logging=_list_of(r.key("logging"), _record),
        requests=_list_of(r.key("requests"), _request),
        permissions_before=_permissions_before(r.key("permissions_before")),
    )


def _permissions_before(r: _Reader) -> tuple[dict[str, Any], ...] | None:
    if r.value is None:
        return None
    return tuple(p.of(dict, "an object") for p in r.items())


def _untagged(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"$bytes"} and isinstance(value["$bytes"], str):
            return _Reader(value["$bytes"], "interactions").blob()
        return {k: _untagged(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_untagged(v) for v in value]
    return value


def decode_message(payload: bytes) -> ChildMessage:
    """Check and decode one payload (the bytes after the header)."""
    try:
        return _decode(payload)
    except RecursionError:  # "[[[[..." a hundred thousand deep: refused, never a crash of the parent
        raise ProtocolError("the message is nested too deeply") from None


def _decode(payload: bytes) -> ChildMessage:
    try:
        value = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ProtocolError(f"the message is not JSON ({type(exc).__name__})") from None
    root = _Reader(value, "message")
    kind = root.key("type").text()
    if kind == "error":
        return ChildMessage(error=root.key("message").text())
    if kind != "result":
        raise ProtocolError(f"message.type: unknown message type {kind[:40]!r}")
    minted = [(k.text(), v.text()) for k, v in (pair.fixed(2) for pair in root.key("minted").items())]
    return ChildMessage(
        result=_result(root.key("result")),
        minted=minted,
        interactions=_untagged(root.key("interactions").of(list, "a list")),
    )
