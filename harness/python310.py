"""Coveo runs scripts on Python 3.10 with a fixed set of packages: what differs here, found up front.

Three checks, all static (no script code runs) and made once per loaded extension:

* :func:`syntax_error_310`: the script parsed with ``ast.parse(..., feature_version=(3, 10))``,
  so syntax that only 3.11+ accepts (``except*``, ``def f[T]()``, ...) is the SyntaxError
  Coveo gives, an EXECUTION_ERROR naming the line.  (``feature_version`` is best effort: the
  3.12 f-string grammar, for one, is not caught.)
* :data:`MISSING_IN_310`: names of the standard library that Python 3.10 lacks
  (``datetime.UTC``, ``tomllib``, ``enum.StrEnum``, ``typing.Self``...).  On a newer
  interpreter the script would run here and fail in Coveo, so each use is a warning; on 3.10
  they simply fail, as in Coveo.
* :data:`DEFAULT_ALLOWED_PACKAGES`: the packages outside the standard library that a script
  may import in Coveo.  The list is data, overridable per project in ``pyproject.toml``
  (``[tool.ipe] allowed-packages = [...]``, found upwards from the extension).  Importing
  anything else (the harness's own dependencies jinja2, rich, yaml, requests_mock, vcr
  included: they are importable here only because the harness is installed) is a warning
  naming the import and its line.

:func:`interpreter_warning` says, in every run's warnings, when the interpreter is not 3.10.
"""

from __future__ import annotations

import ast
import functools
import sys
from collections.abc import Iterable
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised by the 3.10 run of the suite
    import tomli as tomllib

from harness.errors import HarnessError

__all__ = [
    "COVEO_PYTHON",
    "DEFAULT_ALLOWED_PACKAGES",
    "INTERPRETER_WARNING_PREFIX",
    "MISSING_IN_310",
    "allowed_packages",
    "interpreter_warning",
    "static_warnings",
    "syntax_error_310",
]

COVEO_PYTHON = (3, 10)
"""The Python version Coveo runs extension scripts on."""

#: Public list of the packages Coveo offers scripts (Coveo's 2017 announcement: requests, boto3,
#: pymongo, msgpack, pytz, redis; bs4 in Coveo's current samples), by import name, followed by
#: the packages pip installs with them (so importing them works wherever the listed ones do).
DEFAULT_ALLOWED_PACKAGES: tuple[str, ...] = (
    "requests", "boto3", "pymongo", "msgpack", "pytz", "redis", "bs4",
    # installed with the above: requests -> urllib3, idna, certifi, charset_normalizer;
    # boto3 -> botocore, s3transfer, jmespath, dateutil; pymongo -> bson, gridfs; bs4 -> soupsieve
    "urllib3", "idna", "certifi", "charset_normalizer", "botocore", "s3transfer", "jmespath",
    "dateutil", "bson", "gridfs", "soupsieve",
)

