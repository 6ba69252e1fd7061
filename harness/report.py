"""The readable form of results, for people at a terminal.

Rendering only: it reads :class:`~harness.result.ExtensionResult` objects and writes to a
rich console; everything user-controlled is printed as plain text, never as rich markup.
"""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from harness.document import stream_encoding
from harness.result import ExtensionResult

if TYPE_CHECKING:
    from harness.check import CheckReport

__all__ = ["render_check", "render_result", "render_summary"]

_STYLES = {
    "SUCCESS": "bold green",
    "REJECTED": "bold yellow",
    "SKIPPED": "bold cyan",
    "EXECUTION_ERROR": "bold red",
    "TIMEOUT": "bold red",
}
_SEVERITY_STYLES = {"ERROR": "red", "FATAL": "bold red", "WARNING": "yellow", "IMPORTANT": "bold", "DEBUG": "dim", "DETAIL": "dim"}


def _values(values: Sequence[Any]) -> str:
    return "[" + ", ".join(repr(v) for v in values) + "]"


def _section(console: Console, title: str) -> None:
    console.print(Text(f"  {title}", style="bold"))


def _indented(console: Console, text: str, style: str = "") -> None:
    for line in text.splitlines() or [""]:
        console.print(Text("    " + line, style=style))


def render_result(result: ExtensionResult, console: Console) -> None:
    """One document's outcome: status, what changed, logs, output, warnings, duration."""
    header = Text.assemble(
        (f"{result.status:<15}", _STYLES.get(result.status, "bold")),
        " ",
        (result.extension, "bold"),
        " <- ",
        result.source,
        (f"  {result.duration:.1f} ms", "dim"),
    )
    console.print(header)
    if result.reason:
        _section(console, "reason")
        _indented(console, result.reason, "red" if not result.ok else "")
    if result.changes:
        _section(console, "metadata")
        width = max(len(c.name) for c in result.changes)
        for change in result.changes:
            if change.before:
                line = Text.assemble(("    ~ ", "yellow"), f"{change.name:<{width}}  {_values(change.before)} -> {_values(change.after)}")
            else:
                line = Text.assemble(("    + ", "green"), f"{change.name:<{width}}  {_values(change.after)}")
            console.print(line)
    if result.status == "SUCCESS":
        for stream in result.document.data_streams:
            if stream.origin == result.extension:
                _section(console, f"data stream {stream.name} ({len(stream.content):,} bytes)")
                _indented(console, _preview(stream.name, stream.content), "dim")
    if result.logs:
        _section(console, "logs")
        for entry in result.logs:
            style = _SEVERITY_STYLES.get(entry.severity, "")
            lines = entry.comment.splitlines() or [""]
            console.print(Text.assemble(("    " + f"{entry.severity:<13}", style), lines[0]))
            for more in lines[1:]:
                console.print(Text(" " * 17 + more))
    for name, text in (("stdout", result.stdout), ("stderr", result.stderr)):
        if text:
            _section(console, name)
            _indented(console, text.rstrip("\n"), "dim")
    if result.warnings:
        _section(console, "warnings")
        for warning in result.warnings:
            console.print(Text("    ! " + warning, style="yellow"))
    if result.leaks:
        _section(console, f"leaks ({len(result.leaks)})")
        for leak in result.leaks:
            console.print(Text.assemble(("    x ", "bold red"), f"{leak.key}: {leak.channel} ({leak.alias}) at {leak.place}"))


def _preview(name: str, content: bytes, limit: int = 400) -> str:
    try:
        text = content.decode(stream_encoding(name))
    except UnicodeDecodeError:
        return f"(binary) {base64.b64encode(content[:60]).decode('ascii')}..."
    return text if len(text) <= limit else text[:limit] + f"... ({len(text):,} characters)"


def render_summary(results: Sequence[ExtensionResult], console: Console) -> None:
    """One closing line counting the statuses, printed when several documents ran."""
    counts = Counter(r.status for r in results)
    parts = [Text(f"{n} {status}", style=_STYLES.get(status, "")) for status, n in sorted(counts.items())]
    line = Text(f"{len(results)} document{'s' if len(results) != 1 else ''}: ")
    line.append(Text(", ").join(parts))
    console.print(line)


def render_check(report: CheckReport, console: Console) -> None:
    """An extension's leak check: a verdict line, a table of findings, what the static pass missed."""
    runs = Counter(r.status for r in report.results)
    statuses = ", ".join(f"{n} {status}" for status, n in sorted(runs.items())) or "no document"
    findings = len(report.leaks) + len(report.flows)
    label = "clean" if report.clean else f"{findings} finding{'s' if findings != 1 else ''}"
    if not findings and report.problems:
        label = "not checked in full"
    verdict = Text.assemble(
        (label,
         "bold green" if report.clean else "bold red"),
        ("  " + report.extension.name, "bold"),
        (f"  ({statuses}; static pass over {report.extension.script.name})", "dim"),
    )
    console.print(verdict)
    if findings:
        table = Table(show_edge=False, pad_edge=False, box=None, header_style="bold")
        for column in ("found by", "key", "channel", "alias", "place"):
            table.add_column(column, overflow="fold")
        for source, leak in report.leaks:
            table.add_row(Text(source), Text(leak.key), Text(leak.channel), Text(leak.alias), Text(leak.place))
        for flow in report.flows:
            table.add_row(
                Text("static"), Text(flow.key if flow.key is not None else "(dynamic key)"), Text(flow.channel),
                Text("-"), Text(f"{report.extension.script.name}:{flow.line} {flow.sink}" + (f" via {flow.via}" if flow.via else "")),
            )
        console.print(table)
    for problem in report.problems:
        console.print(Text(f"  problem: {problem}", style="red"))
    for limit in report.limits:
        console.print(Text(f"  note: {limit}", style="dim"))
    console.print()
