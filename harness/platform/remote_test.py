"""The same document through Coveo's Test API and through the harness, compared field by field.

This is the check that the harness is faithful: whatever the two runs disagree on is either a
harness bug or an undocumented platform behaviour, and both are worth a report.

What is compared, in the Test API response shape both sides share:

* ``result.status``;
* ``result.reason`` when both ended with the same status other than SUCCESS: for a traceback, the script line of the
  innermost frame and the final ``Type: message`` line (Coveo names the script
  ``<org>--<extension>`` and prefixes ``Coveo::PythonScriptException:``, the harness says
  ``extension.py``: file names are not compared); a TIMEOUT's wording is not compared;
* when both succeeded: the metadata the script added (every output value the input did not
  have, by lower-cased name), the permissions of the output item, and the data streams the script
  added or changed (decoded, by canonical name: ``BODY_TEXT`` is ``body_text``);
* ``logs``: severity and text of each entry, in order.

Known harmless differences are not reported: log ``date`` and ``duration``, the run's
``duration``, ``dataStreamUris``, the origin names of metadata, and a stream the platform returns
by ``id`` instead of inline (it cannot be compared; a note says so).

Everything a person sees goes through the local vault's redactor first, the remote answer too:
a script that leaks a vault value in Coveo does not leak it through this command.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import hashlib
import json
import lzma
import re
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.document import DocumentData, stream_encoding
from harness.redaction import Redactor
from harness.result import ExtensionResult

__all__ = ["Difference", "RemoteTest", "compare", "remote_test", "test_request"]

_CANONICAL = {"body_text": "body_text", "body_html": "body_html", "body_markdown": "body_markdown",
              "thumbnail": "$thumbnail$", "document_data": "documentdata"}
"""The Test API's stream keys (``BODY_TEXT``, ``DOCUMENT_DATA``...), lower-cased -> the runner's names."""
_IDENTITY = {"VIRTUALGROUP": "VIRTUAL_GROUP"}
_DECOMPRESS: dict[str, Callable[[bytes], bytes]] = {
    "UNCOMPRESSED": lambda data: data, "ZLIB": zlib.decompress, "GZIP": gzip.decompress, "LZMA": lzma.decompress,
}
_FRAME = re.compile(r'^\s*File "[^"]*", line (\d+)', re.MULTILINE)
_COVEO_PREFIX = "Coveo::PythonScriptException:"


def test_request(data: DocumentData, parameters: Mapping[str, str]) -> dict[str, Any]:
    """The ``ExtensionTestModel`` body for one document, with ``parameters`` as the run's."""
    # the runner's own stream names (body_text, documentdata...): Coveo takes both
    return {
        "document": data.to_json(),
        "parameters": dict(parameters),
    }


@dataclass(frozen=True)
class Difference:
    """One field where the harness and Coveo disagree (``None``: the side has no such value)."""

    field: str
    local: Any
    remote: Any

    def to_json(self) -> dict[str, Any]:
        return {"field": self.field, "local": self.local, "remote": self.remote}

    def __str__(self) -> str:
        return f"{self.field}: local {_show(self.local)}, remote {_show(self.remote)}"


@dataclass
class RemoteTest:
    """One document run by both: the two Test API responses and where they differ."""

    source: str
    local: dict[str, Any]
    remote: dict[str, Any]
    differences: list[Difference] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def agree(self) -> bool:
        return not self.differences

    def to_json(self) -> dict[str, Any]:
        return {
            "document": self.source,
            "agree": self.agree,
            "differences": [d.to_json() for d in self.differences],
            "notes": list(self.notes),
            "local": self.local,
            "remote": self.remote,
        }


def remote_test(source: str, data: DocumentData, local: ExtensionResult, remote: dict[str, Any],
                redactor: Redactor) -> RemoteTest:
    """Compare one local run with Coveo's answer for the same document; everything redacted."""
    masked_remote = _redacted(remote, redactor)
    test = RemoteTest(source, local.to_json(), masked_remote)
    differences, test.notes = compare(data, test.local, masked_remote)
    # again on what compare decoded (stream contents): a value hidden in base64 shows once decoded
    test.differences = [Difference(d.field, _redacted(d.local, redactor), _redacted(d.remote, redactor))
                        for d in differences]
    return test


