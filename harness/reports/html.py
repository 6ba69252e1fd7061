"""The ``.html`` report: one self-contained page to read a run in a browser.

The page holds the summary, a table of documents that sorts (click a column) and filters (a
status and a text box; both also read from the URL's ``#status=...&q=...&sort=...`` so a link
can point at a view), and per document its before/after changes - metadata, permissions, text
streams as a line diff - with its logs, warnings, leaks and output.  No CDN, no external file:
the CSS and the small script are inline, so the file can be attached to a CI job as is.

Everything is rendered by Jinja2 with autoescaping on, from results that are already redacted.
Rows and details are rendered as results come and spooled to temporary files; on close the page
is rendered around two markers and the spools are copied in at their places, so the writer
never holds more than one document.
"""

from __future__ import annotations

import difflib
import json
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import IO, TYPE_CHECKING, Any

import jinja2
from markupsafe import Markup

from harness.reports.changes import permission_diff, stream_changes
from harness.reports.summary import Summary
from harness.reports.terminal import format_duration
from harness.reports.writer import ReportWriter
from harness.result import ExtensionResult

if TYPE_CHECKING:
    from harness.taint import Flow

__all__ = ["HtmlReport"]

#: How much of a stream a report shows: the diff's lines, and the characters of a new stream.
DIFF_LINES = 300
TEXT_CHARS = 10_000
#: Documents that get a details section: every one up to DETAILS, then only failed or leaking
#: ones, up to PROBLEM_DETAILS more, so the page of a 100,000-document batch stays openable
#: (the table keeps a row for every document; the JSON report has everything).
DETAILS = 2_000
PROBLEM_DETAILS = 2_000

_ROWS, _DETAILS = "\x00rows\x00", "\x00details\x00"

_env = jinja2.Environment(
    loader=jinja2.PackageLoader("harness.reports", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters["duration"] = format_duration
_env.filters["json"] = lambda value: json.dumps(value, ensure_ascii=False)


@dataclass(frozen=True)
class _StreamView:
    name: str
    size: int
    verb: str
    binary: bool
    diff: list[tuple[str, str]]
    """``(kind, line)``: kind is ``add``, ``del``, ``ctx`` or ``hunk``."""
    cut: int
    """Lines (or characters, for a new stream) left out to keep the page small."""


def _stream_views(result: ExtensionResult) -> list[_StreamView]:
    views = []
    for stream in stream_changes(result):
        verb = "replaced" if stream.replaced else "added"
        if stream.binary or stream.after is None:
            views.append(_StreamView(stream.name, stream.size, verb, True, [], 0))
            continue
        if stream.before is None:
            text = stream.after[:TEXT_CHARS]
            lines = [("add", line) for line in text.splitlines()]
            views.append(_StreamView(stream.name, stream.size, verb, False, lines, len(stream.after) - len(text)))
            continue
        diff: list[tuple[str, str]] = []
        for line in difflib.unified_diff(stream.before.splitlines(), stream.after.splitlines(), "before", "after", lineterm="", n=2):
            if line.startswith(("---", "+++")):
                continue
            kind = "hunk" if line.startswith("@@") else "add" if line.startswith("+") else "del" if line.startswith("-") else "ctx"
            diff.append((kind, line))
        views.append(_StreamView(stream.name, stream.size, verb, False, diff[:DIFF_LINES], max(0, len(diff) - DIFF_LINES)))
    return views


class HtmlReport(ReportWriter):
    """One HTML page; documents spooled as they come, the page assembled on close."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._rows: IO[str] = tempfile.TemporaryFile("w+", encoding="utf-8")
        self._details: IO[str] = tempfile.TemporaryFile("w+", encoding="utf-8")
        self._count = 0
        self._omitted = 0
        self._problems = 0
        self._static: list[dict[str, Any]] = []
        self._template = _env.get_template("document.html.j2")

    def add(self, result: ExtensionResult) -> None:
        self._count += 1
        detailed = self._count <= DETAILS
        if not detailed and (not result.ok or result.leaks) and self._problems < PROBLEM_DETAILS:
            detailed = True
            self._problems += 1
        if not detailed:
            self._omitted += 1
        module = self._template.make_module({
            "n": self._count,
            "r": result,
            "detailed": detailed,
            # metadata fields set, the permissions (one change however many identities), streams written
            "change_count": len(result.changes) + (result.permissions_before is not None)
            + sum(1 for stream in result.document.data_streams if stream.origin == result.extension),
            "changes": result.changes,
            "permissions": permission_diff(result) if detailed else [],
            "streams": _stream_views(result) if detailed else [],
        })
        self._rows.write(str(module.row()))  # type: ignore[attr-defined]
        if detailed:
            self._details.write(str(module.details()))  # type: ignore[attr-defined]

    def add_static(self, extension: str, script: str, flows: Sequence[Flow]) -> None:
        self._static += [
            {"extension": extension, "script": script, "key": f.key or "(dynamic key)", "channel": f.channel,
             "line": f.line, "sink": f.sink}
            for f in flows
        ]

    def finish(self, summary: Summary) -> None:
        page = _env.get_template("page.html.j2").render(
            title=self.title or "ipe run",
            summary=summary,
            static=self._static,
            omitted=self._omitted,
            created=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            rows=Markup(_ROWS),
            details=Markup(_DETAILS),
        )
        head, rest = page.split(_ROWS, 1)
        middle, tail = rest.split(_DETAILS, 1)
        self.out.write(head)
        self._rows.seek(0)
        shutil.copyfileobj(self._rows, self.out)
        self.out.write(middle)
        self._details.seek(0)
        shutil.copyfileobj(self._details, self.out)
        self.out.write(tail)
        self._rows.close()
        self._details.close()

    def discard(self) -> None:
        self._rows.close()
        self._details.close()
        super().discard()
