"""Every output field of an :class:`~harness.result.ExtensionResult`, walked in one place.

Redaction (:meth:`ExtensionResult.redacted`), the leak finder (:func:`harness.leaks.find_leaks`),
the runner's one-pass "does anything mention a secret?" check and the static pass's channel
list (:mod:`harness.taint`) all start from :func:`walk`, so an output field added to the
result cannot be masked by one and forgotten by another.  :data:`COVERAGE` says, for every
field of every class a result is made of, which channel carries it or why it is not output;
a test fails when a class gains a field this table does not name.

Each :class:`OutputField` is one string or byte string a person or a file could see, with:

* ``channel``: where it gets out (:data:`CHANNELS`, the names :class:`~harness.leaks.Leak` uses);
* ``place``: a short description for findings (``log entry 3``, ``metadata name``,
  ``data stream body_text``) - it may hold names the script chose, so callers mask it;
* ``path``: where it sits in the result, so :func:`rebuild` can put a rewritten value back;
* ``blamed``: whether a vault value here is the script's doing.  What came in with the item
  (its metadata, or everything when the script's changes were dropped) is masked, not
  reported;
* ``request``: the 1-based number of the request it belongs to (URL, header, body), whose
  findings follow the network rules (``url``, ``plain_http``, ``host``) rather than the
  channel alone.

Values are read as plain text: a ``str`` subclass is read through ``str.__str__``, never its
own ``__str__``/``__repr__``, so a class that hides its content from ``repr()`` hides nothing
here.  Numbers are read as ``str()`` (a numeric secret stored as a number is still a secret).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from harness.result import ExtensionResult

__all__ = ["CHANNELS", "COVERAGE", "RUNTIME_ONLY", "OutputField", "Step", "rebuild", "walk"]

CHANNELS = (
    "log", "stdout", "stderr", "logging", "exception", "reason", "metadata", "data_stream",
    "permissions", "document_uri", "url", "plain_http", "host", "socket", "file", "source",
)
"""Where a value can get out.  ``request`` fields are judged by the network rules and reported
as ``url`` (a value in a URL), ``plain_http`` (anything sent unencrypted over HTTP),
``socket`` (a raw datagram or a refused DNS lookup) or ``host`` (a value sent to a host its
entry does not allow); ``file`` is a file the harness wrote (cassettes); ``source`` is the
harness's own naming of the run (never the script's doing)."""

RUNTIME_ONLY = {
    "document_uri": "the item's URI comes with the item; a script cannot set it",
    "host": "which host a request goes to is known only when it is sent",
    "source": "the harness's own naming of the run",
}
"""Channels the static pass (:mod:`harness.taint`) cannot have a sink for, and why."""

Step = tuple[str, Any]
"""One step of a path: ``("a", attribute)``, ``("i", index)``, ``("v", dict key)`` for the value
under a key, ``("k", dict key)`` for the key itself."""


class OutputField(NamedTuple):
    """One string (or bytes) of a result that can be seen, and where it is."""

    channel: str
    place: str
    value: str | bytes
    path: tuple[Step, ...]
    blamed: bool = True
    lines: bool = False
    """The place gets the line number of each finding (stdout, stderr, tracebacks)."""
    request: int = 0
    """1-based number of the request this field belongs to; 0 for the others."""


# What every field of the result's classes is: the channel that carries it, or why it is not
# output.  Keys are class names, so this module needs none of them at import.
COVERAGE: dict[str, dict[str, str]] = {
    "ExtensionResult": {
        "status": "not output: one of STATUSES",
        "reason": "exception (a failure) or reason (reject/skip)",
        "logs": "log",
        "document": "metadata, data_stream, permissions, document_uri",
        "duration": "not output: a number",
        "changes": "metadata",
        "stdout": "stdout",
        "stderr": "stderr",
        "warnings": "exception",
        "extension": "source",
        "source": "source",
        "date": "not output: a number",
        "logging": "logging",
        "requests": "url, plain_http, host, socket",
        "leaks": "not output: built from masked places",
        "permissions_before": "permissions",
    },
    "LogEntry": {
        "comment": "log",
        "severity": "log",
        "date": "not output: a number",
        "duration": "not output: a number",
    },
    "LoggingRecord": {"logger": "logging", "level": "logging", "message": "logging"},
    "Change": {"name": "metadata", "before": "metadata", "after": "metadata"},
    "DocumentData": {
        "uri": "document_uri",
        "metadata": "metadata",
        "permissions": "permissions",
        "data_streams": "data_stream",
        "parameters": "not output: the Test API request's parameters, never in a response",
    },
    "StreamData": {"origin": "data_stream", "name": "data_stream", "content": "data_stream"},
    "OutgoingRequest": {
        "method": "url",
        "url": "url",
        "headers": "plain_http, host",
        "body": "plain_http, host",
        "via": "not output: which client sent it",
    },
}


def plain(value: Any) -> str | None:
    """A leaf as the text a reader sees, or None when it cannot hold a value (None, booleans)."""
    if isinstance(value, str):
        return value if type(value) is str else str.__str__(value)
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float.__repr__(value) if isinstance(value, float) else int.__repr__(value)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    return None


def _deep(value: Any, path: tuple[Step, ...], channel: str, place: str, blamed: bool,
          keys_place: str | None = None) -> Iterator[OutputField]:
    """The leaves of a JSON-like value (and the keys of its objects), with their JSON path."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            name = plain(key)
            if name is not None:
                yield OutputField(channel, keys_place or f"{place} key", name, path + (("k", key),), blamed)
            yield from _deep(item, path + (("v", key),), channel, f"{place}.{name}", blamed, keys_place)
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _deep(item, path + (("i", index),), channel, f"{place}[{index}]", blamed, keys_place)
    else:
        text = plain(value)
        if text:
            yield OutputField(channel, place, text, path, blamed)


