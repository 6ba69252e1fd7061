"""Cassettes: the HTTP a run made, recorded once and replayed offline, never holding a vault value.

An extension that calls a web service can only be run, tested and leak-checked offline if that
service's answers are kept somewhere.  A cassette (vcrpy's format, YAML) keeps them, one per
sample document::

    extensions/<name>/cassettes/<document stem>.yaml

Recording and replay are vcrpy's; this module adds what a vault demands:

* on save, every vault value in any alias the redactor knows (plain, base64 as in a Basic
  ``Authorization`` header, URL-encoded in a query, JSON-escaped in a body ...) becomes
  ``{{ VAULT.<key> }}``, the placeholder syntax of Coveo snapshots, in the URI, the headers and
  both bodies.  The written text is scanned again and refused if any value is still found;
* the live request is put in the same placeholder form before it is matched, so a recording
  made with one password replays with another, whatever alias the password travelled in;
* on load, placeholders in the recorded *answers* get the current vault's plain values back
  (recorded requests stay in placeholder form: they are only matched, never sent);
* in replay, a request no interaction matches raises :class:`CassetteMismatch`, naming the
  method, the (placeholder) URL and the cassette, and saying how to record it again.  It is
  not a network error on purpose: a script's ``except requests.RequestException`` must not
  swallow it and carry on as if the service were down.

vcrpy patches ``http.client`` and urllib3 below requests' transport adapter, so requests-mock
(which replaces the adapter) wins when both are active: a mocked request never reaches a
cassette.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import vcr
import vcr.matchers
from vcr.persisters.filesystem import CassetteNotFoundError
from vcr.serialize import deserialize, serialize

from harness import content
from harness.canary import CanaryVault
from harness.errors import HarnessError
from harness.redaction import Redactor

if TYPE_CHECKING:
    from vcr.request import Request

    from harness.extension import Extension
    from harness.vault import LocalVault

__all__ = [
    "CassetteMismatch",
    "MODES",
    "Recording",
    "adopt_recorded",
    "cassette_for",
    "export_recorded",
    "placeholder",
    "use_cassette",
    "vault_placeholders",
]

MODES = ("replay", "record")
MATCH_ON = ("method", "scheme", "host", "port", "path", "query")
"""vcrpy's default matching: headers and bodies are not compared, so a new User-Agent or a
reordered JSON body still replays."""

_PLACEHOLDER = re.compile(r"\{\{\s*VAULT\.([^\s{}]+)\s*\}\}")
_PLACEHOLDER_BYTES = re.compile(_PLACEHOLDER.pattern.encode("ascii"))


def placeholder(key: str) -> str:
    """The text a vault value becomes in a cassette: Coveo snapshots' ``{{ VAULT.<key> }}``."""
    return "{{ VAULT.%s }}" % key


def cassette_for(extension: Extension, document: str | os.PathLike[str]) -> Path:
    """Where the cassette of ``document`` (a path, or a bare name) lives in ``extension``'s folder."""
    return extension.cassette(document)


class CassetteMismatch(Exception):
    """A request, in replay, that no recorded interaction matches.

    Deliberately not an ``OSError`` nor a requests exception: urllib3 and requests let it
    through unchanged, and the script's handlers for network failures do not hide it.
    """


@dataclass
class Recording:
    """One use of a cassette: where it is, how it is used, and (after the block) what happened."""

    path: Path
    mode: str
    interactions: int = 0
    """Interactions in the cassette: loaded (replay) or recorded (record), known after the block."""
    unmatched: list[str] = field(default_factory=list)
    """``METHOD URL`` (placeholder form) of each request replay could not answer."""


