"""A source's whole extension pipeline on one document, with Coveo's semantics.

Coveo never runs an extension alone: a source applies its pre-conversion extensions, then its
post-conversion ones, in order.  For each step, on the item *as it is at that point*:

* the step's condition (:mod:`harness.condition`) is evaluated; false means the extension does not
  run (outcome ``not-run``);
* SUCCESS applies the extension's changes (``applied``): later steps see what it added, under its
  own origin;
* SKIPPED (``document.skip()``) lets the item go on without the extension's changes (``discarded``);
* REJECTED (``document.reject()``) ends the item REJECTED; later steps do not run (``rejected``);
* EXECUTION_ERROR or TIMEOUT: ``SKIP_EXTENSION`` discards the changes and goes on (``discarded``),
  ``REJECT_DOCUMENT`` ends the item REJECTED (``rejected``).

Every step goes through :class:`~harness.runner.Runner`, so it is run, redacted and leak-checked as
a single run is; each runner gets its step's ``parameters`` and a vault scoped to its extension's id.
Each ``extensionId`` is matched to a local folder by the ``id`` in its ``extension.json``, else
by its name.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from harness.condition import Explained, metadata_lookup
from harness.document import DocumentData
from harness.errors import HarnessError, load_json_file
from harness.extension import Extension, find_extensions, load_extension
from harness.leaks import Leak
from harness.result import ExtensionResult
from harness.runner import Runner, VaultInput, read_document
from harness.source import SourceModel, SourceStep, load_source, parse_source
from harness.vault import LocalVault, load_vault

__all__ = ["Pipeline", "PipelineResult", "StepResult", "document_json", "resolve_extensions"]

ERROR_STATUSES = ("EXECUTION_ERROR", "TIMEOUT")
OUTCOMES = ("applied", "discarded", "rejected", "not-run")


@dataclass(frozen=True)
class StepResult:
    """What one step of the pipeline did to one document."""

    extension: str
    """The local extension's name."""
    extension_id: str
    """The ``extensionId`` of the source's entry."""
    stage: str
    """``PRE_CONVERSION`` or ``POST_CONVERSION``."""
    condition: str | None
    """The condition as written, or None when the entry has none (always true)."""
    condition_value: bool | None
    """The condition's value on the document as it was then; None when the step was never reached."""
    ran: bool
    status: str | None
    """The Test API status of the run, or None when the extension did not run."""
    outcome: str
    """``applied``, ``discarded``, ``rejected`` or ``not-run``."""
    action_on_error: str
    reason: str = ""
    result: ExtensionResult | None = None
    """The (redacted) run itself, when the extension ran."""
    explanation: tuple[Explained, ...] = ()
    """Each sub-expression of the condition with its value, when the step was reached."""

    @property
    def errored(self) -> bool:
        """The run ended EXECUTION_ERROR or TIMEOUT (whatever its actionOnError made of it)."""
        return self.status in ERROR_STATUSES

    def to_json(self, explain: bool = False) -> dict[str, Any]:
        """The step as ``ipe pipeline --json`` shows it; ``explain`` adds each sub-expression's value."""
        out: dict[str, Any] = {
            "extension": self.extension,
            "extensionId": self.extension_id,
            "stage": self.stage,
            "condition": self.condition,
            "conditionValue": self.condition_value,
            "ran": self.ran,
            "status": self.status,
            "outcome": self.outcome,
            "actionOnError": self.action_on_error,
            "reason": self.reason,
            "leaks": [leak.to_json() for leak in (self.result.leaks if self.result else [])],
        }
        if explain:
            out["explanation"] = [
                {"depth": e.depth, "expression": e.text, "value": e.value,
                 **({"metadata": e.read[0], "values": e.read[1]} if e.read is not None else {})}
                for e in self.explanation
            ]
        return out