def compare(data: DocumentData, local: Mapping[str, Any], remote: Mapping[str, Any]) -> tuple[list[Difference], list[str]]:
    """The differences between two Test API responses to ``data`` (the input), and notes on what
    could not be compared."""
    differences: list[Difference] = []
    notes: list[str] = []
    local_status, remote_status = _status(local), _status(remote)
    if local_status != remote_status:
        differences.append(Difference("result.status", local_status, remote_status))
        local_harness = local.get("harness")
        if isinstance(local_harness, Mapping) and local_harness.get("status") == "SKIPPED":
            notes.append("the script called document.skip(), which the harness reports as SUCCESS with the item "
                         "unchanged (the Test API's status enum has no SKIPPED): how Coveo reports a skip is not "
                         "documented, so this answer is worth a report")
    if local_status == remote_status and local_status not in ("SUCCESS", "TIMEOUT"):  # else the status says it
        local_reason, remote_reason = _reason(local), _reason(remote)
        if local_reason != remote_reason:
            differences.append(Difference("result.reason", local_reason, remote_reason))
    differences += _logs(local, remote)
    if local_status == remote_status == "SUCCESS":
        request = test_request(data, {})["document"]
        differences += _metadata(request, local, remote)
        local_perms, remote_perms = _permissions(_doc(local)), _permissions(_doc(remote))
        if local_perms != remote_perms:
            differences.append(Difference("document.permissions", local_perms, remote_perms))
        differences += _streams(request, local, remote, notes)
    return differences, notes


# -- the fields ---------------------------------------------------------------------------------

def _doc(response: Mapping[str, Any]) -> Mapping[str, Any]:
    doc = response.get("document")
    return doc if isinstance(doc, Mapping) else {}


def _status(response: Mapping[str, Any]) -> str:
    result = response.get("result")
    return str(result.get("status", "")).upper() if isinstance(result, Mapping) else ""


def _reason(response: Mapping[str, Any]) -> str:
    result = response.get("result")
    text = str(result.get("reason") or "") if isinstance(result, Mapping) else ""
    text = text.strip()
    if text.startswith(_COVEO_PREFIX):
        text = text[len(_COVEO_PREFIX):].strip()
    frames = _FRAME.findall(text)
    if "Traceback (most recent call last)" in text or frames:
        last = [line for line in text.splitlines() if line.strip()][-1].strip()
        return f"line {frames[-1]}: {last}" if frames else last
    return text


def _logs(local: Mapping[str, Any], remote: Mapping[str, Any]) -> list[Difference]:
    def entries(response: Mapping[str, Any]) -> list[str]:
        logs = response.get("logs") or []
        return [f"{str(e.get('severity', '')).upper()}: {e.get('comment', '')}" for e in logs if isinstance(e, Mapping)]

    mine, theirs = entries(local), entries(remote)
    return [
        Difference(f"logs[{i}]", mine[i] if i < len(mine) else None, theirs[i] if i < len(theirs) else None)
        for i in range(max(len(mine), len(theirs)))
        if (mine[i] if i < len(mine) else None) != (theirs[i] if i < len(theirs) else None)
    ]


