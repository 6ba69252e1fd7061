"""The ``ipe`` command: a thin adapter from arguments to :class:`~harness.runner.Runner`.

Exit codes (product contract): 0 every document ended SUCCESS, REJECTED or SKIPPED; 1 some
ended EXECUTION_ERROR or TIMEOUT; 2 bad usage or unreadable input; 3 a leak was found.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

import harness
from harness.errors import HarnessError
from harness.report import render_result, render_summary
from harness.runner import Runner, extension_documents
from harness.vault import load_vault

__all__ = ["main"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_LEAK = 0, 1, 2, 3


def _param(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name, value


def _timeout(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ipe",
        description="Run, test and leak-check Coveo Indexing Pipeline Extensions locally.",
    )
    parser.add_argument("--version", action="version", version=f"ipe-harness {harness.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    run = commands.add_parser(
        "run",
        help="run an extension on documents, as Coveo would",
        description="Run extension EXT (its folder or its script) on the given documents, or on its "
        "own documents/ folder when none is given.",
    )
    run.add_argument("extension", metavar="EXT", help="extension folder or extension.py script")
    run.add_argument("--document", "-d", metavar="FILE", action="append", default=[],
                     help="a document (Test API request, bare Test API document or friendly format); repeatable")
    run.add_argument("--param", "-p", metavar="NAME=VALUE", action="append", type=_param, default=[],
                     help="an extension parameter; overrides the manifest's and the document's; repeatable")
    run.add_argument("--timeout", metavar="S", type=_timeout, default=None,
                     help="time limit per document in seconds (default: Coveo's 5)")
    run.add_argument("--json", action="store_true",
                     help="print the Test API response (a JSON list when several documents)")
    run.add_argument("--env-file", metavar="FILE", help="the .env file to read VAULT_<key> lines from")
    run.add_argument("--vault-file", metavar="FILE", help="the vault.json file of Vault API entries")
    run.set_defaults(handler=_run)
    return parser


def _run(args: argparse.Namespace) -> int:
    vault = load_vault(env_file=args.env_file, vault_file=args.vault_file)
    runner = Runner(args.extension, parameters=dict(args.param), vault=vault, timeout=args.timeout)
    documents = [Path(d) for d in args.document] or extension_documents(runner.extension)
    results = []
    console = Console(highlight=False, soft_wrap=True)
    for result in runner.run_all(documents):
        results.append(result)
        if not args.json:
            render_result(result, console)
            console.print()
    if args.json:
        payload = [r.to_json() for r in results]
        print(json.dumps(payload[0] if len(payload) == 1 else payload, indent=2, ensure_ascii=False))
    elif len(results) > 1:
        render_summary(results, console)
    return EXIT_OK if all(r.ok for r in results) else EXIT_FAILED


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``ipe`` console script; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        return args.handler(args)
    except HarnessError as exc:
        print(f"ipe: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("ipe: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # noqa: BLE001 - a bug of ours: one line, no traceback, no values
        where = exc.__traceback__
        while where is not None and where.tb_next is not None:
            where = where.tb_next
        place = f" at {Path(where.tb_frame.f_code.co_filename).name}:{where.tb_lineno}" if where else ""
        print(f"ipe: internal error: {type(exc).__name__}{place}; please report it", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