@dataclass(frozen=True)
class PipelineResult:
    """One document through the whole pipeline: its final status and document, and every step."""

    source: str
    status: str
    """``SUCCESS`` or ``REJECTED``."""
    reason: str
    input: DocumentData
    document: DocumentData
    """The item as it leaves the pipeline: each applied extension's metadata under its own origin."""
    steps: list[StepResult] = field(default_factory=list)

    @property
    def errored(self) -> bool:
        """Some step ended EXECUTION_ERROR or TIMEOUT, even when its actionOnError skipped it."""
        return any(step.errored for step in self.steps)

    @property
    def leaks(self) -> list[Leak]:
        """Every place a vault value got out, in any step."""
        return [leak for step in self.steps if step.result is not None for leak in step.result.leaks]

    @property
    def results(self) -> list[ExtensionResult]:
        """The runs, in order (steps that did not run have none)."""
        return [step.result for step in self.steps if step.result is not None]

    def step(self, extension: str) -> StepResult:
        """The first step of an extension, by its name or its id."""
        for step in self.steps:
            if extension in (step.extension, step.extension_id):
                return step
        raise KeyError(f"no step of extension {extension!r}; steps: {', '.join(s.extension for s in self.steps)}")

    def metadata(self, name: str) -> list[Any]:
        """The values of ``name`` in the final document (the newest origin that has it), or ``[]``."""
        return list(metadata_lookup(self.document.metadata)(name.lower()) or [])

    def changes(self) -> list[tuple[str, list[Any], list[Any]]]:
        """``(name, before, after)`` for each metadata whose resolved values differ from the input's."""
        before = metadata_lookup(self.input.metadata)
        after = metadata_lookup(self.document.metadata)
        names = dict.fromkeys(name for _, values in self.document.metadata for name in values)
        out = []
        for name in names:
            old, new = list(before(name) or []), list(after(name) or [])
            if old != new:
                out.append((name, old, new))
        return out

    def to_json(self, explain: bool = False) -> dict[str, Any]:
        """The document as ``ipe pipeline --json`` shows it (``explain``: with each condition explained)."""
        return {
            "source": self.source,
            "result": {"status": self.status, "reason": self.reason},
            "document": document_json(self.document),
            "steps": [step.to_json(explain) for step in self.steps],
            "leaks": [leak.to_json() for leak in self.leaks],
        }

    def __repr__(self) -> str:
        return f"<PipelineResult {self.source}: {self.status}, {len(self.steps)} step(s)>"


def document_json(document: DocumentData) -> dict[str, Any]:
    """A document in the Test API's shape (``metadata`` and ``dataStreams`` by origin)."""
    streams: dict[str, dict[str, Any]] = {}
    for stream in document.data_streams:
        streams.setdefault(stream.origin, {})[stream.name] = {
            "inlineContent": base64.b64encode(stream.content).decode("ascii"),
            "compressionType": "UNCOMPRESSED",
        }
    return {
        "id": document.uri,
        "metadata": [{"origin": origin, "values": values} for origin, values in document.metadata],
        "permissions": list(document.permissions),
        "dataStreams": [{"origin": origin, "values": values} for origin, values in streams.items()],
    }


# -- matching the source's ids to local folders ----------------------------------------------------


def resolve_extensions(source: SourceModel, root: str | os.PathLike[str] = "extensions") -> dict[str, Extension]:
    """Each ``extensionId`` of ``source`` -> its local extension: the folder under ``root`` whose
    ``extension.json`` has that ``id``, else the one with that name (manifest name or folder name).
    An id that matches nothing is a :class:`HarnessError` listing what was found."""
    if not Path(root).is_dir():
        raise HarnessError(f"{root}: no such extensions folder (give the folder of extension folders with --extensions)")
    found: list[Extension] = []
    broken: list[str] = []
    for folder in find_extensions(root):
        try:
            found.append(load_extension(folder))
        except HarnessError as exc:
            broken.append(f"{folder.name} ({exc})")
    matched: dict[str, Extension] = {}
    for step in source.steps:
        if step.extension_id in matched:
            continue
        extension = _match(step.extension_id, found)
        if extension is None:
            raise HarnessError(
                f"{source.path}: {step.where}.extensionId: no extension under {root}/ has id or name "
                f"{step.extension_id!r}; found: {_listing(found, broken)}"
            )
        if extension.id is None:  # matched by name: the source's id is its Coveo id (vault scopes)
            extension = replace(extension, id=step.extension_id)
        matched[step.extension_id] = extension
    return matched


def _match(extension_id: str, found: Sequence[Extension]) -> Extension | None:
    """By id first; then by name (the manifest's, or the folder's) exactly, then in any case."""
    for extension in found:
        if extension.id == extension_id:
            return extension
    for extension in found:
        if extension_id in (extension.name, extension.folder.name):
            return extension
    wanted = extension_id.lower()
    for extension in found:
        if wanted in (extension.name.lower(), extension.folder.name.lower()):
            return extension
    return None


def _listing(found: Sequence[Extension], broken: Sequence[str]) -> str:
    items = [f"{e.folder.name} (id {e.id})" if e.id else f"{e.folder.name} (no id)" for e in found]
    items += [f"{b} [unreadable]" for b in broken]
    return ", ".join(items) if items else "no extension folder"


# -- the pipeline ----------------------------------------------------------------------------------


