"""The ``document`` object a script sees, with the semantics of Coveo's Python API (v1 and v2).

A :class:`Document` is built for one run from an immutable :class:`DocumentData` (the item as it
enters the extension) and records what the script does to it.  Nothing the script mutates can
reach the input: metadata lists are copied on the way out, permissions and data streams are
rebuilt for each run.  When the run ends badly, the result is simply the input again, which is
how Coveo discards an extension's changes.

Choices where Coveo's behaviour is not public are marked *Choice* and listed in the README.
"""

from __future__ import annotations

import io
import math
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from requests.structures import CaseInsensitiveDict

from harness.result import LogEntry

__all__ = [
    "DataStream",
    "Document",
    "DocumentData",
    "DocumentRejected",
    "DocumentSkipped",
    "LOG_CAP",
    "MetaDataValue",
    "Permission",
    "PermissionLevel",
    "PermissionSet",
    "SEVERITIES",
    "StreamData",
    "normalize_identity_type",
    "stream_encoding",
]

#: The eight severities of ``document.log``, keyed by their lower-case name.
SEVERITIES: dict[str, str] = {
    s.lower(): s
    for s in ("Debug", "Detail", "Error", "Fatal", "Important", "Normal", "Notification", "Warning")
}

#: Coveo keeps about this many characters of log per item; the entry that crosses it is
#: replaced by ``truncated...`` and later entries are dropped.
LOG_CAP = 4000
TRUNCATED = "truncated..."

#: Size caps of the text streams, in bytes.
STREAM_CAPS = {"body_text": 50 * 1024 * 1024, "body_html": 10 * 1024 * 1024}

_IDENTITY_TYPES = {
    "user": "user",
    "group": "group",
    "virtualgroup": "virtualgroup",
    "virtual_group": "virtualgroup",
    "unknown": "unknown",
}


def normalize_identity_type(identity_type: object) -> str:
    """``user``, ``group``, ``virtualgroup`` (also ``virtual_group``) or ``unknown`` for anything else."""
    return _IDENTITY_TYPES.get(str(identity_type).strip().lower(), "unknown")


def stream_encoding(name: str) -> str:
    """The text encoding Coveo uses for a stream: UTF-16LE for ``body_text``, UTF-8 otherwise."""
    return "utf-16-le" if name.lower() == "body_text" else "utf-8"


class DocumentRejected(BaseException):
    """Raised by ``document.reject()``.

    A ``BaseException`` so that ``except Exception`` in a script does not swallow it; the
    rejection is recorded on the document before raising, so even a bare ``except:`` cannot
    undo it.
    """


class DocumentSkipped(BaseException):
    """Raised by ``document.skip()``; same reasoning as :class:`DocumentRejected`."""


@dataclass(frozen=True)
class StreamData:
    """One data stream of an item: who wrote it, its name, its raw bytes."""

    origin: str
    name: str
    content: bytes


@dataclass(frozen=True)
class DocumentData:
    """An item as it enters (or leaves) an extension, as plain data.

    ``metadata`` is a list of ``(origin, {name: [values]})`` in pipeline order, names
    lower-cased; ``permissions`` is in the Test API's JSON form; ``parameters`` are the
    parameters a Test API request carries.
    """

    uri: str
    metadata: tuple[tuple[str, dict[str, list[Any]]], ...] = ()
    permissions: tuple[dict[str, Any], ...] = ()
    data_streams: tuple[StreamData, ...] = ()
    parameters: Mapping[str, str] = field(default_factory=dict)


class MetaDataValue:
    """One origin's metadata: ``.origin`` and ``.values`` (case-insensitive name -> list)."""

    __slots__ = ("origin", "values")

    def __init__(self, origin: str, values: Mapping[str, Any] | None = None) -> None:
        self.origin = origin
        self.values: CaseInsensitiveDict[Any] = CaseInsensitiveDict(values or {})

    def __repr__(self) -> str:
        return f"MetaDataValue(origin={self.origin!r}, values={dict(self.values)!r})"


class Permission:
    """An identity allowed or denied access to an item."""

    def __init__(
        self,
        identity: str,
        identity_type: str,
        security_provider: str,
        additional_info: Mapping[str, str] | None = None,
    ) -> None:
        self.identity = identity
        self.identity_type = normalize_identity_type(identity_type)
        self.security_provider = security_provider
        self.additional_info = dict(additional_info) if additional_info else None

    def __repr__(self) -> str:
        return (
            f"Permission({self.identity!r}, {self.identity_type!r}, {self.security_provider!r}"
            f"{', ' + repr(self.additional_info) if self.additional_info else ''})"
        )


