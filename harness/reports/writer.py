"""Report files: one interface, a format per file extension, written as results come.

A :class:`ReportWriter` gets each result once (:meth:`~ReportWriter.add`) and the run's
summary at the end (:meth:`~ReportWriter.close`); it keeps no result in memory, so a batch of
100,000 documents costs the same as ten.  It writes into a temporary file beside its target
and renames it over the target on :meth:`~ReportWriter.close`: the file a CI job reads is
always whole - the full run, or the part that ran before Ctrl-C (``summary.interrupted``) -
never half-written.

:class:`Reports` is what a command drives: the summary, every ``--report`` file and the
progress bar fed from one :meth:`~Reports.add` per result, closed once however the run ends.
"""

from __future__ import annotations

import os
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING

from harness.errors import HarnessError
from harness.reports.summary import Summary
from harness.result import ExtensionResult

if TYPE_CHECKING:
    from harness.reports.progress import Progress
    from harness.taint import Flow

__all__ = ["FORMATS", "ReportWriter", "Reports", "open_report", "report_format"]

#: File extension -> format name.
FORMATS = {".json": "json", ".xml": "junit", ".html": "html", ".htm": "html"}


class ReportWriter(ABC):
    """A report file being written: :meth:`add` per result, :meth:`close` once at the end."""

    def __init__(self, path: str | os.PathLike[str], *, title: str = "") -> None:
        self.path = Path(path)
        self.title = title
        self._closed = False
        try:
            handle, name = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".part", dir=self.path.parent or ".")
        except OSError as exc:
            raise HarnessError(f"{self.path}: cannot write the report ({exc.strerror or exc})") from None
        self._temp = Path(name)
        self.out: IO[str] = os.fdopen(handle, "w", encoding="utf-8", newline="\n")

    @abstractmethod
    def add(self, result: ExtensionResult) -> None:
        """Write one result (they come in the run's order)."""

    def add_static(self, extension: str, script: str, flows: Sequence[Flow]) -> None:  # noqa: B027 - optional
        """The static pass's flows of one extension (``ipe check``); formats without a place for
        them ignore them."""

    @abstractmethod
    def finish(self, summary: Summary) -> None:
        """Write what comes after the last result (the summary, closing tags)."""

    def close(self, summary: Summary) -> None:
        """Finish the file and put it in place; safe to call twice (the second does nothing)."""
        if self._closed:
            return
        self._closed = True
        try:
            self.finish(summary)
            self.out.close()
            os.chmod(self._temp, 0o666 & ~_umask())  # mkstemp's 0600 is for the temporary file only
            os.replace(self._temp, self.path)
        except OSError as exc:
            self.discard()
            raise HarnessError(f"{self.path}: cannot write the report ({exc.strerror or exc})") from None

    def discard(self) -> None:
        """Drop the temporary file (the run failed before it had anything to report)."""
        self._closed = True
        if not self.out.closed:
            self.out.close()
        self._temp.unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def report_format(path: str | os.PathLike[str]) -> str:
    """The format of a report file, from its extension; a :class:`HarnessError` for others."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise HarnessError(f"{path}: unknown report format {suffix or '(no extension)'!r}; use .json, .xml (JUnit) or .html")
    return FORMATS[suffix]


def open_report(path: str | os.PathLike[str], *, title: str = "") -> ReportWriter:
    """A writer for ``path``, its format chosen by the file extension."""
    kind = report_format(path)
    if kind == "json":
        from harness.reports.json_report import JsonReport

        return JsonReport(path, title=title)
    if kind == "junit":
        from harness.reports.junit import JunitReport

        return JunitReport(path, title=title)
    from harness.reports.html import HtmlReport

    return HtmlReport(path, title=title)


class Reports:
    """A run's summary, report files and progress bar, fed together and closed together.

    Use it as a context manager around the run's loop: leaving it, by the end of the loop, by
    Ctrl-C or by an error, closes every report with the summary of what ran (marked
    ``interrupted`` unless the loop ended normally).
    """

    def __init__(
        self,
        paths: Iterable[str | os.PathLike[str]] = (),
        *,
        title: str = "",
        progress: Progress | None = None,
    ) -> None:
        self.summary = Summary(title)
        self.progress = progress
        self.writers: list[ReportWriter] = []
        try:
            for path in paths:
                self.writers.append(open_report(path, title=title))
        except HarnessError:
            for writer in self.writers:
                writer.discard()
            raise

    def add(self, result: ExtensionResult) -> None:
        self.summary.add(result)
        for writer in self.writers:
            writer.add(result)
        if self.progress is not None:
            self.progress.advance(result)

    def add_static(self, extension: str, script: str, flows: Sequence[Flow]) -> None:
        for writer in self.writers:
            writer.add_static(extension, script, flows)

    def close(self, *, interrupted: bool = False) -> None:
        if self.progress is not None:
            self.progress.stop()
        self.summary.interrupted = self.summary.interrupted or interrupted
        errors = []
        for writer in self.writers:
            try:
                writer.close(self.summary)
            except HarnessError as exc:
                errors.append(exc)
        if errors:
            raise errors[0]

    def __enter__(self) -> Reports:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close(interrupted=kind is not None)
