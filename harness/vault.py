"""The local vault: stand-ins for Coveo's vault entries, and the ``vault_parameters`` a script sees.

Three sources, from lowest to highest precedence:

1. ``.env`` lines ``VAULT_<key>=<value>`` (read with python-dotenv, no ``${}`` interpolation),
   given to every extension.  Other lines are harness settings (``COVEO_ORGANIZATION_ID``,
   ``COVEO_API_KEY``, ``COVEO_PLATFORM_URL``), never injected.
2. ``vault.json``: a list of entries in the Vault API's own ``POST /vaultentries`` shape.  An
   entry with scopes reaches only the extensions whose id (or name) is in a scope of
   resourceType ``EXTENSION``.
3. Process environment variables ``VAULT_<key>`` (CI secrets).

As python-dotenv does, parsing (:func:`parse_env`, :func:`parse_vault_entries`) is kept apart
from finding and reading files (:func:`load_vault`).  No message of this module ever contains
a value.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dotenv import dotenv_values
from dotenv.parser import parse_stream

from harness.errors import HarnessError, json_path, load_json_file
from harness.params import parameter_text

if TYPE_CHECKING:
    from harness.extension import Extension

__all__ = [
    "ENV_PREFIX",
    "LocalVault",
    "VaultEntry",
    "VaultKeyError",
    "VaultParameters",
    "load_vault",
    "parse_env",
    "parse_vault_entries",
]

ENV_PREFIX = "VAULT_"
SETTINGS = ("COVEO_ORGANIZATION_ID", "COVEO_API_KEY", "COVEO_PLATFORM_URL")
SETTING_PREFIX = "COVEO_"
"""Every ``COVEO_*`` variable (``.env`` or environment) is a harness setting, never injected."""
PUBLIC_SETTINGS = frozenset({"COVEO_ORGANIZATION_ID", "COVEO_PLATFORM_URL", "COVEO_REGION"})
"""Settings that name things rather than unlock them: the organization id is in every URL of
Coveo's APIs and in the platform commands' own messages, the platform URL is public.  Masking
them would blank those messages and make every script that calls Coveo's search API a "leak".
Every other ``COVEO_*`` setting (``COVEO_API_KEY`` first) is masked like a vault value."""
_VALUE_TYPES = ("STRING", "BOOLEAN", "INTEGER", "FLOAT")
_VISIBILITIES = ("OBFUSCATED", "STRICT", "PUBLIC")


@dataclass(frozen=True)
class VaultEntry:
    """One vault value and where it came from (``.env``, ``vault.json``, ``environment``)."""

    key: str
    value: str
    source: str
    scopes: tuple[tuple[str, str], ...] = ()
    """``(id, resourceType)`` pairs; empty means every extension."""
    value_type: str = "STRING"
    visibility: str = "OBFUSCATED"
    allowed_hosts: tuple[str, ...] | None = None
    """Hosts the value may be sent to (``allowedHosts``, a harness-only key of vault.json)."""

    def reaches(self, extension: Extension | None) -> bool:
        """Whether Coveo would inject this entry into ``extension``'s ``vault_parameters``."""
        if not self.scopes:
            return True
        if extension is None:
            return False
        ids = extension.scope_ids
        return any(kind.upper() == "EXTENSION" and scope_id in ids for scope_id, kind in self.scopes)

    def __repr__(self) -> str:  # never show the value
        return f"VaultEntry(key={self.key!r}, source={self.source!r}, scopes={self.scopes!r})"


