"""The one runner behind every entry point: the Python API, the ``ipe`` CLI and the pytest plugin.

A :class:`Runner` binds an extension to a vault, parameters and its limits, then runs it on
documents: one at a time (:meth:`Runner.run`), or a stream of them through a pool of child
processes (:meth:`Runner.run_many`).  :func:`run_extension` is the one-call form.

By default each run happens in its own child process (:mod:`harness.isolation`): the script
cannot harm the harness or the next document, and what it prints at the file-descriptor level
is captured.  ``isolated=False`` runs it in this process instead (the pytest plugin's default,
so that requests-mock's fixture answers the script).  Either way the parent redacts the result
and finds its leaks here.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from harness import content, isolation
from harness.canary import CANARY_SOURCE, CanaryVault
from harness.document import DocumentData
from harness.document_format import load_document, parse_document
from harness.errors import HarnessError
from harness.extension import Extension, load_extension
from harness.fields import walk
from harness.leaks import find_leaks
from harness.params import parameter_text
from harness.redaction import Redactor
from harness.result import ExtensionResult
from harness.runtime import DEFAULT_TIMEOUT, execute, printed_warning
from harness.threads import run_scope
from harness.vault import LocalVault, VaultEntry, load_vault

__all__ = ["CANARY", "DEFAULT_MEMORY_LIMIT", "DocumentInput", "Runner", "VaultInput", "read_document", "run_extension"]

DocumentInput = str | os.PathLike[str] | Mapping[str, Any] | DocumentData | tuple[DocumentData, str]
"""A path, a parsed JSON dict (either format), DocumentData, or DocumentData with its source name
(what :func:`harness.documents.iter_documents` yields)."""
VaultInput = None | str | Mapping[str, Any] | LocalVault
CANARY = "canary"
DEFAULT_MEMORY_LIMIT = isolation.DEFAULT_MEMORY_LIMIT


def read_document(document: DocumentInput) -> tuple[DocumentData, str]:
    """Accept a path, a parsed JSON dict (either format), DocumentData, or DocumentData with its
    source name; return it and its source name."""
    if isinstance(document, DocumentData):
        return document, "<document>"
    if isinstance(document, tuple) and len(document) == 2 and isinstance(document[0], DocumentData):
        return document[0], str(document[1])
    if isinstance(document, Mapping):
        return parse_document(dict(document), "<dict>"), "<dict>"
    if isinstance(document, (str, os.PathLike)):
        return load_document(document), _display(Path(document))
    raise HarnessError(f"a document is a path, a dict or DocumentData, not {type(document).__name__}")


def _display(path: Path) -> str:
    """A path as the user would type it: relative to the current directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _vault(vault: VaultInput, extension: Extension) -> LocalVault:
    if vault is None:
        return load_vault()
    if vault == CANARY:
        return CanaryVault.for_extension(extension, base=load_vault())
    if isinstance(vault, LocalVault):
        return vault
    if isinstance(vault, Mapping):
        return LocalVault.from_values(vault)
    raise HarnessError(
        f"vault must be a dict of key -> value, a LocalVault or \"canary\", not {type(vault).__name__}"
    )


