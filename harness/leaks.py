"""Leak detection: every place a run let a vault value out, found before anything is redacted.

A :class:`Leak` names the key, the channel, the alias family (``plain``, ``base64``, ``url``,
``json`` ...) and the place (log entry N, line N of stdout, metadata name, URL part ...) -
never the value.  The detector uses the redactor's own alias engine, so what is found and
what is masked can never disagree.

Channels:

* ``log``, ``stdout``, ``stderr``, ``logging`` (records of Python's ``logging`` module),
  ``exception`` (the reason and traceback of a failed run), ``reason`` (a reject/skip reason);
* ``metadata``, ``data_stream``, ``permissions``: what the script wrote into the item, names
  included (only on SUCCESS: Coveo drops the changes of a failed, rejected or skipped item);
  data stream content is searched decoded (UTF-16) and inflated (gzip, zlib) too;
* ``document_uri``: a value in the item's URI;
* ``url``: a value in the path, query or fragment of a request (server and proxy logs keep it);
* ``plain_http``: a value anywhere in a request sent over ``http://``;
* ``host``: a value sent to a host its entry does not allow (``allowedHosts``);
* ``socket``: a value in a UDP datagram or in a DNS name the network guard refused;
* ``file``: a value in a file the harness wrote (cassettes).

Which field of a result goes to which channel is :mod:`harness.fields`' business: the finder
walks the same fields redaction rewrites.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from harness import content
from harness.fields import CHANNELS, OutputField, walk

if TYPE_CHECKING:
    from harness.outbound import OutgoingRequest
    from harness.redaction import Redactor
    from harness.result import ExtensionResult

__all__ = ["CHANNELS", "Leak", "find_leaks", "host_allowed", "leaks_in_text"]

RAW_SCHEMES = ("udp", "dns")
"""Requests that are not HTTP: a datagram sent with ``sendto``, a lookup the guard refused."""


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
    """Leaks of ``text``; with ``lines`` the place gets the line number of each match.

    Matches come sorted by offset, so line numbers are counted once across the text: finding
    where every leak is stays linear in the text's size, however many leaks it holds.
    """
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
    fields: list[OutputField],
    allowed: Mapping[str, Sequence[str]],
) -> list[Leak]:
    """Findings of one request's fields: a value in its URL, anything sent unencrypted (plain
    HTTP, a raw datagram, a DNS name), anything sent to a host its entry does not allow."""
    shown = f"request {number} ({request.method} {redactor.redact(request.url)})"
    scheme = request.scheme
    raw_channel = "plain_http" if scheme == "http" else "socket" if scheme in RAW_SCHEMES else None
    found: list[Leak] = []
    for item in fields:
        if isinstance(item.value, bytes):
            matches = content.find(redactor, item.value)
        else:
            matches = redactor.find(item.value)
        part = item.place
        for match in matches:
            if item.place == "URL":
                part = _url_part(request.url, match.start)
                found.append(Leak(match.key, "url", match.alias, f"{part} of {shown}"))
                part = "URL"
            elif item.place in ("method", "header name"):
                found.append(Leak(match.key, "url", match.alias, f"{part} of {shown}"))
            if raw_channel is not None:
                found.append(Leak(match.key, raw_channel, match.alias, f"{part} of {shown}"))
            hosts = allowed.get(match.key)
            if hosts is not None and not host_allowed(request.host, hosts):
                found.append(Leak(match.key, "host", match.alias, f"{part} of {shown}: host not in allowedHosts"))
    return found


def find_leaks(
    result: ExtensionResult,
    redactor: Redactor,
    allowed_hosts: Mapping[str, Sequence[str]] | None = None,
    original_permissions: Sequence[Any] = (),
) -> list[Leak]:
    """Every leak of one *unredacted* run, in discovery order, without duplicates.

    ``allowed_hosts`` maps a key to the host patterns it may be sent to (keys absent are not
    restricted); ``original_permissions`` are the item's permissions before the script ran, so
    that only what the script wrote is blamed on it.  The fields come from
    :func:`harness.fields.walk`, the same walk redaction uses.
    """
    if not redactor:
        return []
    found: list[Leak] = []
    requests: dict[int, list[OutputField]] = {}
    for item in walk(result, original_permissions):
        if item.request:
            requests.setdefault(item.request, []).append(item)
        elif not item.blamed:
            continue
        elif isinstance(item.value, bytes):
            found += [Leak(m.key, item.channel, m.alias, item.place) for m in content.find(redactor, item.value)]
        else:
            found += leaks_in_text(redactor, item.value, item.channel, item.place, lines=item.lines)
    for number, fields in requests.items():
        found += _request_leaks(redactor, result.requests[number - 1], number, fields, allowed_hosts or {})
    # A place is built from names the script chose (metadata names, header names, URLs): mask it too.
    unique = dict.fromkeys(Leak(f.key, f.channel, f.alias, redactor.redact(f.place)) for f in found)
    return list(unique)  # discovery order: channel by channel, place by place