def walk(result: ExtensionResult, original_permissions: Sequence[Any] | None = None) -> Iterator[OutputField]:
    """Every output field of ``result``, channel by channel, in a stable order.

    ``original_permissions`` (the item's permissions before the script ran) decides whether
    the permissions are the script's doing; without it they are not blamed.
    """
    success = result.status == "SUCCESS"
    for number, entry in enumerate(result.logs):
        where = f"log entry {number + 1}"
        yield OutputField("log", where, plain(entry.comment) or "", (("a", "logs"), ("i", number), ("a", "comment")))
        yield OutputField("log", f"{where} severity", plain(entry.severity) or "",
                          (("a", "logs"), ("i", number), ("a", "severity")))
    if result.stdout:
        yield OutputField("stdout", "stdout ", plain(result.stdout) or "", (("a", "stdout"),), lines=True)
    if result.stderr:
        yield OutputField("stderr", "stderr ", plain(result.stderr) or "", (("a", "stderr"),), lines=True)
    for number, record in enumerate(result.logging):
        base = (("a", "logging"), ("i", number))
        yield OutputField("logging", f"logging record {number + 1} ({record.logger})", plain(record.message) or "",
                          base + (("a", "message"),))
        yield OutputField("logging", f"logging record {number + 1} logger name", plain(record.logger) or "",
                          base + (("a", "logger"),))
        yield OutputField("logging", f"logging record {number + 1} level name", plain(record.level) or "",
                          base + (("a", "level"),))
    if result.reason:
        failed = result.status in ("EXECUTION_ERROR", "TIMEOUT")
        yield OutputField("exception" if failed else "reason", "reason " if failed else f"{result.status.lower()} reason",
                          plain(result.reason) or "", (("a", "reason"),), lines=failed)
    for number, warning in enumerate(result.warnings):
        yield OutputField("exception", "harness warning", plain(warning) or "", (("a", "warnings"), ("i", number)))
    yield OutputField("source", "extension name", plain(result.extension) or "", (("a", "extension"),), blamed=False)
    yield OutputField("source", "document source", plain(result.source) or "", (("a", "source"),), blamed=False)
    for number, change in enumerate(result.changes):
        base = (("a", "changes"), ("i", number))
        name = plain(change.name) or ""
        yield OutputField("metadata", "metadata name", name, base + (("a", "name"),), blamed=success)
        yield from _deep(change.after, base + (("a", "after"),), "metadata", f"metadata {name}", success)
        yield from _deep(change.before, base + (("a", "before"),), "metadata", f"metadata {name} (before)", False)
    yield from _document(result, success, original_permissions)
    if result.permissions_before is not None:  # the item's model before the script changed it
        for number, permission in enumerate(result.permissions_before):
            yield from _deep(permission, (("a", "permissions_before"), ("i", number)), "permissions",
                             f"permissions[{number}] (before)", False)
    for number, request in enumerate(result.requests, 1):
        base = (("a", "requests"), ("i", number - 1))
        yield OutputField("url", "method", plain(request.method) or "", base + (("a", "method"),), request=number)
        yield OutputField("url", "URL", plain(request.url) or "", base + (("a", "url"),), request=number)
        for name, value in request.headers.items():
            at = base + (("a", "headers"),)
            yield OutputField("url", "header name", plain(name) or "", at + (("k", name),), request=number)
            yield OutputField("url", f"header {name}", plain(value) or "", at + (("v", name),), request=number)
        if request.body:
            yield OutputField("url", "body", bytes(request.body), base + (("a", "body"),), request=number)