class PermissionSet:
    """Allowed and denied identities that are evaluated together."""

    def __init__(
        self,
        name: str = "",
        allow_anonymous: bool = False,
        allowed_permissions: list[Permission] | None = None,
        denied_permissions: list[Permission] | None = None,
    ) -> None:
        self.name = name
        self.allow_anonymous = allow_anonymous
        self.allowed_permissions = list(allowed_permissions or [])
        self.denied_permissions = list(denied_permissions or [])

    def __repr__(self) -> str:
        return (
            f"PermissionSet({self.name!r}, allow_anonymous={self.allow_anonymous!r}, "
            f"allowed={self.allowed_permissions!r}, denied={self.denied_permissions!r})"
        )


class PermissionLevel:
    """A level of the permission model; every level must grant access."""

    def __init__(self, name: str = "", permission_sets: list[PermissionSet] | None = None) -> None:
        self.name = name
        self.permission_sets = list(permission_sets or [])

    def __repr__(self) -> str:
        return f"PermissionLevel({self.name!r}, {self.permission_sets!r})"


class DataStream:
    """A binary stream of an item (``body_text``, ``body_html``, ``documentdata``, ...).

    ``write`` takes ``str`` or ``bytes``; text is encoded the way Coveo stores that stream
    (UTF-16LE for ``body_text``, UTF-8 otherwise).  ``read`` returns bytes.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.origin = ""
        self._buffer = io.BytesIO()

    @classmethod
    def _of(cls, data: StreamData) -> DataStream:
        stream = cls(data.name)
        stream.origin = data.origin
        stream._buffer = io.BytesIO(data.content)
        return stream

    def write(self, data: str | bytes | bytearray | memoryview) -> int:
        if isinstance(data, str):
            data = data.encode(stream_encoding(self.name))
        elif not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"DataStream.write() takes str or bytes, not {type(data).__name__}")
        return self._buffer.write(data)

    def writelines(self, lines: Iterable[str | bytes]) -> None:
        for line in lines:
            self.write(line)

    def read(self, size: int | None = -1) -> bytes:
        return self._buffer.read(size)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._buffer.seek(offset, whence)

    def tell(self) -> int:
        return self._buffer.tell()

    def clear(self) -> None:
        """Empty the stream."""
        self._buffer = io.BytesIO()

    def flush(self) -> None:
        """Nothing to flush: the stream lives in memory."""

    def getvalue(self) -> bytes:
        return self._buffer.getvalue()

    def __repr__(self) -> str:
        return f"DataStream({self.name!r}, origin={self.origin!r}, {len(self.getvalue())} bytes)"


def _scalar(value: Any) -> Any:
    """A metadata value as Coveo stores it: JSON scalars kept, ``None`` -> ``''``, the rest ``str()``."""
    if value is None:
        return ""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # NaN/Infinity are not JSON: keep the result valid JSON
    if isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    return str(value)


# Module-level names for annotations inside Document, whose class attributes of the same names
# (``document.DataStream(...)`` in scripts) would shadow them for type checkers.
_Level = PermissionLevel
_Set = PermissionSet
_Stream = DataStream


class Document:
    """The ``document`` global of an extension script.

    ``origin`` is the extension's name: what the script adds is stamped with it.
    """

    PermissionLevel = PermissionLevel
    PermissionSet = PermissionSet
    Permission = Permission
    DataStream = DataStream

    def __init__(self, data: DocumentData, origin: str, api_version: str = "v1") -> None:
        self._data = data
        self._origin = origin
        self._api_version = api_version.lower()
        self._added: dict[str, list[Any]] = {}
        self._permissions: list[PermissionLevel] | None = None
        self._streams: list[DataStream] | None = None
        self._added_streams: list[DataStream] = []
        self._logs: list[LogEntry] = []
        self._log_chars = 0
        self._log_full = False
        self._started = time.perf_counter()
        self.warnings: list[str] = []
        #: ``("REJECTED" | "SKIPPED", reason)`` once the script called reject() or skip().
        self.outcome: tuple[str, str] | None = None

    # -- identity -----------------------------------------------------------------------
    @property
    def uri(self) -> str:
        return self._data.uri

    # -- metadata -----------------------------------------------------------------------
    def get_meta_data(self) -> list[MetaDataValue]:
        """The item's metadata in pipeline order, then one entry per key this script added."""
        entries = [MetaDataValue(origin, {k: list(v) for k, v in values.items()})
                   for origin, values in self._data.metadata]
        entries += [MetaDataValue(self._origin, {k: list(v)}) for k, v in self._added.items()]
        return entries

    def get_meta_data_value(
        self, name: str, origin: str | None = None, reverse: bool = True
    ) -> list[Any]:
        """Values of ``name`` from the newest origin that has it (oldest first if not ``reverse``)."""
        key = str(name).lower()
        wanted = origin.lower() if origin is not None else None
        own = self._origin.lower()
        if reverse and key in self._added and wanted in (None, own):
            return list(self._added[key])
        entries = self._data.metadata
        for entry_origin, values in reversed(entries) if reverse else entries:
            if wanted is not None and entry_origin.lower() != wanted:
                continue
            if key in values:
                return list(values[key])
        if not reverse and key in self._added and wanted in (None, own):
            return list(self._added[key])
        return []

    def add_meta_data(self, metadata: Mapping[str, Any]) -> None:
        """Add or replace metadata under this extension's origin.

        Keys are lower-cased; a string becomes a one-item list, other iterables lists;
        ``None`` becomes ``''`` (which unsets the field); values that are not JSON scalars
        become strings.  Dictionary values need ``apiVersion: v2``.
        """
        if not isinstance(metadata, (dict, Mapping)):  # dict first: the ABC check is slow
            raise TypeError(
                f"add_meta_data() takes a dict of name -> value(s), not {type(metadata).__name__}"
            )
        for name, value in metadata.items():
            self._added[str(name).lower()] = self._values(str(name), value)

    def _values(self, name: str, value: Any) -> list[Any]:
        if isinstance(value, (str, int, float)) or value is None:  # the common case, before the ABC checks
            return [_scalar(value)]
        if isinstance(value, (dict, Mapping)):
            if self._api_version != "v2":
                raise TypeError(
                    f"metadata {name!r}: dictionary values need \"apiVersion\": \"v2\" in extension.json"
                )
            return [{str(k): _scalar(v) for k, v in value.items()}]
        if value is None or isinstance(value, (str, bytes, bytearray, bool, int, float)):
            return [_scalar(value)]
        if isinstance(value, Iterable):
            return [_scalar(v) for v in value]
        return [str(value)]

    # -- logs ---------------------------------------------------------------------------
    def log(self, message: Any, severity: Any = "Normal") -> None:
        """Log a message for this item; unknown severities become Normal, ``None`` is ignored."""
        if message is None or self._log_full:
            return
        text = str(message)
        level = SEVERITIES.get(str(severity).lower(), "Normal") if severity is not None else "Normal"
        self._log_chars += len(text)
        if self._log_chars > LOG_CAP:
            self._log_full = True
            text = TRUNCATED
            self.warnings.append(
                f"the log of this item passed Coveo's {LOG_CAP}-character cap: "
                f"entry {len(self._logs) + 1} became {TRUNCATED!r} and later entries are dropped"
            )
        self._logs.append(
            LogEntry(text, level.upper(), time.time(), (time.perf_counter() - self._started) * 1000)
        )

    # -- permissions --------------------------------------------------------------------
    def get_permissions(self) -> list[_Level]:
        if self._permissions is None:
            self._permissions = [_level_from_json(level) for level in self._data.permissions]
        return self._permissions

    def clear_permissions(self) -> None:
        self._permissions = []

    def set_permissions(self, levels: _Level | Iterable[_Level]) -> None:
        items = [levels] if isinstance(levels, PermissionLevel) else list(levels)
        for item in items:
            if not isinstance(item, PermissionLevel):
                raise TypeError(
                    f"set_permissions() takes PermissionLevel objects, not {type(item).__name__}"
                )
        self._permissions = items

    def add_allowed(
        self,
        identity: str,
        identity_type: str,
        security_provider: str,
        additional_info: Mapping[str, str] | None = None,
    ) -> None:
        self._single_set().allowed_permissions.append(
            Permission(identity, identity_type, security_provider, additional_info)
        )

    def add_denied(
        self,
        identity: str,
        identity_type: str,
        security_provider: str,
        additional_info: Mapping[str, str] | None = None,
    ) -> None:
        self._single_set().denied_permissions.append(
            Permission(identity, identity_type, security_provider, additional_info)
        )

    def _single_set(self) -> _Set:
        """Force the model to exactly one level holding exactly one set, as Coveo does."""
        levels = self.get_permissions()
        if len(levels) == 1 and len(levels[0].permission_sets) == 1:
            return levels[0].permission_sets[0]
        if levels:
            self.warnings.append(
                "add_allowed()/add_denied() replaced a permission model of "
                f"{len(levels)} level(s) by a single level holding a single set"
            )
        permission_set = PermissionSet()
        self._permissions = [PermissionLevel(permission_sets=[permission_set])]
        return permission_set

    # -- data streams -------------------------------------------------------------------
    def get_data_streams(self) -> list[_Stream]:
        if self._streams is None:
            self._streams = [DataStream._of(s) for s in self._data.data_streams]
        return self._streams + self._added_streams

    def get_data_stream(
        self, name: str, origin: str | None = None, reverse: bool = True
    ) -> _Stream | None:
        """The newest stream called ``name`` (oldest if not ``reverse``), rewound; ``None`` if absent."""
        key = str(name).lower()
        wanted = origin.lower() if origin is not None else None
        streams = self.get_data_streams()
        for stream in reversed(streams) if reverse else streams:
            if stream.name.lower() == key and (wanted is None or stream.origin.lower() == wanted):
                stream.seek(0)
                return stream
        return None

    def add_data_stream(self, stream: _Stream) -> None:
        """Add a stream written by the script; it replaces one of the same name it added before."""
        if not isinstance(stream, DataStream):
            raise TypeError(f"add_data_stream() takes a DataStream, not {type(stream).__name__}")
        stream.origin = self._origin
        self._added_streams = [
            s for s in self._added_streams if s.name.lower() != stream.name.lower() and s is not stream
        ]
        self._added_streams.append(stream)

    # -- outcomes -----------------------------------------------------------------------
    def reject(self, reason: str = "") -> None:
        """Reject the item: it will not be indexed.  Stops the script at once."""
        if self.outcome is None:
            self.outcome = ("REJECTED", "" if reason is None else str(reason))
        raise DocumentRejected(reason)

    def skip(self, reason: str = "") -> None:
        """Stop this script; the item goes on unchanged."""
        if self.outcome is None:
            self.outcome = ("SKIPPED", "" if reason is None else str(reason))
        raise DocumentSkipped(reason)

    # -- for the runtime ----------------------------------------------------------------
    @property
    def logs(self) -> list[LogEntry]:
        return self._logs

    @property
    def added_metadata(self) -> dict[str, list[Any]]:
        """What the script added, name -> values, in the order it added them."""
        return self._added

    def export(self) -> DocumentData:
        """The item as it leaves the extension after a successful run."""
        metadata = self._data.metadata
        if self._added:  # one entry for everything the script added, as the Test API shows it
            metadata += ((self._origin, {name: list(values) for name, values in self._added.items()}),)
        permissions = (
            self._data.permissions
            if self._permissions is None
            else tuple(_level_to_json(level) for level in self._permissions)
        )
        streams = self._data.data_streams
        for stream in self._added_streams:
            content = stream.getvalue()
            cap = STREAM_CAPS.get(stream.name.lower())
            if cap is not None and len(content) > cap:
                self.warnings.append(
                    f"data stream {stream.name!r} is {len(content):,} bytes, over Coveo's cap of {cap:,}"
                )
            streams += (StreamData(stream.origin, stream.name, content),)
        return DocumentData(self._data.uri, metadata, permissions, streams, self._data.parameters)


