"""What one run of an extension on one document produced, and its Test API JSON form.

:class:`ExtensionResult` is the single thing every reporter reads: the CLI's summary, its
``--json`` output and the pytest plugin's assertions all start from it.  Its JSON has the
shape of the response of Coveo's Extensions Test API, plus harness-only keys under
``"harness"``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.document import DocumentData
    from harness.leaks import Leak
    from harness.outbound import OutgoingRequest
    from harness.redaction import Redactor

__all__ = ["Change", "ExtensionResult", "LogEntry", "LoggingRecord", "SKIP_STATUS", "STATUSES"]

STATUSES = ("SUCCESS", "REJECTED", "SKIPPED", "EXECUTION_ERROR", "TIMEOUT")
"""The statuses of a run.  ``SKIPPED`` is the harness's own: Coveo's Test API status enum is
SUCCESS, REJECTED, EXECUTION_ERROR, TIMEOUT, DISABLED, and its runner records nothing when
``document.skip()`` is called (see ``docs/coveo-behaviour.md``)."""

SKIP_STATUS = "SUCCESS"
"""What the Test API JSON (``--json``, :meth:`ExtensionResult.to_json`) says for a skipped run:
``SUCCESS`` with the item unchanged; ``harness.status`` and ``harness.skipReason`` tell the skip."""


@dataclass(frozen=True)
class LogEntry:
    """One ``document.log`` call: its text, upper-case severity, time and offset in the run."""

    comment: str
    severity: str
    date: float
    """Seconds since the epoch when the script logged it."""
    duration: float
    """Seconds since the script started (Coveo's Test API gives log durations in seconds)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "comment": self.comment,
            "severity": self.severity,
            "date": _iso(self.date),
            "duration": round(self.duration, 9),
            "fields": {},
        }


@dataclass(frozen=True)
class Change:
    """A metadata field the script set: its values before (newest origin) and after."""

    name: str
    before: list[Any]
    after: list[Any]


@dataclass(frozen=True)
class LoggingRecord:
    """A record of Python's ``logging`` emitted during the run (urllib3's debug lines, say)."""

    logger: str
    level: str
    message: str
    """The formatted message, with the exception and stack text when the record had them."""

    def to_json(self) -> dict[str, str]:
        return {"logger": self.logger, "level": self.level, "message": self.message}


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z"
    )


