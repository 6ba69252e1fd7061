"""The globals of an extension script (``document``, ``log``, ``parameters``, ``vault_parameters``),
declared for editors and type checkers.

Coveo injects these four names into the script; an editor cannot know them and a linter calls
them undefined.  Their types live in ``ipe_globals.pyi`` beside this file, which type checkers
read instead of this one.  A script imports them only for the type checker, so that the import
never runs, in Coveo or in the harness::

    from typing import TYPE_CHECKING

    if TYPE_CHECKING:
        from harness.ipe_globals import document, log, parameters, vault_parameters

At run time this module holds no values: a script that imports it outside ``if TYPE_CHECKING:``
would fail in Coveo (no ``harness`` package there), so it fails here too, saying why.
"""

from __future__ import annotations

__all__: list[str] = []

_NAMES = ("document", "document_api", "log", "parameters", "vault_parameters")


def __getattr__(name: str) -> object:
    if name in _NAMES:
        raise ImportError(
            f"{name} exists only inside a running extension, where Coveo (or ipe) injects it; "
            "import it for editors only, under 'if TYPE_CHECKING:'"
        )
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
