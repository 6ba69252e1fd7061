"""Golden results: a run's outcome kept as JSON next to its document, and compared on later runs.

A golden file holds what a reviewer cares about - status, reason, the item as it leaves the
extension, logs, requests, leaks - in the Test API shape of :meth:`ExtensionResult.to_json`,
minus what changes from one run to the next (dates, durations, where the document was read
from), with sorted keys and a trailing newline, so that a change shows as a small, reviewable
diff.  It lives beside the document it belongs to::

    documents/product.json            the input
    documents/product.expected.json   its golden result

(:attr:`Extension.documents <harness.extension.Extension.documents>` ignores ``*.expected.json``.)

A data stream that is text (``body_text``, ``body_html``, any stream that decodes in Coveo's
encoding for its name) is stored as ``"text"``, a list of its lines, instead of the Test API's
base64 ``"inlineContent"``: a changed sentence then shows as a changed line in a review.
Golden files written before, with base64 everywhere, still compare equal.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import json
import os
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.python310 import INTERPRETER_WARNING_PREFIX
from harness.reports.changes import decode_text
from harness.result import ExtensionResult

__all__ = ["GOLDEN_SUFFIX", "compare_golden", "golden_json", "golden_path", "golden_text", "write_golden"]

GOLDEN_SUFFIX = ".expected.json"


def golden_path(document: str | os.PathLike[str]) -> Path:
    """``documents/<stem>.expected.json`` for ``documents/<stem>.json``."""
    path = Path(document)
    return path.with_name(path.stem + GOLDEN_SUFFIX)


def golden_json(result: ExtensionResult) -> dict[str, Any]:
    """The result's JSON without its volatile fields: log dates and offsets, durations, source path."""
    data = result.to_json()
    data.pop("duration", None)
    for entry in data.get("logs", []):
        entry.pop("date", None)
        entry.pop("duration", None)
    data.get("harness", {}).pop("source", None)
    _normalize(data)
    return data


def _normalize(data: dict[str, Any]) -> None:
    """What both sides of a comparison go through: text streams as text, and no warning about
    the interpreter (its version is the machine's, not the result's)."""
    _streams_as_text(data)
    harness_part = data.get("harness")
    if isinstance(harness_part, dict) and isinstance(harness_part.get("warnings"), list):
        harness_part["warnings"] = [
            w for w in harness_part["warnings"] if not (isinstance(w, str) and w.startswith(INTERPRETER_WARNING_PREFIX))
        ]


def _streams_as_text(data: dict[str, Any]) -> None:
    """Every text stream's base64 ``inlineContent`` replaced by ``text``, its lines (ends kept)."""
    for origin in data.get("document", {}).get("dataStreams", []):
        values = origin.get("values")
        if not isinstance(values, dict):
            continue
        for name, stream in values.items():
            if not isinstance(stream, dict) or not isinstance(stream.get("inlineContent"), str):
                continue
            try:
                content = base64.b64decode(stream["inlineContent"], validate=True)
            except (binascii.Error, ValueError):
                continue
            text = decode_text(name, content)
            if text is not None:
                del stream["inlineContent"]
                stream["text"] = text.splitlines(keepends=True)


def golden_text(result: ExtensionResult) -> str:
    """:func:`golden_json` as the exact text of a golden file."""
    return json.dumps(golden_json(result), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_golden(result: ExtensionResult, path: str | os.PathLike[str]) -> Path:
    """(Re)write the golden file of ``result``; returns its path."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(golden_text(result), encoding="utf-8")
    except OSError as exc:
        raise HarnessError(f"{target}: cannot write golden result ({exc.strerror or exc})") from None
    return target


def compare_golden(result: ExtensionResult, path: str | os.PathLike[str]) -> str | None:
    """None when ``result`` matches the golden file, else a readable unified diff (expected -> actual).

    The file is compared as parsed JSON, so hand edits to its whitespace or key order do not
    count as differences; the diff is shown in the canonical text form.
    """
    target = Path(path)
    try:
        expected_text = target.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise HarnessError(f"{target}: no golden result yet; write it with `pytest --ipe-update-golden`") from None
    except OSError as exc:
        raise HarnessError(f"{target}: cannot read golden result ({exc.strerror or exc})") from None
    try:
        expected = json.loads(expected_text)
    except json.JSONDecodeError as exc:
        raise HarnessError(f"{target}: not JSON (line {exc.lineno}: {exc.msg})") from None
    if isinstance(expected, dict):
        _normalize(expected)  # a golden file of the base64-only form, or from another interpreter
    actual = golden_json(result)
    if expected == actual:
        return None
    canonical = json.dumps(expected, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    diff = difflib.unified_diff(
        canonical.splitlines(keepends=True),
        golden_text(result).splitlines(keepends=True),
        fromfile=f"{target} (expected)",
        tofile="this run",
    )
    return "".join(diff)
