"""The ``.json`` report: every result's Test API JSON, in the run's order, then the summary.

Written as the results come: the opening of the object first, one result per line-delimited
chunk, and the summary and closing brace on :meth:`~JsonReport.close`, so the writer holds
one result at a time.  Keys: ``results`` (each :meth:`ExtensionResult.to_json`, redacted as
every result is), ``static`` (``ipe check``'s flows) and ``summary``
(:meth:`Summary.to_json <harness.reports.summary.Summary.to_json>`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from harness.reports.summary import Summary
from harness.reports.writer import ReportWriter
from harness.result import ExtensionResult

if TYPE_CHECKING:
    from harness.taint import Flow

__all__ = ["JsonReport"]


class JsonReport(ReportWriter):
    """A JSON object ``{"title", "results": [...], "static": [...], "summary": {...}}``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._count = 0
        self._static: list[dict[str, Any]] = []
        self.out.write('{\n"title": ' + json.dumps(self.title, ensure_ascii=False) + ',\n"results": [')

    def add(self, result: ExtensionResult) -> None:
        self.out.write(("\n" if not self._count else ",\n") + json.dumps(result.to_json(), ensure_ascii=False))
        self._count += 1

    def add_static(self, extension: str, script: str, flows: Sequence[Flow]) -> None:
        self._static += [
            {"extension": extension, "script": script, "key": f.key, "channel": f.channel, "line": f.line,
             "col": f.col, "sink": f.sink, "via": f.via}
            for f in flows
        ]

    def finish(self, summary: Summary) -> None:
        self.out.write("\n],\n\"static\": " + json.dumps(self._static, ensure_ascii=False))
        self.out.write(",\n\"summary\": " + json.dumps(summary.to_json(), indent=2, ensure_ascii=False) + "\n}\n")