#: Standard-library names that Python 3.10 does not have: module -> {name: the version that
#: added it}; ``""`` as the name means the whole module is new.  ``builtins`` names are read
#: as bare names in the script.
MISSING_IN_310: dict[str, dict[str, str]] = {
    "tomllib": {"": "3.11"},
    "wsgiref.types": {"": "3.11"},
    "builtins": {"ExceptionGroup": "3.11", "BaseExceptionGroup": "3.11"},
    "datetime": {"UTC": "3.11"},
    "enum": {
        "StrEnum": "3.11", "ReprEnum": "3.11", "EnumCheck": "3.11", "FlagBoundary": "3.11", "verify": "3.11",
        "member": "3.11", "nonmember": "3.11", "global_enum": "3.11", "property": "3.11", "show_flag_values": "3.11",
    },
    "typing": {
        "Self": "3.11", "LiteralString": "3.11", "Never": "3.11", "assert_never": "3.11", "assert_type": "3.11",
        "reveal_type": "3.11", "dataclass_transform": "3.11", "Required": "3.11", "NotRequired": "3.11",
        "TypeVarTuple": "3.11", "Unpack": "3.11", "get_overloads": "3.11", "clear_overloads": "3.11",
        "override": "3.12", "TypeAliasType": "3.12", "ReadOnly": "3.13", "TypeIs": "3.13", "NoDefault": "3.13",
    },
    "hashlib": {"file_digest": "3.11"},
    "asyncio": {"TaskGroup": "3.11", "timeout": "3.11", "timeout_at": "3.11", "Runner": "3.11", "Barrier": "3.11"},
    "contextlib": {"chdir": "3.11"},
    "operator": {"call": "3.11"},
    "math": {"cbrt": "3.11", "exp2": "3.11", "sumprod": "3.12", "fma": "3.13"},
    "itertools": {"batched": "3.12"},
    "logging": {"getLevelNamesMapping": "3.11", "getHandlerByName": "3.12", "getHandlerNames": "3.12"},
    "re": {"NOFLAG": "3.11", "PatternError": "3.13"},
    "inspect": {"getmembers_static": "3.11", "markcoroutinefunction": "3.12"},
    "sys": {"exception": "3.11", "monitoring": "3.12", "activate_stack_trampoline": "3.12"},
    "os": {"process_cpu_count": "3.13"},
    "copy": {"replace": "3.13"},
    "warnings": {"deprecated": "3.13"},
    "base64": {"z85encode": "3.13", "z85decode": "3.13"},
    "statistics": {"kde": "3.13"},
}

INTERPRETER_WARNING_PREFIX = "the harness runs Python "


@functools.cache
def interpreter_warning() -> str | None:
    """The warning every run carries when the interpreter is not Coveo's 3.10, else None."""
    if sys.version_info[:2] == COVEO_PYTHON:
        return None
    version = ".".join(str(n) for n in sys.version_info[:3])
    return (
        f"{INTERPRETER_WARNING_PREFIX}{version}; Coveo runs 3.10: a script can behave differently there "
        "(run the harness on Python 3.10 to be sure, see docs/coveo-behaviour.md)"
    )


def syntax_error_310(source: str, filename: str) -> SyntaxError | None:
    """The SyntaxError Python 3.10 gives for ``source`` when this (newer) interpreter accepts it."""
    if sys.version_info[:2] <= COVEO_PYTHON:
        return None  # compile() already judged it with 3.10's own grammar
    try:
        ast.parse(source, filename, feature_version=COVEO_PYTHON)
    except SyntaxError as exc:
        exc.msg = f"{exc.msg} (Coveo runs Python 3.10)"
        return exc.with_traceback(None)  # the error is the script's: no frame of ast.parse
    return None


