"""The ``ipe`` command: a thin adapter from arguments to :class:`~harness.runner.Runner`.

Exit codes (product contract): 0 every document ended SUCCESS, REJECTED or SKIPPED; 1 some
ended EXECUTION_ERROR or TIMEOUT (``ipe vault missing``: some vault entry is missing); 2 bad
usage or unreadable input; 3 a leak was found (``ipe check``, or ``ipe run --fail-on-leak``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

import harness
from harness.cassette import cassette_for, use_cassette
from harness.check import check_extension
from harness.document import DocumentData
from harness.errors import HarnessError
from harness.extension import Extension, find_extensions, load_extension
from harness.network import guard_sockets
from harness.report import render_check, render_result, render_summary
from harness.result import ExtensionResult
from harness.runner import Runner, extension_documents, read_document
from harness.scaffold import API_VERSIONS, DEFAULT_TEMPLATE, STAGES, list_templates, plan
from harness.snapshot import Placeholder, load_snapshot
from harness.vault import load_vault
from harness.vault_api import VISIBILITY_TYPES, extension_payload, find_entry, missing_entries, snapshot_payload
from harness.vault_usage import vault_keys

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
    http = run.add_mutually_exclusive_group()
    http.add_argument("--record", action="store_true",
                      help="call the real services and record each document's HTTP into the extension's "
                      "cassettes/<document>.yaml, vault values written as {{ VAULT.<key> }}")
    http.add_argument("--live", action="store_true",
                      help="call the real services even for documents that have a cassette "
                      "(by default a document's cassette is replayed and nothing leaves the machine)")
    run.add_argument("--fail-on-leak", action="store_true",
                     help="exit 3 when a vault value got out anywhere during the run (see ipe check)")
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
    check.add_argument("--timeout", metavar="S", type=_timeout, default=None,
                       help="time limit per document in seconds (default: Coveo's 5)")
    check.add_argument("--json", action="store_true", help="print the findings as JSON")
    check.set_defaults(handler=_check)
    _add_vault_parser(commands)
    _add_new_parser(commands)
    return parser


def _run(args: argparse.Namespace) -> int:
    vault = load_vault(env_file=args.env_file, vault_file=args.vault_file)
    runner = Runner(args.extension, parameters=dict(args.param), vault=vault, timeout=args.timeout)
    documents = [Path(d) for d in args.document] or extension_documents(runner.extension)
    loaded = [read_document(d) for d in documents]  # all read (and validated) before the first run
    results = []
    console = Console(highlight=False, soft_wrap=True)
    for document, (data, source) in zip(documents, loaded):
        result = _run_one(runner, document, data, source, record=args.record, live=args.live)
        results.append(result)
        if not args.json:
            render_result(result, console)
            console.print()
    if args.json:
        payload = [r.to_json() for r in results]
        print(json.dumps(payload[0] if len(payload) == 1 else payload, indent=2, ensure_ascii=False))
    elif len(results) > 1:
        render_summary(results, console)
    if args.fail_on_leak and any(r.leaks for r in results):
        return EXIT_LEAK
    return EXIT_OK if all(r.ok for r in results) else EXIT_FAILED


def _check(args: argparse.Namespace) -> int:
    folders = args.extensions or find_extensions()
    if not folders:
        raise HarnessError("no EXT given, and no extensions/<name>/extension.py here to check")
    documents = [Path(d) for d in args.document] or None
    reports = [check_extension(folder, documents, timeout=args.timeout) for folder in folders]
    if args.json:
        print(json.dumps([r.to_json() for r in reports], indent=2, ensure_ascii=False))
    else:
        console = Console(highlight=False, soft_wrap=True)
        for report in reports:
            render_check(report, console)
    return EXIT_OK if all(r.clean for r in reports) else EXIT_LEAK


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
            _note(f"recorded {recording.interactions} HTTP interaction(s) of {document.name} into {cassette}")
        else:
            _note(f"{document.name} made no HTTP request: no cassette written")
        return result
    if live or not cassette.is_file():
        return runner.run(data, source)
    _note(f"replaying {cassette} for {document.name} (--live to call the real services)")
    hint = f"ipe run replays {cassette} and runs offline; --live calls the real services, --record records them"
    with use_cassette(cassette, runner.vault, runner.extension), guard_sockets(hint=hint):
        return runner.run(data, source)


# --- ipe vault ----------------------------------------------------------------------------------
# Which vault entries extensions or a snapshot need, and the POST /vaultentries bodies to create
# them.  Static only: no script runs.  stdout carries JSON only; notes and warnings go to stderr.
# Exit codes: 0 nothing missing / payloads printed; 1 some entry missing; 2 bad usage or input.


def _add_vault_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    vault = commands.add_parser(
        "vault",
        help="list the vault entries extensions or a snapshot lack; print POST /vaultentries bodies",
        description="Check the local vault against what extensions read (found by reading their "
        "scripts, never running them) or what a snapshot's {{ VAULT.key }} placeholders need.",
    )
    actions = vault.add_subparsers(dest="vault_action", metavar="ACTION")
    actions.required = True

    missing = actions.add_parser(
        "missing",
        help='print {"missingVaultEntries": [...]}; exit 1 if any',
        description='Print the vault keys the extensions\' scripts read (or the snapshot\'s placeholders '
        'need) that the local vault lacks, as {"missingVaultEntries": [...]}, sorted. Exit 0 when '
        "none is missing, 1 when some are. With no EXT and no --snapshot, every folder under extensions/.",
    )
    missing.add_argument("extensions", metavar="EXT", nargs="*", help="extension folder or extension.py script")
    missing.add_argument("--snapshot", metavar="FILE",
                         help="a Coveo snapshot JSON file (or a folder of them) instead of extensions")

    payload = actions.add_parser(
        "payload",
        help="print the POST /vaultentries body of keys; the value is masked unless --reveal",
        description="Print the POST /vaultentries body of each KEY (a JSON object for one key, a list "
        "for several): scopes for --extension, attributeReferences for --snapshot. With no KEY, every "
        "key the extension reads or the snapshot's placeholders need. The value comes from the local "
        'vault, masked as ******** unless --reveal; a key the local vault lacks gets "value": "".',
    )
    payload.add_argument("keys", metavar="KEY", nargs="*", help="vault key; repeatable (default: every key needed)")
    target = payload.add_mutually_exclusive_group(required=True)
    target.add_argument("--extension", metavar="EXT", help="the extension the entries are scoped to")
    target.add_argument("--snapshot", metavar="FILE", help="the snapshot whose placeholders the entries fill")
    payload.add_argument("--organization", metavar="ORG",
                         help="organizationId (default: COVEO_ORGANIZATION_ID from the environment or .env)")
    payload.add_argument("--reveal", action="store_true", help="print the real value instead of ********")
    payload.add_argument("--visibility", metavar="TYPE", type=str.upper, choices=VISIBILITY_TYPES, default=None,
                         help=f"vaultVisibilityType: {', '.join(VISIBILITY_TYPES)} "
                         "(default: the local entry's, else OBFUSCATED)")

    for action in (missing, payload):
        action.add_argument("--env-file", metavar="FILE", help="the .env file to read VAULT_<key> lines from")
        action.add_argument("--vault-file", metavar="FILE", help="the vault.json file of Vault API entries")
        action.set_defaults(handler=_vault_command)


def _vault_command(args: argparse.Namespace) -> int:
    vault = load_vault(env_file=args.env_file, vault_file=args.vault_file)
    if args.vault_action == "missing":
        if args.snapshot and args.extensions:
            raise HarnessError("give extensions or --snapshot, not both")
        if args.snapshot:
            result = missing_entries((p.key for p in load_snapshot(args.snapshot)), (e.key for e in vault.entries))
            for key in result["missingVaultEntries"]:
                _note(f'missing: {key!r}: add an entry with "key": "{key}" to vault.json')
        else:
            lacking: set[str] = set()
            for folder in args.extensions or _extension_folders():
                extension = load_extension(folder)
                keys = _script_keys(extension)
                for key in missing_entries(keys, vault.values_for(extension))["missingVaultEntries"]:
                    lines = ", ".join(str(n) for n in keys[key])
                    _note(f"missing: {vault.explain_missing(key, extension.name, extension)} "
                          f"(read at {extension.script.name}:{lines})")
                    lacking.add(key)
            result = missing_entries(lacking, ())
        _emit(result)
        return EXIT_FAILED if result["missingVaultEntries"] else EXIT_OK

    organization = args.organization or vault.settings.get("COVEO_ORGANIZATION_ID")
    if not organization:
        raise HarnessError("no organization: give --organization ORG, or set COVEO_ORGANIZATION_ID "
                           "in the environment or in .env")
    fill_in = '; its payload has "value": "": fill it in before sending'
    bodies = []
    if args.extension:
        extension = load_extension(args.extension)
        read = _script_keys(extension)
        scope_id = extension.id or extension.name
        if not extension.id:
            _note(f'warning: the manifest of {extension.name} has no "id"; the scope uses its name '
                  f"{scope_id!r}: put the Coveo extension id there before sending")
        for key in args.keys or sorted(read):
            if key not in read:
                _note(f"note: {extension.script.name} does not visibly read vault key {key!r}")
            entry = find_entry(vault, key, extension)
            if entry is None:
                _note(f"warning: {vault.explain_missing(key, extension.name, extension)}{fill_in}")
            bodies.append(extension_payload(key, organization, scope_id, entry,
                                            reveal=args.reveal, visibility=args.visibility))
    else:
        by_key: dict[str, list[Placeholder]] = {}
        for placeholder in load_snapshot(args.snapshot):
            by_key.setdefault(placeholder.key, []).append(placeholder)
        for key in args.keys or sorted(by_key):
            if key not in by_key:
                raise HarnessError(f"{args.snapshot}: no {{{{ VAULT.{key} }}}} placeholder in this snapshot")
            entry = find_entry(vault, key, any_scope=True)
            if entry is None:
                _note(f"warning: vault key {key!r} is not in the local vault{fill_in}")
            bodies.append(snapshot_payload(key, organization, by_key[key], entry,
                                           reveal=args.reveal, visibility=args.visibility))
    if not bodies:
        _note("note: no vault key to build a payload for")
    _emit(bodies[0] if len(bodies) == 1 else bodies)
    return EXIT_OK


def _script_keys(extension: Extension) -> dict[str, list[int]]:
    """The keys the script reads (key -> lines); notes on stderr for what reading cannot tell."""
    usage = vault_keys(extension.source, str(extension.script))
    for line in usage.dynamic:
        _note(f"note: {extension.script.name}:{line} ({extension.name}): a vault key that only running "
              "the script would tell (built at run time, or vault_parameters handed on); not checked")
    if usage.keys and not extension.use_vault:
        _note(f'note: {extension.name} reads vault keys, but its manifest does not set "useVault": true')
    return usage.keys


def _extension_folders() -> list[Path]:
    """Every ./extensions/<name>/ holding an extension.py, sorted: what `ipe vault missing` checks by default."""
    folders = find_extensions()
    if not folders:
        raise HarnessError("no EXT given, and no extensions/<name>/extension.py here to check")
    return folders


# --- ipe new ------------------------------------------------------------------------------------
# Scaffolding (harness.scaffold): extensions/NAME/ and tests/extensions/test_NAME.py from a
# template in the package.  Exit 2, nothing written, for a bad name or an existing file.


def _add_new_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    new = commands.add_parser(
        "new",
        help="scaffold extensions/NAME/ and its test file from a template",
        description="Create extensions/NAME/ (extension.py, extension.json, documents/) and "
        "tests/extensions/test_NAME.py in the current folder, from a template; the new tests pass at "
        "once. Creates .gitignore, .env.example and a minimal pyproject.toml when missing. Never "
        "overwrites a file.",
    )
    new.add_argument("name", metavar="NAME", nargs="?",
                     help="extension name: lower-case letters, digits, '-' and '_', starting with a letter")
    new.add_argument("--template", "-t", metavar="T", default=DEFAULT_TEMPLATE,
                     help=f"the template (default: {DEFAULT_TEMPLATE}; --list shows them all)")
    new.add_argument("--stage", type=str.lower, choices=STAGES, default=None,
                     help="pre- or post-conversion (default: the template's)")
    new.add_argument("--api-version", type=str.lower, choices=API_VERSIONS, default="v1",
                     help="the document API version in extension.json (default: v1)")
    new.add_argument("--list", action="store_true", help="list the templates, one line each, and exit")
    new.set_defaults(handler=_new)


def _new(args: argparse.Namespace) -> int:
    if args.list:
        templates = list_templates()
        width = max(len(t.name) for t in templates)
        for template in templates:
            print(f"{template.name:<{width}}  {template.summary}")
        return EXIT_OK
    if args.name is None:
        raise HarnessError("give the new extension's NAME (ipe new NAME), or --list to see the templates")
    new = plan(args.name, args.template, stage=args.stage, api_version=args.api_version)
    for line in new.write():
        print(line)
    test, folder = Path("tests", "extensions", new.test_file.name), Path("extensions", new.name)
    print(f"\nnext: python -m pytest {test}   then   ipe run {folder}   and   ipe check {folder}")
    return EXIT_OK


def _note(message: str) -> None:
    print(f"ipe: {message}", file=sys.stderr)


def _emit(data: object) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


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
