"""Canary values: stand-ins for vault values, so a leak check needs no real secret.

In canary mode every key a script reads gets a unique, random, high-entropy value minted on
first use (keys known in advance are minted up front).  Such a value cannot appear by
coincidence, so any place it shows up is a leak, and no real secret is ever at risk while
checking.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from harness.vault import LocalVault, VaultEntry, VaultParameters

if TYPE_CHECKING:
    from collections.abc import Mapping

    from harness.extension import Extension

__all__ = ["CanaryVault", "canary_value"]

CANARY_SOURCE = "canary"


def canary_value() -> str:
    """A fresh canary: 128 random bits, in a form no text contains by chance."""
    return "cnry" + secrets.token_hex(16)


class CanaryVault(LocalVault):
    """A vault whose every key holds a canary; unknown keys are minted when first read.

    ``base`` lends its settings and its ``allowedHosts`` rules, never its values.
    """

    def __init__(self, keys: Iterable[str] = (), base: LocalVault | None = None) -> None:
        super().__init__([], dict(base.settings) if base else {})
        self._hosts = {e.key: e.allowed_hosts for e in (base.entries if base else []) if e.allowed_hosts is not None}
        for key in keys:
            self.mint(key)

    def mint(self, key: str) -> str:
        """The canary of ``key``, minted now if it has none yet."""
        for entry in self.entries:
            if entry.key == key:
                return entry.value
        value = canary_value()
        self.entries.append(VaultEntry(key, value, CANARY_SOURCE, allowed_hosts=self._hosts.get(key)))
        return value

    def parameters_for(
        self, extension: Extension | None, values: Mapping[str, str] | None = None
    ) -> VaultParameters:
        return CanaryParameters(self)


class CanaryParameters(VaultParameters):
    """``vault_parameters`` in canary mode: every key exists, with its canary value."""

    def __init__(self, vault: CanaryVault) -> None:
        super().__init__({e.key: e.value for e in vault.entries})
        self._vault = vault

    def __missing__(self, key: Any) -> str:
        value = self._vault.mint(str(key))
        self[key] = value
        return value

    def get(self, key: Any, default: Any = None) -> Any:
        return self[key]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) or super().__contains__(key)
