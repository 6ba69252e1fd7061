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
from typing import Any

from harness.canary import CanaryVault
from harness.cassette import cassette_for, use_cassette
from harness.document import DocumentData
from harness.extension import Extension, load_extension
from harness.leaks import Leak
from harness.network import guard_sockets, offline
from harness.result import ExtensionResult
from harness.runner import DocumentInput, Runner, extension_documents, read_document
from harness.snapshot import load_snapshot
from harness.taint import Flow, find_flows
from harness.vault import LocalVault, load_vault

INCOMPLETE_STATUSES = ("EXECUTION_ERROR", "TIMEOUT")

__all__ = ["CheckReport", "INCOMPLETE_STATUSES", "check_extension"]


@dataclass
class CheckReport:
    """What ``ipe check`` found for one extension."""

    extension: Extension
    results: list[ExtensionResult] = field(default_factory=list)
    flows: list[Flow] = field(default_factory=list)
    """Static findings: flows from a vault value to an output, with their script line."""
    limits: list[str] = field(default_factory=list)
    """What the static pass could not follow in this script."""
    python: list[str] = field(default_factory=list)
    """What would differ in Coveo's Python 3.10 and packages: imports Coveo lacks, 3.11+ names
    (see :mod:`harness.python310`), each naming its line.  Warnings: they do not make it unclean."""

    @property
    def leaks(self) -> list[tuple[str, Leak]]:
        """``(document source, leak)`` for every leak of every run."""
        return [(result.source, leak) for result in self.results for leak in result.leaks]

    @property
    def incomplete(self) -> bool:
        """Every run failed (an error or a timeout) before the script reached any output (no log,
        no print, no ``logging`` record, no request): the runs checked nothing, so the extension
        cannot be called clean (a script that chokes on a canary, a missing module ...)."""
        return bool(self.results) and all(
            r.status in INCOMPLETE_STATUSES and not (r.logs or r.stdout or r.stderr or r.logging or r.requests)
            for r in self.results
        )

    @property
    def clean(self) -> bool:
        return not self.flows and not any(result.leaks for result in self.results) and not self.incomplete

    def to_json(self) -> dict[str, Any]:
        return {
            "extension": self.extension.name,
            "folder": str(self.extension.folder),
            "clean": self.clean,
            "incomplete": self.incomplete,
            "documents": [
                {"source": r.source, "status": r.status, "leaks": [leak.to_json() for leak in r.leaks]}
                for r in self.results
            ],
            "static": [
                {"key": f.key, "channel": f.channel, "line": f.line, "col": f.col, "sink": f.sink, "via": f.via}
                for f in self.flows
            ],
            "limits": list(self.limits),
            "python": list(self.python),
        }


def check_extension(
    extension: str | os.PathLike[str] | Extension,
    documents: Sequence[DocumentInput] | None = None,
    *,
    timeout: float | None = None,
    snapshot: str | os.PathLike[str] | None = None,
    vault: LocalVault | None = None,
) -> CheckReport:
    """Leak-check one extension on ``documents`` (default: its own ``documents/``).

    Canaries go to the real key set (:meth:`CanaryVault.for_extension`): the keys of ``vault``
    (default: the local vault) the extension may see, the keys its script names, and the keys
    of the ``{{ VAULT.<key> }}`` placeholders of ``snapshot`` (a Coveo snapshot file or folder).
    """
    loaded = load_extension(extension)
    extra = [p.key for p in load_snapshot(snapshot)] if snapshot is not None else []
    canaries = CanaryVault.for_extension(loaded, load_vault() if vault is None else vault, extra)
    report = CheckReport(loaded, python=list(loaded.static_warnings))
    if loaded.code is not None:
        static = find_flows(loaded.source, str(loaded.script))
        report.flows, report.limits = list(static.flows), list(static.limits)
    runner = Runner(loaded, vault=canaries, timeout=timeout)
    chosen = list(documents) if documents is not None else list(extension_documents(loaded))
    read = [read_document(d) for d in chosen]  # all read (and validated) before the first run
    for document, (data, source) in zip(chosen, read):
        report.results.append(_check_one(runner, document, data, source))
    return report


def _check_one(runner: Runner, document: DocumentInput, data: DocumentData, source: str) -> ExtensionResult:
    """Run one document offline: on its cassette when it has one, else on empty 200 answers.

    The two cannot be stacked: requests-mock's catch-all answers above the transport that
    vcrpy replays at, so the cassette would never be reached.  With a cassette, the socket
    guard alone keeps anything the cassette does not answer from leaving the machine.
    """
    cassette = cassette_for(runner.extension, document) if isinstance(document, (str, os.PathLike)) else None
    if cassette is not None and cassette.is_file():
        hint = f"ipe check runs offline on {cassette}; record it again with `ipe run --record`"
        with use_cassette(cassette, runner.vault, runner.extension), guard_sockets(loopback=False, hint=hint):
            return runner.run(data, source)
    with offline():
        return runner.run(data, source)