class _Placeholders:
    """Vault values <-> placeholders, for one vault and one extension.

    The values are read again at every use: a canary vault mints a key's value only when the
    script first reads it, which is after the cassette was opened.
    """

    def __init__(self, vault: LocalVault, extension: Extension | None) -> None:
        self.vault = vault
        self.extension = extension
        self._lock = threading.Lock()
        self._cached: tuple[tuple[tuple[str, str], ...], Redactor] | None = None

    def values(self) -> dict[str, str]:
        return {k: v for k, v in self.vault.values_for(self.extension).items() if v}

    def redactor(self) -> Redactor:
        values = self.values()
        signature = tuple(sorted(values.items()))
        with self._lock:
            if self._cached is None or self._cached[0] != signature:
                self._cached = (signature, Redactor(values))
            return self._cached[1]

    def hide(self, text: str) -> str:
        redactor = self.redactor()
        if not text or not redactor:
            return text
        hidden: str = _replace(text, _merged(redactor.find(text)), lambda key: placeholder(key))
        return hidden

    def hide_bytes(self, data: bytes) -> bytes:
        """``data`` with placeholders for values, in its own form: a UTF-16 body stays UTF-16
        (the placeholder encoded so), a gzip or zlib body is inflated, rewritten and compressed
        again (see :mod:`harness.content`)."""
        redactor = self.redactor()
        if not data or not redactor:
            return data

        def raw(chunk: bytes) -> bytes:
            hidden: bytes = _replace(chunk, _merged(redactor.find_bytes(chunk)),
                                     lambda key: placeholder(key).encode("utf-8"))
            return hidden

        return content.rewrite(data, self.hide, raw).data

    def still_holds(self, data: bytes) -> list[str]:
        """``key (alias)`` of each value still found in ``data``, its layers included."""
        return [f"{m.key} ({m.alias})" for m in content.find(self.redactor(), data)] if data else []

    def value_of(self, key: str) -> str | None:
        value = self.vault.values_for(self.extension).get(key)
        if value is None and isinstance(self.vault, CanaryVault):
            value = self.vault.mint(key)
        return value

    def restore(self, text: str) -> str:
        def put_back(match: re.Match[str]) -> str:
            value = self.value_of(match.group(1))
            return match.group(0) if value is None else value

        return _PLACEHOLDER.sub(put_back, text)

    def restore_bytes(self, data: bytes) -> bytes:
        if b"VAULT." not in data:
            return data
        try:
            return self.restore(data.decode("utf-8")).encode("utf-8")
        except UnicodeDecodeError:  # a binary body: placeholders were written in UTF-8 inside it
            pass

        def put_back(match: re.Match[bytes]) -> bytes:
            value = self.value_of(match.group(1).decode("utf-8", "replace"))
            return match.group(0) if value is None else value.encode("utf-8")

        return _PLACEHOLDER_BYTES.sub(put_back, data)


def _as_bytes(body: Any) -> bytes:
    if isinstance(body, (bytes, bytearray)):
        return bytes(body)
    return body.encode("utf-8", "surrogateescape") if isinstance(body, str) else b""


def _merged(matches: list[Any]) -> list[tuple[int, int, str]]:
    """Match ranges sorted and overlaps merged, each keeping the key of its first match."""
    merged: list[tuple[int, int, str]] = []
    for match in sorted(matches, key=lambda m: (m.start, -m.end)):
        if merged and match.start < merged[-1][1]:
            start, end, key = merged[-1]
            merged[-1] = (start, max(end, match.end), key)
        else:
            merged.append((match.start, match.end, match.key))
    return merged


def _replace(text: Any, ranges: list[tuple[int, int, str]], render: Any) -> Any:
    out, last = [], 0
    for start, end, key in ranges:
        out += [text[last:start], render(key)]
        last = end
    out.append(text[last:])
    return text[:0].join(out)


