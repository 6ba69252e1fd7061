"""``ipe push``, ``ipe pull``, ``ipe vault push`` and ``ipe remote-test``: the Coveo platform, from here.

Thin adapters over :mod:`harness.platform`.  Settings (``COVEO_API_KEY``, ``COVEO_ORGANIZATION_ID``,
``COVEO_PLATFORM_URL``) come from the environment or ``.env``; ``--region`` picks a regional host.
What a command did goes to stdout, notes to stderr; no output ever holds the API key or a vault
value, ``--verbose`` included.

Exit codes: 0 done (``remote-test``: the two results agree); 1 ``remote-test``: they differ,
``vault push``: a key the script reads is not in the local vault; 2 bad usage, bad input or a
refusal by the platform; 3 ``push`` refused: the leak check found something (``--force`` pushes
anyway).
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console

from harness.check import check_extension
from harness.cli._common import EXIT_FAILED, EXIT_LEAK, EXIT_OK, add_vault_files, note, param, timeout
from harness.errors import HarnessError
from harness.extension import Extension, load_extension
from harness.platform.client import LOGGER, PlatformClient, PlatformError
from harness.platform.extensions import ExtensionsAPI, edit_model, literal_secrets
from harness.platform.folder import default_folder, write_id, write_pulled
from harness.platform.remote_test import remote_test, test_request
from harness.platform.settings import REGIONS, load_settings
from harness.platform.vault_entries import push_vault_entries
from harness.redaction import Redactor
from harness.reports.terminal import render_check
from harness.runner import Runner, extension_documents, read_document
from harness.vault import LocalVault, load_vault
from harness.vault_api import VISIBILITY_TYPES

__all__ = ["add_parser", "add_vault_push"]


def _platform_options(parser: argparse.ArgumentParser, *, vault: bool = True) -> None:
    parser.add_argument("--region", type=str.lower, choices=list(REGIONS), default=None,
                        help="the platform's regional host (default: COVEO_PLATFORM_URL, else "
                        "https://platform.cloud.coveo.com)")
    if vault:
        add_vault_files(parser, env_help="COVEO_* settings and VAULT_<key> lines")
    else:
        parser.add_argument("--env-file", metavar="FILE", help="the .env file to read COVEO_* settings from")
    parser.add_argument("--verbose", "-v", action="store_true",
                        help="log each HTTP call and retry on stderr (the API key and vault values stay masked)")


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    push = commands.add_parser(
        "push",
        help="create or update the extension in Coveo (after the leak check)",
        description="Leak-check EXT as `ipe check` does, then create it in Coveo (POST /extensions) and write the "
        "new id into its extension.json, or update it (PUT /extensions/{id}) when extension.json has an id. "
        "Refuses (exit 3) on a leak-check finding unless --force.",
    )
    push.add_argument("extension", metavar="EXT", help="extension folder or extension.py script")
    push.add_argument("--dry-run", action="store_true",
                      help="print the request (method, URL, body; Authorization masked) without sending it")
    push.add_argument("--force", action="store_true", help="push even when the leak check finds something")
    _platform_options(push)
    push.set_defaults(handler=_push)

    pull = commands.add_parser(
        "pull",
        help="write a Coveo extension's script and manifest into a new folder",
        description="Fetch extension EXTENSION_ID from Coveo and write DIR/extension.py (its content, byte for "
        "byte) and DIR/extension.json (its id, name, description, apiVersion, requiredDataStreams, useVault). "
        "DIR defaults to extensions/<name> (./<name> outside a project). Never overwrites without --force.",
    )
    pull.add_argument("extension_id", metavar="EXTENSION_ID", help="the Coveo extension id (<org>-<id>)")
    pull.add_argument("folder", metavar="DIR", nargs="?", help="where to write the extension")
    pull.add_argument("--force", action="store_true", help="overwrite extension.py and extension.json in DIR")
    _platform_options(pull, vault=False)
    pull.set_defaults(handler=_pull)

    remote = commands.add_parser(
        "remote-test",
        help="run documents through Coveo's Test API and locally; show every difference",
        description="Send each document to Coveo's Test API (POST /extensions/{id}/test), run it locally too, and "
        "compare status, reason, metadata added, logs, permissions and data streams. Exit 0 when they agree, "
        "1 when they differ. Dates and durations are not compared.",
    )
    remote.add_argument("extension", metavar="EXT", help="extension folder or extension.py script (pushed: it has an id)")
    remote.add_argument("--document", "-d", metavar="FILE", action="append", default=[],
                        help="a document (either format); repeatable (default: the extension's documents/)")
    remote.add_argument("--param", "-p", metavar="NAME=VALUE", action="append", type=param, default=[],
                        help="an extension parameter, sent to both; repeatable")
    remote.add_argument("--timeout", metavar="S", type=timeout, default=None,
                        help="local time limit per document in seconds (default: Coveo's 5)")
    remote.add_argument("--json", action="store_true", help="print both results and the differences as JSON")
    _platform_options(remote)
    remote.set_defaults(handler=_remote_test)


def add_vault_push(actions: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """``ipe vault push``: added to the ``vault`` command's actions by :mod:`harness.cli.vault`."""
    push = actions.add_parser(
        "push",
        help="create or update in Coveo the vault entries the extension reads (values never printed)",
        description="For every vault key EXT's script reads and the local vault holds, create the entry in Coveo "
        "(POST /vaultentries, scoped to the extension's id), or update it (PUT /vaultentries/{key}, keeping its "
        "other scopes) when it exists. Prints keys, never values. Exit 1 when a key the script reads is not in "
        "the local vault.",
    )
    push.add_argument("extension", metavar="EXT", help="extension folder or extension.py script (pushed: it has an id)")
    push.add_argument("keys", metavar="KEY", nargs="*", help="push only these keys (default: every key the script reads)")
    push.add_argument("--visibility", metavar="TYPE", type=str.upper, choices=VISIBILITY_TYPES, default=None,
                      help=f"vaultVisibilityType: {', '.join(VISIBILITY_TYPES)} (default: the local entry's, else OBFUSCATED)")
    push.add_argument("--dry-run", action="store_true",
                      help="print the requests (values and Authorization masked) without sending them")
    _platform_options(push)
    push.set_defaults(handler=_vault_push)


