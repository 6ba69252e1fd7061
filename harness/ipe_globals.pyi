# Type declarations of the globals Coveo gives an extension script, for editors and type checkers.
#
# Only what Coveo's Document Object Python API offers is declared here, so that a type checker
# flags a script that uses something the harness has but Coveo does not.  Import them in a
# script only under `if TYPE_CHECKING:` (see ipe_globals.py): Coveo injects the real objects.

from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any, NoReturn

__all__ = [
    "DataStream",
    "Document",
    "MetaDataValue",
    "Permission",
    "PermissionLevel",
    "PermissionSet",
    "DocumentApi",
    "LegacyApi",
    "ReadOnlyDataStream",
    "document",
    "document_api",
    "log",
    "parameters",
    "vault_parameters",
]

class MetaDataValue:
    """One origin's metadata: ``origin`` (a pipeline stage or an extension's name) and its values."""

    origin: str
    values: MutableMapping[str, list[Any]]
    """Metadata name (case-insensitive) -> its values."""

class Permission:
    """An identity allowed or denied access to an item."""

    identity: str
    identity_type: str
    """``user``, ``group``, ``virtualgroup`` or ``unknown``."""
    security_provider: str
    additional_info: dict[str, str] | None
    def __init__(
        self,
        identity: str,
        identity_type: str,
        security_provider: str,
        additional_info: Mapping[str, str] | None = None,
    ) -> None: ...

class PermissionSet:
    """Allowed and denied identities evaluated together."""

    name: str
    allow_anonymous: bool
    allowed_permissions: list[Permission]
    denied_permissions: list[Permission]
    def __init__(
        self,
        name: str = "",
        allow_anonymous: bool = False,
        allowed_permissions: list[Permission] | None = None,
        denied_permissions: list[Permission] | None = None,
    ) -> None: ...

class PermissionLevel:
    """A level of the permission model: every level must grant access."""

    name: str
    permission_sets: list[PermissionSet]
    def __init__(self, name: str = "", permission_sets: list[PermissionSet] | None = None) -> None: ...

class ReadOnlyDataStream:
    """A stream the item came with.  ``body_text`` and ``body_html`` are text streams (reads give
    ``str``); ``documentdata`` (the original file), ``$thumbnail$`` and others give ``bytes``."""

    @property
    def name(self) -> str: ...
    @property
    def origin(self) -> str: ...
    @property
    def size(self) -> int: ...
    def read(self, n: int | None = -1) -> Any: ...
    def readline(self, size: int | None = -1) -> Any: ...
    def readlines(self, hint: int = -1) -> list[Any]: ...
    def seek(self, offset: int, whence: int = 0) -> int: ...

class DataStream:
    """A stream the script writes: a text stream for ``body_text``/``body_html`` or when
    ``binary=False`` (``write(bytes)`` decodes them), else binary (``write(str)`` encodes UTF-8).
    ``writelines`` adds a newline to every line that lacks one."""

    origin: str | None
    def __init__(self, name: str, binary: bool = True, use_file: bool = True) -> None: ...
    @property
    def name(self) -> str: ...
    def write(self, b: Any) -> Any: ...
    def writelines(self, lines: Iterable[Any]) -> None: ...
    def read(self, n: int | None = -1) -> Any: ...
    def readline(self, size: int | None = -1) -> Any: ...
    def readlines(self, hint: int = -1) -> list[Any]: ...
    def seek(self, offset: int, whence: int = 0) -> int: ...
    def clear(self) -> None: ...
    def flush(self) -> None: ...

class Document:
    """The item being indexed (Coveo's Document Object Python API, v1 and v2)."""

    PermissionLevel: type[_PermissionLevel]
    PermissionSet: type[_PermissionSet]
    Permission: type[_Permission]
    DataStream: type[_DataStream]
    ReadOnlyDataStream: type[_ReadOnlyDataStream]
    MetaDataValue: type[_MetaDataValue]
    @property
    def uri(self) -> str: ...
    # metadata
    def get_meta_data(self) -> list[_MetaDataValue]:
        """The item's metadata in pipeline order, then what this script added."""
    def get_meta_data_value(self, name: str, origin: str | None = None, reverse: bool = True) -> list[Any]:
        """Values of ``name`` from the newest origin that has it (oldest if not ``reverse``); ``[]`` if none."""
    def add_meta_data(self, meta_data: Mapping[str, Any]) -> None:
        """Add or replace metadata: a string becomes a one-item list, other iterables lists, ``''`` unsets."""
    # logs
    def log(self, message: object, severity: str = "normal") -> None:
        """Debug, Detail, Error, Fatal, Important, Normal, Notification or Warning."""
    # permissions
    def get_permissions(self) -> list[_PermissionLevel]: ...
    def clear_permissions(self) -> None: ...
    def set_permissions(self, permission_levels: _PermissionLevel | Iterable[_PermissionLevel]) -> None: ...
    def add_allowed(
        self,
        identity: str,
        identity_type: str,
        security_provider: str,
        additional_info: Mapping[str, str] | None = None,
    ) -> None:
        """Allow an identity; first turns the model into one level holding one set."""
    def add_denied(
        self,
        identity: str,
        identity_type: str,
        security_provider: str,
        additional_info: Mapping[str, str] | None = None,
    ) -> None:
        """Deny an identity; first turns the model into one level holding one set."""
    # data streams
    def get_data_streams(self) -> list[_ReadOnlyDataStream | _DataStream]: ...
    def get_data_stream(
        self, name: str, origin: str | None = None, reverse: bool = True
    ) -> _ReadOnlyDataStream | _DataStream | None:
        """The newest stream called ``name``, rewound; ``None`` when the item has none."""
    def add_data_stream(self, stream: _DataStream) -> None: ...
    # outcomes
    def reject(self, reason: str = "") -> NoReturn:
        """Reject the item (it is not indexed) and raise ``RejectedException`` (an ``Exception``)."""
    def skip(self, reason: str = "") -> NoReturn:
        """Raise ``SkippedException`` (an ``Exception``) to stop this script."""

class LegacyApi:
    """Coveo's old mapping-script calls: the first argument (an item id) is ignored."""

    def log(self, id_: Any, message: Any, severity: Any = "normal") -> None: ...
    def get_meta_data(self, id_: Any) -> list[MetaDataValue]: ...
    def add_meta_data(self, id_: Any, meta_data: Mapping[str, Any]) -> None: ...

class DocumentApi:
    """The ``document_api`` global: ``v1`` and ``latest`` are ``document``; ``legacy`` the old calls."""

    v1: Document
    latest: Document
    legacy: LegacyApi

# Inside Document, PermissionLevel & co. name its class attributes (document.PermissionLevel(...));
# its annotations use these aliases of the module's classes instead.
_PermissionLevel = PermissionLevel
_PermissionSet = PermissionSet
_Permission = Permission
_DataStream = DataStream
_ReadOnlyDataStream = ReadOnlyDataStream
_MetaDataValue = MetaDataValue

document: Document
"""The item being indexed."""

document_api: DocumentApi
"""``document_api.v1`` (also ``.latest``) is ``document``; ``.legacy`` has the old mapping-script calls."""

def log(message: object, severity: str = "normal") -> None:
    """Same as ``document.log``: Debug, Detail, Error, Fatal, Important, Normal, Notification or Warning."""

parameters: dict[str, str]
"""The parameters set where the extension is applied to a source (``{}`` when none)."""

vault_parameters: dict[str, str]
"""The vault entries scoped to this extension: never log, return or store them."""