def parse_env(text: str, source: str = ".env") -> tuple[list[VaultEntry], dict[str, str]]:
    """Split ``.env`` text into vault entries (``VAULT_<key>`` lines) and harness settings.

    A line python-dotenv cannot parse (it would skip it with a log message) is an error naming
    the file and the line, as is a ``VAULT_<key>`` line without ``=``: a vault key silently
    missing would only show later as a KeyError in the script.  The line's text is never
    shown: it may hold a secret.
    """
    for binding in parse_stream(io.StringIO(text)):
        line = binding.original.line
        if binding.error:
            raise HarnessError(f"{source}: line {line}: not a KEY=value line (quote values that hold spaces or #)")
        if binding.key and binding.key.startswith(ENV_PREFIX) and binding.value is None:
            raise HarnessError(f"{source}: line {line}: {binding.key} has no '=': write {binding.key}=<value>")
    entries, settings = [], {}
    for name, value in dotenv_values(stream=io.StringIO(text), interpolate=False).items():
        if name.startswith(ENV_PREFIX) and len(name) > len(ENV_PREFIX):
            entries.append(VaultEntry(name[len(ENV_PREFIX):], value or "", source))
        elif value is not None:
            settings[name] = value
    return entries, settings


def parse_vault_entries(data: Any, source: str = "vault.json") -> list[VaultEntry]:
    """Validate ``vault.json`` content (a list of Vault API entries); errors name the JSON path."""

    def fail(path: tuple[str | int, ...], message: str) -> HarnessError:
        return HarnessError(f"{source}: {json_path(*path)}: {message}")

    if isinstance(data, dict) and isinstance(data.get("items"), list):
        data = data["items"]  # the shape of GET /vaultentries
    if not isinstance(data, list):
        raise fail((), "expected a list of vault entries ({\"key\", \"value\", \"scopes\", ...})")
    entries = []
    for i, item in enumerate(data):
        if not isinstance(item, dict):
            raise fail((i,), "expected a vault entry object")
        key = item.get("key")
        if not isinstance(key, str) or not key:
            raise fail((i, "key"), "expected a non-empty string")
        value = item.get("value")
        if value is None or isinstance(value, (dict, list)):
            raise fail((i, "value"), "expected a string, number or boolean")
        value_type = str(item.get("valueType", "STRING")).upper()
        if value_type not in _VALUE_TYPES:
            raise fail((i, "valueType"), f"expected one of {', '.join(_VALUE_TYPES)}")
        visibility = str(item.get("vaultVisibilityType", "OBFUSCATED")).upper()
        if visibility not in _VISIBILITIES:
            raise fail((i, "vaultVisibilityType"), f"expected one of {', '.join(_VISIBILITIES)}")
        scopes = item.get("scopes") or []
        if not isinstance(scopes, list):
            raise fail((i, "scopes"), "expected a list of {id, resourceType}")
        pairs = []
        for j, scope in enumerate(scopes):
            if not isinstance(scope, dict) or not isinstance(scope.get("id"), str):
                raise fail((i, "scopes", j), "expected {\"id\": ..., \"resourceType\": \"EXTENSION\"}")
            pairs.append((scope["id"], str(scope.get("resourceType", "EXTENSION"))))
        hosts = item.get("allowedHosts")
        if hosts is not None and (not isinstance(hosts, list) or not all(isinstance(h, str) for h in hosts)):
            raise fail((i, "allowedHosts"), "expected a list of host names (a harness-only key)")
        text = parameter_text(value)
        entries.append(
            VaultEntry(key, text, source, tuple(pairs), value_type, visibility,
                       tuple(hosts) if hosts is not None else None)
        )
    return entries


