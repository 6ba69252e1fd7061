"""Leak detection: every place a run let a vault value out, found before anything is redacted.

A :class:`Leak` names the key, the channel, the alias family (``plain``, ``base64``, ``url``,
``json`` ...) and the place (log entry N, line N of stdout, metadata name, URL part ...) -
never the value.  The detector uses the redactor's own alias engine, so what is found and
what is masked can never disagree.

Channels:

* ``log``, ``stdout``, ``stderr``, ``logging`` (records of Python's ``logging`` module),
  ``exception`` (the reason and traceback of a failed run), ``reason`` (a reject/skip reason);
* ``metadata``, ``data_stream``, ``permissions``: what the script wrote into the item (only on
  SUCCESS: Coveo drops the changes of a failed, rejected or skipped item);
* ``url``: a value in the path, query or fragment of a request (server and proxy logs keep it);
* ``plain_http``: a value anywhere in a request sent over ``http://``;
* ``host``: a value sent to a host its entry does not allow (``allowedHosts``);
* ``file``: a value in a file the harness wrote (cassettes).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from harness.errors import json_path

if TYPE_CHECKING:
    from harness.outbound import OutgoingRequest
    from harness.redaction import Redactor
    from harness.result import ExtensionResult

__all__ = ["CHANNELS", "Leak", "find_leaks", "host_allowed", "leaks_in_text"]

CHANNELS = (
    "log", "stdout", "stderr", "logging", "exception", "reason", "metadata", "data_stream",
    "permissions", "url", "plain_http", "host", "file",
)


@dataclass(frozen=True)
class Leak:
    """One vault value seen where it can get out."""

    key: str
    channel: str
    alias: str
    place: str

    def to_json(self) -> dict[str, str]:
        return {"key": self.key, "channel": self.channel, "alias": self.alias, "place": self.place}

    def __str__(self) -> str:
        return f"{self.key}: {self.channel} ({self.alias}) at {self.place}"


def leaks_in_text(
    redactor: Redactor, text: str, channel: str, place: str, *, lines: bool = False
) -> list[Leak]:
    """Leaks of ``text``; with ``lines`` the place gets the line number of each match."""
    if not text:
        return []
    found = []
    line, counted = 1, 0  # lines counted incrementally: linear in the text, however many matches
    for match in sorted(redactor.find(text), key=lambda m: m.start) if lines else redactor.find(text):
        if lines:
            line += text.count("\n", counted, match.start)
            counted = match.start
        found.append(Leak(match.key, channel, match.alias, f"{place}line {line}" if lines else place))
    return found


def host_allowed(host: str, patterns: Iterable[str]) -> bool:
    """``host`` matches one of ``patterns`` (exact names, or ``*.example.com`` wildcards)."""
    host = host.lower().rstrip(".")
    return any(fnmatch.fnmatchcase(host, p.lower().rstrip(".")) for p in patterns)


def _url_part(url: str, start: int) -> str:
    """Which part of ``url`` the offset falls in: user info or host, path, query or fragment."""
    parts = urlsplit(url)
    path_at = (len(parts.scheme) + 3 if "://" in url else 0) + len(parts.netloc)
    fragment_at = url.find("#", path_at)
    query_at = url.find("?", path_at)
    if fragment_at >= 0 and start >= fragment_at:
        return "fragment"
    if query_at >= 0 and start >= query_at:
        return "query"
    if start >= path_at:
        return "path"
    return "user info or host"


def _request_leaks(
    redactor: Redactor,
    request: OutgoingRequest,
    number: int,
    allowed: Mapping[str, Sequence[str]],
) -> list[Leak]:
    shown = f"request {number} ({request.method} {redactor.redact(request.url)})"
    in_url = redactor.find(request.url)
    found = [
        Leak(match.key, "url", match.alias, f"{_url_part(request.url, match.start)} of {shown}") for match in in_url
    ]
    sent: list[tuple[str, list[Any]]] = [("URL", in_url)]
    for name, value in request.headers.items():
        sent.append((f"header {name}", redactor.find(value)))
    if request.body:
        sent.append(("body", redactor.find_bytes(request.body)))
    plain = request.scheme == "http"
    for part, matches in sent:
        for match in matches:
            if plain:
                found.append(Leak(match.key, "plain_http", match.alias, f"{part} of {shown}"))
            hosts = allowed.get(match.key)
            if hosts is not None and not host_allowed(request.host, hosts):
                found.append(Leak(match.key, "host", match.alias, f"{part} of {shown}: host not in allowedHosts"))
    return found


def _deep_strings(value: Any, path: tuple[str | int, ...]) -> Iterable[tuple[tuple[str | int, ...], str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield path + (str(key),), str(key)
            yield from _deep_strings(item, path + (str(key),))
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _deep_strings(item, path + (index,))
    elif value is not None:
        yield path, str(value)


def find_leaks(
    result: ExtensionResult,
    redactor: Redactor,
    allowed_hosts: Mapping[str, Sequence[str]] | None = None,
    original_permissions: Sequence[Any] = (),
) -> list[Leak]:
    """Every leak of one *unredacted* run, in discovery order, without duplicates.

    ``allowed_hosts`` maps a key to the host patterns it may be sent to (keys absent are not
    restricted); ``original_permissions`` are the item's permissions before the script ran, so
    that only what the script wrote is blamed on it.
    """
    if not redactor:
        return []
    found: list[Leak] = []
    for number, entry in enumerate(result.logs, 1):
        found += leaks_in_text(redactor, entry.comment, "log", f"log entry {number}")
    found += leaks_in_text(redactor, result.stdout, "stdout", "stdout ", lines=True)
    found += leaks_in_text(redactor, result.stderr, "stderr", "stderr ", lines=True)
    for number, record in enumerate(result.logging, 1):
        found += leaks_in_text(redactor, record.message, "logging", f"logging record {number} ({record.logger})")
    if result.status in ("EXECUTION_ERROR", "TIMEOUT"):
        found += leaks_in_text(redactor, result.reason, "exception", "reason ", lines=True)
    elif result.reason:
        found += leaks_in_text(redactor, result.reason, "reason", f"{result.status.lower()} reason")
    for warning in result.warnings:
        found += leaks_in_text(redactor, warning, "exception", "harness warning")
    if result.status == "SUCCESS":
        for change in result.changes:
            for path, text in _deep_strings(change.after, ()):
                found += leaks_in_text(redactor, text, "metadata", f"metadata {change.name}{json_path(*path)[1:]}")
        for stream in result.document.data_streams:
            if stream.origin == result.extension:
                for match in redactor.find_bytes(stream.content):
                    found.append(Leak(match.key, "data_stream", match.alias, f"data stream {stream.name}"))
        if list(result.document.permissions) != list(original_permissions):
            for path, text in _deep_strings(list(result.document.permissions), ()):
                found += leaks_in_text(redactor, text, "permissions", f"permissions{json_path(*path)[1:]}")
    for number, request in enumerate(result.requests, 1):
        found += _request_leaks(redactor, request, number, allowed_hosts or {})
    # A place is built from names the script chose (metadata names, header names, URLs): mask it too.
    unique = dict.fromkeys(Leak(f.key, f.channel, f.alias, redactor.redact(f.place)) for f in found)
    return list(unique)  # discovery order: channel by channel, place by place
