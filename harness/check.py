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
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.canary import CanaryVault
from harness.document import DocumentData
from harness.extension import Extension, load_extension
from harness.leaks import Leak
from harness.network import guard_sockets, offline
from harness.result import ExtensionResult
from harness.runner import DocumentInput, Runner, extension_documents, read_document
from harness.snapshot import load_snapshot
from harness.vault import LocalVault, load_vault

if TYPE_CHECKING:
    from harness.taint import Flow

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
    problems: list[str] = field(default_factory=list)
    """Why the check could not be made in full: a script that does not compile, a document whose
    process died.  A report with problems is never clean."""

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
        return (
            not self.flows and not self.problems and not self.incomplete
            and not any(result.leaks for result in self.results)
        )

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
            "problems": list(self.problems),
        }


def check_extension(
    extension: str | os.PathLike[str] | Extension,
    documents: Iterable[DocumentInput] | None = None,
    *,
    timeout: float | None = None,
    snapshot: str | os.PathLike[str] | None = None,
    vault: LocalVault | None = None,
    memory_limit: int | None = None,
    isolated: bool = True,
    workers: int = 1,
    fail_fast: bool = False,
) -> CheckReport:
    """Leak-check one extension on ``documents`` (default: its own ``documents/``).

    Canaries go to the real key set (:meth:`CanaryVault.for_extension`): the keys of ``vault``
    (default: the local vault) the extension may see, the keys its script names, and the keys
    of the ``{{ VAULT.<key> }}`` placeholders of ``snapshot`` (a Coveo snapshot file or folder).
    Each document runs in its own process (``isolated``, with ``memory_limit`` MiB), so a
    script that exits or crashes costs only its own document, and the report says so.

    Documents given as files are read (and validated) before the first run, and a document
    with a cassette replays it, one at a time.  Any other documents, a stream from
    :func:`harness.documents.iter_documents` included, run ``workers`` at a time, offline.
    ``fail_fast`` stops at the first ``EXECUTION_ERROR``.
    """
    loaded = load_extension(extension)
    extra = [p.key for p in load_snapshot(snapshot)] if snapshot is not None else []
    canaries = CanaryVault.for_extension(loaded, load_vault() if vault is None else vault, extra)
    report = CheckReport(loaded, python=list(loaded.static_warnings))
    if loaded.code is not None:
        from harness.taint import find_flows

        static = find_flows(loaded.source, str(loaded.script))
        report.flows, report.limits = list(static.flows), list(static.limits)
    else:
        error = loaded.syntax_error
        where = f" (line {error.lineno})" if error is not None and error.lineno else ""
        report.problems.append(f"{loaded.script.name} does not compile{where}: it cannot be checked")
    runner = Runner(loaded, vault=canaries, timeout=timeout, memory_limit=memory_limit, isolated=isolated)
    for result in _results(runner, extension_documents(loaded) if documents is None else documents,
                           workers, fail_fast):
        report.results.append(result)
        if loaded.code is not None and _process_died(result):
            report.problems.append(f"{result.source}: the check of this document is incomplete. {result.reason}")
    return report


def _results(
    runner: Runner, documents: Iterable[DocumentInput], workers: int, fail_fast: bool
) -> Iterator[ExtensionResult]:
    if isinstance(documents, (list, tuple)):
        chosen = list(documents)
        read = [read_document(d) for d in chosen]  # all read (and validated) before the first run
        if any(_cassette(runner, d) is not None for d in chosen) or not runner.isolated:
            for document, (data, source) in zip(chosen, read):
                result = _check_one(runner, document, data, source)
                yield result
                if fail_fast and result.status == "EXECUTION_ERROR":
                    return
            return
        documents = read
    with offline():  # set up before the children fork: each of them answers requests with an empty 200
        yield from runner.run_many(documents, workers=workers if runner.isolated else 1, fail_fast=fail_fast)


def _cassette(runner: Runner, document: DocumentInput) -> Path | None:
    """The cassette of a document file, when it has one (harness.cassette, and vcrpy, are
    loaded only when a cassette exists)."""
    if not isinstance(document, (str, os.PathLike)):
        return None
    cassette = runner.extension.cassette(document)
    return cassette if cassette.is_file() else None


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
    cassette = _cassette(runner, document)
    if cassette is not None:
        from harness.cassette import use_cassette

        hint = f"ipe check runs offline on {cassette}; record it again with `ipe run --record`"
        with use_cassette(cassette, runner.vault, runner.extension), guard_sockets(loopback=False, hint=hint):
            return runner.run(data, source)
    with offline():
        return runner.run(data, source)
