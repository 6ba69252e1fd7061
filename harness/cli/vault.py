"""``ipe vault``: which vault entries extensions or a snapshot need, and the POST /vaultentries bodies.

Static only: no script runs.  stdout carries JSON only; notes and warnings go to stderr.
Exit codes: 0 nothing missing / payloads printed; 1 some entry missing; 2 bad usage or input.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.cli._common import EXIT_FAILED, EXIT_OK, add_vault_files, emit, note
from harness.cli.platform import add_vault_push
from harness.errors import HarnessError
from harness.extension import Extension, find_extensions, load_extension
from harness.snapshot import Placeholder, load_snapshot
from harness.vault import load_vault
from harness.vault_api import VISIBILITY_TYPES, extension_payload, find_entry, missing_entries, snapshot_payload
from harness.vault_usage import vault_keys

__all__ = ["add_parser"]

def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    vault = commands.add_parser(
        "vault",
        help="list the vault entries extensions or a snapshot lack; print POST /vaultentries bodies, or push them",
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
        add_vault_files(action)
        action.set_defaults(handler=_vault_command)
    add_vault_push(actions)  # `ipe vault push`: sends entries to Coveo (harness.cli.platform)


def _vault_command(args: argparse.Namespace) -> int:
    vault = load_vault(env_file=args.env_file, vault_file=args.vault_file)
    if args.vault_action == "missing":
        if args.snapshot and args.extensions:
            raise HarnessError("give extensions or --snapshot, not both")
        if args.snapshot:
            result = missing_entries((p.key for p in load_snapshot(args.snapshot)), (e.key for e in vault.entries))
            for key in result["missingVaultEntries"]:
                note(f'missing: {key!r}: add an entry with "key": "{key}" to vault.json')
        else:
            lacking: set[str] = set()
            for folder in args.extensions or _extension_folders():
                extension = load_extension(folder)
                keys = _script_keys(extension)
                for key in missing_entries(keys, vault.values_for(extension))["missingVaultEntries"]:
                    lines = ", ".join(str(n) for n in keys[key])
                    note(f"missing: {vault.explain_missing(key, extension.name, extension)} "
                          f"(read at {extension.script.name}:{lines})")
                    lacking.add(key)
            result = missing_entries(lacking, ())
        emit(result)
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
            note(f'warning: the manifest of {extension.name} has no "id"; the scope uses its name '
                  f"{scope_id!r}: put the Coveo extension id there before sending")
        for key in args.keys or sorted(read):
            if key not in read:
                note(f"note: {extension.script.name} does not visibly read vault key {key!r}")
            entry = find_entry(vault, key, extension)
            if entry is None:
                note(f"warning: {vault.explain_missing(key, extension.name, extension)}{fill_in}")
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
                note(f"warning: vault key {key!r} is not in the local vault{fill_in}")
            bodies.append(snapshot_payload(key, organization, by_key[key], entry,
                                           reveal=args.reveal, visibility=args.visibility))
    if not bodies:
        note("note: no vault key to build a payload for")
    emit(bodies[0] if len(bodies) == 1 else bodies)
    return EXIT_OK


def _script_keys(extension: Extension) -> dict[str, list[int]]:
    """The keys the script reads (key -> lines); notes on stderr for what reading cannot tell."""
    usage = vault_keys(extension.source, str(extension.script))
    for line in usage.dynamic:
        note(f"note: {extension.script.name}:{line} ({extension.name}): a vault key that only running "
              "the script would tell (built at run time, or vault_parameters handed on); not checked")
    if usage.keys and not extension.use_vault:
        note(f'note: {extension.name} reads vault keys, but its manifest does not set "useVault": true')
    return usage.keys


def _extension_folders() -> list[Path]:
    """Every ./extensions/<name>/ holding an extension.py, sorted: what `ipe vault missing` checks by default."""
    folders = find_extensions()
    if not folders:
        raise HarnessError("no EXT given, and no extensions/<name>/extension.py here to check")
    return folders


