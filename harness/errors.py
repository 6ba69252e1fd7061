"""Errors the harness reports to its user.

Every problem with the user's input (a missing file, malformed JSON, a document of
the wrong shape, a bad option) is a :class:`HarnessError`: the CLI prints its message
on one line and exits with code 2, and the Python API raises it as is.  Messages name
the file and the place in it, and never contain a vault value.
"""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["HarnessError", "json_path", "load_json_file"]


class HarnessError(Exception):
    """Bad usage or unreadable input: one clear line, exit code 2."""

    exit_code = 2


def json_path(*parts: str | int) -> str:
    """Render a JSONPath-like location such as ``$.document.metadata[2].origin``."""
    out = "$"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def load_json_file(path: Path, what: str) -> object:
    """Read and parse a JSON file, turning every failure into a one-line HarnessError.

    ``what`` says what the file is for ("document", "manifest", ...) so the message
    tells the user which input is wrong.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise HarnessError(f"{path}: no such {what} file") from None
    except IsADirectoryError:
        raise HarnessError(f"{path}: is a folder, expected a {what} file") from None
    except UnicodeDecodeError as exc:
        raise HarnessError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise HarnessError(f"{path}: cannot read {what} file ({exc.strerror})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise HarnessError(
            f"{path}: malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