class Runner:
    """Runs one extension on documents, with one vault, parameters and time limit.

    ``vault=None`` reads the local vault (``.env``, ``vault.json``, ``VAULT_*`` environment
    variables) as ``ipe run`` does; a dict gives exactly those values to the script;
    ``"canary"`` gives every key the extension may read a random stand-in of the local value's
    shape (see :mod:`harness.canary`).
    Parameters are merged: the manifest's defaults, then the document's, then ``parameters``.

    Every result it returns is redacted: each vault value, in every alias, is masked in every
    string, and ``result.leaks`` says where the script let one out.

    ``isolated`` (the default) runs each document in its own child process, with
    ``memory_limit`` MiB of address space (default :data:`DEFAULT_MEMORY_LIMIT`); see
    :mod:`harness.isolation`.  ``isolated=False`` runs in this process, with no memory limit.
    """

    def __init__(
        self,
        extension: str | os.PathLike[str] | Extension,
        *,
        parameters: Mapping[str, Any] | None = None,
        vault: VaultInput = None,
        timeout: float | None = None,
        isolated: bool = True,
        memory_limit: int | None = None,
    ) -> None:
        self.extension = load_extension(extension)
        self.parameters = {str(k): parameter_text(v) for k, v in (parameters or {}).items()}
        self.vault = _vault(vault, self.extension)
        self.timeout = DEFAULT_TIMEOUT if timeout is None else float(timeout)
        if not self.timeout > 0:
            raise HarnessError(f"the time limit must be a positive number of seconds, not {timeout!r}")
        self.memory_limit = DEFAULT_MEMORY_LIMIT if memory_limit is None else memory_limit
        if isinstance(self.memory_limit, bool) or not isinstance(self.memory_limit, int) or self.memory_limit < 1:
            raise HarnessError(f"the memory limit must be a positive whole number of MiB, not {memory_limit!r}")
        self.isolated = bool(isolated) and isolation.available()
        self._not_isolated = bool(isolated) and not self.isolated
        self._known: tuple[int, int] | None = None
        self._sync_vault()

    def _sync_vault(self) -> None:
        """Derive what runs need from the vault again when it changed (its version moved: a
        canary minted during a run, an entry replaced, a setting set); once otherwise."""
        state = id(self.vault), self.vault.version
        if state != self._known:
            self._known = state
            self._vault_values = self.vault.values_for(self.extension)
            self._allowed_hosts = self.vault.allowed_hosts(self.extension)
            self._redactor = _redactor_for(self.vault.secrets())

    @property
    def redactor(self) -> Redactor:
        """The redactor of this runner's vault (every value of every scope)."""
        self._sync_vault()
        return self._redactor

    def run(self, document: DocumentInput, source: str | None = None) -> ExtensionResult:
        """Run on one document; ``source`` names it in results when it is already DocumentData."""
        data, name = read_document(document)
        if not self.isolated:
            return self._execute(data, source or name)
        for result in self._isolated([(data, source or name)], 1, False):
            return result
        raise AssertionError("one document gives one result")  # pragma: no cover

    def run_all(self, documents: Iterable[DocumentInput]) -> Iterator[ExtensionResult]:
        """Run on each document in turn; every document is read (and validated) before the first run."""
        loaded = [read_document(d) for d in documents]
        yield from self.run_many(loaded)

    def run_many(
        self, documents: Iterable[DocumentInput], workers: int = 1, fail_fast: bool = False
    ) -> Iterator[ExtensionResult]:
        """Run on a stream of documents, ``workers`` child processes at a time; results in input order.

        Documents are read one by one as workers free up, and at most a few results per worker
        wait for a slower earlier document, so memory stays flat on any number of documents.
        A child that crashes costs only its own document.  ``fail_fast`` stops after the first
        ``EXECUTION_ERROR`` (in input order): no new child starts, running ones are killed.
        A document that cannot be read raises :class:`HarnessError` when its turn comes.

        On ``KeyboardInterrupt`` (or when the caller stops iterating), every running child is
        killed and reaped before the exception propagates: every result yielded so far is
        complete, so a caller that catches it can still write a partial report.
        """
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise HarnessError(f"workers must be a positive whole number, not {workers!r}")
        if not self.isolated:
            if workers != 1:
                raise HarnessError("more than one worker needs isolated runs (isolated=True)")
            for document in documents:
                result = self.run(document)
                yield result
                if fail_fast and result.status == "EXECUTION_ERROR":
                    return
            return
        yield from self._isolated((read_document(d) for d in documents), workers, fail_fast)

    def _run_script(self, data: DocumentData, source: str, *, capture_streams: bool = True) -> ExtensionResult:
        """The script on one document, here and now (in this process or in the child): parameters
        merged, the vault given, the script's threads sharing its capture, request log and guard."""
        self._sync_vault()
        parameters = {**self.extension.parameters, **data.parameters, **self.parameters}
        vault_parameters = self.vault.parameters_for(self.extension, self._vault_values)
        with run_scope(self._redactor):
            return execute(self.extension, data, parameters, vault_parameters, self.timeout, source,
                           self._redactor, capture_streams=capture_streams)

    def _execute(self, data: DocumentData, source: str) -> ExtensionResult:
        raw = self._run_script(data, source)
        raw.logs, raw.logging = list(raw.logs), list(raw.logging)  # a lingering thread's late entries stay out
        if self._not_isolated:
            raw.warnings.append("this platform has no fork(): the script ran in the harness's own process")
        return self._judge(raw, data, self.redactor)  # again: a canary vault may have minted keys

    # -- isolated runs ------------------------------------------------------------------------------

    def _job(self, data: DocumentData, source: str) -> isolation.ChildJob:
        """What the child will do: run the script as :meth:`_execute` would, with no stream swap
        (the parent captures the child's file descriptors), and tell which vault keys it minted."""
        known = len(self.vault.entries)

        def run() -> tuple[ExtensionResult, list[tuple[str, str]]]:
            raw = self._run_script(data, source, capture_streams=False)
            return raw, [(e.key, e.value) for e in self.vault.entries[known:]]

        return isolation.ChildJob(run, str(self.extension.script), self.timeout, self.memory_limit)

    def _isolated(
        self, documents: Iterable[tuple[DocumentData, str]], workers: int, fail_fast: bool
    ) -> Iterator[ExtensionResult]:
        jobs = (((data, source), self._job(data, source)) for data, source in documents)
        with contextlib.closing(isolation.run_children(jobs, workers)) as outcomes:
            for (data, source), outcome in outcomes:
                result = self._from_child(data, source, outcome)
                yield result
                if fail_fast and result.status == "EXECUTION_ERROR":
                    return

    def _from_child(self, data: DocumentData, source: str, outcome: isolation.ChildOutcome) -> ExtensionResult:
        """The raw result of a child (or of its death), judged and redacted by this, trusted, side."""
        message = outcome.message
        redactor: Redactor | None = None
        if message is not None and message.result is not None:
            raw = message.result
            redactor = self._adopt(message.minted)
            if message.interactions:
                cassette = sys.modules.get("harness.cassette")
                if cassette is not None:
                    cassette.adopt_recorded(message.interactions)
        else:
            status, reason = outcome.failure or ("EXECUTION_ERROR", "The extension's process gave no result.")
            raw = ExtensionResult(status=status, reason=reason, logs=[], document=data, duration=outcome.elapsed,
                                  date=outcome.started)
        # The parent's own account of what only it can know for sure.
        raw = replace(raw, extension=self.extension.name, source=source, stdout=outcome.stdout,
                      stderr=outcome.stderr, warnings=[w for w in raw.warnings if not w.startswith("the script wrote to ")])
        if raw.stdout or raw.stderr:
            raw.warnings.append(printed_warning(bool(raw.stdout), bool(raw.stderr)))
        return self._judge(raw, data, redactor or self.redactor)

    def _adopt(self, minted: list[tuple[str, str]]) -> Redactor | None:
        """Take the canaries a child minted into this runner's vault.

        Two children running at once can mint the same key differently; the vault keeps the
        first, and a result whose child minted another value gets a redactor with its own.
        Only a canary vault mints: anything else a child claims is ignored.
        """
        if not minted or not isinstance(self.vault, CanaryVault):
            return None
        known = {entry.key: entry.value for entry in self.vault.entries}
        own: dict[str, str] = {}
        for key, value in minted[:10_000]:
            if key not in known:
                known[key] = value
                hosts = self.vault._hosts.get(key)
                self.vault.entries.append(VaultEntry(key, value, CANARY_SOURCE, allowed_hosts=hosts))
            elif known[key] != value:
                own[key] = value
        if not own:
            return None
        return _redactor_for({**self.vault.secrets(), **own})

    def _judge(self, raw: ExtensionResult, data: DocumentData, redactor: Redactor) -> ExtensionResult:
        """Warnings, leaks and redaction of a raw result, then its output cut to size."""
        self._sync_vault()  # canaries adopted from a child bring their allowedHosts rules
        raw.warnings[:0] = [
            f"vault key {key!r} holds a value too short to mask safely: it is not redacted "
            "(see 'Short values' in the README)"
            for key in redactor.short_keys
        ]
        if redactor and _mentions_a_secret(raw, redactor):
            leaks = find_leaks(raw, redactor, self._allowed_hosts, data.permissions)
            raw = raw.redacted(redactor, leaks)
        return _bounded(raw)


