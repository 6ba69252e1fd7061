"""The leak check behind ``ipe check``: run with canaries, offline, plus the static pass.

For one extension it runs every sample document with canary vault values (no real secret
needed, no coincidental match possible) while no request leaves the machine: requests get
the extension's recorded answers when it has a cassette, an empty 200 answer otherwise, and
the check goes on whatever the script then does.  The static pass reports flows from
``vault_parameters`` to an output on every code path, including the ones the sample
documents never reach.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.document import DocumentData
from harness.extension import Extension, load_extension
from harness.leaks import Leak
from harness.network import guard_sockets, offline
from harness.result import ExtensionResult
from harness.runner import CANARY, DocumentInput, Runner, extension_documents, read_document

if TYPE_CHECKING:
    from harness.taint import Flow

__all__ = ["CheckReport", "check_extension"]


@dataclass
class CheckReport:
    """What ``ipe check`` found for one extension."""

    extension: Extension
    results: list[ExtensionResult] = field(default_factory=list)
    flows: list[Flow] = field(default_factory=list)
    """Static findings: flows from a vault value to an output, with their script line."""
    limits: list[str] = field(default_factory=list)
    """What the static pass could not follow in this script."""
    problems: list[str] = field(default_factory=list)
    """Why the check could not be made in full: a script that does not compile, a document whose
    process died.  A report with problems is never clean."""

    @property
    def leaks(self) -> list[tuple[str, Leak]]:
        """``(document source, leak)`` for every leak of every run."""
        return [(result.source, leak) for result in self.results for leak in result.leaks]

    @property
    def clean(self) -> bool:
        return not self.flows and not self.problems and not any(result.leaks for result in self.results)

    def to_json(self) -> dict[str, Any]:
        return {
            "extension": self.extension.name,
            "folder": str(self.extension.folder),
            "clean": self.clean,
            "documents": [
                {"source": r.source, "status": r.status, "leaks": [leak.to_json() for leak in r.leaks]}
                for r in self.results
            ],
            "static": [
                {"key": f.key, "channel": f.channel, "line": f.line, "col": f.col, "sink": f.sink, "via": f.via}
                for f in self.flows
            ],
            "limits": list(self.limits),
            "problems": list(self.problems),
        }


def check_extension(
    extension: str | os.PathLike[str] | Extension,
    documents: Sequence[DocumentInput] | None = None,
    *,
    timeout: float | None = None,
    memory_limit: int | None = None,
    isolated: bool = True,
) -> CheckReport:
    """Leak-check one extension on ``documents`` (default: its own ``documents/``).

    Each document runs in its own process (``isolated``, with ``memory_limit`` MiB), so a
    script that exits or crashes costs only its own document, and the report says so.
    """
    loaded = load_extension(extension)
    report = CheckReport(loaded)
    if loaded.code is not None:
        from harness.taint import find_flows

        static = find_flows(loaded.source, str(loaded.script))
        report.flows, report.limits = list(static.flows), list(static.limits)
    else:
        error = loaded.syntax_error
        where = f" (line {error.lineno})" if error is not None and error.lineno else ""
        report.problems.append(f"{loaded.script.name} does not compile{where}: it cannot be checked")
    runner = Runner(loaded, vault=CANARY, timeout=timeout, memory_limit=memory_limit, isolated=isolated)
    chosen = list(documents) if documents is not None else list(extension_documents(loaded))
    read = [read_document(d) for d in chosen]  # all read (and validated) before the first run
    for document, (data, source) in zip(chosen, read):
        result = _check_one(runner, document, data, source)
        report.results.append(result)
        if loaded.code is not None and _process_died(result):
            report.problems.append(f"{source}: the check of this document is incomplete. {result.reason}")
    return report


def _process_died(result: ExtensionResult) -> bool:
    """A run that ended with its process, not with a Python exception (see harness.isolation):
    its logs and requests died with it, so what it let out cannot all be known."""
    if result.status == "TIMEOUT":
        return result.reason.endswith("so its process was killed.")
    return result.status == "EXECUTION_ERROR" and result.reason.startswith(
        ("The extension's process", "The harness failed in the extension's process")
    )


def _check_one(runner: Runner, document: DocumentInput, data: DocumentData, source: str) -> ExtensionResult:
    """Run one document offline: on its cassette when it has one, else on empty 200 answers.

    The two cannot be stacked: requests-mock's catch-all answers above the transport that
    vcrpy replays at, so the cassette would never be reached.  With a cassette, the socket
    guard alone keeps anything the cassette does not answer from leaving the machine.
    """
    # harness.cassette.cassette_for's path; that module (and vcrpy) is loaded only when one exists.
    cassette = (
        runner.extension.folder / "cassettes" / f"{Path(document).stem}.yaml"
        if isinstance(document, (str, os.PathLike)) else None
    )
    if cassette is not None and cassette.is_file():
        from harness.cassette import use_cassette

        hint = f"ipe check runs offline on {cassette}; record it again with `ipe run --record`"
        with use_cassette(cassette, runner.vault, runner.extension), guard_sockets(loopback=False, hint=hint):
            return runner.run(data, source)
    with offline():
        return runner.run(data, source)

