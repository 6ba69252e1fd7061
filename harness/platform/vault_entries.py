"""Coveo's Vault API (Migration service): give an extension the vault entries its script reads.

``POST /rest/organizations/{org}/vaultentries`` takes a ``VaultEntryModel`` (``key``, ``value``,
``valueType``, ``vaultVisibilityType``, ``organizationId``, ``scopes``, ``attributeReferences``);
the body is built by :func:`harness.vault_api.extension_payload`, the one ``ipe vault payload``
prints, so both commands agree on it.  When the key already exists Coveo refuses the create (409 or
412), and the entry is updated with ``PUT /vaultentries/{key}`` instead.  A PUT replaces the
whole entry, and an entry is often shared by several extensions, so the existing entry is read
first (``GET /vaultentries/{key}``) and its scopes and attribute references are kept: pushing one
extension's entries never takes a value away from another extension.

Values go only into request bodies; what this module returns (:class:`PushedEntry`) holds keys,
never values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.errors import HarnessError
from harness.extension import Extension
from harness.platform.client import PlatformClient, segment
from harness.vault import LocalVault
from harness.vault_api import extension_payload, find_entry
from harness.vault_usage import vault_keys

__all__ = ["EXISTS", "PushedEntry", "VaultEntriesAPI", "VaultPush", "push_vault_entries"]

EXISTS = (409, 412)
"""The answers of ``POST /vaultentries`` for a key that is already there."""
_VIEW, _EDIT, _CREATE = "Vault entries - View", "Vault entries - Edit", "Vault entries - Create"


@dataclass(frozen=True)
class PushedEntry:
    """One entry sent: its key, ``created``/``updated`` (``would create`` in dry-run), other scopes kept."""

    key: str
    action: str
    other_scopes: int = 0


@dataclass
class VaultPush:
    """What ``ipe vault push`` did for one extension."""

    pushed: list[PushedEntry] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    """Keys the script reads that the local vault does not hold for this extension: not sent."""
    dynamic: list[int] = field(default_factory=list)
    """Script lines reading a key only running the script would tell: not sent."""


class VaultEntriesAPI:
    """The calls under ``/rest/organizations/{org}/vaultentries``."""

    def __init__(self, client: PlatformClient) -> None:
        self.client = client

    def create(self, body: dict[str, Any]) -> bool | None:
        """Create an entry: True when created, False when the key already exists (None in dry-run)."""
        answer = self.client.call("POST", "/vaultentries", body=body, what=f"vault entry {body['key']!r}",
                                  privilege=_CREATE, accept=EXISTS)
        return None if answer is None else answer.status_code not in EXISTS

    def get(self, key: str) -> dict[str, Any] | None:
        """The entry of ``key`` as Coveo shows it (an obfuscated value: only its other fields are used)."""
        path = f"/vaultentries/{segment(key)}"
        answer = self.client.call("GET", path, what=f"vault entry {key!r}", privilege=_VIEW)
        if answer is None:
            return None
        entry = self.client.json_of(answer, "GET", path)
        return entry if isinstance(entry, dict) else {}

    def update(self, key: str, body: dict[str, Any]) -> None:
        """Replace the entry of ``key`` with ``body``."""
        self.client.call("PUT", f"/vaultentries/{segment(key)}", body=body, what=f"vault entry {key!r}",
                         privilege=_EDIT)

    def delete(self, key: str) -> None:
        """Delete the entry of ``key`` (the live tests clean up after themselves with it)."""
        self.client.call("DELETE", f"/vaultentries/{segment(key)}", what=f"vault entry {key!r}", privilege=_EDIT)


def push_vault_entries(
    client: PlatformClient,
    extension: Extension,
    vault: LocalVault,
    *,
    keys: Sequence[str] = (),
    visibility: str | None = None,
) -> VaultPush:
    """Create or update, scoped to the extension's Coveo id, every vault entry its script reads
    (or only ``keys``) that the local vault holds for it."""
    if not extension.id:
        raise HarnessError(f"{extension.manifest or extension.folder}: no \"id\": the vault entries are scoped to the "
                           f"extension's Coveo id; run `ipe push {extension.folder}` first")
    usage = vault_keys(extension.source, str(extension.script))
    result = VaultPush(dynamic=list(usage.dynamic))
    api = VaultEntriesAPI(client)
    organization = client.settings.organization_id
    for key in keys or sorted(usage.keys):
        entry = find_entry(vault, key, extension)
        if entry is None:
            result.missing.append(key)
            continue
        body = extension_payload(key, organization, extension.id, entry, reveal=not client.dry_run,
                                 visibility=visibility)
        created = api.create(body)
        if created is None:
            result.pushed.append(PushedEntry(key, "would create"))
        elif created:
            result.pushed.append(PushedEntry(key, "created"))
        else:
            existing = api.get(key) or {}
            merged, others = _merge_scopes(existing.get("scopes"), body["scopes"])
            update = {**body, "scopes": merged}
            if existing.get("attributeReferences"):
                update["attributeReferences"] = existing["attributeReferences"]
            api.update(key, update)
            result.pushed.append(PushedEntry(key, "updated", others))
    return result


def _merge_scopes(existing: Any, ours: list[dict[str, str]]) -> tuple[list[dict[str, Any]], int]:
    """The entry's current scopes plus ours (once each), and how many were someone else's."""
    kept = [s for s in existing if isinstance(s, dict)] if isinstance(existing, list) else []
    known = {(s.get("id"), str(s.get("resourceType", "")).upper()) for s in kept}
    others = sum(1 for s in kept if (s.get("id"), str(s.get("resourceType", "")).upper()) not in
                 {(o["id"], o["resourceType"]) for o in ours})
    merged = kept + [s for s in ours if (s["id"], s["resourceType"]) not in known]
    return merged, others
