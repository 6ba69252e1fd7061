"""The ``ipe`` command: thin adapters from arguments to the library.

Each command lives in its own module and contributes its sub-parser through ``add_parser``;
this module assembles them and turns every :class:`~harness.errors.HarnessError` into a
one-line message and an exit code, never a traceback.

Exit codes (product contract): 0 every document ended SUCCESS, REJECTED or SKIPPED; 1 some
ended EXECUTION_ERROR or TIMEOUT (``ipe vault missing``: some vault entry is missing); 2 bad
usage or unreadable input; 3 a leak was found (``ipe check``, or ``ipe run --fail-on-leak``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import harness
from harness.cli import new, pipeline, platform, run, vault
from harness.cli._common import EXIT_USAGE
from harness.errors import HarnessError

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ipe",
        description="Run, test and leak-check Coveo Indexing Pipeline Extensions locally.",
    )
    parser.add_argument("--version", action="version", version=f"ipe-harness {harness.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    for module in (run, vault, new, pipeline, platform):
        module.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``ipe`` console script; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        code: int = args.handler(args)
        return code
    except HarnessError as exc:
        print(f"ipe: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("ipe: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # noqa: BLE001 - a bug of ours: one line, no traceback, no values
        where = exc.__traceback__
        while where is not None and where.tb_next is not None:
            where = where.tb_next
        place = f" at {Path(where.tb_frame.f_code.co_filename).name}:{where.tb_lineno}" if where else ""
        print(f"ipe: internal error: {type(exc).__name__}{place}; please report it", file=sys.stderr)
        return EXIT_USAGE
