"""Parameters and vault values as the text a script sees: one conversion for every source.

Coveo gives a script ``parameters`` (and ``vault_parameters``) as strings.  They come from JSON
(the manifest, a Test API document, ``vault.json``) or from Python (``Runner(parameters=...)``,
a test's ``vault["key"] = ...``), and a value must read the same whichever way it came:
JSON ``true`` is ``"true"`` (never Python's ``"True"``), ``null``/``None`` is ``""``, a number
is written as JSON writes it (``1.0`` stays ``"1.0"``, ``1e20`` is ``"1e+20"``), and a list or
object is its compact JSON.  Strings are kept as they are (a ``str`` subclass as plain text).
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["parameter_text"]


def parameter_text(value: Any) -> str:
    """``value`` as a parameter's text (see the module docstring)."""
    if isinstance(value, str):
        return str.__str__(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, list, tuple, dict)):
        try:
            return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        except (TypeError, ValueError):
            return str(value)
    return str(value)
