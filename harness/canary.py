"""Canary values: stand-ins for vault values, so a leak check needs no real secret.

In canary mode every key a script may read gets a unique, random value.  Such a value cannot
appear by coincidence, so any place it shows up is a leak, and no real secret is ever at risk
while checking.

The key set is the real one (:meth:`CanaryVault.for_extension`): every key of the local vault
the extension may see (``.env``, ``vault.json`` with its scopes, ``VAULT_*`` variables - their
names only), every key the script names, and every key a snapshot lists; any other key a
script reads is minted when first read.  A script that walks ``vault_parameters`` therefore
sees the keys it would see in Coveo.

A canary keeps the *shape* of the local value when there is one, so a script that parses its
secret runs on as it would with the real one:

* JSON stays JSON with the same structure: every string leaf is replaced by a canary of its
  own shape, every number by a number with as many digits, booleans and nulls are kept;
* a number stays a number with the same number of digits (and its sign and decimal point);
* anything else keeps its length and its character classes: each lower-case letter becomes a
  random lower-case letter, upper-case likewise, each digit a random digit, every other
  character (``-``, ``_``, ``.``, ``:``, ``@``, spaces, line breaks) stays.

The local value is read for its shape only: it is never given to the script nor kept, and the
canary never equals it.  A shape with little room (a 6-digit PIN holds 20 random bits) makes a
chance match in the output possible; without a local value the canary is 128 random bits.
"""

from __future__ import annotations

import json
import re
import secrets
import string
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from harness.vault import LocalVault, VaultEntry, VaultParameters

if TYPE_CHECKING:
    from collections.abc import Mapping

    from harness.extension import Extension

__all__ = ["CanaryVault", "canary_value"]

CANARY_SOURCE = "canary"


def canary_value(like: str | None = None) -> str:
    """A fresh canary: 128 random bits, or with ``like``, a random value of the same shape."""
    if not like:
        return "cnry" + secrets.token_hex(16)
    for _ in range(100):
        value = _shaped(like)
        if value != like:
            return value
    return "cnry" + secrets.token_hex(16)  # a shape with no room at all (say "----"): no shape


_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?")
_LOWER = string.ascii_lowercase
_UPPER = string.ascii_uppercase


def _shaped(like: str) -> str:
    stripped = like.strip()
    if stripped[:1] in ("{", "["):
        try:
            parsed = json.loads(stripped)
        except ValueError:
            parsed = None
        if isinstance(parsed, (dict, list)):
            compact = ", " not in stripped and ": " not in stripped
            text = json.dumps(_json_leaves(parsed), separators=(",", ":") if compact else None,
                              indent=2 if "\n" in stripped else None, ensure_ascii=False)
            return like[: len(like) - len(like.lstrip())] + text + like[len(like.rstrip()):]
    if _NUMBER.fullmatch(stripped):  # a number stays a number: no leading zero appears
        return like[: len(like) - len(like.lstrip())] + _digits(stripped) + like[len(like.rstrip()):]
    return "".join(_char(c) for c in like)


def _json_leaves(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _json_leaves(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_leaves(item) for item in value]
    if isinstance(value, str):
        return _shaped(value) if value else value
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(_digits(str(value)))
    if isinstance(value, float):
        return float(_digits(repr(value)))
    return value  # pragma: no cover - json.loads gives nothing else


def _digits(text: str) -> str:
    """``text`` with its digits random; a leading digit stays non-zero when it was."""
    out = []
    for index, char in enumerate(text):
        if char.isdigit() and char.isascii():
            leading = index == 0 or text[index - 1] in "+-"
            out.append(secrets.choice("123456789") if leading and char != "0" else secrets.choice(string.digits))
        else:
            out.append(char)
    return "".join(out)


def _char(char: str) -> str:
    if char in _LOWER:
        return secrets.choice(_LOWER)
    if char in _UPPER:
        return secrets.choice(_UPPER)
    if char.isascii() and char.isdigit():
        return secrets.choice(string.digits)
    return char


class CanaryVault(LocalVault):
    """A vault whose every key holds a canary; unknown keys are minted when first read.

    ``base`` lends its settings, its ``allowedHosts`` rules and the shape of its values (for
    ``extension``'s scopes), never the values themselves.
    """

    def __init__(
        self, keys: Iterable[str] = (), base: LocalVault | None = None, extension: Extension | None = None
    ) -> None:
        super().__init__([], dict(base.settings) if base else {})
        self._hosts = {e.key: e.allowed_hosts for e in (base.entries if base else []) if e.allowed_hosts is not None}
        self._shapes = _Shapes(base.values_for(extension) if base else {})
        for key in keys:
            self.mint(key)

    @classmethod
    def for_extension(
        cls, extension: Extension, base: LocalVault, extra_keys: Iterable[str] = ()
    ) -> CanaryVault:
        """The canaries ``ipe check`` gives ``extension``: a canary for every key of ``base`` the
        extension may see, every key its script names, and every key of ``extra_keys`` (a
        snapshot's), all minted up front."""
        keys = list(base.values_for(extension))
        if extension.code is not None:
            from harness.vault_usage import vault_keys

            keys += sorted(vault_keys(extension.source, str(extension.script)).keys)
        keys += list(extra_keys)
        return cls(dict.fromkeys(keys), base, extension)

    def mint(self, key: str) -> str:
        """The canary of ``key``, minted now if it has none yet."""
        for entry in self.entries:
            if entry.key == key:
                return entry.value
        value = canary_value(self._shapes.like(key))
        self.entries.append(VaultEntry(key, value, CANARY_SOURCE, allowed_hosts=self._hosts.get(key)))
        return value

    def parameters_for(
        self, extension: Extension | None, values: Mapping[str, str] | None = None
    ) -> VaultParameters:
        return CanaryParameters(self)


class _Shapes:
    """The local values a canary copies the shape of: held privately, never shown, never injected."""

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = dict(values)

    def like(self, key: str) -> str | None:
        return self._values.get(key)

    def __repr__(self) -> str:  # never show a value
        return f"_Shapes({len(self._values)} keys)"


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
