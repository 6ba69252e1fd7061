"""Bodies of Coveo's Vault API, built from the local vault: pure functions, no I/O.

``POST /rest/organizations/{org}/vaultentries`` creates a vault entry.  Coveo's "Create a vault
entry" page shows the body for a snapshot's placeholder, and we keep its key order::

    {"attributeReferences": [{"jsonPath", "resourceName", "resourceType"}],
     "key", "value", "organizationId", "valueType": "STRING", "vaultVisibilityType": "OBFUSCATED"}

An entry for an extension has ``"scopes": [{"id": <extension id>, "resourceType": "EXTENSION"}]``
in the place of ``attributeReferences`` ("Use vault parameters in your IPE").

``GET /vaultentries/missing`` answers ``{"missingVaultEntries": [key, ...]}``; :func:`missing_entries`
gives the same shape for the local vault.

The value is masked as ``********`` (always eight, so not even its length shows) unless
``reveal=True``.  A key the local vault lacks gets ``"value": ""``: the body is still useful as a
template, and the caller (the CLI) warns that the value must be filled in before sending it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from harness.errors import HarnessError
from harness.extension import Extension
from harness.snapshot import Placeholder
from harness.vault import LocalVault, VaultEntry

__all__ = [
    "MASK",
    "VISIBILITY_TYPES",
    "extension_payload",
    "find_entry",
    "missing_entries",
    "snapshot_payload",
]

MASK = "********"
VISIBILITY_TYPES = ("OBFUSCATED", "PUBLIC", "STRICT")
"""The Vault API's ``vaultVisibilityType`` values (platform-client's ``VaultVisibilityType``)."""
DEFAULT_VISIBILITY = "OBFUSCATED"


def find_entry(vault: LocalVault, key: str, extension: Extension | None = None, any_scope: bool = False) -> VaultEntry | None:
    """The local entry that gives ``key`` its value: the highest-precedence one that reaches ``extension``.

    ``any_scope=True`` ignores scopes, for snapshot placeholders: a vault entry exists in the
    organization (and satisfies ``/vaultentries/missing``) whichever extensions it is scoped to.
    """
    found = None
    for entry in vault.entries:  # lowest precedence first, so the last match wins
        if entry.key == key and (any_scope or entry.reaches(extension)):
            found = entry
    return found


def extension_payload(
    key: str,
    organization_id: str,
    extension_id: str,
    entry: VaultEntry | None,
    *,
    reveal: bool = False,
    visibility: str | None = None,
) -> dict[str, Any]:
    """The ``POST /vaultentries`` body giving ``key`` to one extension (a scope of type EXTENSION)."""
    return {
        "scopes": [{"id": extension_id, "resourceType": "EXTENSION"}],
        **_common(key, organization_id, entry, reveal, visibility),
    }


def snapshot_payload(
    key: str,
    organization_id: str,
    references: Sequence[Placeholder],
    entry: VaultEntry | None,
    *,
    reveal: bool = False,
    visibility: str | None = None,
) -> dict[str, Any]:
    """The ``POST /vaultentries`` body for a snapshot's ``{{ VAULT.key }}``: one reference per place it is used."""
    return {
        "attributeReferences": [
            {"jsonPath": p.json_path, "resourceName": p.resource_name, "resourceType": p.resource_type}
            for p in references
        ],
        **_common(key, organization_id, entry, reveal, visibility),
    }


def _common(
    key: str, organization_id: str, entry: VaultEntry | None, reveal: bool, visibility: str | None
) -> dict[str, Any]:
    kind = (visibility or (entry.visibility if entry else DEFAULT_VISIBILITY)).upper()
    if kind not in VISIBILITY_TYPES:
        raise HarnessError(f"vaultVisibilityType {visibility!r}: expected one of {', '.join(VISIBILITY_TYPES)}")
    if entry is None:
        value = ""
    else:
        value = entry.value if reveal else MASK
    return {
        "key": key,
        "value": value,
        "organizationId": organization_id,
        "valueType": entry.value_type if entry is not None else "STRING",
        "vaultVisibilityType": kind,
    }


def missing_entries(needed: Iterable[str], present: Iterable[str]) -> dict[str, list[str]]:
    """``{"missingVaultEntries": [...]}``: the needed keys not present, sorted, each once."""
    have = set(present)
    return {"missingVaultEntries": sorted({key for key in needed if key not in have})}