@dataclass
class ExtensionResult:
    """The outcome of running one extension on one document."""

    status: str
    reason: str
    logs: list[LogEntry]
    document: DocumentData
    """The item as it leaves the extension (the input again unless the status is SUCCESS)."""
    duration: float
    """Seconds the script ran (the Test API's ``duration`` is in seconds, e.g. ``0.004000055``)."""
    changes: list[Change] = field(default_factory=list)
    """The metadata the script added or changed (empty unless SUCCESS)."""
    stdout: str = ""
    stderr: str = ""
    warnings: list[str] = field(default_factory=list)
    extension: str = ""
    """The extension's name."""
    source: str = ""
    """Where the document came from (a file path, or ``<dict>``)."""
    date: float = 0.0
    """Seconds since the epoch when the run started."""
    logging: list[LoggingRecord] = field(default_factory=list)
    requests: list[OutgoingRequest] = field(default_factory=list)
    """The HTTP requests the script sent (mocked or not), in order."""
    leaks: list[Leak] = field(default_factory=list)
    """Every place a vault value got out during the run (see :mod:`harness.leaks`)."""
    permissions_before: tuple[dict[str, Any], ...] | None = None
    """The item's permissions as they came in, when the script changed them (None otherwise),
    so that reports can show the change as they show metadata changes."""

    @property
    def ok(self) -> bool:
        """True for the statuses that leave Coveo's pipeline healthy (not an error or timeout)."""
        return self.status in ("SUCCESS", "REJECTED", "SKIPPED")

    @property
    def added_metadata(self) -> dict[str, list[Any]]:
        """Metadata the script set, lower-cased name -> values."""
        return {change.name: change.after for change in self.changes}

    # -- small readers for tests: what people assert on, without digging into the document --------

    def metadata(self, name: str) -> list[Any]:
        """The values the script set for ``name`` (case-insensitive, as Coveo's metadata names are);
        ``[]`` when it set none, so ``assert result.metadata("Title") == [...]`` reads naturally."""
        return list(self.added_metadata.get(name.lower(), []))

    @property
    def log_texts(self) -> list[str]:
        """The text of every ``log()`` call, in order."""
        return [entry.comment for entry in self.logs]

    def logs_at(self, severity: str) -> list[str]:
        """The texts logged at ``severity`` (``"Warning"``, ``"WARNING"`` ... any case)."""
        wanted = severity.upper()
        return [entry.comment for entry in self.logs if entry.severity == wanted]

    def stream(self, name: str) -> bytes | None:
        """The newest content of data stream ``name`` (case-insensitive; a Test API key such as
        ``THUMBNAIL`` names its stream, ``$thumbnail$``), or None when it has none."""
        from harness.document import STREAM_NAMES  # imports this module: read when called

        wanted = STREAM_NAMES.get(name.upper(), name.lower())
        found = [s.content for s in self.document.data_streams if s.name.lower() == wanted]
        return found[-1] if found else None

    def describe(self) -> str:
        """A few readable lines (status, reason, logs, metadata set, leaks) for failure messages."""
        lines = [f"{self.extension or 'extension'} on {self.source or 'a document'}: {self.status}"]
        if self.reason:
            lines += ["  reason: " + line for line in self.reason.splitlines()]
        lines += [f"  log {e.severity}: {e.comment}" for e in self.logs]
        lines += [f"  set {name} = {values!r}" for name, values in self.added_metadata.items()]
        lines += [f"  warning: {w}" for w in self.warnings]
        lines += [f"  leak: {leak}" for leak in self.leaks]
        return "\n".join(lines)

    def assert_status(self, *statuses: str) -> ExtensionResult:
        """Fail with :meth:`describe` unless the status is one of ``statuses``; returns self to chain."""
        wanted = [s.upper() for s in statuses]
        if self.status not in wanted:
            raise AssertionError(f"expected status {' or '.join(wanted)}, got {self.status}\n{self.describe()}")
        return self

    def __repr__(self) -> str:
        """One line, so pytest's ``where`` lines show what ran and how it ended, not the whole item."""
        reason = self.reason.strip().splitlines()[-1] if self.reason.strip() else ""
        tail = f": {reason[:120]}" if reason else ""
        return f"<ExtensionResult {self.extension or '?'} on {self.source or '?'}: {self.status}{tail}>"

    def redacted(self, redactor: Redactor, leaks: list[Leak] | None = None) -> ExtensionResult:
        """A copy where every string a person or a file could see has its vault values masked.

        The strings are the fields :func:`harness.fields.walk` yields (the leak finder walks
        the same ones); bytes are masked in their decoded and inflated layers too, so a UTF-16
        stream stays valid UTF-16 (see :mod:`harness.content`).
        """
        from harness import content
        from harness.fields import rebuild

        cut: list[str] = []

        def data(value: bytes) -> bytes:
            rewritten = content.rewrite(value, redactor.redact, redactor.redact_bytes)
            if rewritten.cut:
                cut.append("compressed output inflated past the scanning cap was cut to its first "
                           f"{content.MAX_INFLATED:,} bytes while masking vault values")
            return rewritten.data

        masked = rebuild(self, redactor.redact, data)
        masked.leaks = list(self.leaks if leaks is None else leaks)
        masked.warnings = masked.warnings + cut
        return masked

    def to_json(self) -> dict[str, Any]:
        """The Test API response for this run, plus ``harness`` (stdout, stderr, warnings, leaks)."""
        return {
            "document": self.document.to_json(),
            "logs": [entry.to_json() for entry in self.logs],
            "result": self._result_json(),
            "duration": round(self.duration, 9),
            "dataStreamUris": [],
            "harness": {
                "extension": self.extension,
                "source": self.source,
                "stdout": self.stdout,
                "stderr": self.stderr,
                "warnings": list(self.warnings),
                "logging": [record.to_json() for record in self.logging],
                "requests": [{"method": r.method, "url": r.url} for r in self.requests],
                "leaks": [leak.to_json() for leak in self.leaks],
                **self._skip_json(),
            },
        }

    def _result_json(self) -> dict[str, str]:
        """``result`` with a status of Coveo's enum: a skip is ``SUCCESS`` (see :data:`SKIP_STATUS`)."""
        if self.status == "SKIPPED":
            return {"status": SKIP_STATUS, "reason": ""}
        return {"status": self.status, "reason": self.reason}

    def _skip_json(self) -> dict[str, str]:
        """What the Test API cannot say about a skip: that it happened, and why."""
        if self.status != "SKIPPED":
            return {}
        return {"status": "SKIPPED", "skipReason": self.reason}

