"""``ipe new``: a new extension folder and its test file, rendered from templates in the package.

A template is a folder of jinja2 files under ``harness/templates/<template>/`` (package data):
``template.json`` (a one-line summary, the default stage, the vault key it reads, if any),
``extension/`` (rendered into ``extensions/<NAME>/``) and ``test.py.j2`` (rendered into
``tests/extensions/test_<module>.py``).  ``_project/`` holds the files a project needs once:
``.gitignore``, ``.env.example`` and a minimal ``pyproject.toml``.

Nothing is ever overwritten.  Everything is planned (and every path checked) before the first
write, so a refusal leaves the folder as it was.  Project files are only created when missing,
or, for ``.gitignore`` and ``.env.example``, completed by appending the lines they lack.

Names: Coveo accepts any text as an extension's display name, but the name is also its folder,
the origin of the metadata its script adds (Coveo lower-cases origins), and part of a Python
test module name.  So NAME is lower-case letters, digits, ``-`` and ``_``, starting with a
letter, at most 64 characters; ``-`` becomes ``_`` in the test module (``pre-title-fix`` ->
``test_pre_title_fix.py``).  Names Windows cannot use for a folder (``con``, ``nul``...) are refused.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import HarnessError

if TYPE_CHECKING:
    import jinja2  # imported when a template is rendered: `ipe run` never pays for it

if TYPE_CHECKING:  # importlib.resources.abc is 3.11+; the annotation is all we need of it
    from importlib.abc import Traversable

__all__ = ["DEFAULT_TEMPLATE", "NewExtension", "Template", "list_templates", "module_name", "plan", "validate_name"]

DEFAULT_TEMPLATE = "basic"
MAX_NAME_LENGTH = 64
STAGES = ("pre", "post")
API_VERSIONS = ("v1", "v2")

_NAME = re.compile(r"[a-z][a-z0-9_-]*\Z")
_WINDOWS_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)), *(f"lpt{i}" for i in range(1, 10))}
_PYTEST_CONFIGS = ("pyproject.toml", "pytest.ini", "setup.cfg", "tox.ini")
_PROJECT = "_project"


def _templates_root() -> Traversable:
    return files("harness") / "templates"


@dataclass(frozen=True)
class Template:
    """One template: its name, its one-line summary, and what it needs."""

    name: str
    summary: str
    stage: str = "pre"
    vault_key: str | None = None
    """The vault key the script reads (``{module}`` is replaced by the extension's module name)."""


def list_templates() -> list[Template]:
    """Every template shipped in the package, sorted by name."""
    found = []
    for folder in _templates_root().iterdir():
        if folder.is_dir() and not folder.name.startswith("_") and (folder / "template.json").is_file():
            data = json.loads((folder / "template.json").read_text(encoding="utf-8"))
            found.append(Template(folder.name, data["summary"], data.get("stage", "pre"), data.get("vault_key")))
    return sorted(found, key=lambda t: t.name)


def _template(name: str) -> Template:
    templates = list_templates()
    for template in templates:
        if template.name == name:
            return template
    raise HarnessError(f"no template {name!r}; choose one of {', '.join(t.name for t in templates)} (ipe new --list)")


def validate_name(name: str) -> str:
    """``name`` if it is a valid extension name, else a HarnessError saying what is wrong."""
    hint = "use lower-case letters, digits, '-' and '_', starting with a letter (e.g. pre-title-fix)"
    if not name:
        raise HarnessError(f"the extension name is empty: {hint}")
    if len(name) > MAX_NAME_LENGTH:
        raise HarnessError(f"extension name {name!r} is {len(name)} characters long; keep it to {MAX_NAME_LENGTH}")
    if not _NAME.match(name):
        if _NAME.match(name.lower()):
            hint = f"use lower case ({name.lower()!r}): Coveo lower-cases the origin of the metadata a script adds"
        raise HarnessError(f"invalid extension name {name!r}: {hint}")
    if name in _WINDOWS_RESERVED:
        raise HarnessError(f"extension name {name!r} cannot be a folder name on Windows; choose another")
    return name


def module_name(name: str) -> str:
    """The Python identifier for ``name`` (``-`` -> ``_``): test module and vault key prefix."""
    return name.replace("-", "_")


@dataclass
class PlannedFile:
    path: Path
    content: str
    append: bool = False
    """True: lines added at the end of an existing file, never replacing any."""
    note: str = ""


@dataclass
class NewExtension:
    """What ``ipe new`` will write: planned in full before anything is written."""

    name: str
    template: Template
    folder: Path
    test_file: Path
    files: list[PlannedFile] = field(default_factory=list)

    def write(self) -> list[str]:
        """Write every planned file; returns one line per file for the user."""
        done = []
        for planned in self.files:
            planned.path.parent.mkdir(parents=True, exist_ok=True)
            if planned.append:
                existing = planned.path.read_text(encoding="utf-8")
                separator = "" if not existing or existing.endswith("\n") else "\n"
                with planned.path.open("a", encoding="utf-8", newline="") as out:
                    out.write(separator + planned.content)
                done.append(f"updated {_shown(planned.path)} ({planned.note})")
            else:
                with planned.path.open("x", encoding="utf-8", newline="") as out:  # "x": never overwrite
                    out.write(planned.content)
                done.append(f"created {_shown(planned.path)}" + (f" ({planned.note})" if planned.note else ""))
        return done


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _environment() -> jinja2.Environment:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("harness", "templates"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # Python, JSON and TOML, not HTML
    )
    # Names and keys are [a-z0-9_-] only, so a JSON string is also the Python string literal.
    env.filters["py"] = json.dumps
    env.filters["json"] = json.dumps
    return env


def _walk(folder: Traversable, prefix: str = "") -> Iterator[str]:
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.is_dir():
            yield from _walk(entry, f"{prefix}{entry.name}/")
        elif entry.name.endswith(".j2"):
            yield f"{prefix}{entry.name}"


def plan(
    name: str,
    template: str = DEFAULT_TEMPLATE,
    *,
    root: str | os.PathLike[str] = ".",
    stage: str | None = None,
    api_version: str = "v1",
) -> NewExtension:
    """Plan ``extensions/<name>/`` and its test file under ``root`` from ``template``.

    Raises HarnessError (nothing written) for a bad name, template, stage or API version, or
    when any file to create already exists.
    """
    validate_name(name)
    chosen = _template(template)
    stage = (stage or chosen.stage).lower()
    if stage not in STAGES:
        raise HarnessError(f"--stage must be pre or post, not {stage!r}")
    api_version = api_version.lower()
    if api_version not in API_VERSIONS:
        raise HarnessError(f"--api-version must be v1 or v2, not {api_version!r}")
    base = Path(root).resolve()
    module = module_name(name)
    folder = base / "extensions" / name
    test_file = base / "tests" / "extensions" / f"test_{module}.py"
    vault_key = chosen.vault_key.format(module=module) if chosen.vault_key else None
    context: dict[str, Any] = {
        "name": name,
        "module": module,
        "stage": stage,
        "api_version": api_version,
        "template": chosen.name,
        "vault_key": vault_key,
    }
    env = _environment()
    new = NewExtension(name, chosen, folder, test_file)
    source = _templates_root() / chosen.name
    for relative in _walk(source / "extension"):
        text = env.get_template(f"{chosen.name}/extension/{relative}").render(context)
        new.files.append(PlannedFile(folder / relative[: -len(".j2")], text))
    new.files.append(PlannedFile(test_file, env.get_template(f"{chosen.name}/test.py.j2").render(context)))

    existing = [p.path for p in new.files if p.path.exists() or p.path.is_symlink()]
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        existing.insert(0, folder)
    for parent in (base / "extensions", base / "tests", base / "tests" / "extensions"):
        if parent.exists() and not parent.is_dir():
            raise HarnessError(f"{parent} is a file; ipe new needs a folder there")
    if existing:
        shown = ", ".join(_shown(p) for p in existing[:3]) + (" ..." if len(existing) > 3 else "")
        raise HarnessError(f"{shown} already exists; ipe new never overwrites: choose another name or remove it")

    new.files += _project_files(base, env, context)
    return new


def _project_files(base: Path, env: jinja2.Environment, context: dict[str, Any]) -> list[PlannedFile]:
    """``.gitignore``, ``.env.example``, ``pyproject.toml``: created when missing, completed when short."""
    out: list[PlannedFile] = []

    def render(name: str) -> str:
        return env.get_template(f"{_PROJECT}/{name}.j2").render(context)

    gitignore = base / ".gitignore"
    if not gitignore.exists():
        out.append(PlannedFile(gitignore, render("gitignore"), note="keeps .env and vault.json out of git"))
    else:
        lacking = [f for f in (".env", "vault.json") if not _ignored(gitignore.read_text(encoding="utf-8"), f)]
        if lacking:
            lines = "# local vault stand-ins (ipe-harness): never commit them\n" + "".join(f"{f}\n" for f in lacking)
            out.append(PlannedFile(gitignore, lines, append=True, note=f"now ignores {' and '.join(lacking)}"))

    env_example = base / ".env.example"
    key = context["vault_key"]
    entry = env.get_template(f"{context['template']}/env.example.j2").render(context) if key else ""
    if not env_example.exists():
        out.append(PlannedFile(env_example, render("env.example") + (f"\n{entry}" if entry else "")))
    elif key and not re.search(rf"^\s*#?\s*VAULT_{re.escape(key)}\s*=", env_example.read_text(encoding="utf-8"), re.MULTILINE):
        out.append(PlannedFile(env_example, f"\n{entry}", append=True, note=f"documents VAULT_{key}"))

    if not any((base / config).exists() for config in _PYTEST_CONFIGS):
        out.append(PlannedFile(base / "pyproject.toml", render("pyproject.toml"), note="pytest settings"))
    return out


def _ignored(gitignore: str, filename: str) -> bool:
    """Whether a root-level ``filename`` is ignored by these .gitignore lines (last match wins)."""
    ignored = False
    for raw in gitignore.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        pattern = line[1:] if negated else line
        pattern = pattern.lstrip("/")
        pattern = pattern.removeprefix("**/")
        if pattern.endswith("/"):  # a folder pattern never matches a file
            continue
        if fnmatch.fnmatchcase(filename, pattern):
            ignored = not negated
    return ignored
