"""Where a batch of documents comes from: a folder of ``*.json``, a ``.jsonl`` file, or stdin.

A source's export holds tens of thousands of items, so documents are read lazily, one at a
time, as the runner asks for them: memory stays flat however many there are.  Each document
is parsed with :func:`~harness.document_format.parse_document`, so both formats are accepted
everywhere, and a bad one is a :class:`~harness.errors.HarnessError` naming the file and the
line (for JSONL) or the JSON path.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from harness.document import DocumentData
from harness.document_format import load_document, parse_document
from harness.errors import HarnessError
from harness.extension import document_files

__all__ = ["STDIN", "count_documents", "iter_documents"]

STDIN = "-"
"""The ``--documents`` value that reads JSONL from standard input."""


def iter_documents(path: str | os.PathLike[str], stdin: IO[str] | None = None) -> Iterator[tuple[DocumentData, str]]:
    """Yield ``(document, source name)`` pairs from ``path``, one at a time, in input order.

    ``path`` is a folder (its ``*.json`` files, sorted by name, golden ``*.expected.json``
    files left out), a ``.jsonl``/``.ndjson`` file (one document a line; blank lines are
    skipped), a single ``.json`` document, or ``-`` for JSONL on ``stdin``.
    """
    if str(path) == STDIN:
        yield from _jsonl(stdin if stdin is not None else sys.stdin, "<stdin>", Path.cwd())
        return
    given = Path(path)
    if given.is_dir():
        for file in document_files(given):
            yield load_document(file), str(file)
        return
    if not given.exists():
        raise HarnessError(f"{given}: no such file or folder of documents")
    if given.suffix.lower() in (".jsonl", ".ndjson"):
        try:
            with given.open(encoding="utf-8-sig") as lines:
                yield from _jsonl(lines, str(given), given.parent)
        except UnicodeDecodeError as exc:
            raise HarnessError(f"{given}: not UTF-8 text (byte {exc.start})") from None
        return
    yield load_document(given), str(given)


def count_documents(path: str | os.PathLike[str]) -> int | None:
    """How many documents ``path`` holds, when that is cheap to know (for a progress bar's ETA):
    the files of a folder, the non-blank lines of a JSONL file; None for stdin."""
    if str(path) == STDIN:
        return None
    given = Path(path)
    if given.is_dir():
        return sum(1 for _ in document_files(given))
    if given.suffix.lower() in (".jsonl", ".ndjson"):
        try:
            with given.open("rb") as raw:
                return sum(1 for line in raw if line.strip())
        except OSError:
            return None
    return 1 if given.is_file() else None


def _jsonl(lines: Iterable[str], name: str, base: Path) -> Iterator[tuple[DocumentData, str]]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        source = f"{name}:{number}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise HarnessError(f"{source}: malformed JSON at column {exc.colno}: {exc.msg}") from None
        yield parse_document(data, source, base), source
