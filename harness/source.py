"""A source's extension pipeline, read from its JSON (``SOURCE.json``).

Coveo's Source API returns a source with two lists, ``preConversionExtensions`` and
``postConversionExtensions``; each entry applies one extension: ``{extensionId, versionId,
actionOnError, condition, itemType, parameters}``.  This module reads either that whole model or
an object holding just the two lists, validates every entry (errors name the file and the JSON
path) and parses every condition up front, so that a typo fails before the first document runs.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.condition import Condition, ConditionError, parse_condition
from harness.errors import HarnessError, json_path, load_json_file

__all__ = ["ACTIONS_ON_ERROR", "STAGES", "SourceModel", "SourceStep", "load_source", "parse_source"]

ACTIONS_ON_ERROR = ("SKIP_EXTENSION", "REJECT_DOCUMENT")
DEFAULT_ACTION_ON_ERROR = "SKIP_EXTENSION"
"""What applies when an entry has no ``actionOnError`` (the Administration Console's default choice)."""

STAGES = {"preConversionExtensions": "PRE_CONVERSION", "postConversionExtensions": "POST_CONVERSION"}


@dataclass(frozen=True)
class SourceStep:
    """One extension applied to the source, as its entry says."""

    extension_id: str
    stage: str
    """``PRE_CONVERSION`` or ``POST_CONVERSION``."""
    condition: Condition
    action_on_error: str = DEFAULT_ACTION_ON_ERROR
    version_id: str | None = None
    item_type: str | None = None
    parameters: dict[str, str] = field(default_factory=dict)
    where: str = ""
    """Its JSON path in the source file, for messages (``$.postConversionExtensions[1]``)."""


@dataclass(frozen=True)
class SourceModel:
    """The steps of a source in the order Coveo applies them: pre-conversion, then post-conversion."""

    steps: tuple[SourceStep, ...]
    name: str = ""
    path: str = ""

    @property
    def extension_ids(self) -> list[str]:
        """Each distinct extension id, in pipeline order."""
        return list(dict.fromkeys(step.extension_id for step in self.steps))


_Fail = Callable[[tuple[str | int, ...], str], HarnessError]


def load_source(path: str | os.PathLike[str]) -> SourceModel:
    """Read and validate a source file."""
    file = Path(path)
    return parse_source(load_json_file(file, "source"), str(file))


def parse_source(data: Any, origin: str = "<source>") -> SourceModel:
    """Validate a parsed source model (or the two lists alone); ``origin`` names it in errors."""

    def fail(parts: tuple[str | int, ...], message: str) -> HarnessError:
        return HarnessError(f"{origin}: {json_path(*parts)}: {message}")

    if not isinstance(data, dict):
        raise fail((), "expected the source object (with preConversionExtensions and postConversionExtensions)")
    if not any(key in data for key in STAGES):
        raise fail((), "no preConversionExtensions or postConversionExtensions: not a source's extension pipeline")
    steps: list[SourceStep] = []
    for key, stage in STAGES.items():
        entries = data.get(key)
        if entries is None:
            continue
        if not isinstance(entries, list):
            raise fail((key,), "expected a list of extension entries")
        for index, entry in enumerate(entries):
            steps.append(_step(entry, stage, (key, index), fail))
    name = data.get("name")
    return SourceModel(tuple(steps), name if isinstance(name, str) else "", origin)


def _step(entry: Any, stage: str, at: tuple[str | int, ...], fail: _Fail) -> SourceStep:
    if not isinstance(entry, dict):
        raise fail(at, "expected an object {extensionId, actionOnError, condition, parameters, ...}")
    extension_id = entry.get("extensionId")
    if not isinstance(extension_id, str) or not extension_id.strip():
        raise fail(at + ("extensionId",), "expected the extension's id as a non-empty string")
    action = entry.get("actionOnError")
    if action is None:
        action = DEFAULT_ACTION_ON_ERROR
    if not isinstance(action, str) or action.upper() not in ACTIONS_ON_ERROR:
        raise fail(at + ("actionOnError",), f"expected SKIP_EXTENSION or REJECT_DOCUMENT, found {action!r}")
    text = entry.get("condition")
    if text is not None and not isinstance(text, str):
        raise fail(at + ("condition",), "expected a condition string such as %[filetype] == 'pdf'")
    try:
        condition = parse_condition(text)
    except ConditionError as exc:
        raise fail(at + ("condition",), f"{exc} in {text!r}") from None
    for key in ("versionId", "itemType"):
        if entry.get(key) is not None and not isinstance(entry[key], str):
            raise fail(at + (key,), "expected a string or null")
    parameters = entry.get("parameters")
    if parameters is None:
        parameters = {}
    if not isinstance(parameters, dict):
        raise fail(at + ("parameters",), "expected an object of parameter name -> string")
    for name, value in parameters.items():
        if isinstance(value, (dict, list)):
            raise fail(at + ("parameters", name), "expected a string")
    return SourceStep(
        extension_id=extension_id.strip(),
        stage=stage,
        condition=condition,
        action_on_error=action.upper(),
        version_id=entry.get("versionId"),
        item_type=entry.get("itemType") or None,
        parameters={str(k): _string(v) for k, v in parameters.items()},
        where=json_path(*at),
    )


def _string(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
