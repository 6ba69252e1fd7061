"""The ``{{ VAULT.<key> }}`` placeholders of a Coveo resource snapshot, and where each one sits.

When Coveo exports a snapshot, every sensitive value of a resource's configuration is replaced by
a placeholder such as ``"{{ VAULT.mysource_x1Y2z3-configuration.parameters.secretKey.value }}"``;
applying the snapshot needs a vault entry for each key (``GET /vaultentries/missing`` lists the
absent ones), and creating one takes the placeholder's ``jsonPath`` in its resource's ``model``,
the ``resourceName`` and the ``resourceType`` (``POST /vaultentries``, ``attributeReferences``).

A snapshot (Coveo's "Snapshot structure" page) is::

    {"metadata": {"schemaVersion": "v1"},
     "resources": {"SOURCE": [{"resourceName": "...", "parents": {}, "model": {...}}], ...}}

Also accepted, since users keep snapshots in these shapes too: the bare ``resources`` object
(``{"SOURCE": [...]}``), and a folder, read as every ``*.json`` in it (or in its ``resources/``
subfolder, the layout ``coveo org:resources:pull`` writes), in name order.

``jsonPath`` notation: object keys joined by dots, list items as ``[i]`` (zero-based), e.g.
``configuration.parameters.secretKey.value`` or ``configuration.headers[1].value``.  Coveo's
documentation only shows dotted object paths; the bracket form for list items is our choice.
Placeholders are looked for in every string value inside ``model`` (one string may hold several),
not in object keys and not outside ``model``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import HarnessError, json_path, load_json_file

__all__ = ["PLACEHOLDER", "Placeholder", "find_placeholders", "load_snapshot"]

PLACEHOLDER = re.compile(r"\{\{\s*VAULT\.([^\s{}]+)\s*\}\}")
"""``{{ VAULT.<key> }}`` with any spacing inside the braces, including none."""


@dataclass(frozen=True)
class Placeholder:
    """One ``{{ VAULT.<key> }}`` occurrence: the key, and the attribute reference that locates it."""

    key: str
    json_path: str
    """Path from the resource's ``model``, e.g. ``configuration.parameters.secretKey.value``."""
    resource_name: str
    resource_type: str
    source: str = ""
    """The snapshot file it was found in (for messages)."""


def load_snapshot(path: str | os.PathLike[str]) -> list[Placeholder]:
    """Read a snapshot file (or a folder of them) and return its placeholders in document order."""
    given = Path(path)
    if given.is_dir():
        folder = given / "resources" if (given / "resources").is_dir() else given
        files = sorted(p for p in folder.glob("*.json") if p.is_file())
        if not files:
            raise HarnessError(f"{given}: no *.json snapshot files in this folder")
    else:
        files = [given]
    found: list[Placeholder] = []
    for file in files:
        found += find_placeholders(load_json_file(file, "snapshot"), str(file))
    return found


def find_placeholders(data: Any, source: str = "<snapshot>") -> list[Placeholder]:
    """The placeholders of parsed snapshot JSON; a wrong shape is one HarnessError naming file and path."""

    def fail(path: tuple[str | int, ...], message: str) -> HarnessError:
        return HarnessError(f"{source}: {json_path(*path)}: {message}")

    if not isinstance(data, dict):
        raise fail((), 'expected a snapshot object ({"resources": {"SOURCE": [...], ...}})')
    if "resources" in data:
        prefix: tuple[str, ...] = ("resources",)
        resources = data["resources"]
        if not isinstance(resources, dict):
            raise fail(prefix, 'expected an object of resource type -> list of resources')
    elif data and all(isinstance(v, list) for v in data.values()):
        resources, prefix = data, ()  # the bare resources object
    else:
        raise fail((), 'not a Coveo snapshot: expected {"resources": {"SOURCE": [...], ...}}')

    found: list[Placeholder] = []
    for resource_type, items in resources.items():
        here: tuple[str | int, ...] = (*prefix, resource_type)
        if not isinstance(items, list):
            raise fail(here, f"expected a list of {resource_type} resources")
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                raise fail((*here, i), 'expected a resource ({"resourceName": ..., "model": {...}})')
            name = item.get("resourceName")
            if not isinstance(name, str) or not name:
                raise fail((*here, i, "resourceName"), "expected a non-empty string")
            model = item.get("model")
            if not isinstance(model, dict):
                raise fail((*here, i, "model"), "expected an object (the resource's configuration)")
            for path, text in _strings(model, ()):
                for match in PLACEHOLDER.finditer(text):
                    found.append(Placeholder(match.group(1), _dotted(path), name, resource_type, source))
    return found


def _strings(value: Any, path: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Every string inside ``value`` with its path, depth first, in document order."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, child in value.items():
            yield from _strings(child, (*path, str(key)))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _strings(child, (*path, index))


def _dotted(path: tuple[str | int, ...]) -> str:
    """``("a", "b", 0, "c")`` -> ``a.b[0].c`` (the model itself, an unlikely string, is ``""``)."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out
