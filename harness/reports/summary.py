"""What a run of many documents came to, accumulated one result at a time.

A batch may hold 100,000 documents, so :class:`Summary` keeps no result: it keeps counts,
the durations (one float a document, for exact percentiles), the few slowest documents, and
groups - warnings by kind, leaks by key and channel - whose size depends on how many kinds
there are, not on how many documents.  The documents a leak group holds are kept as ranges of
their position in the run (``1, 3-7``), which stay short when a leak hits every document.
"""

from __future__ import annotations

import heapq
import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from harness.result import ExtensionResult

__all__ = ["LeakGroup", "Summary", "WarningGroup", "warning_kind"]

#: How many of the slowest documents a summary names.
SLOWEST = 5

_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_NUMBER = re.compile(r"\d[\d,._]*")


def warning_kind(warning: str) -> str:
    """A warning with its varying parts (quoted names, numbers) replaced, so alike ones group.

    ``data stream 'body_html' is 6,000,123 bytes, over Coveo's cap of 5,242,880`` becomes
    ``data stream '…' is N bytes, over Coveo's cap of N``.
    """
    return _NUMBER.sub("N", _QUOTED.sub("'…'", warning.splitlines()[0] if warning else ""))


class _Positions:
    """Positions in the run (1-based) as ranges: added in increasing order, as results come."""

    __slots__ = ("spans",)

    def __init__(self) -> None:
        self.spans: list[list[int]] = []

    def add(self, n: int) -> None:
        if self.spans and self.spans[-1][1] >= n - 1:
            self.spans[-1][1] = max(self.spans[-1][1], n)
        else:
            self.spans.append([n, n])

    def __len__(self) -> int:
        return sum(b - a + 1 for a, b in self.spans)

    def __str__(self) -> str:
        return ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in self.spans)


@dataclass
class WarningGroup:
    """Warnings of one kind: how many, on how many documents, and the first one seen."""

    kind: str
    count: int = 0
    documents: int = 0
    example: str = ""
    """The first warning of this kind, verbatim (results are redacted already)."""
    first_source: str = ""


@dataclass
class LeakGroup:
    """Every leak of one vault key on one channel."""

    key: str
    channel: str
    count: int = 0
    positions: _Positions = field(default_factory=_Positions)
    """The documents it happened in, by position in the run."""
    aliases: set[str] = field(default_factory=set)
    first_source: str = ""
    first_place: str = ""

    @property
    def documents(self) -> int:
        return len(self.positions)


class Summary:
    """Counts, durations, slowest documents, timeouts, warnings and leaks of a run, so far.

    Feed it with :meth:`add` as results come; read it at any time (a partial run has a valid
    summary too).  ``extension`` names what ran, for the reports' titles.
    """

    def __init__(self, extension: str = "") -> None:
        self.extension = extension
        self.total = 0
        self.statuses: Counter[str] = Counter()
        self.durations: list[float] = []
        self._slowest: list[tuple[float, int, str]] = []  # a min-heap of (duration, position, source)
        self.timeouts: list[str] = []
        """The sources of the documents that timed out (the first 100; see :attr:`timeout_count`)."""
        self.timeout_count = 0
        self.warnings: dict[str, WarningGroup] = {}
        self.leaks: dict[tuple[str, str], LeakGroup] = {}
        self.leaking_documents = 0
        self.interrupted = False
        """Set when the run stopped before its last document (Ctrl-C, --fail-fast)."""

    def add(self, result: ExtensionResult) -> None:
        """Count one more result (the next in the run's order)."""
        self.total += 1
        position = self.total
        self.statuses[result.status] += 1
        self.durations.append(result.duration)
        entry = (result.duration, -position, result.source)
        if len(self._slowest) < SLOWEST:
            heapq.heappush(self._slowest, entry)
        elif entry > self._slowest[0]:
            heapq.heapreplace(self._slowest, entry)
        if result.status == "TIMEOUT":
            self.timeout_count += 1
            if len(self.timeouts) < 100:
                self.timeouts.append(result.source)
        seen: set[str] = set()
        for warning in result.warnings:
            kind = warning_kind(warning)
            group = self.warnings.get(kind)
            if group is None:
                group = self.warnings[kind] = WarningGroup(kind, example=warning, first_source=result.source)
            group.count += 1
            if kind not in seen:
                group.documents += 1
                seen.add(kind)
        if result.leaks:
            self.leaking_documents += 1
        for leak in result.leaks:
            lgroup = self.leaks.get((leak.key, leak.channel))
            if lgroup is None:
                lgroup = self.leaks[(leak.key, leak.channel)] = LeakGroup(
                    leak.key, leak.channel, first_source=result.source, first_place=leak.place
                )
            lgroup.count += 1
            lgroup.aliases.add(leak.alias)
            lgroup.positions.add(position)

    def add_all(self, results: Iterable[ExtensionResult]) -> Summary:
        for result in results:
            self.add(result)
        return self

    # -- readings -----------------------------------------------------------------------------

    @property
    def ok(self) -> bool:
        """No document ended EXECUTION_ERROR or TIMEOUT."""
        return not (self.statuses["EXECUTION_ERROR"] or self.statuses["TIMEOUT"])

    @property
    def failed(self) -> int:
        return self.statuses["EXECUTION_ERROR"] + self.statuses["TIMEOUT"]

    def percentile(self, p: float) -> float:
        """The ``p``-th percentile of the durations (nearest rank); 0.0 when nothing ran."""
        if not self.durations:
            return 0.0
        ordered = sorted(self.durations)
        rank = max(1, math.ceil(p / 100 * len(ordered)))
        return ordered[rank - 1]

    @property
    def max_duration(self) -> float:
        return max(self.durations, default=0.0)

    @property
    def slowest(self) -> list[tuple[str, float]]:
        """``(source, duration)`` of the slowest documents, slowest first (earliest on ties)."""
        return [(source, duration) for duration, _, source in sorted(self._slowest, reverse=True)]

    def status_counts(self) -> list[tuple[str, int]]:
        """``(status, count)`` of the statuses seen, by name (the order ``ipe run`` always printed)."""
        return sorted((s, n) for s, n in self.statuses.items() if n)

    def to_json(self) -> dict[str, Any]:
        return {
            "extension": self.extension,
            "documents": self.total,
            "interrupted": self.interrupted,
            "statuses": dict(self.status_counts()),
            "duration": {
                "p50": round(self.percentile(50), 6),
                "p95": round(self.percentile(95), 6),
                "max": round(self.max_duration, 6),
            },
            "slowest": [{"source": s, "duration": round(d, 6)} for s, d in self.slowest],
            "timeouts": {"count": self.timeout_count, "sources": list(self.timeouts)},
            "warnings": [
                {"kind": g.kind, "count": g.count, "documents": g.documents, "example": g.example,
                 "first_source": g.first_source}
                for g in sorted(self.warnings.values(), key=lambda g: (-g.count, g.kind))
            ],
            "leaks": [
                {"key": g.key, "channel": g.channel, "count": g.count, "documents": g.documents,
                 "positions": str(g.positions), "aliases": sorted(g.aliases),
                 "first_source": g.first_source, "first_place": g.first_place}
                for g in self.leak_groups()
            ],
        }

    def leak_groups(self) -> list[LeakGroup]:
        """Leak groups, most documents first."""
        return sorted(self.leaks.values(), key=lambda g: (-g.documents, g.key, g.channel))
