"""The ``vault_parameters`` of an extension whose manifest says ``"useVault": false``.

Coveo gives such an extension an empty ``vault_parameters``, whatever the vault holds.  The
harness does the same and, because a script reading a key then fails in Coveo although its
local vault has the key, says so in a warning naming the key and the manifest setting.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.extension import Extension

__all__ = ["UnusedVault", "vault_for"]


def vault_for(extension: Extension, vault_parameters: dict[str, str], warnings: list[str]) -> dict[str, str]:
    """The script's ``vault_parameters``: empty when the manifest says ``"useVault": false``."""
    if not extension.vault_disabled:
        return vault_parameters
    return UnusedVault(warnings)


class UnusedVault(dict[str, str]):
    """The empty ``vault_parameters`` of an extension whose manifest says ``"useVault": false``.

    Reading a key fails as in Coveo (``KeyError``, or ``get``'s default), and adds a warning
    naming the key and the manifest setting (never a value: there is none).
    """

    def __init__(self, warnings: list[str]) -> None:
        super().__init__()
        self._warnings = warnings

    def _note(self, key: object) -> None:
        text = (
            f"the script read vault_parameters[{str(key)!r}], but extension.json says \"useVault\": false, "
            "so Coveo gives it an empty vault_parameters: set \"useVault\": true"
        )
        if text not in self._warnings:
            self._warnings.append(text)

    def __missing__(self, key: str) -> str:
        self._note(key)
        raise KeyError(key)

    def get(self, key: str, default: Any = None) -> Any:
        self._note(key)
        return default