def allowed_packages(start: Path) -> tuple[tuple[str, ...], Path | None]:
    """The allowed packages for an extension in ``start``, and the pyproject.toml that set them.

    The first ``pyproject.toml`` upwards from ``start`` with ``[tool.ipe] allowed-packages``
    wins; a malformed one is an error naming the file.
    """
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if not candidate.is_file():
            continue
        try:
            data = tomllib.loads(candidate.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise HarnessError(f"{candidate}: cannot read it as TOML ({exc})") from None
        section = data.get("tool", {}).get("ipe", {})
        if "allowed-packages" not in section:
            continue
        packages = section["allowed-packages"]
        if not isinstance(packages, list) or not all(isinstance(p, str) for p in packages):
            raise HarnessError(f"{candidate}: [tool.ipe] allowed-packages: expected a list of import names")
        return tuple(packages), candidate
    return DEFAULT_ALLOWED_PACKAGES, None


class _Scan(ast.NodeVisitor):
    """Collects imports and uses of standard-library names a script makes, with their lines."""

    def __init__(self) -> None:
        self.imports: list[tuple[str, int]] = []
        self.uses: list[tuple[str, str, int]] = []
        self.aliases: dict[str, str] = {}
        self.names: list[tuple[str, int]] = []

    def visit_If(self, node: ast.If) -> None:
        test = node.test
        name = test.id if isinstance(test, ast.Name) else test.attr if isinstance(test, ast.Attribute) else ""
        if name == "TYPE_CHECKING":  # imports for editors only: Coveo never runs them
            for child in node.orelse:
                self.visit(child)
            return
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.imports.append((alias.name, node.lineno))
            if alias.name in MISSING_IN_310:
                self.uses.append((alias.name, "", node.lineno))
            if alias.asname:
                self.aliases[alias.asname] = alias.name
            else:
                self.aliases[alias.name.split(".")[0]] = alias.name.split(".")[0]

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level or not node.module:
            return
        self.imports.append((node.module, node.lineno))
        if node.module in MISSING_IN_310:
            self.uses.append((node.module, "", node.lineno))
        for alias in node.names:
            self.uses.append((node.module, alias.name, node.lineno))
            if f"{node.module}.{alias.name}" in MISSING_IN_310:
                self.uses.append((f"{node.module}.{alias.name}", "", node.lineno))
            if node.module == "datetime" and alias.name in ("datetime", "date"):
                self.aliases[alias.asname or alias.name] = "datetime"

    def visit_Attribute(self, node: ast.Attribute) -> None:
        value = node.value
        if isinstance(value, ast.Name) and value.id in self.aliases:
            self.uses.append((self.aliases[value.id], node.attr, node.lineno))
        elif isinstance(value, ast.Attribute) and isinstance(value.value, ast.Name):
            if self.aliases.get(value.value.id) == "datetime" and value.attr in ("datetime", "date"):
                self.uses.append(("datetime", node.attr, node.lineno))
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in MISSING_IN_310["builtins"]:
            self.names.append((node.id, node.lineno))


def _top(module: str) -> str:
    return module.split(".")[0]


def static_warnings(source: str, script: Path, packages: Iterable[str] | None = None) -> list[str]:
    """Warnings about the script's imports and standard-library names, each naming its line.

    ``packages`` defaults to the allowed packages for the script's folder (see
    :func:`allowed_packages`).  A script that does not parse gets none: its SyntaxError says it all.
    """
    try:
        tree = ast.parse(source, str(script))
    except (SyntaxError, ValueError):
        return []
    where: Path | None = None
    if packages is None:
        allowed, where = allowed_packages(script.parent)
    else:
        allowed = tuple(packages)
    scan = _Scan()
    scan.visit(tree)
    warnings: list[str] = []
    seen: set[tuple[str, int]] = set()
    allowed_tops = {_top(p) for p in allowed}
    listing = ", ".join(allowed[:7]) + (", ..." if len(allowed) > 7 else "")
    setting = f"allowed-packages in {where}" if where else "[tool.ipe] allowed-packages in pyproject.toml"
    for module, line in scan.imports:
        top = _top(module)
        if top in sys.stdlib_module_names or top in allowed_tops or top == "__future__" or (top, line) in seen:
            continue
        seen.add((top, line))
        warnings.append(
            f"line {line}: import {module!r}: not a package Coveo offers scripts ({listing}): in Coveo it "
            f"raises ModuleNotFoundError; if your organization has it, add {top!r} to {setting}"
        )
    if sys.version_info[:2] > COVEO_PYTHON:
        found: list[tuple[int, str]] = []
        for module, name, line in scan.uses:
            added = MISSING_IN_310.get(module, {}).get(name)
            if added is not None:
                what = module if name == "" else f"{module}.{name}"
                found.append((line, f"line {line}: {what} is new in Python {added}: Coveo runs 3.10, where the script fails"))
        for name, line in scan.names:
            found.append((line, f"line {line}: {name} is new in Python {MISSING_IN_310['builtins'][name]}: "
                          "Coveo runs 3.10, where the script fails (NameError)"))
        for _, text in sorted(set(found)):
            warnings.append(text)
    return warnings