class VaultKeyError(KeyError):
    """A script read a vault key it was not given: says which key and where to define it.

    Its traceback line reads ``KeyError: ...``, as in Coveo, where the script gets a plain
    ``KeyError``: the class names itself as the builtin it extends (``except KeyError`` in a
    script catches it either way).
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


VaultKeyError.__module__ = "builtins"
VaultKeyError.__qualname__ = "KeyError"


class VaultParameters(dict[str, str]):
    """The ``vault_parameters`` dict of a script: a plain dict whose missing keys explain themselves."""

    def __init__(self, values: Mapping[str, str], explain: Any = None) -> None:
        super().__init__(values)
        self._explain = explain

    def __missing__(self, key: Any) -> Any:
        hint = self._explain(str(key)) if self._explain else f"vault key {str(key)!r} is not defined"
        raise VaultKeyError(hint)


class _Versioned:
    """Counts the changes of a vault; its containers tell it when they change."""

    version: int

    def _changed(self) -> None:
        object.__setattr__(self, "version", getattr(self, "version", 0) + 1)


def _tracking(base: type, methods: tuple[str, ...]) -> type:
    """A subclass of ``base`` whose ``methods`` tell the owning vault (``_owner``) they changed it."""

    def wrap(name: str) -> Any:
        original = getattr(base, name)

        def method(self: Any, *args: Any, **kwargs: Any) -> Any:
            result = original(self, *args, **kwargs)
            owner = getattr(self, "_owner", None)  # unset while pickle refills the container
            if owner is not None:
                owner._changed()
            return self if name.startswith("__i") else result

        method.__name__ = name
        return method

    name = f"_Tracked{base.__name__.title()}"  # the module attribute it is bound to, for pickle
    return type(name, (base,), {"__module__": __name__, **{m: wrap(m) for m in methods}})


_LIST_CHANGES = ("append", "extend", "insert", "remove", "pop", "clear", "sort", "reverse",
                 "__setitem__", "__delitem__", "__iadd__", "__imul__")
_DICT_CHANGES = ("__setitem__", "__delitem__", "pop", "popitem", "clear", "update", "setdefault", "__ior__")
_TrackedList: type = _tracking(list, _LIST_CHANGES)
_TrackedDict: type = _tracking(dict, _DICT_CHANGES)


@dataclass
class LocalVault(_Versioned):
    """Every vault entry found on this machine, in precedence order (lowest first).

    ``version`` goes up on every change of ``entries`` or ``settings`` (a list item replaced,
    a canary minted, the list itself swapped), so whatever is derived from the vault (the
    redactor of a :class:`~harness.runner.Runner`) is derived again exactly when needed.
    """

    entries: list[VaultEntry]
    settings: dict[str, str]
    env_file: Path | None = None
    vault_file: Path | None = None

    def __repr__(self) -> str:  # never show a value (settings hold COVEO_API_KEY)
        return f"{type(self).__name__}(keys={[e.key for e in self.entries]!r}, settings={sorted(self.settings)!r})"

    def __setattr__(self, name: str, value: Any) -> None:
        if name in ("entries", "settings"):
            tracked = (_TrackedList if name == "entries" else _TrackedDict)(value)
            tracked._owner = self
            value = tracked
            self._changed()
        object.__setattr__(self, name, value)

    def values_for(self, extension: Extension | None) -> dict[str, str]:
        """The ``vault_parameters`` Coveo would give ``extension``."""
        values: dict[str, str] = {}
        for entry in self.entries:
            if entry.reaches(extension):
                values[entry.key] = entry.value
        return values

    def parameters_for(
        self, extension: Extension | None, values: Mapping[str, str] | None = None
    ) -> VaultParameters:
        """A fresh ``vault_parameters`` for one run (``values`` saves recomputing them)."""
        name = extension.name if extension else "<script>"
        return VaultParameters(
            self.values_for(extension) if values is None else values,
            lambda key: self.explain_missing(key, name, extension),
        )

    def explain_missing(self, key: str, name: str, extension: Extension | None) -> str:
        """Why ``key`` is not in the extension's vault, and how to define it (never a value)."""
        scoped = [e for e in self.entries if e.key == key and not e.reaches(extension)]
        if scoped:
            scopes = ", ".join(f"{kind}:{scope_id}" for scope_id, kind in scoped[0].scopes)
            ids = " or ".join(sorted(extension.scope_ids)) if extension else name
            return (
                f"vault key {key!r} is in {scoped[0].source} but scoped to {scopes}, not to extension "
                f"{name!r}: add a scope {{\"id\": \"{ids}\", \"resourceType\": \"EXTENSION\"}} to it"
            )
        env = self.env_file or Path(".env")
        return (
            f"vault key {key!r} is not defined for extension {name!r}: add {ENV_PREFIX}{key}=... to {env}, "
            f"or an entry with \"key\": \"{key}\" to vault.json, or set {ENV_PREFIX}{key} in the environment"
        )

    def secrets(self) -> dict[str, str]:
        """Every value of the vault, whatever its scope, by key: what the redactor must mask.

        A key defined twice with different values (``.env`` and the environment, say) keeps
        both: the later ones are named ``key#2``, ``key#3``...  The harness's own settings
        (``COVEO_API_KEY`` and every ``COVEO_*`` but the :data:`PUBLIC_SETTINGS`) are masked like
        vault values, under their own names; they are never injected into ``vault_parameters``.
        """
        named: dict[str, str] = {}
        settings = [
            (name, value)
            for name, value in self.settings.items()
            if name.startswith(SETTING_PREFIX) and name not in PUBLIC_SETTINGS
        ]
        for key, value in [(entry.key, entry.value) for entry in self.entries] + settings:
            name, n = key, 1
            while name in named and named[name] != value:
                n += 1
                name = f"{key}#{n}"
            named[name] = value
        return named

    def allowed_hosts(self, extension: Extension | None) -> dict[str, list[str]]:
        """Vault key -> host patterns its value may go to, from vault.json and the manifest."""
        hosts: dict[str, list[str]] = {}
        default = extension.allowed_hosts.get("*") if extension else None
        for entry in self.entries:
            if entry.allowed_hosts is not None:
                hosts.setdefault(entry.key, []).extend(entry.allowed_hosts)
        if extension:
            for key, patterns in extension.allowed_hosts.items():
                if key != "*":
                    hosts.setdefault(key, []).extend(patterns)
            if default is not None:
                for key in self.values_for(extension):
                    hosts.setdefault(key, list(default))
        return hosts

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> LocalVault:
        """A vault holding exactly ``values`` for every extension (what tests and the Python API pass)."""
        entries = [VaultEntry(str(k), _text(v), "the given vault") for k, v in values.items()]
        return cls(entries, {})