_JSON_IDENTITY_TYPES = {"user": "USER", "group": "GROUP", "virtualgroup": "VIRTUAL_GROUP", "unknown": "UNKNOWN"}


def _level_from_json(level: Mapping[str, Any]) -> PermissionLevel:
    sets = []
    for pset in level.get("permissionSets") or []:
        allowed: list[Permission] = []
        denied: list[Permission] = []
        for perm in pset.get("permissions") or []:
            target = allowed if perm.get("allowed", True) else denied
            target.append(
                Permission(
                    perm.get("identity", ""),
                    perm.get("identityType", "unknown"),
                    perm.get("securityProvider", ""),
                    perm.get("additionalInfo"),
                )
            )
        sets.append(
            PermissionSet(pset.get("name", ""), bool(pset.get("anonymousAllowed", False)), allowed, denied)
        )
    return PermissionLevel(level.get("name", ""), sets)


def _permission_to_json(perm: Permission, allowed: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "identity": str(perm.identity),
        "identityType": _JSON_IDENTITY_TYPES[normalize_identity_type(perm.identity_type)],
        "securityProvider": str(perm.security_provider),
        "allowed": allowed,
    }
    if perm.additional_info:
        out["additionalInfo"] = {str(k): str(v) for k, v in perm.additional_info.items()}
    return out


def _level_to_json(level: PermissionLevel) -> dict[str, Any]:
    return {
        "name": str(level.name),
        "permissionSets": [
            {
                "name": str(pset.name),
                "anonymousAllowed": bool(pset.allow_anonymous),
                "permissions": [_permission_to_json(p, True) for p in pset.allowed_permissions]
                + [_permission_to_json(p, False) for p in pset.denied_permissions],
            }
            for pset in level.permission_sets
        ],
    }
