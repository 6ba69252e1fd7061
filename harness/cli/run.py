"""``ipe run`` and ``ipe check``: an extension on documents, as Coveo would run it."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.cli._common import EXIT_FAILED, EXIT_LEAK, EXIT_OK, memory_limit, note, param, timeout
from harness.errors import HarnessError
from harness.isolation import DEFAULT_MEMORY_LIMIT
from harness.vault import load_vault

if TYPE_CHECKING:
    from harness.document import DocumentData
    from harness.result import ExtensionResult
    from harness.runner import Runner

# rich, vcrpy (and its yaml) and the static pass are imported where they are used: `ipe run`
# on one document starts in about the time of `import requests` (benchmarks/bench_startup.py).

__all__ = ["add_parser"]


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    run = commands.add_parser(
        "run",
        help="run an extension on documents, as Coveo would",
        description="Run extension EXT (its folder or its script) on the given documents, or on its "
        "own documents/ folder when none is given.",
    )
    run.add_argument("extension", metavar="EXT", help="extension folder or extension.py script")
    run.add_argument("--document", "-d", metavar="FILE", action="append", default=[],
                     help="a document (Test API request, bare Test API document or friendly format); repeatable")
    run.add_argument("--param", "-p", metavar="NAME=VALUE", action="append", type=param, default=[],
                     help="an extension parameter; overrides the manifest's and the document's; repeatable")
    run.add_argument("--timeout", metavar="S", type=timeout, default=None,
                     help="time limit per document in seconds (default: Coveo's 5)")
    run.add_argument("--json", action="store_true",
                     help="print the Test API response (a JSON list when several documents)")
    run.add_argument("--env-file", metavar="FILE", help="the .env file to read VAULT_<key> lines from")
    run.add_argument("--vault-file", metavar="FILE", help="the vault.json file of Vault API entries")
    http = run.add_mutually_exclusive_group()
    http.add_argument("--record", action="store_true",
                      help="call the real services and record each document's HTTP into the extension's "
                      "cassettes/<document>.yaml, vault values written as {{ VAULT.<key> }}")
    http.add_argument("--live", action="store_true",
                      help="call the real services even for documents that have a cassette "
                      "(by default a document's cassette is replayed and nothing leaves the machine)")
    run.add_argument("--fail-on-leak", action="store_true",
                     help="exit 3 when a vault value got out anywhere during the run (see ipe check)")
    _add_memory_limit(run)
    run.set_defaults(handler=_run)

    check = commands.add_parser(
        "check",
        help="leak-check extensions: canary vault values, offline HTTP, and a static pass",
        description="Run each extension on its documents with canary vault values (no real secret "
        "needed) and no network (a recorded cassette answers, or an empty 200), report every place a "
        "vault value got out, and every flow from vault_parameters to an output found in the script. "
        "Exit 3 on any finding, 0 when clean.",
    )
    check.add_argument("extensions", metavar="EXT", nargs="*",
                       help="extension folder or script (default: every folder under extensions/)")
    check.add_argument("--document", "-d", metavar="FILE", action="append", default=[],
                       help="check on this document instead of the extensions' own; repeatable")
    check.add_argument("--timeout", metavar="S", type=timeout, default=None,
                       help="time limit per document in seconds (default: Coveo's 5)")
    check.add_argument("--json", action="store_true", help="print the findings as JSON")
    _add_memory_limit(check)
    check.set_defaults(handler=_check)


def _add_memory_limit(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--memory-limit", metavar="MiB", type=memory_limit, default=None,
                        help="address space each document's process may use, in MiB (default "
                        f"{DEFAULT_MEMORY_LIMIT}); going over it is an EXECUTION_ERROR with MemoryError")

def _run(args: argparse.Namespace) -> int:
    from harness.runner import Runner, extension_documents, read_document

    vault = load_vault(env_file=args.env_file, vault_file=args.vault_file)
    runner = Runner(args.extension, parameters=dict(args.param), vault=vault, timeout=args.timeout,
                    memory_limit=args.memory_limit)
    documents = [Path(d) for d in args.document] or extension_documents(runner.extension)
    loaded = [read_document(d) for d in documents]  # all read (and validated) before the first run
    results = []
    for document, (data, source) in zip(documents, loaded):
        result = _run_one(runner, document, data, source, record=args.record, live=args.live)
        results.append(result)
        if not args.json:
            from harness.report import render_result

            render_result(result, _console())
            _console().print()
    if args.json:
        payload = [r.to_json() for r in results]
        print(json.dumps(payload[0] if len(payload) == 1 else payload, indent=2, ensure_ascii=False))
    elif len(results) > 1:
        from harness.report import render_summary

        render_summary(results, _console())
    if args.fail_on_leak and any(r.leaks for r in results):
        return EXIT_LEAK
    return EXIT_OK if all(r.ok for r in results) else EXIT_FAILED


_CONSOLE: list[object] = []


def _console() -> Any:
    """One rich console for the command, made (and rich imported) on first use."""
    if not _CONSOLE:
        from rich.console import Console

        _CONSOLE.append(Console(highlight=False, soft_wrap=True))
    return _CONSOLE[0]


def _check(args: argparse.Namespace) -> int:
    from harness.check import check_extension
    from harness.extension import find_extensions

    folders = args.extensions or find_extensions()
    if not folders:
        raise HarnessError("no EXT given, and no extensions/<name>/extension.py here to check")
    documents = [Path(d) for d in args.document] or None
    reports = [check_extension(folder, documents, timeout=args.timeout, memory_limit=args.memory_limit)
               for folder in folders]
    if args.json:
        print(json.dumps([r.to_json() for r in reports], indent=2, ensure_ascii=False))
    else:
        from harness.report import render_check

        for report in reports:
            render_check(report, _console())
    if any(r.leaks or r.flows for r in reports):
        return EXIT_LEAK
    return EXIT_OK if all(r.clean for r in reports) else EXIT_FAILED


def _run_one(
    runner: Runner, document: Path, data: DocumentData, source: str, *, record: bool, live: bool
) -> ExtensionResult:
    """One document (its path, and its content read once): recorded, replayed from its cassette
    (offline), or run live."""
    # harness.cassette.cassette_for's path, built here: that module loads vcrpy, needed only
    # when a cassette is recorded or replayed.
    cassette = runner.extension.folder / "cassettes" / f"{document.stem}.yaml"
    if live or not (record or cassette.is_file()):
        return runner.run(data, source)
    from harness.cassette import use_cassette
    from harness.network import guard_sockets

    if record:
        with use_cassette(cassette, runner.vault, runner.extension, mode="record") as recording:
            result = runner.run(data, source)
        if recording.interactions:
            note(f"recorded {recording.interactions} HTTP interaction(s) of {document.name} into {cassette}")
        else:
            note(f"{document.name} made no HTTP request: no cassette written")
        return result
    note(f"replaying {cassette} for {document.name} (--live to call the real services)")
    hint = f"ipe run replays {cassette} and runs offline; --live calls the real services, --record records them"
    with use_cassette(cassette, runner.vault, runner.extension), guard_sockets(hint=hint):
        return runner.run(data, source)