def _text(value: Any) -> str:
    return parameter_text(value)


def _find_upwards(name: str, start: Path) -> Path | None:
    for folder in (start, *start.parents):
        candidate = folder / name
        if candidate.is_file():
            return candidate
    return None


def load_vault(
    env_file: str | os.PathLike[str] | None = None,
    vault_file: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    start: str | os.PathLike[str] | None = None,
) -> LocalVault:
    """Read ``.env``, ``vault.json`` and the environment into a :class:`LocalVault`.

    Without explicit files, ``.env`` and ``vault.json`` are looked for in ``start`` (the
    current directory by default) and its parents; a file given explicitly must exist.
    """
    environ = os.environ if environ is None else environ
    base = Path(start) if start is not None else Path.cwd()
    entries: list[VaultEntry] = []
    settings: dict[str, str] = {}

    env_path = Path(env_file) if env_file is not None else _find_upwards(".env", base)
    if env_path is not None:
        try:
            text = env_path.read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise HarnessError(f"{env_path}: cannot read env file ({exc.strerror})") from None
        env_entries, settings = parse_env(text, str(env_path))
        entries += env_entries

    vault_path = Path(vault_file) if vault_file is not None else _find_upwards("vault.json", base)
    if vault_path is not None:
        entries += parse_vault_entries(load_json_file(vault_path, "vault"), str(vault_path))

    entries += _environment_entries(environ)
    settings.update({name: value for name, value in environ.items() if name.startswith(SETTING_PREFIX)})
    return LocalVault(entries, settings, env_path, vault_path)


def _environment_entries(environ: Mapping[str, str]) -> Iterable[VaultEntry]:
    return [
        VaultEntry(name[len(ENV_PREFIX):], value, "environment")
        for name, value in environ.items()
        if name.startswith(ENV_PREFIX) and len(name) > len(ENV_PREFIX)
    ]
