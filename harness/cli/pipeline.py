"""``ipe pipeline``: a source's pre- and post-conversion extensions on documents, as Coveo chains them."""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Iterator
from pathlib import Path

from rich.console import Console

from harness.cli._common import EXIT_FAILED, EXIT_LEAK, EXIT_OK, add_vault_files, emit, note, timeout
from harness.document import DocumentData
from harness.document_format import load_document
from harness.documents import iter_documents
from harness.errors import HarnessError
from harness.pipeline import Pipeline
from harness.reports.pipeline import render_pipeline, render_pipeline_summary
from harness.vault import load_vault

__all__ = ["add_parser"]


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = commands.add_parser(
        "pipeline",
        help="run a source's extensions in order, with their conditions and actionOnError",
        description="Run documents through the pre- and post-conversion extensions of SOURCE (the source "
        "as Coveo's Source API returns it, or an object with just preConversionExtensions and "
        "postConversionExtensions). Each extensionId is matched to a folder under --extensions by the id "
        "in its extension.json, else by its name. Exit 0 when every document ended SUCCESS or REJECTED "
        "with no step error, 1 when a step errored (even when skipped), 2 bad input, 3 a leak.",
    )
    parser.add_argument("source", metavar="SOURCE", help="the source's JSON (SOURCE.json)")
    parser.add_argument("--extensions", metavar="DIR", default="extensions",
                        help="the folder holding the extension folders (default: extensions)")
    given = parser.add_mutually_exclusive_group()
    given.add_argument("--document", "-d", metavar="FILE", action="append", default=[],
                       help="a document to run through the pipeline; repeatable (default: the documents/ "
                       "of every extension the pipeline uses)")
    given.add_argument("--documents", metavar="PATH",
                       help="a folder of *.json documents, a .jsonl file of one document a line, or - "
                       "for JSONL on stdin")
    parser.add_argument("--json", action="store_true",
                        help="print one object per document (a list when several): source, result, the final "
                        "document, and the steps")
    parser.add_argument("--explain", action="store_true",
                        help="show each condition's sub-expressions with their value for the document")
    parser.add_argument("--timeout", metavar="S", type=timeout, default=None,
                        help="time limit per extension run in seconds (default: Coveo's 5)")
    add_vault_files(parser)
    parser.set_defaults(handler=_pipeline)


def _pipeline(args: argparse.Namespace) -> int:
    vault = load_vault(env_file=args.env_file, vault_file=args.vault_file)
    pipeline = Pipeline(args.source, extensions=args.extensions, vault=vault, timeout=args.timeout)
    for warning in pipeline.warnings:
        note(f"{args.source}: {warning}")
    if args.documents:
        loaded: Iterable[tuple[DocumentData, str]] = _batch(args.documents)
    else:
        paths = [Path(d) for d in args.document] or pipeline.documents()
        loaded = [(load_document(p), _display(p)) for p in paths]  # all read before the first run
    console = Console(highlight=False, soft_wrap=True, width=80)
    results = []
    for data, source in loaded:
        result = pipeline.run(data, source)
        results.append(result)
        if not args.json:
            render_pipeline(result, console, explain=args.explain)
            console.print()
    if args.json:
        payload = [r.to_json(args.explain) for r in results]
        emit(payload[0] if len(payload) == 1 else payload)
    elif len(results) > 1:
        render_pipeline_summary(results, console)
    if any(r.leaks for r in results):
        return EXIT_LEAK
    return EXIT_FAILED if any(r.errored for r in results) else EXIT_OK


def _batch(path: str) -> Iterator[tuple[DocumentData, str]]:
    """``--documents``: a folder's ``*.json``, a ``.jsonl`` file or ``-`` (JSONL on stdin), read as
    it runs (:func:`harness.documents.iter_documents`); an empty batch is an error."""
    empty = True
    for item in iter_documents(path):
        empty = False
        yield item
    if empty:
        raise HarnessError(f"{path}: no document in this batch")


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