def _document(result: ExtensionResult, success: bool, original_permissions: Sequence[Any] | None) -> Iterator[OutputField]:
    doc = result.document
    base: tuple[Step, ...] = (("a", "document"),)
    yield OutputField("document_uri", "document URI", plain(doc.uri) or "", base + (("a", "uri"),))
    for number, (origin, values) in enumerate(doc.metadata):
        entry = base + (("a", "metadata"), ("i", number))
        yield OutputField("metadata", "metadata origin", plain(origin) or "", entry + (("i", 0),), blamed=False)
        # The script's own metadata is blamed through result.changes (names and values).
        yield from _deep(values, entry + (("i", 1),), "metadata", "metadata", False, keys_place="metadata name")
    changed = original_permissions is not None and list(doc.permissions) != list(original_permissions)
    for number, permission in enumerate(doc.permissions):
        yield from _deep(permission, base + (("a", "permissions"), ("i", number)), "permissions",
                         f"permissions[{number}]", success and changed)
    for number, stream in enumerate(doc.data_streams):
        at = base + (("a", "data_streams"), ("i", number))
        own = success and stream.origin == result.extension
        yield OutputField("data_stream", "data stream origin", plain(stream.origin) or "", at + (("a", "origin"),),
                          blamed=own)
        yield OutputField("data_stream", "data stream name", plain(stream.name) or "", at + (("a", "name"),),
                          blamed=own)
        if stream.content:
            yield OutputField("data_stream", f"data stream {plain(stream.name)}", bytes(stream.content),
                              at + (("a", "content"),), blamed=own)


# -- putting rewritten values back -----------------------------------------------------------


class _Leaf:
    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


def rebuild(
    result: ExtensionResult,
    text: Callable[[str], str],
    data: Callable[[bytes], bytes],
    fields: Iterator[OutputField] | None = None,
) -> ExtensionResult:
    """A copy of ``result`` where each walked field is rewritten (``text`` for strings, ``data``
    for bytes).  Only what changed is copied; the rest is shared with ``result``."""
    tree: dict[Step, Any] = {}
    for item in walk(result) if fields is None else fields:
        new: Any = data(item.value) if isinstance(item.value, bytes) else text(item.value)
        if new == item.value:
            continue
        node = tree
        for step in item.path[:-1]:
            node = node.setdefault(step, {})
        node[item.path[-1]] = _Leaf(new)
    if not tree:
        return dataclasses.replace(result)
    rebuilt: ExtensionResult = _apply(result, tree)
    return rebuilt


def _apply(value: Any, tree: Any) -> Any:
    if isinstance(tree, _Leaf):
        return tree.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {name: _apply(getattr(value, name), sub) for (kind, name), sub in tree.items() if kind == "a"}
        return dataclasses.replace(value, **changes)
    if isinstance(value, (list, tuple)):
        items = list(value)
        for (_, index), sub in tree.items():
            items[index] = _apply(items[index], sub)
        return tuple(items) if isinstance(value, tuple) else items
    if isinstance(value, Mapping):
        out: dict[Any, Any] = {}
        for key, item in value.items():
            sub = tree.get(("v", key))
            new_key = tree.get(("k", key))
            name = new_key.value if isinstance(new_key, _Leaf) else key
            out[name] = item if sub is None else _apply(item, sub)
        return out
    return value  # pragma: no cover - paths only lead through the containers above
