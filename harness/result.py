"""What one run of an extension on one document produced, and its Test API JSON form.

:class:`ExtensionResult` is the single thing every reporter reads: the CLI's summary, its
``--json`` output and the pytest plugin's assertions all start from it.  Its JSON has the
shape of the response of Coveo's Extensions Test API, plus harness-only keys under
``"harness"``.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.document import DocumentData

__all__ = ["Change", "ExtensionResult", "LogEntry", "STATUSES"]

STATUSES = ("SUCCESS", "REJECTED", "SKIPPED", "EXECUTION_ERROR", "TIMEOUT")


@dataclass(frozen=True)
class LogEntry:
    """One ``document.log`` call: its text, upper-case severity, time and offset in the run."""

    comment: str
    severity: str
    date: float
    """Seconds since the epoch when the script logged it."""
    duration: float
    """Milliseconds since the script started."""

    def to_json(self) -> dict[str, Any]:
        return {
            "comment": self.comment,
            "severity": self.severity,
            "date": _iso(self.date),
            "duration": round(self.duration, 3),
            "fields": {},
        }


@dataclass(frozen=True)
class Change:
    """A metadata field the script set: its values before (newest origin) and after."""

    name: str
    before: list[Any]
    after: list[Any]


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
    """Milliseconds the script ran."""
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

    @property
    def ok(self) -> bool:
        """True for the statuses that leave Coveo's pipeline healthy (not an error or timeout)."""
        return self.status in ("SUCCESS", "REJECTED", "SKIPPED")

    @property
    def added_metadata(self) -> dict[str, list[Any]]:
        """Metadata the script set, lower-cased name -> values."""
        return {change.name: change.after for change in self.changes}

    def to_json(self) -> dict[str, Any]:
        """The Test API response for this run, plus ``harness`` (stdout, stderr, warnings)."""
        doc = self.document
        streams: dict[str, dict[str, Any]] = {}
        for stream in doc.data_streams:
            streams.setdefault(stream.origin, {})[stream.name] = {
                "inlineContent": base64.b64encode(stream.content).decode("ascii"),
                "compressionType": "UNCOMPRESSED",
            }
        return {
            "document": {
                "id": doc.uri,
                "metadata": [{"origin": origin, "values": values} for origin, values in doc.metadata],
                "permissions": list(doc.permissions),
                "dataStreams": [{"origin": o, "values": v} for o, v in streams.items()],
            },
            "logs": [entry.to_json() for entry in self.logs],
            "result": {"status": self.status, "reason": self.reason},
            "duration": round(self.duration, 3),
            "harness": {
                "extension": self.extension,
                "source": self.source,
                "stdout": self.stdout,
                "stderr": self.stderr,
                "warnings": list(self.warnings),
            },
        }