def _bounded(result: ExtensionResult) -> ExtensionResult:
    """stdout and stderr cut at :data:`~harness.isolation.OUTPUT_CAP` characters, with a warning.

    The cut comes after redaction, which saw a little more than the cap (the child's reader
    keeps a margin): a value straddling the cut was masked whole before being cut."""
    cap = isolation.OUTPUT_CAP
    for name in ("stdout", "stderr"):
        text = getattr(result, name)
        if len(text) > cap:
            result = replace(result, **{name: text[:cap]})
            result.warnings.append(f"the script wrote more than {cap // 1024} KiB to {name}: the rest is cut")
    return result


_REDACTORS: dict[tuple[tuple[str, str], ...], Redactor] = {}


def _redactor_for(secrets: Mapping[str, str]) -> Redactor:
    """One redactor per distinct vault: building the automaton is the costly part."""
    key = tuple(sorted(secrets.items()))
    redactor = _REDACTORS.get(key)
    if redactor is None:
        if len(_REDACTORS) >= 16:
            _REDACTORS.pop(next(iter(_REDACTORS)))
        redactor = _REDACTORS[key] = Redactor(secrets)
    return redactor


def _mentions_a_secret(result: ExtensionResult, redactor: Redactor) -> bool:
    """One automaton pass over every text field the walker yields (most runs leak nothing, and
    then neither the per-channel search nor the per-string redaction is needed), then the bytes."""
    texts: list[str] = []
    blobs: list[bytes] = []
    for item in walk(result):
        if isinstance(item.value, bytes):
            blobs.append(item.value)
        else:
            texts.append(item.value)
    if redactor.find("\n".join(texts)):
        return True
    return any(content.find(redactor, blob) for blob in blobs)


def run_extension(
    extension: str | os.PathLike[str] | Extension,
    document: DocumentInput,
    *,
    parameters: Mapping[str, Any] | None = None,
    vault: VaultInput = None,
    timeout: float | None = None,
    isolated: bool = True,
    memory_limit: int | None = None,
) -> ExtensionResult:
    """Run an extension (its folder or script) on one document (a path or a dict, either format);
    ``isolated`` and ``memory_limit`` as for :class:`Runner`."""
    runner = Runner(extension, parameters=parameters, vault=vault, timeout=timeout, isolated=isolated,
                    memory_limit=memory_limit)
    return runner.run(document)


def extension_documents(extension: Extension) -> list[Path]:
    """The documents an extension ships, or a clear error when it has none."""
    documents = extension.documents
    if not documents:
        raise HarnessError(f"{extension.folder}: no documents/*.json to run on; pass --document FILE")
    return documents