class Pipeline:
    """A source's extensions, matched to local folders, ready to run documents through.

    ``source`` is a SOURCE.json path, its parsed JSON, or a :class:`~harness.source.SourceModel`;
    ``extensions`` the folder holding the extension folders.  ``vault`` is as for
    :class:`~harness.runner.Runner` (None reads the local vault once for every step); each step
    sees only the entries its extension's id reaches.
    """

    def __init__(
        self,
        source: str | os.PathLike[str] | Mapping[str, Any] | SourceModel,
        *,
        extensions: str | os.PathLike[str] = "extensions",
        vault: VaultInput = None,
        timeout: float | None = None,
    ) -> None:
        if isinstance(source, SourceModel):
            self.source = source
        elif isinstance(source, Mapping):
            self.source = parse_source(dict(source), "<source>")
        else:
            self.source = load_source(source)
        self.extensions = resolve_extensions(self.source, extensions)
        shared: VaultInput = vault
        if vault is None:
            shared = load_vault()
        elif isinstance(vault, Mapping):
            shared = LocalVault.from_values(vault)
        self.warnings = self._warnings()
        """What the user should know about this source that is not an error (one line each)."""
        self.runners = [
            Runner(self.extensions[step.extension_id], parameters=step.parameters, vault=shared, timeout=timeout)
            for step in self.source.steps
        ]

    def _warnings(self) -> list[str]:
        out = []
        for step in self.source.steps:
            extension = self.extensions[step.extension_id]
            stage = "pre" if step.stage == "PRE_CONVERSION" else "post"
            if _declares_stage(extension) and extension.stage != stage:
                out.append(f"{step.where}: {extension.name} is a {extension.stage}-conversion extension "
                           f"(its extension.json) applied at {stage}-conversion")
            if step.item_type:
                out.append(f"{step.where}.itemType: {step.item_type!r} is not applied locally (item types "
                           "come from the source's crawler): the step runs on every document")
        return out

    @property
    def steps(self) -> tuple[SourceStep, ...]:
        return self.source.steps

    def documents(self) -> list[Path]:
        """The documents of every extension folder the pipeline uses, in pipeline order, each once."""
        out: dict[Path, None] = {}
        for extension in self.extensions.values():
            for path in extension.documents:
                out.setdefault(path, None)
        if not out:
            names = ", ".join(e.name for e in self.extensions.values())
            raise HarnessError(f"none of the pipeline's extensions ({names}) has documents/*.json; pass --document FILE")
        return list(out)

    def run(
        self, document: str | os.PathLike[str] | Mapping[str, Any] | DocumentData, source: str | None = None
    ) -> PipelineResult:
        """Run one document (a path, a parsed JSON dict in either format, or DocumentData) through every step."""
        data, name = read_document(document)
        name = source or name
        current = data
        status, reason = "SUCCESS", ""
        steps: list[StepResult] = []
        for spec, runner in zip(self.source.steps, self.runners):
            extension = runner.extension.name
            condition = spec.condition.text or None
            if status != "SUCCESS":
                steps.append(StepResult(extension, spec.extension_id, spec.stage, condition, None, False, None,
                                        "not-run", spec.action_on_error))
                continue
            lookup = metadata_lookup(current.metadata)
            value = spec.condition.evaluate(lookup)
            explanation = tuple(spec.condition.explain(lookup))
            if not value:
                steps.append(StepResult(extension, spec.extension_id, spec.stage, condition, False, False, None,
                                        "not-run", spec.action_on_error, explanation=explanation))
                continue
            result = runner.run(current, name)
            outcome = "discarded"
            if result.status == "SUCCESS":
                current, outcome = result.document, "applied"
            elif result.status == "REJECTED":
                status, reason, outcome = "REJECTED", result.reason, "rejected"
            elif result.status in ERROR_STATUSES and spec.action_on_error == "REJECT_DOCUMENT":
                status, outcome = "REJECTED", "rejected"
                reason = (f"{extension} ended {result.status} and its actionOnError is REJECT_DOCUMENT: "
                          f"{_last_line(result.reason)}")
            steps.append(StepResult(extension, spec.extension_id, spec.stage, condition, True, True, result.status,
                                    outcome, spec.action_on_error, result.reason, result, explanation))
        return PipelineResult(name, status, reason, data, current, steps)

    def run_all(self, documents: Sequence[str | os.PathLike[str] | Mapping[str, Any] | DocumentData]) -> list[PipelineResult]:
        """Each document in turn; all are read (and validated) before the first runs."""
        loaded = [read_document(d) for d in documents]
        return [self.run(data, name) for data, name in loaded]


def _declares_stage(extension: Extension) -> bool:
    """Whether the extension's manifest says its stage (``pre`` is only a default otherwise)."""
    if extension.manifest is None:
        return False
    data = load_json_file(extension.manifest, "manifest")
    return isinstance(data, dict) and "stage" in data


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""
