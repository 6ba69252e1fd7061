"""``ipe new``: scaffold extensions/NAME/ and tests/extensions/test_NAME.py from a template.

Exit 2, nothing written, for a bad name or an existing file.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.cli._common import EXIT_OK
from harness.errors import HarnessError
from harness.scaffold import API_VERSIONS, DEFAULT_TEMPLATE, STAGES, list_templates, plan

__all__ = ["add_parser"]

def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
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