class _CassetteFile:
    """vcrpy persister and request filter of one cassette: placeholders on save, values on load."""

    def __init__(self, placeholders: _Placeholders, recording: Recording) -> None:
        self.placeholders = placeholders
        self.recording = recording
        self.loaded: list[Request] = []
        self.armed = False
        """Set once the cassette is open: loading replays every stored request through the filter."""
        self.refused: str | None = None

    # -- request filter (vcrpy's before_record_request) ---------------------------------------
    def filter_request(self, request: Request) -> Request:
        """The request in placeholder form; in replay, an unknown request stops here, clearly."""
        hide = self.placeholders.hide
        request.uri = hide(request.uri)
        for name in list(request.headers):
            request.headers[name] = hide(str(request.headers[name]))
        if request.body:
            body = request.body
            request.body = self.placeholders.hide_bytes(body if isinstance(body, bytes) else str(body).encode("utf-8"))
        if self.armed and self.recording.mode == "replay":
            matchers = [getattr(vcr.matchers, name) for name in MATCH_ON]
            if not any(vcr.matchers.requests_match(request, stored, matchers) for stored in self.loaded):
                shown = f"{request.method} {request.uri}"
                self.recording.unmatched.append(shown)
                raise CassetteMismatch(
                    f"ipe-harness: no interaction recorded in {self.recording.path} matches {shown}; "
                    "if the extension now makes this request, record the cassette again "
                    "(`ipe run EXT --document DOC --record`, or pytest --ipe-record), "
                    "or call the real services with `ipe run --live`"
                )
        return request

    # -- persister ------------------------------------------------------------------------------
    def load_cassette(self, cassette_path: Any, serializer: Any) -> Any:
        if self.recording.mode == "record":
            raise CassetteNotFoundError()  # a recording starts from nothing
        try:
            text = Path(cassette_path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise HarnessError(f"{cassette_path}: cannot read cassette ({exc})") from None
        try:
            requests, responses, *_ = deserialize(text, serializer)
        except Exception as exc:  # noqa: BLE001 - YAML or vcrpy format errors, reported as one
            raise HarnessError(f"{cassette_path}: not a vcrpy cassette ({type(exc).__name__}: {exc})") from None
        for response in responses:
            self._map_response(response, self.placeholders.restore, self.placeholders.restore_bytes)
        self.loaded = list(requests)
        self.recording.interactions = len(requests)
        return requests, responses

    def save_cassette(self, cassette_path: Any, cassette_dict: dict[str, Any], serializer: Any) -> None:
        """Write the cassette in placeholder form, or nothing if a value would still be in it.

        It never raises: vcrpy calls it while leaving the cassette, before it removes its
        patches, so the refusal is kept and raised by :func:`use_cassette` afterwards.
        """
        for request in cassette_dict["requests"]:
            self.filter_request(request)
        for response in cassette_dict["responses"]:
            self._map_response(response, self.placeholders.hide, self.placeholders.hide_bytes)
        text = serialize(cassette_dict, serializer)
        found = [f"{m.key} ({m.alias})" for m in self.placeholders.redactor().find(text)]
        for request in cassette_dict["requests"]:  # binary bodies are base64 in the YAML: look inside
            found += self.placeholders.still_holds(_as_bytes(request.body))
        for response in cassette_dict["responses"]:
            found += self.placeholders.still_holds(_as_bytes((response.get("body") or {}).get("string")))
        if found:
            keys = ", ".join(sorted(set(found)))
            self.refused = f"{cassette_path}: not written, it would still hold the vault value of {keys}"
            return
        path = Path(cassette_path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(path.name + ".partial")
            partial.write_text(text, encoding="utf-8")
            partial.replace(path)
        except OSError as exc:
            self.refused = f"{cassette_path}: cannot write cassette ({exc.strerror or exc})"
            return
        self.recording.interactions = len(cassette_dict["requests"])

    @staticmethod
    def _map_response(response: dict[str, Any], text: Any, data: Any) -> None:
        headers = response.get("headers") or {}
        for name, values in list(headers.items()):
            headers[name] = [text(str(v)) for v in values] if isinstance(values, list) else text(str(values))
        body = response.get("body") or {}
        content = body.get("string")
        if isinstance(content, str):
            content = content.encode("utf-8")
        if content:
            new = data(content)
            if new != content:
                body["string"] = new
                for name in headers:  # the body's length changed with it; urllib3 checks
                    if name.lower() == "content-length":
                        headers[name] = [str(len(new))]
        if isinstance(response.get("status"), dict) and isinstance(response["status"].get("message"), str):
            response["status"]["message"] = text(response["status"]["message"])


@contextmanager
def use_cassette(
    path: str | os.PathLike[str],
    vault: LocalVault,
    extension: Extension | None = None,
    *,
    mode: str = "replay",
) -> Iterator[Recording]:
    """Replay (``mode="replay"``) or record (``mode="record"``) the HTTP made inside the block.

    Replay needs the cassette to exist and answers only what it holds (no connection is opened);
    record lets requests through to the real services and writes the cassette, in placeholder
    form, when the block ends, replacing the old one.  ``vault`` gives the values that become
    placeholders and the values put back; with a canary vault, a placeholder of a key not yet
    read gets its canary.
    """
    if mode not in MODES:
        raise HarnessError(f"cassette mode must be one of {', '.join(MODES)}, not {mode!r}")
    target = Path(path)
    if mode == "replay" and not target.is_file():
        raise HarnessError(f"{target}: no cassette to replay; record it with `ipe run EXT --document DOC --record`")
    recording = Recording(target, mode)
    file = _CassetteFile(_Placeholders(vault, extension), recording)
    recorder = vcr.VCR(
        record_mode="none" if mode == "replay" else "all",
        match_on=MATCH_ON,
        decode_compressed_response=True,  # bodies stored readable, so placeholders can be found in them
        before_record_request=file.filter_request,
    )
    recorder.register_persister(file)
    with recorder.use_cassette(str(target), allow_playback_repeats=True) as opened:
        file.armed = True
        if mode == "record":
            _RECORDING.append(opened)
        try:
            yield recording
        finally:
            file.armed = False
            if mode == "record":
                _RECORDING.remove(opened)
            if mode == "record":
                recording.interactions = len(opened)
    if file.refused:
        raise HarnessError(file.refused)


# -- recording across a process boundary (harness.isolation) -------------------------------------
#
# An isolated run happens in a child process forked inside ``use_cassette``: the child's copy of
# the cassette records the script's HTTP, and the child sends those interactions back (JSON,
# see harness.protocol).  The parent adds them to its own cassette, which writes the file with
# its own placeholders and final scan: the script never touches what the harness writes.

_RECORDING: list[Any] = []
"""vcrpy cassettes open in record mode, innermost last."""


def export_recorded() -> list[Any]:
    """The interactions the innermost recording cassette holds, as plain data (child side)."""
    if not _RECORDING:
        return []
    return [[request._to_dict(), response] for request, response in _RECORDING[-1].data]


def adopt_recorded(interactions: list[Any]) -> None:
    """Add interactions a child recorded to the innermost recording cassette (parent side).

    They are untrusted data: each is checked for vcrpy's shape, and goes through the
    cassette's request filter (placeholders) like a request recorded here.
    """
    if not _RECORDING or not interactions:
        return
    from vcr.request import Request as VcrRequest

    for number, item in enumerate(interactions, 1):
        problem = _interaction_problem(item)
        if problem:
            raise HarnessError(f"the script's process sent a malformed HTTP interaction {number}: {problem}")
        request, response = item
        headers = {str(k): v[0] if isinstance(v, list) and v else v for k, v in request["headers"].items()}
        clean = {  # only the fields vcrpy writes, rebuilt: nothing else of the child's reaches the file
            "status": {"code": response["status"]["code"], "message": response["status"].get("message", "")},
            "headers": {str(k): list(v) if isinstance(v, list) else [v] for k, v in response["headers"].items()},
            "body": {"string": response["body"].get("string", b"")},
        }
        _RECORDING[-1].append(VcrRequest(request["method"], request["uri"], request.get("body"), headers), clean)


def _interaction_problem(item: Any) -> str:
    if not isinstance(item, list) or len(item) != 2:
        return "not a [request, response] pair"
    request, response = item
    if not isinstance(request, dict) or not isinstance(response, dict):
        return "request and response must be objects"
    if not isinstance(request.get("method"), str) or not isinstance(request.get("uri"), str):
        return "the request has no method or URI"
    if not isinstance(request.get("headers"), dict):
        return "the request has no headers"
    if not isinstance(request.get("body"), (bytes, str, type(None))):
        return "the request body is not bytes or text"
    status = response.get("status")
    if not isinstance(status, dict) or not isinstance(status.get("code"), int):
        return "the response has no status code"
    if not isinstance(status.get("message", ""), str):
        return "the response's status message is not text"
    if not isinstance(response.get("headers"), dict) or not isinstance(response.get("body"), dict):
        return "the response has no headers or body"
    for headers in (request["headers"], response["headers"]):
        for value in headers.values():
            values = value if isinstance(value, list) else [value]
            if not all(isinstance(v, str) for v in values):
                return "a header value is not text"
    if not isinstance(response["body"].get("string", b""), (bytes, str)):
        return "the response body is not bytes or text"
    return ""


def vault_placeholders(text: str) -> list[str]:
    """The vault keys of the ``{{ VAULT.<key> }}`` placeholders in ``text``, in order of appearance."""
    return list(dict.fromkeys(_PLACEHOLDER.findall(text)))

