"""The ``.xml`` report: JUnit XML, the format every CI server shows as a test list.

One ``<testcase>`` per document (``classname`` the extension, ``name`` the document): it
fails when the run ended EXECUTION_ERROR or TIMEOUT, and when a vault value leaked, whatever
the status.  ``ipe check``'s static findings become one more test case per extension.
The ``<testsuite>`` element carries the counts, which are only known at the end, so the test
cases are spooled to a temporary file as they come and copied in after the header on close.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape, quoteattr

from harness.reports.summary import Summary
from harness.reports.writer import ReportWriter
from harness.result import ExtensionResult

if TYPE_CHECKING:
    from harness.taint import Flow

__all__ = ["JunitReport"]

# Characters XML 1.0 cannot hold at all, even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _text(value: str) -> str:
    return escape(_NOT_XML.sub("\ufffd", value))


def _attr(value: str) -> str:
    return quoteattr(_NOT_XML.sub("\ufffd", value).replace("\n", " "))


class JunitReport(ReportWriter):
    """``<testsuites><testsuite>`` with a test case per document."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._cases = tempfile.TemporaryFile("w+", encoding="utf-8")
        self._tests = self._failures = 0

    def add(self, result: ExtensionResult) -> None:
        self._tests += 1
        out = self._cases
        out.write(
            f'    <testcase classname={_attr(result.extension or "extension")} name={_attr(result.source)}'
            f' time="{result.duration:.6f}">\n'
        )
        problems = []
        if not result.ok:
            first = result.reason.strip().splitlines()[-1] if result.reason.strip() else result.status
            problems.append((result.status, f"{result.status}: {first}", result.reason))
        if result.leaks:
            keys = sorted({f"{leak.key} -> {leak.channel}" for leak in result.leaks})
            problems.append(("LEAK", f"{len(result.leaks)} leak(s) of vault values: {', '.join(keys)}",
                             "\n".join(str(leak) for leak in result.leaks)))
        if problems:
            self._failures += 1
            kind = "+".join(p[0] for p in problems)
            message = "; ".join(p[1] for p in problems)
            body = "\n\n".join(p[2] for p in problems if p[2])
            out.write(f"      <failure type={_attr(kind)} message={_attr(message)}>{_text(body)}</failure>\n")
        elif result.status == "SKIPPED":
            out.write('      <properties><property name="status" value="SKIPPED"/></properties>\n')
        logs = [f"{e.severity}: {e.comment}" for e in result.logs] + [f"stdout: {line}" for line in result.stdout.splitlines()]
        if logs:
            out.write(f"      <system-out>{_text(chr(10).join(logs))}</system-out>\n")
        errors = [f"warning: {w}" for w in result.warnings] + [f"stderr: {line}" for line in result.stderr.splitlines()]
        if errors:
            out.write(f"      <system-err>{_text(chr(10).join(errors))}</system-err>\n")
        out.write("    </testcase>\n")

    def add_static(self, extension: str, script: str, flows: Sequence[Flow]) -> None:
        self._tests += 1
        self._cases.write(f"    <testcase classname={_attr(extension)} name={_attr(f'static pass over {script}')} time=\"0\">\n")
        if flows:
            self._failures += 1
            lines = [f"{script}:{f.line} {f.key or '(dynamic key)'} -> {f.channel} at {f.sink}" for f in flows]
            message = f"{len(flows)} flow(s) from vault_parameters to an output"
            self._cases.write(f"      <failure type=\"STATIC\" message={_attr(message)}>{_text(chr(10).join(lines))}</failure>\n")
        self._cases.write("    </testcase>\n")

    def finish(self, summary: Summary) -> None:
        name = self.title or "ipe"
        if summary.interrupted:
            name += " (interrupted)"
        total_time = sum(summary.durations)
        self.out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
        counts = f'tests="{self._tests}" failures="{self._failures}" errors="0" skipped="0"'
        self.out.write(f"<testsuites name={_attr(name)} {counts} time=\"{total_time:.6f}\">\n")
        self.out.write(f"  <testsuite name={_attr(name)} {counts} time=\"{total_time:.6f}\">\n")
        self._cases.seek(0)
        shutil.copyfileobj(self._cases, self.out)
        self._cases.close()
        self.out.write("  </testsuite>\n</testsuites>\n")

    def discard(self) -> None:
        self._cases.close()
        super().discard()
