"""The readable form of a pipeline run, for people at a terminal: one line a step, then the changes.

Rendering only, and plain text (user-controlled strings are never read as rich markup).  Every
line fits 80 columns: long names, values and reasons are cut with an ellipsis.
"""

from __future__ import annotations

import textwrap
from collections import Counter
from collections.abc import Sequence

from rich.console import Console
from rich.text import Text

from harness.pipeline import PipelineResult, StepResult
from harness.reports.terminal import format_values

__all__ = ["render_pipeline", "render_pipeline_summary"]

WIDTH = 80
_STATUS_STYLES = {
    "SUCCESS": "green",
    "REJECTED": "yellow",
    "SKIPPED": "cyan",
    "EXECUTION_ERROR": "red",
    "TIMEOUT": "red",
}
_OUTCOME_STYLES = {"applied": "green", "discarded": "red", "rejected": "yellow", "not-run": "dim"}
_STAGES = {"PRE_CONVERSION": "pre", "POST_CONVERSION": "post"}


def _cut(text: str, width: int) -> str:
    """``text`` on one line, at most ``width`` characters."""
    text = " ".join(text.splitlines()).replace("\t", " ")
    return text if len(text) <= width else text[: width - 3] + "..."


def _condition_cell(step: StepResult) -> str:
    if step.condition_value is None:
        return "-"
    if step.condition is None:
        return "always"
    return "true" if step.condition_value else "false"


def _step_line(index: int, step: StepResult) -> Text:
    status = step.status or "-"
    return Text.assemble(
        f"  {index:>2} {_STAGES.get(step.stage, step.stage):<6}",
        (f"{_cut(step.extension, 23):<24}", "bold"),
        f"{_condition_cell(step):<7}",
        (f"{status:<16}", _STATUS_STYLES.get(status, "")),
        (step.outcome, _OUTCOME_STYLES.get(step.outcome, "")),
    )


def render_pipeline(result: PipelineResult, console: Console, *, explain: bool = False) -> None:
    """One document: its final status, a line per step (with its condition's sub-expressions when
    ``explain``), why a step failed, what leaked, and the final document's changes."""
    source = result.source if len(result.source) <= 60 else "..." + result.source[-57:]
    console.print(Text.assemble((source, "bold"), ": ",
                                (result.status, _STATUS_STYLES.get(result.status, "bold"))))
    if result.reason:
        lines = textwrap.wrap(" ".join(result.reason.split()), WIDTH - 2) or [""]
        if len(lines) > 3:
            lines = lines[:2] + [_cut(" ".join(lines[2:]), WIDTH - 2)]
        for line in lines:
            console.print(Text("  " + line, style="yellow"))
    console.print(Text(f"  {'#':>2} {'stage':<6}{'extension':<24}{'if':<7}{'status':<16}changes", style="dim"))
    for index, step in enumerate(result.steps, 1):
        console.print(_step_line(index, step))
        if explain and step.condition is not None:
            _explain(step, console)
        if step.errored:
            console.print(Text(_cut(f"       {step.action_on_error}: {_last_line(step.reason)}", WIDTH), style="red"))
        for leak in step.result.leaks if step.result is not None else []:
            console.print(Text("       leak: " + _cut(str(leak), WIDTH - 13), style="bold red"))
    _changes(result, console)


def _explain(step: StepResult, console: Console) -> None:
    if not step.explanation:
        console.print(Text(f"       condition: {_cut(step.condition or '', WIDTH - 18)} (not evaluated)", style="dim"))
        return
    console.print(Text(f"       condition: {_cut(step.condition or '', WIDTH - 18)}", style="dim"))
    for line in step.explanation:
        indent = "  " * line.depth
        read = ""
        if line.read is not None:
            read = f"   {line.read[0]}: {format_values(line.read[1])}" if line.read[1] else f"   {line.read[0]}: absent"
        console.print(Text.assemble(
            "         ",
            (f"{'true' if line.value else 'false':<6}", "green" if line.value else "red"),
            _cut(indent + line.text + read, WIDTH - 15),
        ))


def _changes(result: PipelineResult, console: Console) -> None:
    changes = result.changes()
    streams = [s for s in result.document.data_streams if s not in result.input.data_streams]
    permissions = result.document.permissions != result.input.permissions
    if not (changes or streams or permissions):
        console.print(Text("  no change to the document", style="dim"))
        return
    title = "changes against the input" if result.status == "SUCCESS" else "changes before it was rejected"
    console.print(Text(f"  {title}:", style="bold"))
    for name, before, after in changes:
        origin = next((o for o, values in reversed(result.document.metadata) if name in values), "")
        if before:
            line = f"    ~ {name}: {format_values(before)} -> {format_values(after)}"
        else:
            line = f"    + {name}: {format_values(after)}"
        console.print(Text(_cut(line, WIDTH - len(origin) - 4) + (f"  ({origin})" if origin else "")))
    for stream in streams:
        console.print(Text(_cut(f"    + data stream {stream.name}: {len(stream.content):,} bytes ({stream.origin})", WIDTH)))
    if permissions:
        console.print(Text("    ~ permissions replaced"))


def render_pipeline_summary(results: Sequence[PipelineResult], console: Console) -> None:
    """A closing line for several documents: how they ended, and how many step errors and leaks."""
    counts = Counter(r.status for r in results)
    errors = sum(1 for r in results for s in r.steps if s.errored)
    leaks = sum(len(r.leaks) for r in results)
    parts = [f"{n} {status}" for status, n in sorted(counts.items(), key=lambda item: item[0] != "SUCCESS")]
    line = f"{len(results)} documents: {', '.join(parts)}; {errors} step error(s); {leaks} leak(s)"
    console.print(Text(_cut(line, WIDTH), style="bold"))


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""
