"""The one runner behind every entry point: the Python API, the ``ipe`` CLI and the pytest plugin.

A :class:`Runner` binds an extension to a vault, parameters and a time limit, then runs it on
documents one at a time.  :func:`run_extension` is the one-call form.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from harness import content
from harness.canary import CanaryVault
from harness.document import DocumentData
from harness.document_format import load_document, parse_document
from harness.errors import HarnessError
from harness.extension import Extension, load_extension
from harness.fields import walk
from harness.leaks import find_leaks
from harness.params import parameter_text
from harness.redaction import Redactor
from harness.result import ExtensionResult
from harness.runtime import DEFAULT_TIMEOUT, execute
from harness.threads import run_scope
from harness.vault import LocalVault, load_vault

__all__ = ["CANARY", "DocumentInput", "Runner", "VaultInput", "read_document", "run_extension"]

DocumentInput = str | os.PathLike[str] | Mapping[str, Any] | DocumentData
VaultInput = None | str | Mapping[str, Any] | LocalVault
CANARY = "canary"


def read_document(document: DocumentInput) -> tuple[DocumentData, str]:
    """Accept a path, a parsed JSON dict (either format) or DocumentData; return it and its source name."""
    if isinstance(document, DocumentData):
        return document, "<document>"
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
    """

    def __init__(
        self,
        extension: str | os.PathLike[str] | Extension,
        *,
        parameters: Mapping[str, Any] | None = None,
        vault: VaultInput = None,
        timeout: float | None = None,
    ) -> None:
        self.extension = load_extension(extension)
        self.parameters = {str(k): parameter_text(v) for k, v in (parameters or {}).items()}
        self.vault = _vault(vault, self.extension)
        self.timeout = DEFAULT_TIMEOUT if timeout is None else float(timeout)
        if not self.timeout > 0:
            raise HarnessError(f"the time limit must be a positive number of seconds, not {timeout!r}")
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
        return self._execute(data, source or name)

    def run_all(self, documents: Iterable[DocumentInput]) -> Iterator[ExtensionResult]:
        """Run on each document in turn; every document is read (and validated) before the first run."""
        loaded = [read_document(d) for d in documents]
        for data, source in loaded:
            yield self._execute(data, source)

    def _execute(self, data: DocumentData, source: str) -> ExtensionResult:
        self._sync_vault()
        parameters = {**self.extension.parameters, **data.parameters, **self.parameters}
        vault_parameters = self.vault.parameters_for(self.extension, self._vault_values)
        with run_scope(self._redactor):  # the script's threads share its capture, request log and guard
            raw = execute(self.extension, data, parameters, vault_parameters, self.timeout, source, self._redactor)
        raw.logs, raw.logging = list(raw.logs), list(raw.logging)  # a lingering thread's late entries stay out
        redactor = self.redactor  # again: a canary vault may have minted keys during the run
        raw.warnings[:0] = [
            f"vault key {key!r} holds a value too short to mask safely: it is not redacted "
            "(see 'Short values' in the README)"
            for key in redactor.short_keys
        ]
        if not redactor or not _mentions_a_secret(raw, redactor):
            return raw
        leaks = find_leaks(raw, redactor, self._allowed_hosts, data.permissions)
        return raw.redacted(redactor, leaks)


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
) -> ExtensionResult:
    """Run an extension (its folder or script) on one document (a path or a dict, either format)."""
    return Runner(extension, parameters=parameters, vault=vault, timeout=timeout).run(document)


def extension_documents(extension: Extension) -> list[Path]:
    """The documents an extension ships, or a clear error when it has none."""
    documents = extension.documents
    if not documents:
        raise HarnessError(f"{extension.folder}: no documents/*.json to run on; pass --document FILE")
    return documents
