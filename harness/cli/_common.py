"""What every ``ipe`` command shares: exit codes, argument types, notes on stderr, JSON on stdout."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_LEAK = 0, 1, 2, 3

#: The type of ``ArgumentParser.add_subparsers()``'s result, for each command's ``add_parser``.
Commands = "argparse._SubParsersAction[argparse.ArgumentParser]"


def param(text: str) -> tuple[str, str]:
    """``NAME=VALUE`` of ``--param``."""
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name, value


def timeout(text: str) -> float:
    """A positive number of seconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def _positive_whole(text: str, unit: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of {unit}, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number of {unit}, got {text!r}")
    return value


def memory_limit(text: str) -> int:
    """A positive whole number of MiB (``--memory-limit``)."""
    return _positive_whole(text, "MiB")


def workers(text: str) -> int:
    """A positive whole number of worker processes (``--workers``)."""
    return _positive_whole(text, "workers")


def add_vault_files(parser: argparse.ArgumentParser, *, env_help: str = "VAULT_<key> lines") -> None:
    """``--env-file`` and ``--vault-file``: where the local vault comes from (see :func:`~harness.vault.load_vault`)."""
    parser.add_argument("--env-file", metavar="FILE", help=f"the .env file to read {env_help} from")
    parser.add_argument("--vault-file", metavar="FILE", help="the vault.json file of Vault API entries")


def note(message: str) -> None:
    """A line for the user on stderr, so that stdout stays machine-readable."""
    print(f"ipe: {message}", file=sys.stderr)


def emit(data: Any) -> None:
    """JSON on stdout."""
    print(json.dumps(data, indent=2, ensure_ascii=False))


@contextmanager
def ctrl_c_after() -> Iterator[None]:
    """Hold a Ctrl-C back until the block ends, then raise it.

    Wraps the writing of one result (report files, JSON on stdout, the terminal), so that an
    interrupted run leaves every output whole: the result in hand is written everywhere or
    nowhere.  Outside the main thread (no signal handlers there) it does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt
