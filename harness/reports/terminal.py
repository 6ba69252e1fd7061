"""The readable form of results, for people at a terminal: every line fits the console's width.

Rendering only: it reads results and summaries and writes to a rich console.  Everything
user-controlled is printed as plain text, never as rich markup.  A line longer than the
console is cut with an ellipsis rather than wrapped (the full value is in ``--json`` and the
reports); document paths are shown relative to the extension's folder.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sysconfig
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from harness.reports.changes import permission_diff, stream_changes
from harness.reports.summary import LeakGroup, Summary
from harness.result import ExtensionResult

if TYPE_CHECKING:
    from harness.check import CheckReport

__all__ = [
    "format_duration", "render_check", "render_checks", "render_result", "render_summary", "shown_path",
    "trim_traceback",
]

_STYLES = {
    "SUCCESS": "bold green",
    "REJECTED": "bold yellow",
    "SKIPPED": "bold cyan",
    "EXECUTION_ERROR": "bold red",
    "TIMEOUT": "bold red",
}
_SEVERITY_STYLES = {"ERROR": "red", "FATAL": "bold red", "WARNING": "yellow", "IMPORTANT": "bold", "DEBUG": "dim", "DETAIL": "dim"}


def format_duration(seconds: float) -> str:
    """``0.4 ms``, ``12.0 ms``, ``1.25 s``: durations are seconds."""
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def shown_path(source: str, base: str | os.PathLike[str] | None) -> str:
    """``source`` relative to ``base`` (the extension's folder) when it lies inside it."""
    if base is None or source.startswith("<"):
        return source
    try:
        return str(Path(source).resolve().relative_to(Path(base).resolve()))
    except (ValueError, OSError):
        return source


def _cut_path(path: str, room: int) -> str:
    """``path`` in at most ``room`` characters, cut on the left: the file name is worth keeping."""
    return path if len(path) <= room else "…" + path[-(max(room, 2) - 1):]


def _print(console: Console, text: Text | str, style: str = "") -> None:
    """One line, cut to the console's width."""
    line = text if isinstance(text, Text) else Text(text, style=style)
    line.truncate(console.width, overflow="ellipsis")
    console.print(line, no_wrap=True, overflow="ellipsis", crop=True)


def format_values(values: Sequence[Any]) -> str:
    """A metadata's values as a reader writes them: ``['a', 3]``."""
    return "[" + ", ".join(repr(v) for v in values) + "]"


def _section(console: Console, title: str) -> None:
    _print(console, Text(f"  {title}", style="bold"))


def _indented(console: Console, text: str, style: str = "", limit: int = 0) -> None:
    lines = text.splitlines() or [""]
    shown = lines[:limit] if limit else lines
    for line in shown:
        _print(console, Text("    " + line.expandtabs(4), style=style))
    if len(shown) < len(lines):
        _print(console, Text(f"    ... {len(lines) - len(shown)} more lines (--json shows all)", style="dim"))


# -- tracebacks ------------------------------------------------------------------------------------

_FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line \d+')
_QUIET_PACKAGES = ("requests", "urllib3", "vcr", "harness")


def _package_dirs() -> tuple[str, ...]:
    dirs = []
    for name in _QUIET_PACKAGES:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue
        for location in (spec.submodule_search_locations or []) if spec else []:
            dirs.append(os.path.join(os.path.realpath(location), ""))
    return tuple(dirs)


def trim_traceback(text: str) -> str:
    """``text`` with the frames of requests, urllib3, vcrpy and the harness folded into one line.

    The script's own frames are what its author can act on; the library frames between them
    and the exception are noise on a terminal (``--full-traceback`` and ``--json`` keep them).
    Standard library frames that such a library called (``http/client.py`` under urllib3) go
    with them; the ones the script called itself (``json.loads``) stay.
    """
    dirs = _package_dirs()
    stdlib = os.path.join(os.path.realpath(sysconfig.get_paths()["stdlib"]), "")
    out: list[str] = []
    hidden = 0
    in_library = False
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        match = _FRAME.match(lines[i])
        if match:
            path = os.path.realpath(match["file"])
            quiet = path.startswith(dirs) or (in_library and path.startswith(stdlib) and "site-packages" not in path)
            in_library = quiet
            if quiet:
                hidden += 1
                indent = len(lines[i]) - len(lines[i].lstrip())
                i += 1
                while i < len(lines) and len(lines[i]) - len(lines[i].lstrip()) > indent and not _FRAME.match(lines[i]):
                    i += 1  # the frame's source line and its ^^^^ markers
                continue
        else:
            in_library = in_library and lines[i].startswith(" ")
        if hidden:
            out.append(_hidden(hidden))
            hidden = 0
        out.append(lines[i])
        i += 1
    if hidden:
        out.append(_hidden(hidden))
    return "\n".join(out)


def _hidden(count: int) -> str:
    return f"  ... {count} frame{'s' if count > 1 else ''} of requests/urllib3/vcr/harness hidden (--full-traceback)"


# -- one result ------------------------------------------------------------------------------------


def render_result(
    result: ExtensionResult,
    console: Console,
    *,
    base: str | os.PathLike[str] | None = None,
    full_traceback: bool = False,
) -> None:
    """One document's outcome: status, what changed, logs, output, warnings, duration.

    ``base`` is the extension's folder (paths are shown relative to it); ``full_traceback``
    keeps the library frames of a failure's traceback.
    """
    duration = format_duration(result.duration)
    path = shown_path(result.source, base)
    path = _cut_path(path, max(10, console.width - 16 - len(duration) - 2))
    _print(console, Text.assemble(
        (f"{result.status:<15}", _STYLES.get(result.status, "bold")), " ", (path, "bold"), ("  " + duration, "dim"),
    ))
    if result.reason:
        _section(console, "reason")
        reason = result.reason if full_traceback or result.ok else trim_traceback(result.reason)
        _indented(console, reason, "red" if not result.ok else "")
    if result.changes:
        _section(console, "metadata")
        width = min(max(len(c.name) for c in result.changes), 24)
        for change in result.changes:
            if change.before:
                line = Text.assemble(("    ~ ", "yellow"), f"{change.name:<{width}}  {format_values(change.before)} -> {format_values(change.after)}")
            else:
                line = Text.assemble(("    + ", "green"), f"{change.name:<{width}}  {format_values(change.after)}")
            _print(console, line)
    permissions = permission_diff(result)
    if permissions:
        _section(console, "permissions")
        shown_where = None
        for sign, where, what in permissions:
            if where != shown_where:
                _print(console, Text(f"    {where}", style="dim"))
                shown_where = where
            _print(console, Text.assemble((f"      {sign} ", "green" if sign == "+" else "red"), what))
    for stream in stream_changes(result):
        verb = "replaced" if stream.replaced else "added"
        _section(console, f"data stream {stream.name} {verb} ({stream.size:,} bytes)")
        if stream.after is None:
            _print(console, Text("    (binary)", style="dim"))
        else:
            _indented(console, stream.after, "dim", limit=6)
    if result.logs:
        _section(console, "logs")
        for entry in result.logs:
            style = _SEVERITY_STYLES.get(entry.severity, "")
            lines = entry.comment.splitlines() or [""]
            _print(console, Text.assemble(("    " + f"{entry.severity:<13}", style), lines[0]))
            for more in lines[1:]:
                _print(console, Text(" " * 17 + more))
    for name, text in (("stdout", result.stdout), ("stderr", result.stderr)):
        if text:
            _section(console, name)
            _indented(console, text.rstrip("\n"), "dim", limit=20)
    if result.warnings:
        _section(console, "warnings")
        for warning in result.warnings:
            _print(console, Text("    ! " + warning.splitlines()[0], style="yellow"))
    if result.leaks:
        _section(console, f"leaks ({len(result.leaks)})")
        for leak in result.leaks:
            _print(console, Text.assemble(("    x ", "bold red"), f"{leak.key} -> {leak.channel} ({leak.alias}) at {leak.place}"))


# -- a run's summary -------------------------------------------------------------------------------


def render_summary(
    summary: Summary | Iterable[ExtensionResult], console: Console, *, base: str | os.PathLike[str] | None = None
) -> None:
    """The closing lines of a run of several documents: counts, durations, slowest, warnings, leaks.

    ``summary`` is the run's :class:`Summary`, or its results (summarized here).
    """
    if not isinstance(summary, Summary):
        summary = Summary().add_all(summary)
    parts = [Text(f"{n} {status}", style=_STYLES.get(status, "")) for status, n in summary.status_counts()]
    line = Text(f"{summary.total} document{'s' if summary.total != 1 else ''}: ", style="bold")
    line.append(Text(", ").join(parts))
    if summary.interrupted:
        line.append(Text("  (interrupted)", style="bold red"))
    _print(console, line)
    if not summary.total:
        return
    _print(console, Text(
        f"  duration p50 {format_duration(summary.percentile(50))}, p95 {format_duration(summary.percentile(95))}, "
        f"max {format_duration(summary.max_duration)}", style="dim",
    ))
    if summary.total > 1:
        _section(console, "slowest")
        for source, duration in summary.slowest:
            _print(console, Text(f"    {format_duration(duration):>10}  {_cut_path(shown_path(source, base), console.width - 16)}"))
    if summary.timeout_count:
        _section(console, f"timeouts ({summary.timeout_count})")
        for source in summary.timeouts[:5]:
            _print(console, Text(f"    {_cut_path(shown_path(source, base), console.width - 4)}", style="red"))
        if summary.timeout_count > 5:
            _print(console, Text(f"    ... and {summary.timeout_count - 5} more", style="dim"))
    if summary.warnings:
        _section(console, "warnings")
        for group in sorted(summary.warnings.values(), key=lambda g: (-g.count, g.kind)):
            _print(console, Text(f"    {group.documents:>5} doc{'s' if group.documents != 1 else ' '}  {group.kind}", style="yellow"))
    if summary.leaks:
        _section(console, f"leaks ({summary.leaking_documents} document{'s' if summary.leaking_documents != 1 else ''})")
        for lgroup in summary.leak_groups():
            _leak_group_line(console, lgroup)


def _leak_group_line(console: Console, group: LeakGroup, indent: str = "    ") -> None:
    """``api_key -> log: 6 documents, entries 1, 3-7 (first: log entry 2)``."""
    n = group.documents
    _print(console, Text.assemble(
        (f"{indent}x ", "bold red"),
        f"{group.key} -> {group.channel}: {n} document{'s' if n != 1 else ''}, entries {group.positions}",
        (f" (first: {group.first_place})", "dim"),
    ))


# -- ipe check -------------------------------------------------------------------------------------


def render_check(report: CheckReport, console: Console) -> None:
    """An extension's leak check: a verdict line, then its findings grouped by key and channel.

    The documents of a group are collapsed to their positions in the run (``entries 1, 3-7``,
    in the order of the numbered list that follows), so 150 findings take a few lines.
    """
    base = report.extension.folder
    runs = Counter(r.status for r in report.results)
    statuses = ", ".join(f"{n} {status}" for status, n in sorted(runs.items())) or "no document"
    findings = len(report.leaks) + len(report.flows)
    if report.clean:
        verdict = "clean"
    elif findings:
        verdict = f"{findings} finding{'s' if findings != 1 else ''}"
    else:
        verdict = "incomplete" if report.incomplete else "not checked in full"
    _print(console, Text.assemble(
        (verdict, "bold green" if report.clean else "bold red"),
        ("  " + report.extension.name, "bold"),
        (f"  ({statuses}; static pass)", "dim"),
    ))
    if report.incomplete:
        for line in ("  incomplete: every document ended in an error or a timeout before the script",
                     "  reached its outputs (a canary it could not use? see `ipe run --json`):",
                     "  this extension was not checked"):
            _print(console, Text(line, style="bold yellow"))
    summary = Summary(report.extension.name).add_all(report.results)
    for lgroup in summary.leak_groups():
        _leak_group_line(console, lgroup, "  ")
    if summary.leaks:
        _print(console, Text("  entries:", style="dim"))
        leaking = [(i, r) for i, r in enumerate(report.results, 1) if r.leaks]
        for i, result in leaking[:10]:
            _print(console, Text(f"    {i:>3}. {_cut_path(shown_path(result.source, base), console.width - 9)}", style="dim"))
        if len(leaking) > 10:
            _print(console, Text(f"    ... and {len(leaking) - 10} more (--json lists them all)", style="dim"))
    static: dict[tuple[str, str], list[int]] = {}
    for flow in report.flows:
        static.setdefault((flow.key if flow.key is not None else "(dynamic key)", flow.channel), []).append(flow.line)
    for (key, channel), lines in static.items():
        shown = ", ".join(str(n) for n in sorted(set(lines)))
        _print(console, Text.assemble(("  s ", "bold red"), f"{key} -> {channel}: static, {report.extension.script.name} line{'s' if len(set(lines)) > 1 else ''} {shown}"))
    for problem in report.problems:
        _print(console, Text(f"  problem: {problem}", style="red"))
    for limit in report.limits:
        _print(console, Text(f"  note: {limit}", style="dim"))
    for warning in report.python:
        _print(console, Text(f"  python: {warning}", style="yellow"))


def render_checks(reports: Sequence[CheckReport], console: Console, *, quiet: bool = False) -> None:
    """Every extension's check (unless ``quiet``), a closing line of totals, and a table by
    channel when anything was found."""
    for report in reports if not quiet else ():
        render_check(report, console)
    summary = Summary().add_all(result for report in reports for result in report.results)
    statuses = ", ".join(f"{n} {status}" for status, n in summary.status_counts())
    findings = sum(len(report.leaks) + len(report.flows) for report in reports)
    # the verdict first: a narrow terminal cuts the end of the line, never the verdict
    counts = (f": {len(reports)} extension{'s' if len(reports) != 1 else ''}, "
              f"{summary.total} document{'s' if summary.total != 1 else ''}" + (f" ({statuses})" if statuses else ""))
    incomplete = sum(1 for report in reports if report.incomplete or report.problems)
    if findings:
        verdict = Text(f"{findings} finding{'s' if findings != 1 else ''}", style="bold red")
    elif incomplete:
        verdict = Text(f"{incomplete} not checked in full", style="bold yellow")
    else:
        verdict = Text("all clean", style="bold green")
    _print(console, verdict.append(counts, style="bold"))
    if not findings:
        return
    console.print()
    console.print(_channel_table(reports))


def _channel_table(reports: Iterable[CheckReport]) -> Table:
    """Findings by channel: leaks seen in runs (documents) and flows found by the static pass."""
    runtime: Counter[str] = Counter()
    documents: Counter[str] = Counter()
    static: Counter[str] = Counter()
    keys: dict[str, set[str]] = {}
    for report in reports:
        for result in report.results:
            for channel in {leak.channel for leak in result.leaks}:
                documents[channel] += 1
            for leak in result.leaks:
                runtime[leak.channel] += 1
                keys.setdefault(leak.channel, set()).add(leak.key)
        for flow in report.flows:
            static[flow.channel] += 1
            keys.setdefault(flow.channel, set()).add(flow.key or "(dynamic key)")
    table = Table(box=None, pad_edge=False, header_style="bold", show_edge=False)
    table.add_column("channel")
    table.add_column("leaks", justify="right")
    table.add_column("documents", justify="right")
    table.add_column("static", justify="right")
    table.add_column("keys", overflow="ellipsis", no_wrap=True, max_width=40)
    for channel in sorted(keys, key=lambda c: (-(documents[c] + static[c]), c)):
        table.add_row(channel, str(runtime[channel]), str(documents[channel]), str(static[channel]),
                      ", ".join(sorted(keys[channel])))
    return table
