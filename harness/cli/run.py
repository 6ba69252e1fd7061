"""``ipe run`` and ``ipe check``: an extension on documents, as Coveo would run it.

Both take a few documents (``--document``, or the extension's own ``documents/``) or a batch
(``--documents PATH``: a folder, a JSONL file, ``-`` for stdin), run them on ``--workers``
isolated child processes, stream the results in input order to the terminal, ``--json`` /
``--jsonl`` and ``--report`` files, and end with a summary.  Ctrl-C stops the run: children are
killed, reports are closed with what ran, and the exit code is 130.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING

from harness.cli._common import (
    EXIT_FAILED,
    EXIT_LEAK,
    EXIT_OK,
    add_vault_files,
    ctrl_c_after,
    memory_limit,
    note,
    param,
    timeout,
    workers,
)
from harness.errors import HarnessError
from harness.isolation import DEFAULT_MEMORY_LIMIT
from harness.vault import load_vault

if TYPE_CHECKING:
    from harness.document import DocumentData
    from harness.result import ExtensionResult
    from harness.runner import DocumentInput, Runner

# rich, vcrpy (and its yaml), jinja2 and the static pass are imported where they are used: `ipe
# run` on one document starts in about the time of `import requests` (benchmarks/bench_startup.py).

__all__ = ["add_parser"]

EXIT_INTERRUPTED = 130


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    run = commands.add_parser(
        "run",
        help="run an extension on documents, as Coveo would",
        description="Run extension EXT (its folder or its script) on the given documents, or on its "
        "own documents/ folder when none is given. Each document runs in its own child process.",
    )
    run.add_argument("extension", metavar="EXT", help="extension folder or extension.py script")
    _add_documents(run)
    run.add_argument("--param", "-p", metavar="NAME=VALUE", action="append", type=param, default=[],
                     help="an extension parameter; overrides the manifest's and the document's; repeatable")
    _add_limits(run)
    output = run.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true",
                        help="print the Test API response (a JSON list when several documents)")
    output.add_argument("--jsonl", action="store_true",
                        help="print one Test API response per line, as each document ends (for big batches)")
    add_vault_files(run)
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
    _add_report(run)
    run.set_defaults(handler=_run)

    check = commands.add_parser(
        "check",
        help="leak-check extensions: canary vault values, offline HTTP, and a static pass",
        description="Run each extension on its documents with canary vault values (no real secret "
        "needed) and no network (a recorded cassette answers, or an empty 200), report every place a "
        "vault value got out, and every flow from vault_parameters to an output found in the script. "
        "Exit 3 on any finding, 1 when the check was incomplete (a script that does not compile, a "
        "document whose process died, every document failing before any output), 0 when clean.",
    )
    check.add_argument("extensions", metavar="EXT", nargs="*",
                       help="extension folder or script (default: every folder under extensions/)")
    _add_documents(check)
    _add_limits(check)
    check.add_argument("--snapshot", metavar="FILE",
                       help="a Coveo snapshot (file or folder): each key of its {{ VAULT.<key> }} placeholders "
                       "gets a canary too")
    check.add_argument("--json", action="store_true", help="print the findings as JSON")
    check.add_argument("--quiet", "-q", action="store_true",
                       help="print only the totals and the table of findings by channel")
    _add_report(check)
    check.set_defaults(handler=_check)


def _add_documents(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--document", "-d", metavar="FILE", action="append", default=[],
                        help="a document (Test API request, bare Test API document or friendly format); repeatable")
    parser.add_argument("--documents", metavar="PATH",
                        help="a batch: a folder of *.json, a .jsonl file (one document a line) or - for JSONL "
                        "on stdin, read as it runs")
    parser.add_argument("--workers", "-w", metavar="N", type=workers, default=None,
                        help=f"documents run at once, each in its own process (default: the CPU count, {_cpus()})")
    parser.add_argument("--fail-fast", action="store_true", help="stop at the first EXECUTION_ERROR")


def _add_limits(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--timeout", metavar="S", type=timeout, default=None,
                        help="time limit per document in seconds (default: Coveo's 5)")
    parser.add_argument("--memory-limit", metavar="MiB", type=memory_limit, default=None,
                        help="address space each document's process may use, in MiB (default "
                        f"{DEFAULT_MEMORY_LIMIT}); going over it is an EXECUTION_ERROR with MemoryError")


def _add_report(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--report", metavar="FILE", action="append", type=_report_path, default=[],
                        help="also write a report: FILE.json (every result and the summary), FILE.xml "
                        "(JUnit, for CI) or FILE.html (a page to browse); repeatable")


def _cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _report_path(text: str) -> Path:
    """A ``--report`` file whose format is known from its extension (checked before any run)."""
    from harness.reports.writer import report_format

    try:
        report_format(text)
    except HarnessError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return Path(text)


# -- ipe run ---------------------------------------------------------------------------------------


def _run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from harness.reports.progress import Progress
    from harness.reports.terminal import render_result, render_summary
    from harness.reports.writer import Reports
    from harness.runner import Runner

    if args.documents and args.document:
        raise HarnessError("give --document FILE ... or --documents PATH, not both")
    if args.documents and args.record:
        raise HarnessError("--record records the cassettes of the extension's own documents; not with --documents")
    vault = load_vault(env_file=args.env_file, vault_file=args.vault_file)
    runner = Runner(args.extension, parameters=dict(args.param), vault=vault, timeout=args.timeout,
                    memory_limit=args.memory_limit)
    results, total = _results(runner, args)
    console = Console(highlight=False)
    base = runner.extension.folder
    show_each = not (args.quiet or args.json or args.jsonl)
    # the bar goes to stderr, and only while each document's outcome is not also printed there
    progress = Progress(enabled=None if not show_each or not console.is_terminal else False)
    progress.start(total)
    out = _JsonOut(sys.stdout, lines=args.jsonl, single=total == 1 and not args.documents) if (
        args.json or args.jsonl) else None
    interrupted = False
    with Reports(args.report, title=runner.extension.name, progress=progress) as reports:
        try:
            for result in results:
                with ctrl_c_after():  # each result is written to every output, or to none
                    reports.add(result)
                    if out is not None:
                        out.add(result)
                    elif show_each:
                        render_result(result, console, base=base, full_traceback=args.full_traceback)
                        console.print()
        except KeyboardInterrupt:
            interrupted = True
            reports.summary.interrupted = True
    if out is not None:
        out.close()
    summary = reports.summary
    if interrupted:
        note(f"interrupted after {summary.total} document(s): the summary and reports cover those")
    if not (args.json or args.jsonl) and (summary.total > 1 or args.quiet or interrupted):
        render_summary(summary, console, base=base)
    if interrupted:
        return EXIT_INTERRUPTED
    if args.fail_on_leak and summary.leaks:
        return EXIT_LEAK
    return EXIT_OK if summary.ok else EXIT_FAILED


def _results(runner: Runner, args: argparse.Namespace) -> tuple[Iterator[ExtensionResult], int | None]:
    """The run's results in input order, and how many documents there are when known.

    A batch (``--documents``) is streamed through the worker pool, live (a batch is an export of a
    source, not the extension's sample documents: they have no cassettes).  The extension's own
    documents, or ``--document`` files, are read and validated first; they go through the pool
    too, unless one of them has a cassette to replay (or ``--record``): cassettes are set up
    around each document, so those run one at a time.
    """
    from harness.documents import count_documents, iter_documents
    from harness.runner import extension_documents, read_document

    at_once = args.workers or _cpus()
    if args.documents:
        stream = iter_documents(args.documents)
        return runner.run_many(stream, workers=at_once, fail_fast=args.fail_fast), count_documents(args.documents)
    paths = [Path(d) for d in args.document] or extension_documents(runner.extension)
    loaded = [read_document(path) for path in paths]  # all read (and validated) before the first run
    replays = not args.live and any(runner.extension.cassette(path).is_file() for path in paths)
    if args.record or replays:
        return _one_at_a_time(runner, paths, loaded, args), len(paths)
    return runner.run_many(loaded, workers=at_once, fail_fast=args.fail_fast), len(paths)


def _one_at_a_time(
    runner: Runner, paths: list[Path], loaded: list[tuple[DocumentData, str]], args: argparse.Namespace
) -> Iterator[ExtensionResult]:
    for document, (data, source) in zip(paths, loaded):
        result = _run_one(runner, document, data, source, record=args.record, live=args.live)
        yield result
        if args.fail_fast and result.status == "EXECUTION_ERROR":
            return


def _run_one(
    runner: Runner, document: Path, data: DocumentData, source: str, *, record: bool, live: bool
) -> ExtensionResult:
    """One document (its path, and its content read once): recorded, replayed from its cassette
    (offline), or run live."""
    cassette = runner.extension.cassette(document)
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


class _JsonOut:
    """Test API responses on stdout as results arrive: one object (a single document), a JSON
    list written item by item, or JSON Lines.  Nothing is held back, so a batch of any size
    prints in flat memory, and a list cut short by Ctrl-C is still closed into valid JSON."""

    def __init__(self, stream: IO[str], *, lines: bool, single: bool) -> None:
        self.stream, self.lines, self.single = stream, lines, single
        self.count = 0

    def add(self, result: ExtensionResult) -> None:
        data = result.to_json()
        if self.lines:
            self.stream.write(json.dumps(data, ensure_ascii=False) + "\n")
        elif self.single:
            self.stream.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        else:
            item = json.dumps(data, indent=2, ensure_ascii=False).replace("\n", "\n  ")
            self.stream.write(("[\n  " if self.count == 0 else ",\n  ") + item)
        self.count += 1
        self.stream.flush()

    def close(self) -> None:
        if not self.lines and not self.single:
            self.stream.write("\n]\n" if self.count else "[]\n")
            self.stream.flush()


# -- ipe check -------------------------------------------------------------------------------------


def _check(args: argparse.Namespace) -> int:
    from rich.console import Console

    from harness.check import check_extension
    from harness.extension import find_extensions
    from harness.reports.terminal import render_checks
    from harness.reports.writer import Reports

    if args.documents and args.document:
        raise HarnessError("give --document FILE ... or --documents PATH, not both")
    folders = args.extensions or find_extensions()
    if not folders:
        raise HarnessError("no EXT given, and no extensions/<name>/extension.py here to check")
    reports = []
    interrupted = False
    with Reports(args.report, title="ipe check") as files:
        try:
            for folder in folders:
                report = check_extension(
                    folder, _check_documents(args), timeout=args.timeout, snapshot=args.snapshot,
                    memory_limit=args.memory_limit, workers=args.workers or _cpus(), fail_fast=args.fail_fast,
                )
                with ctrl_c_after():
                    reports.append(report)
                    for result in report.results:
                        files.add(result)
                    files.add_static(report.extension.name, report.extension.script.name, report.flows)
        except KeyboardInterrupt:
            interrupted = True
            files.summary.interrupted = True
    if args.json:
        print(json.dumps([r.to_json() for r in reports], indent=2, ensure_ascii=False))
    else:
        render_checks(reports, Console(highlight=False), quiet=args.quiet)
    if interrupted:
        note(f"interrupted after {len(reports)} extension(s): the reports cover those")
        return EXIT_INTERRUPTED
    if any(r.leaks or r.flows for r in reports):
        return EXIT_LEAK
    return EXIT_OK if all(r.clean for r in reports) else EXIT_FAILED


def _check_documents(args: argparse.Namespace) -> Iterable[DocumentInput] | None:
    """The documents to check every extension on: ``--document`` files, a ``--documents``
    batch (read again, lazily, for each extension), or None for each extension's own."""
    if args.documents:
        from harness.documents import iter_documents

        return iter_documents(args.documents)
    return [Path(d) for d in args.document] or None
