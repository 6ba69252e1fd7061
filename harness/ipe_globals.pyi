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
    "document",
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

class DataStream:
    """A binary stream of an item: ``body_text`` (UTF-16LE text), ``body_html`` (UTF-8 text),
    ``documentdata`` (the original file), ``$thumbnail$``."""

    name: str
    origin: str
    def __init__(self, name: str) -> None: ...
    def write(self, data: str | bytes | bytearray | memoryview) -> int: ...
    def writelines(self, lines: Iterable[str | bytes]) -> None: ...
    def read(self, size: int | None = -1) -> bytes: ...
    def seek(self, offset: int, whence: int = 0) -> int: ...
    def clear(self) -> None: ...
    def flush(self) -> None: ...

class Document:
    """The item being indexed (Coveo's Document Object Python API, v1 and v2)."""

    PermissionLevel: type[_PermissionLevel]
    PermissionSet: type[_PermissionSet]
    Permission: type[_Permission]
    DataStream: type[_DataStream]
    @property
    def uri(self) -> str: ...
    # metadata
    def get_meta_data(self) -> list[MetaDataValue]:
        """The item's metadata in pipeline order, then what this script added."""
    def get_meta_data_value(self, name: str, origin: str | None = None, reverse: bool = True) -> list[Any]:
        """Values of ``name`` from the newest origin that has it (oldest if not ``reverse``); ``[]`` if none."""
    def add_meta_data(self, metadata: Mapping[str, Any]) -> None:
        """Add or replace metadata: a string becomes a one-item list, ``''`` unsets; dict values need v2."""
    # logs
    def log(self, message: object, severity: str = "Normal") -> None:
        """Debug, Detail, Error, Fatal, Important, Normal, Notification or Warning."""
    # permissions
    def get_permissions(self) -> list[_PermissionLevel]: ...
    def clear_permissions(self) -> None: ...
    def set_permissions(self, levels: _PermissionLevel | Iterable[_PermissionLevel]) -> None: ...
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
    def get_data_streams(self) -> list[_DataStream]: ...
    def get_data_stream(self, name: str, origin: str | None = None, reverse: bool = True) -> _DataStream | None:
        """The newest stream called ``name``, rewound; ``None`` when the item has none."""
    def add_data_stream(self, stream: _DataStream) -> None: ...
    # outcomes
    def reject(self, reason: str = "") -> NoReturn:
        """Reject the item (it is not indexed) and stop the script."""
    def skip(self, reason: str = "") -> NoReturn:
        """Stop this script; the item goes on unchanged."""

# Inside Document, PermissionLevel & co. name its class attributes (document.PermissionLevel(...));
# its annotations use these aliases of the module's classes instead.
_PermissionLevel = PermissionLevel
_PermissionSet = PermissionSet
_Permission = Permission
_DataStream = DataStream

document: Document
"""The item being indexed."""

def log(message: object, severity: str = "Normal") -> None:
    """Same as ``document.log``: Debug, Detail, Error, Fatal, Important, Normal, Notification or Warning."""

parameters: dict[str, str]
"""The parameters set where the extension is applied to a source (``{}`` when none)."""

vault_parameters: dict[str, str]
"""The vault entries scoped to this extension: never log, return or store them."""
