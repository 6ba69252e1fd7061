"""The ``document`` object a script sees, with the semantics of Coveo's own Python 3 runner.

A :class:`Document` is built for one run from an immutable :class:`DocumentData` (the item as it
enters the extension) and records what the script does to it.  Nothing the script mutates can
reach the input: metadata lists are copied on the way in, permissions and data streams are
rebuilt for each run.  When the run ends badly, the result is simply the input again, which is
how Coveo discards an extension's changes.

Every behaviour here follows the public copy of Coveo's Python 3 extension runner (see
``docs/coveo-behaviour.md``): text streams ``body_text``/``body_html`` read ``str``, other
streams ``bytes``; ``reject()``/``skip()`` raise subclasses of ``Exception``; names, origins
and identity types are lower-cased; ``get_meta_data_value`` calls ``name.lower()``.  The few
places where the harness must decide something Coveo's runner leaves to its (private) service
are marked *Choice*.
"""

from __future__ import annotations

import base64
import datetime
import io
import time
import uuid
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.coveo_json import encode_value
from harness.result import LogEntry

__all__ = [
    "DataStream",
    "Document",
    "DocumentApi",
    "DocumentData",
    "DocumentRejected",
    "DocumentSkipped",
    "LOG_CAP",
    "LegacyApi",
    "MetaDataValue",
    "Permission",
    "PermissionLevel",
    "PermissionSet",
    "ReadOnlyDataStream",
    "RejectedException",
    "SEVERITIES",
    "STREAM_NAMES",
    "SkippedException",
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

#: A ``requiredDataStreams`` value of the manifest -> the name of the stream it sends the script.
STREAM_NAMES = {
    "BODY_TEXT": "body_text",
    "BODY_HTML": "body_html",
    "BODY_MARKDOWN": "body_markdown",
    "THUMBNAIL": "$thumbnail$",
    "DOCUMENT_DATA": "documentdata",
}

#: Streams read and written as text; every other stream is bytes.
TEXT_STREAMS = frozenset({"body_text", "body_html"})

_IDENTITY_TYPES = frozenset({"user", "group", "virtual_group", "virtualgroup", "unknown"})


def normalize_identity_type(identity_type: Any) -> str:
    """Lower-cased when it is one of Coveo's identity types, ``unknown`` otherwise.

    As in Coveo, a type that is not a string raises ``AttributeError`` (it has no ``lower``).
    """
    lowered: str = identity_type.lower()
    return lowered if lowered in _IDENTITY_TYPES else "unknown"


def stream_encoding(name: str) -> str:
    """The text encoding Coveo uses for a stream: UTF-16LE for ``body_text``, UTF-8 otherwise."""
    return "utf-16-le" if name.lower() == "body_text" else "utf-8"


def _text_encoding(name: str) -> str:
    """How a text stream is decoded and written: ``body_html`` with an optional UTF-8 BOM."""
    if name == "body_text":
        return "utf-16-le"
    return "utf-8-sig" if name == "body_html" else "utf-8"


class RejectedException(Exception):
    """Raised by ``document.reject()``.

    A plain ``Exception``, as in Coveo: ``except Exception`` in a script swallows it and the
    script goes on, but the rejection was recorded before raising, so the item still ends
    REJECTED.
    """


class SkippedException(Exception):
    """Raised by ``document.skip()``; swallowed by the script, it changes nothing."""


# The names the harness used before it followed Coveo's classes; kept for code importing them.
DocumentRejected = RejectedException
DocumentSkipped = SkippedException


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

    def to_json(self) -> dict[str, Any]:
        """The item as the Test API writes a document, in a request and in a response alike:
        streams grouped by origin, their content base64 and uncompressed."""
        streams: dict[str, dict[str, Any]] = {}
        for stream in self.data_streams:
            streams.setdefault(stream.origin, {})[stream.name] = {
                "inlineContent": base64.b64encode(stream.content).decode("ascii"),
                "compressionType": "UNCOMPRESSED",
            }
        return {
            "id": self.uri,
            "metadata": [{"origin": origin, "values": values} for origin, values in self.metadata],
            "permissions": list(self.permissions),
            "dataStreams": [{"origin": origin, "values": values} for origin, values in streams.items()],
        }


class CaseInsensitiveDict(dict[Any, Any]):
    """A ``dict`` whose string keys are stored lower-cased, as Coveo's ``MetaDataValue.values``.

    A real ``dict`` (``json.dumps`` and ``isinstance(..., dict)`` work on it) whose keys read
    back lower-cased.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()
        self.update(*args, **kwargs)

    @staticmethod
    def _key(key: Any) -> Any:
        return key.lower() if isinstance(key, str) else key

    def __getitem__(self, key: Any) -> Any:
        return super().__getitem__(self._key(key))

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(self._key(key), value)

    def __delitem__(self, key: Any) -> None:
        super().__delitem__(self._key(key))

    def __contains__(self, key: object) -> bool:
        return super().__contains__(self._key(key))

    def get(self, key: Any, default: Any = None) -> Any:
        return super().get(self._key(key), default)

    def pop(self, key: Any, *default: Any) -> Any:
        return super().pop(self._key(key), *default)

    def setdefault(self, key: Any, default: Any = None) -> Any:
        return super().setdefault(self._key(key), default)

    def update(self, *args: Any, **kwargs: Any) -> None:
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    @classmethod
    def of_lowered(cls, values: Mapping[str, Any]) -> CaseInsensitiveDict:
        """One built from keys already lower-cased (the item's metadata): no per-key work."""
        made = cls()
        dict.update(made, values)
        return made


class MetaDataValue:
    """One origin's metadata: ``.origin`` (lower-cased) and ``.values`` (case-insensitive dict)."""

    __slots__ = ("_origin", "_values")

    def __init__(self, origin: str, values: Mapping[str, Any] | None = None) -> None:
        self._origin: str = origin.lower()
        self._values = values if type(values) is CaseInsensitiveDict else CaseInsensitiveDict(values or {})

    @property
    def origin(self) -> str:
        return self._origin

    @property
    def values(self) -> CaseInsensitiveDict:
        return self._values

    def _to_json(self) -> dict[str, Any]:
        return {"Origin": self._origin, "Values": self._values}

    def __repr__(self) -> str:
        return f"MetaDataValue(origin={self._origin!r}, values={dict(self._values)!r})"


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
        self.additional_info: Any = additional_info or {}

    def _to_json(self) -> dict[str, Any]:
        return {
            "Identity": self.identity,
            "IdentityType": self.identity_type,
            "SecurityProvider": self.security_provider,
            "AdditionalInfo": self.additional_info,
        }

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
        self.allowed_permissions = allowed_permissions or []
        self.denied_permissions = denied_permissions or []

    def _to_json(self) -> dict[str, Any]:
        return {
            "Name": self.name,
            "AllowAnonymous": self.allow_anonymous,
            "AllowedPermissions": self.allowed_permissions,
            "DeniedPermissions": self.denied_permissions,
        }

    def __repr__(self) -> str:
        return (
            f"PermissionSet({self.name!r}, allow_anonymous={self.allow_anonymous!r}, "
            f"allowed={self.allowed_permissions!r}, denied={self.denied_permissions!r})"
        )


class PermissionLevel:
    """A level of the permission model; every level must grant access."""

    def __init__(self, name: str = "", permission_sets: list[PermissionSet] | None = None) -> None:
        self.name = name
        self.permission_sets = permission_sets or []

    def _to_json(self) -> dict[str, Any]:
        return {"Name": self.name, "PermissionSets": self.permission_sets}

    def __repr__(self) -> str:
        return f"PermissionLevel({self.name!r}, {self.permission_sets!r})"


class _StreamBase(io.RawIOBase):
    """What both kinds of stream share: a name (lower-cased), an origin, a buffer to read.

    The buffer is an ``io.TextIOWrapper`` for a text stream (so ``read``, ``readline`` and
    ``readlines`` give ``str``) and an ``io.BytesIO`` otherwise.
    """

    _buffer: Any
    _name: str
    _origin: str | None

    @property
    def name(self) -> str:
        return self._name

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def read(self, n: int | None = -1) -> Any:
        return self._buffer.read(n)

    def readline(self, size: int | None = -1) -> Any:
        return self._buffer.readline(size)

    def readlines(self, hint: int = -1) -> list[Any]:
        return list(self._buffer.readlines(hint))

    def seek(self, offset: int, whence: int = 0) -> int:
        return int(self._buffer.seek(offset, whence))

    def close(self) -> None:
        if not self.closed:
            self._closing()
        super().close()
        self._buffer.close()

    def _closing(self) -> None:
        """Hook: a written stream keeps its bytes before its buffer goes."""

    def _to_json(self) -> dict[str, Any]:
        return {"Origin": self._origin, "Name": self._name}


class ReadOnlyDataStream(_StreamBase):
    """A stream the item came with: read-only, ``str`` for body_text/body_html, ``bytes`` otherwise.

    body_text is decoded from UTF-16LE, body_html from UTF-8 with an optional BOM, decoding
    errors ignored, as Coveo does.
    """

    def __init__(self, data: StreamData) -> None:
        super().__init__()
        self._name = data.name.lower()
        self._origin = data.origin.lower()
        self._size = len(data.content)
        raw = io.BytesIO(data.content)
        if self._name in TEXT_STREAMS:
            self._buffer = io.TextIOWrapper(raw, encoding=_text_encoding(self._name), errors="ignore")
        else:
            self._buffer = raw

    @property
    def origin(self) -> str:
        return self._origin or ""

    @property
    def size(self) -> int:
        return self._size

    @property
    def filename(self) -> None:
        return None

    def writable(self) -> bool:
        return False

    def __repr__(self) -> str:
        return f"ReadOnlyDataStream({self._name!r}, origin={self._origin!r}, {self._size} bytes)"


class DataStream(_StreamBase):
    """A stream a script creates: ``document.DataStream(name, binary=True, use_file=True)``.

    It is a text stream when ``name`` is body_text or body_html, or when ``binary`` is false:
    then ``write(bytes)`` decodes the bytes (UTF-8, errors ignored) and reads give ``str``.  A
    binary stream encodes a ``str`` given to ``write`` as UTF-8.  ``writelines`` adds ``\\n``
    to every line that lacks one.  body_text is stored as UTF-16LE, body_html as UTF-8 with a
    BOM, other text streams as UTF-8.  ``use_file`` only chose where Coveo keeps the bytes (a
    file rather than memory; decoding errors are then strict); the harness keeps them in memory.
    """

    def __init__(self, name: str, binary: bool = True, use_file: bool = True) -> None:
        super().__init__()
        self._name = name.lower()
        self._origin = None
        self._is_text = self._name in TEXT_STREAMS or not binary
        self._filename = str(uuid.uuid4()) if use_file else None
        self._content: bytes | None = None
        raw = io.BytesIO()
        if self._is_text:
            errors = "strict" if use_file else "ignore"
            self._buffer = io.TextIOWrapper(raw, encoding=_text_encoding(self._name), errors=errors, newline="\n")
        else:
            self._buffer = raw
        self._raw = raw

    @property
    def origin(self) -> str | None:
        return self._origin

    @origin.setter
    def origin(self, value: str | None) -> None:
        self._origin = value

    @property
    def id(self) -> str | None:
        return self._filename

    @property
    def filename(self) -> str | None:
        return self._filename

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> Any:
        if self._is_text:
            return self._buffer.write(b.decode(errors="ignore") if type(b) is bytes else b)
        return self._buffer.write(b.encode("utf8") if type(b) is str else b)

    def writelines(self, lines: Iterable[Any]) -> None:
        self._buffer.writelines(self._with_newlines(lines))

    def _with_newlines(self, lines: Iterable[Any]) -> Iterable[Any]:
        for line in lines:
            if self._is_text:
                text = line.decode(errors="ignore") if type(line) is bytes else line
                yield text if text.endswith("\n") else text + "\n"
            else:  # a str line here fails as in Coveo: str.endswith(bytes) is a TypeError
                yield line if line.endswith(b"\n") else line + b"\n"

    def flush(self) -> None:
        if not self.closed:
            self._buffer.flush()

    def clear(self) -> None:
        """Empty the stream (the next write starts again at the beginning)."""
        self._buffer.truncate(0)
        self._buffer.flush()
        self._buffer.seek(0)

    def _closing(self) -> None:
        self._buffer.flush()
        self._content = self._raw.getvalue()

    def getvalue(self) -> bytes:
        """The bytes written so far, as Coveo stores them (for the harness, not in Coveo)."""
        if self._content is not None:
            return self._content
        self._buffer.flush()
        return self._raw.getvalue()

    def __repr__(self) -> str:
        return f"DataStream({self._name!r}, origin={self._origin!r}, {len(self.getvalue())} bytes)"


# Module-level names for annotations inside Document, whose class attributes of the same names
# (``document.DataStream(...)`` in scripts) would shadow them for type checkers.
_Level = PermissionLevel
_Set = PermissionSet
_Stream = DataStream
_ReadStream = ReadOnlyDataStream
_MetaDataValue = MetaDataValue

_KEPT_TYPES = frozenset({int, bool, float, str, bytes, datetime.datetime, datetime.date})


def _translate(value: Any) -> Any:
    """One metadata value as Coveo's ``add_meta_data`` keeps it: exact JSON-able types, else ``str``."""
    if value is None:
        return ""
    return value if type(value) in _KEPT_TYPES else str(value)


class Document:
    """The ``document`` global of an extension script (Coveo's document API v1).

    ``origin`` is the extension's name: what the script adds is stamped with it.
    ``required_streams`` are the manifest's ``requiredDataStreams`` values: only those
    streams reach the script (``None`` shows every stream, for code building a document by hand).
    """

    PermissionLevel = PermissionLevel
    PermissionSet = PermissionSet
    Permission = Permission
    DataStream = DataStream
    ReadOnlyDataStream = ReadOnlyDataStream
    MetaDataValue = MetaDataValue

    def __init__(
        self,
        data: DocumentData,
        origin: str,
        api_version: str = "v1",
        required_streams: Collection[str] | None = None,
    ) -> None:
        self._data = data
        self._origin = origin
        self._own_origin = origin.lower()
        self._api_version = api_version.lower()
        self._visible = None if required_streams is None else {STREAM_NAMES[s.upper()] for s in required_streams}
        self._added: dict[str, list[Any]] = {}
        self._metadata: list[_MetaDataValue] | None = None
        self._permissions: list[PermissionLevel] | None = None
        self._streams: list[_ReadStream] | None = None
        self._added_streams: list[DataStream] = []
        self._logs: list[LogEntry] = []
        self._log_chars = 0
        self._log_full = False
        self._started = time.perf_counter()
        self._hidden_warned: set[str] = set()
        self.warnings: list[str] = []
        #: ``("REJECTED", reason)`` once the script called reject(), even if it then swallowed it.
        self.outcome: tuple[str, str] | None = None

    # -- identity -----------------------------------------------------------------------
    @property
    def uri(self) -> str:
        return self._data.uri

    # -- metadata -----------------------------------------------------------------------
    def _current(self) -> list[_MetaDataValue]:
        """The item's metadata as MetaDataValue objects, built once per run (a script that
        changes a list it read sees its change on the next read, as in Coveo)."""
        if self._metadata is None:
            lowered = CaseInsensitiveDict.of_lowered
            self._metadata = [
                MetaDataValue(origin, lowered({k.lower(): list(v) for k, v in values.items()}))
                for origin, values in self._data.metadata
            ]
        return self._metadata

    def get_meta_data(self) -> list[_MetaDataValue]:
        """The item's metadata in pipeline order, then one entry per key this script added."""
        return self._current() + [MetaDataValue(self._origin, {k: v}) for k, v in self._added.items()]

    def get_meta_data_value(self, name: str, origin: str | None = None, reverse: bool = True) -> list[Any]:
        """Values of ``name`` from the newest origin that has it (oldest first if not ``reverse``).

        As in Coveo, ``name.lower()`` is called: a name that is not a ``str`` raises
        ``AttributeError``.  The list returned is the one the document holds.
        """
        wanted = origin.lower() if origin else None
        key = name.lower()
        own = key in self._added and (not wanted or wanted == self._own_origin)
        if reverse and own:
            return self._added[key]
        entries = self._current()
        has, get = dict.__contains__, dict.__getitem__  # ``key`` is lower-cased already
        for entry in reversed(entries) if reverse else entries:
            if (not wanted or wanted == entry.origin) and has(entry.values, key):
                found: list[Any] = get(entry.values, key)
                return found
        if own:
            return self._added[key]
        return []

    def add_meta_data(self, meta_data: Mapping[str, Any]) -> None:
        """Add or replace metadata under this extension's origin, converted as Coveo does.

        Keys are lower-cased.  A value that is an iterable other than ``str`` becomes a list
        element by element (bytes become ints, a dict its keys); anything else a one-item list.
        ``None`` becomes ``''``; int, bool, float, str, datetime, date and bytes are kept; any
        other element becomes ``str(element)``.  *Choice*: under ``apiVersion: v2`` a dict is
        a dictionary field (Coveo's v2 API is not public).
        """
        for key, value in meta_data.items():
            name = key.lower()
            if self._api_version == "v2" and isinstance(value, Mapping):
                self._added[name] = [{str(k): _translate(v) for k, v in value.items()}]
            elif isinstance(value, Iterable) and not isinstance(value, str):
                self._added[name] = [_translate(item) for item in value]
            else:
                self._added[name] = [_translate(value)]

    # -- logs ---------------------------------------------------------------------------
    def log(self, message: Any, severity: Any = "normal") -> None:
        """Log a message for this item; unknown severities become Normal, ``None`` is ignored."""
        if message is None or self._log_full:
            return
        text = str(message)
        level = SEVERITIES.get(str(severity).lower(), "Normal")
        self._log_chars += len(text)
        if self._log_chars > LOG_CAP:
            self._log_full = True
            text = TRUNCATED
            self.warnings.append(
                f"the log of this item passed Coveo's {LOG_CAP}-character cap: "
                f"entry {len(self._logs) + 1} became {TRUNCATED!r} and later entries are dropped"
            )
        self._logs.append(LogEntry(text, level.upper(), time.time(), time.perf_counter() - self._started))

    # -- permissions --------------------------------------------------------------------
    def get_permissions(self) -> list[_Level]:
        if self._permissions is None:
            self._permissions = [_level_from_json(level) for level in self._data.permissions]
        return self._permissions

    def clear_permissions(self) -> None:
        self._permissions = []

    def set_permissions(self, permission_levels: _Level | Iterable[_Level]) -> None:
        """*Choice*: anything but PermissionLevel objects is a ``TypeError`` here, at the call;
        Coveo only fails when it serializes the result after the script."""
        items = [permission_levels] if isinstance(permission_levels, PermissionLevel) else list(permission_levels)
        for item in items:
            if not isinstance(item, PermissionLevel):
                raise TypeError(f"set_permissions() takes PermissionLevel objects, not {type(item).__name__}")
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
        """Force the model to exactly one level holding exactly one set, as Coveo does: no level
        or several -> one new level; one level with no set or several -> that level, one new set."""
        levels = self.get_permissions()
        if len(levels) != 1:
            if levels:
                self.warnings.append(
                    f"add_allowed()/add_denied() replaced a permission model of {len(levels)} levels "
                    "by a single level holding a single set"
                )
            self._permissions = [PermissionLevel(permission_sets=[PermissionSet()])]
        elif len(levels[0].permission_sets) != 1:
            if levels[0].permission_sets:
                self.warnings.append(
                    f"add_allowed()/add_denied() replaced the {len(levels[0].permission_sets)} permission sets "
                    "of the item's level by a single set"
                )
            levels[0].permission_sets = [PermissionSet()]
        return self.get_permissions()[0].permission_sets[0]

    # -- data streams -------------------------------------------------------------------
    def _input_streams(self) -> list[_ReadStream]:
        if self._streams is None:
            visible = self._visible
            self._streams = [
                _ReadStream(s) for s in self._data.data_streams if visible is None or s.name.lower() in visible
            ]
        return self._streams

    def get_data_streams(self) -> list[_ReadStream | _Stream]:
        return [*self._input_streams(), *self._added_streams]

    def get_data_stream(self, name: str, origin: str | None = None, reverse: bool = True) -> _ReadStream | _Stream | None:
        """The newest stream called ``name`` (oldest if not ``reverse``), rewound; ``None`` if absent.

        A stream the item has but the manifest's ``requiredDataStreams`` does not declare is
        ``None``, as in Coveo, with a warning naming the value to add.
        """
        wanted = origin.lower() if origin else None
        key = name.lower()
        streams = self.get_data_streams()
        for stream in reversed(streams) if reverse else streams:
            if (not wanted or stream.origin == wanted) and stream.name == key:
                stream.seek(0)
                return stream
        self._warn_hidden(key)
        return None

    def _warn_hidden(self, key: str) -> None:
        if self._visible is None or key in self._visible or key in self._hidden_warned:
            return
        if any(s.name.lower() == key for s in self._data.data_streams):
            self._hidden_warned.add(key)
            value = next((v for v, n in STREAM_NAMES.items() if n == key), None)
            fix = (
                f'add "{value}" to "requiredDataStreams" in extension.json'
                if value
                else "Coveo sends a script only body_text, body_html, body_markdown, $thumbnail$ and documentdata"
            )
            self.warnings.append(
                f"the script asked for data stream {key!r}, which the item has but Coveo does not send to "
                f"this extension (it got None): {fix}"
            )

    def add_data_stream(self, stream: _Stream) -> None:
        """Add a stream written by the script (flushed, stamped with the extension's name).

        *Choice*: anything but a ``document.DataStream`` is a ``TypeError`` at the call.
        """
        if not isinstance(stream, DataStream):
            raise TypeError(f"add_data_stream() takes a document.DataStream, not {type(stream).__name__}")
        stream.flush()
        stream.origin = self._origin
        self._added_streams.append(stream)

    # -- outcomes -----------------------------------------------------------------------
    def reject(self, reason: str = "") -> None:
        """Reject the item: recorded at once, then ``RejectedException`` stops the script."""
        self.outcome = ("REJECTED", "" if reason is None else str(reason))
        raise RejectedException(reason)

    def skip(self, reason: str = "") -> None:
        """Stop this script by raising ``SkippedException``; swallowed, it changes nothing."""
        raise SkippedException(reason)

    # -- Coveo's JSON form --------------------------------------------------------------
    def _to_json(self) -> dict[str, Any]:
        return {
            "URI": self.uri,
            "MetaData": self.get_meta_data(),
            "DataStreams": self.get_data_streams(),
            "Permissions": self.get_permissions(),
        }

    # -- for the runtime ----------------------------------------------------------------
    @property
    def logs(self) -> list[LogEntry]:
        return self._logs

    @property
    def added_metadata(self) -> dict[str, list[Any]]:
        """What the script added, name -> values as the Test API returns them, in the order added."""
        return {name: [encode_value(v) for v in values] for name, values in self._added.items()}

    def export(self) -> DocumentData:
        """The item as it leaves the extension after a successful run."""
        metadata = self._data.metadata
        if self._added:  # one entry for everything the script added, as the Test API shows it
            metadata += ((self._origin, self.added_metadata),)
        permissions = (
            self._data.permissions
            if self._permissions is None
            else tuple(_level_to_json(level) for level in self._permissions)
        )
        streams = self._data.data_streams
        for stream in self._added_streams:
            content = stream.getvalue()
            cap = STREAM_CAPS.get(stream.name)
            if cap is not None and len(content) > cap:
                self.warnings.append(
                    f"data stream {stream.name!r} is {len(content):,} bytes, over Coveo's cap of {cap:,}"
                )
            streams += (StreamData(stream.origin or self._origin, stream.name, content),)
        return DocumentData(self._data.uri, metadata, permissions, streams, self._data.parameters)


class LegacyApi:
    """``document_api.legacy``: the calls of Coveo's old mapping scripts, whose first argument
    (an item id) is ignored."""

    def __init__(self, document: Document) -> None:
        self._document = document

    def log(self, id_: Any, message: Any, severity: Any = "normal") -> None:
        self._document.log(message, severity)

    def get_meta_data(self, id_: Any) -> list[MetaDataValue]:
        return self._document.get_meta_data()

    def add_meta_data(self, id_: Any, meta_data: Mapping[str, Any]) -> None:
        self._document.add_meta_data(meta_data)


class DocumentApi:
    """The ``document_api`` global: ``v1`` and ``latest`` are ``document`` itself, ``legacy``
    the old mapping-script calls."""

    def __init__(self, document: Document) -> None:
        self.v1 = document
        self.latest = document
        self.legacy = LegacyApi(document)


_JSON_IDENTITY_TYPES = {
    "user": "USER",
    "group": "GROUP",
    "virtualgroup": "VIRTUAL_GROUP",
    "virtual_group": "VIRTUAL_GROUP",
    "unknown": "UNKNOWN",
}


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
                    str(perm.get("identityType", "unknown")),
                    perm.get("securityProvider", ""),
                    perm.get("additionalInfo"),
                )
            )
        sets.append(
            PermissionSet(pset.get("name", ""), bool(pset.get("anonymousAllowed", False)), allowed, denied)
        )
    return PermissionLevel(level.get("name", ""), sets)


def _identity_type_json(identity_type: Any) -> str:
    return _JSON_IDENTITY_TYPES.get(str(identity_type).lower(), "UNKNOWN")


def _permission_to_json(perm: Permission, allowed: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "identity": str(perm.identity),
        "identityType": _identity_type_json(perm.identity_type),
        "securityProvider": str(perm.security_provider),
        "allowed": allowed,
    }
    if perm.additional_info:
        out["additionalInfo"] = {str(k): str(v) for k, v in dict(perm.additional_info).items()}
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