def _values(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def _metadata(request: Mapping[str, Any], local: Mapping[str, Any], remote: Mapping[str, Any]) -> list[Difference]:
    given = {
        (str(name).lower(), json.dumps(_values(values), sort_keys=True))
        for entry in request.get("metadata", []) for name, values in entry["values"].items()
    }

    def added(response: Mapping[str, Any]) -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = {}
        for entry in _doc(response).get("metadata") or []:
            values = entry.get("values") if isinstance(entry, Mapping) else None
            for name, value in (values or {}).items():
                item = (str(name).lower(), json.dumps(_values(value), sort_keys=True))
                if item not in given:
                    out[item[0]] = _values(value)
        return out

    mine, theirs = added(local), added(remote)
    return [
        Difference(f"metadata.{name}", mine.get(name), theirs.get(name))
        for name in sorted(set(mine) | set(theirs))
        if mine.get(name) != theirs.get(name)
    ]


def _permissions(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    levels = []
    for level in doc.get("permissions") or []:
        sets = []
        for pset in level.get("permissionSets") or []:
            perms = [
                {
                    "identity": str(p.get("identity", "")),
                    "identityType": _IDENTITY.get(str(p.get("identityType", "UNKNOWN")).upper(),
                                                  str(p.get("identityType", "UNKNOWN")).upper()),
                    "securityProvider": str(p.get("securityProvider") or ""),
                    "allowed": bool(p.get("allowed", True)),
                    "additionalInfo": dict(p.get("additionalInfo") or {}),
                }
                for p in pset.get("permissions") or []
            ]
            sets.append({"name": str(pset.get("name") or ""), "anonymousAllowed": bool(pset.get("anonymousAllowed")),
                         "permissions": perms})
        levels.append({"name": str(level.get("name") or ""), "permissionSets": sets})
    return levels


def _streams(request: Mapping[str, Any], local: Mapping[str, Any], remote: Mapping[str, Any],
             notes: list[str]) -> list[Difference]:
    given = {(name, content) for name, content, _ in _stream_items(request)}

    def added(response: Mapping[str, Any], side: str) -> dict[str, bytes]:
        out: dict[str, bytes] = {}
        for name, content, by_id in _stream_items(_doc(response)):
            if by_id:
                notes.append(f"{side} data stream {name!r} is given by id, not inline: not compared")
            elif (name, content) not in given:
                out[name] = content
        return out

    mine, theirs = added(local, "local"), added(remote, "remote")
    return [
        Difference(f"dataStreams.{name}", _describe_stream(name, mine.get(name)), _describe_stream(name, theirs.get(name)))
        for name in sorted(set(mine) | set(theirs))
        if mine.get(name) != theirs.get(name)
    ]


def _stream_items(doc: Mapping[str, Any]) -> list[tuple[str, bytes, bool]]:
    """(canonical name, decoded content, given by id) of every stream of a Test API document."""
    items = []
    for entry in doc.get("dataStreams") or []:
        for name, body in ((entry.get("values") if isinstance(entry, Mapping) else None) or {}).items():
            canonical = _CANONICAL.get(str(name).lower(), str(name).lower())
            if not isinstance(body, Mapping):
                continue
            if body.get("id") and not body.get("inlineContent"):
                items.append((canonical, b"", True))
                continue
            decompress = _DECOMPRESS.get(str(body.get("compressionType") or "UNCOMPRESSED").upper(), _DECOMPRESS["UNCOMPRESSED"])
            try:
                content = decompress(base64.b64decode(str(body.get("inlineContent") or "")))
            except (binascii.Error, ValueError, zlib.error, OSError, EOFError, lzma.LZMAError):
                content = b"<undecodable " + str(body.get("compressionType")).encode() + b" content>"
            items.append((canonical, content, False))
    return items


def _describe_stream(name: str, content: bytes | None) -> str | None:
    """A stream as a person compares it: its text when it is text, else its size and digest."""
    if content is None:
        return None
    if name in ("body_text", "body_html", "body_markdown"):
        text = content.decode(stream_encoding(name), errors="replace").lstrip("\ufeff")
        return text if len(text) <= 300 else text[:300] + f"... ({len(text)} characters)"
    return f"{len(content)} bytes, sha256 {hashlib.sha256(content).hexdigest()[:16]}"


def _show(value: Any) -> str:
    return "(none)" if value is None else json.dumps(value, ensure_ascii=False)


def _redacted(value: Any, redactor: Redactor) -> Any:
    """``value`` with every string (dict keys too) passed through the redactor."""
    if not redactor:
        return value
    if isinstance(value, str):
        return redactor.redact(value)
    if isinstance(value, dict):
        return {redactor.redact(str(k)): _redacted(v, redactor) for k, v in value.items()}
    if isinstance(value, list):
        return [_redacted(v, redactor) for v in value]
    return value