# -- shared ------------------------------------------------------------------------------------

def _client(args: argparse.Namespace, vault: LocalVault, *, dry_run: bool = False) -> PlatformClient:
    settings = load_settings(args.region, env_file=args.env_file)
    return PlatformClient(settings, secrets=vault.secrets(), dry_run=dry_run)


@contextmanager
def _verbose(client: PlatformClient, on: bool) -> Iterator[None]:
    """With ``--verbose``: our request lines and urllib3's retries on stderr, through the masking filter."""
    if not on:
        yield
        return
    handler = client.verbose_handler()
    loggers = [LOGGER, logging.getLogger("urllib3")]
    saved = [(logger.level, logger.propagate) for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
    try:
        yield
    finally:
        for logger, (level, propagate) in zip(loggers, saved):
            logger.removeHandler(handler)
            logger.setLevel(level)
            logger.propagate = propagate


def _require_id(extension: Extension) -> str:
    if not extension.id:
        raise HarnessError(f"{extension.manifest or extension.folder}: no \"id\": this extension is not in Coveo "
                           f"yet; run `ipe push {extension.folder}` first")
    return extension.id


def _shown(path: Path) -> str:
    """A path as the user would type it: relative to the current folder when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


# -- push --------------------------------------------------------------------------------------

def _push(args: argparse.Namespace) -> int:
    extension = load_extension(args.extension)
    vault = load_vault(env_file=args.env_file, vault_file=args.vault_file)
    client = _client(args, vault, dry_run=args.dry_run)  # settings first: a missing one fails before the check
    if extension.syntax_error is not None and not args.force:
        error = extension.syntax_error
        raise HarnessError(f"{extension.script}:{error.lineno}: syntax error: {error.msg}; fix it, or --force to push anyway")
    if not _leak_check(extension, force=args.force) or not _no_literal_secret(extension, vault, force=args.force):
        return EXIT_LEAK
    model = edit_model(extension)
    api = ExtensionsAPI(client)
    with _verbose(client, args.verbose):
        if extension.id:
            try:
                answer = api.update(extension.id, model)
            except PlatformError as exc:
                if exc.status == 404:
                    raise PlatformError(f"{exc}; remove \"id\" from {extension.manifest} to create it anew") from None
                raise
            if answer is not None:
                print(f"updated extension {extension.name!r} ({extension.id}) in organization "
                      f"{client.settings.organization_id}")
        else:
            answer = api.create(model)
            if answer is not None:
                try:
                    manifest = write_id(extension, answer["id"])
                except OSError as exc:
                    raise HarnessError(f"created extension {answer['id']}, but cannot write its id into "
                                       f"{extension.folder / 'extension.json'} ({exc.strerror}): add "
                                       f"\"id\": \"{answer['id']}\" there by hand, or the next push creates another") from None
                print(f"created extension {extension.name!r} ({answer['id']}) in organization "
                      f"{client.settings.organization_id}; its id is now in {_shown(manifest)}")
    if answer is None:
        note("dry run: nothing was sent")
    return EXIT_OK


def _leak_check(extension: Extension, *, force: bool) -> bool:
    """Run ``ipe check``'s leak check; False when it found something and ``force`` is not given."""
    documents: list[Path] | None = None if extension.documents else []
    if documents is not None:
        note(f"{extension.name} has no documents/*.json: only the static pass of the leak check ran")
    report = check_extension(extension, documents)
    if report.clean:
        return True
    render_check(report, Console(stderr=True, highlight=False, soft_wrap=True))
    findings = len(report.leaks) + len(report.flows)
    what = (f"{findings} leak-check finding(s)" if findings else
            "a leak check that could not run (every document failed before reaching its outputs)")
    if force:
        note(f"warning: pushing {extension.name} despite {what} (--force)")
        return True
    note(f"refusing to push {extension.name}: {what} (above); fix it, or give --force")
    return False


def _no_literal_secret(extension: Extension, vault: LocalVault, *, force: bool) -> bool:
    """False when the script holds a local vault value literally and ``force`` is not given."""
    found = literal_secrets(extension, vault)
    for key, line in found:
        note(f"{'warning' if force else 'error'}: {extension.script.name}:{line} holds the value of vault key "
             f"{key!r} literally: once pushed, anyone who can view extensions reads it; use vault_parameters")
    if found and not force:
        note(f"refusing to push {extension.name} (--force to push anyway)")
        return False
    return True


# -- pull --------------------------------------------------------------------------------------

def _pull(args: argparse.Namespace) -> int:
    client = _client(args, load_vault(env_file=args.env_file))
    with _verbose(client, args.verbose):
        model = ExtensionsAPI(client).get(args.extension_id)
    assert model is not None  # not a dry run
    model.setdefault("id", args.extension_id)
    folder = Path(args.folder) if args.folder else default_folder(model)
    for path in write_pulled(model, folder, force=args.force):
        print(f"wrote {_shown(path)}")
    print(f"\nnext: ipe run {folder} --document FILE   then   ipe check {folder}")
    return EXIT_OK


# -- vault push --------------------------------------------------------------------------------

def _vault_push(args: argparse.Namespace) -> int:
    extension = load_extension(args.extension)
    _require_id(extension)
    vault = load_vault(env_file=args.env_file, vault_file=args.vault_file)
    client = _client(args, vault, dry_run=args.dry_run)
    if not extension.use_vault:
        note(f'warning: the manifest of {extension.name} does not set "useVault": true: Coveo gives it no '
             "vault_parameters until it does (set it, then `ipe push`)")
    with _verbose(client, args.verbose):
        result = push_vault_entries(client, extension, vault, keys=args.keys, visibility=args.visibility)
    for line in result.dynamic:
        note(f"note: {extension.script.name}:{line}: a vault key that only running the script would tell; "
             "push it by name: ipe vault push EXT KEY")
    for key in result.missing:
        note(f"warning: {vault.explain_missing(key, extension.name, extension)}; not pushed")
    for pushed in result.pushed:
        kept = f", kept {pushed.other_scopes} other scope(s)" if pushed.other_scopes else ""
        print(f"{pushed.action} vault entry {pushed.key!r} (scoped to EXTENSION {extension.id}{kept})")
    if not result.pushed and not result.missing:
        note(f"{extension.script.name} reads no vault key by name: nothing to push")
    if args.dry_run:
        note("dry run: nothing was sent")
    return EXIT_FAILED if result.missing else EXIT_OK


# -- remote-test -------------------------------------------------------------------------------

def _remote_test(args: argparse.Namespace) -> int:
    extension = load_extension(args.extension)
    extension_id = _require_id(extension)
    vault = load_vault(env_file=args.env_file, vault_file=args.vault_file)
    client = _client(args, vault)
    documents = [Path(d) for d in args.document] or extension_documents(extension)
    loaded = [read_document(d) for d in documents]  # all read (and validated) before the first call
    cli_parameters = dict(args.param)
    runner = Runner(extension, parameters=cli_parameters, vault=vault, timeout=args.timeout)
    redactor = Redactor(vault.secrets())
    api = ExtensionsAPI(client)
    tests = []
    with _verbose(client, args.verbose):
        try:
            deployed = api.get(extension_id)
        except PlatformError as exc:
            if exc.status != 403:
                raise
            note("note: cannot read the deployed script to compare it with the local one (the API key lacks "
                 "'Extensions - View'); testing anyway")
            deployed = None
        if deployed is not None and deployed.get("content") != extension.source:
            note(f"warning: the script deployed as {extension_id} differs from {extension.script}: the results "
                 f"compare two scripts; run `ipe push {extension.folder}` first")
        for data, source in loaded:
            parameters = {**extension.parameters, **data.parameters, **cli_parameters}
            remote = api.test(extension_id, test_request(data, parameters))
            assert remote is not None  # not a dry run
            local = runner.run(data, source)
            tests.append(remote_test(source, data, local, remote, redactor))
    if args.json:
        payload = [t.to_json() for t in tests]
        print(client.scrub(json.dumps(payload[0] if len(payload) == 1 else payload, indent=2, ensure_ascii=False)))
    else:
        lines = []
        for test in tests:
            local_status = test.local["result"]["status"]
            remote_status = str(test.remote.get("result", {}).get("status", "?"))
            if test.agree:
                lines.append(f"{test.source}: agree ({local_status})")
            else:
                count = len(test.differences)
                lines.append(f"{test.source}: {count} difference{'s' if count != 1 else ''} "
                             f"(local {local_status}, Coveo {remote_status})")
                lines += [f"  {difference}" for difference in test.differences]
            lines += [f"  note: {line}" for line in test.notes]
        print(client.scrub("\n".join(lines)))  # the API key too, should Coveo's answer ever hold it
        differing = sum(1 for t in tests if not t.agree)
        if differing:
            note(f"{differing} of {len(tests)} document(s) differ: if the harness is wrong, report it with "
                 "`ipe remote-test ... --json` attached (see docs/platform.md, 'Reporting a difference')")
    return EXIT_OK if all(t.agree for t in tests) else EXIT_FAILED
