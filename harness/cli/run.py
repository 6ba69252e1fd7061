"""``ipe run`` and ``ipe check``: an extension on documents, as Coveo would run it."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.console import Console

from harness.cassette import cassette_for, use_cassette
from harness.check import check_extension
from harness.cli._common import EXIT_FAILED, EXIT_LEAK, EXIT_OK, note, param, timeout
from harness.document import DocumentData
from harness.errors import HarnessError
from harness.extension import find_extensions
from harness.network import guard_sockets
from harness.reports.progress import Progress
from harness.reports.terminal import render_checks, render_result, render_summary
from harness.reports.writer import Reports, report_format
from harness.result import ExtensionResult
from harness.runner import Runner, extension_documents, read_document
from harness.vault import load_vault

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
    run.add_argument("--quiet", "-q", action="store_true",
                     help="print only the summary, not each document's outcome")
    run.add_argument("--full-traceback", action="store_true",
                     help="show the frames of requests, urllib3, vcrpy and the harness in tracebacks")
    _report_option(run)
    run.set_defaults(handler=_run)

    check = commands.add_parser(
        "check",
        help="leak-check extensions: canary vault values, offline HTTP, and a static pass",
        description="Run each extension on its documents with canary vault values (no real secret "
        "needed) and no network (a recorded cassette answers, or an empty 200), report every place a "
        "vault value got out, and every flow from vault_parameters to an output found in the script. "
        "Exit 3 on any finding, 1 when the check was incomplete (every document failed before any output), "
        "0 when clean.",
    )
    check.add_argument("extensions", metavar="EXT", nargs="*",
                       help="extension folder or script (default: every folder under extensions/)")
    check.add_argument("--document", "-d", metavar="FILE", action="append", default=[],
                       help="check on this document instead of the extensions' own; repeatable")
    check.add_argument("--timeout", metavar="S", type=timeout, default=None,
                       help="time limit per document in seconds (default: Coveo's 5)")
    check.add_argument("--snapshot", metavar="FILE",
                       help="a Coveo snapshot (file or folder): each key of its {{ VAULT.<key> }} placeholders "
                       "gets a canary too")
    check.add_argument("--json", action="store_true", help="print the findings as JSON")
    check.add_argument("--quiet", "-q", action="store_true",
                       help="print only the totals and the table of findings by channel")
    _report_option(check)
    check.set_defaults(handler=_check)


def _report_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--report", metavar="FILE", action="append", type=report_path, default=[],
                        help="also write a report: FILE.json (every result and the summary), FILE.xml "
                        "(JUnit, for CI) or FILE.html (a page to browse); repeatable")


def _run(args: argparse.Namespace) -> int:
    vault = load_vault(env_file=args.env_file, vault_file=args.vault_file)
    runner = Runner(args.extension, parameters=dict(args.param), vault=vault, timeout=args.timeout)
    documents = [Path(d) for d in args.document] or extension_documents(runner.extension)
    loaded = [read_document(d) for d in documents]  # all read (and validated) before the first run
    results = []
    console = Console(highlight=False)
    base = runner.extension.folder
    # a bar on stderr only while per-document output is not also going to the terminal
    progress = Progress(enabled=None if args.quiet or args.json or not console.is_terminal else False)
    progress.start(len(documents))
    with Reports(args.report, title=runner.extension.name, progress=progress) as reports:
        for document, (data, source) in zip(documents, loaded):
            result = _run_one(runner, document, data, source, record=args.record, live=args.live)
            reports.add(result)
            if args.json:
                results.append(result)
            elif not args.quiet:
                render_result(result, console, base=base, full_traceback=args.full_traceback)
                console.print()
    summary = reports.summary
    if args.json:
        payload = [r.to_json() for r in results]
        print(json.dumps(payload[0] if len(payload) == 1 else payload, indent=2, ensure_ascii=False))
    elif summary.total > 1 or args.quiet:
        render_summary(summary, console, base=base)
    if args.fail_on_leak and summary.leaks:
        return EXIT_LEAK
    return EXIT_OK if summary.ok else EXIT_FAILED


def _check(args: argparse.Namespace) -> int:
    folders = args.extensions or find_extensions()
    if not folders:
        raise HarnessError("no EXT given, and no extensions/<name>/extension.py here to check")
    documents = [Path(d) for d in args.document] or None
    reports = []
    with Reports(args.report, title="ipe check") as files:
        for folder in folders:
            report = check_extension(folder, documents, timeout=args.timeout, snapshot=args.snapshot)
            reports.append(report)
            for result in report.results:
                files.add(result)
            files.add_static(report.extension.name, report.extension.script.name, report.flows)
    if args.json:
        print(json.dumps([r.to_json() for r in reports], indent=2, ensure_ascii=False))
    else:
        render_checks(reports, Console(highlight=False), quiet=args.quiet)
    if any(r.leaks or r.flows for r in reports):
        return EXIT_LEAK
    return EXIT_FAILED if any(r.incomplete for r in reports) else EXIT_OK


def report_path(text: str) -> Path:
    """A ``--report`` file whose format is known from its extension (checked before any run)."""
    try:
        report_format(text)
    except HarnessError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return Path(text)


def _run_one(
    runner: Runner, document: Path, data: DocumentData, source: str, *, record: bool, live: bool
) -> ExtensionResult:
    """One document (its path, and its content read once): recorded, replayed from its cassette
    (offline), or run live."""
    cassette = cassette_for(runner.extension, document)
    if record:
        with use_cassette(cassette, runner.vault, runner.extension, mode="record") as recording:
            result = runner.run(data, source)
        if recording.interactions:
            note(f"recorded {recording.interactions} HTTP interaction(s) of {document.name} into {cassette}")
        else:
            note(f"{document.name} made no HTTP request: no cassette written")
        return result
    if live or not cassette.is_file():
        return runner.run(data, source)
    note(f"replaying {cassette} for {document.name} (--live to call the real services)")
    hint = f"ipe run replays {cassette} and runs offline; --live calls the real services, --record records them"
    with use_cassette(cassette, runner.vault, runner.extension), guard_sockets(hint=hint):
        return runner.run(data, source)


