"""The pytest plugin (registered through the ``pytest11`` entry point): extension tests in a few lines.

A thin adapter over the harness, as requests-mock's fixture is over its ``Mocker``:

* ``ipe`` runs an extension with :class:`~harness.runner.Runner` (``ipe.run(EXT, document=...)``),
  or a source's whole pipeline with :class:`~harness.pipeline.Pipeline` (``ipe.pipeline(SOURCE, document)``),
  with no network by accident, and keeps every result for the leak rule and golden files;
* ``vault`` is this test's vault: a canary for every key a script reads, ``vault["key"] =
  "value"`` for a real-looking value, and nothing from the developer's ``.env`` unless
  ``vault.load_local()`` asks for it;
* ``make_document`` builds a document in code, in the friendly format's terms;
* the leak rule: a test during which a run leaked a vault value fails, listing the findings
  (key, channel, alias, place - never a value), unless marked ``ipe_allow_leaks``;
* no network by accident: during ``ipe.run`` a connection to anything but this machine and
  the allowed hosts is refused before it is opened (DNS lookup included), with a message that
  says how to mock or allow it.  requests-mock's ``requests_mock`` fixture answers first, as
  it sits above the sockets;
* cassettes (:mod:`harness.cassette`) with ``ipe.run(..., cassette=True)`` or the
  ``ipe_cassette`` marker, recorded again with ``--ipe-record``;
* golden results (:mod:`harness.golden`) with ``ipe.assert_golden(result)``, rewritten with
  ``--ipe-update-golden``.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from harness.canary import CanaryVault
from harness.cassette import cassette_for, use_cassette
from harness.document import DocumentData
from harness.document_format import parse_document
from harness.errors import HarnessError
from harness.extension import Extension
from harness.golden import compare_golden, golden_path, write_golden
from harness.network import guard_sockets
from harness.params import parameter_text
from harness.pipeline import Pipeline, PipelineResult
from harness.result import ExtensionResult
from harness.runner import DocumentInput, Runner, VaultInput
from harness.vault import VaultEntry, load_vault

__all__ = ["IpeSession", "TestVault"]

BLOCKED_HINT = (
    "tests do not reach the network by accident: mock it with the requests_mock fixture "
    "(requests_mock.get(URL, json=...)), replay a cassette (ipe.run(..., cassette=True)), or allow "
    'the host with @pytest.mark.ipe_allow_hosts("HOST") or the ipe_allow_hosts ini option'
)
_SESSION = pytest.StashKey["IpeSession"]()


# -- options and markers ---------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ipe", "ipe-harness: Coveo indexing pipeline extensions")
    group.addoption("--ipe-update-golden", action="store_true", default=False,
                    help="write golden results (documents/<stem>.expected.json) instead of comparing them")
    group.addoption("--ipe-record", action="store_true", default=False,
                    help="record cassettes again, against the real services, instead of replaying them")
    parser.addini("ipe_allow_hosts", type="args", default=[],
                  help="hosts that extensions run by the ipe fixture may connect to (space-separated)")
    parser.addini("ipe_isolated", type="bool", default=False,
                  help="run every ipe.run in a child process, as the ipe CLI does (default: in the test's "
                  "process, so that the requests_mock fixture answers the script)")
    parser.addini("ipe_memory_limit", default="",
                  help="MiB of address space an isolated run may use (default: the CLI's default)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "ipe_allow_leaks: a leak of a vault value does not fail this test "
                            "(for tests of the leak detector itself)")
    config.addinivalue_line("markers", "ipe_allow_hosts(*hosts): extensions run by the ipe fixture may "
                            "connect to these hosts")
    config.addinivalue_line("markers", 'ipe_cassette(mode="replay"): every ipe.run of this test replays '
                            '(or, with mode="record", records) the cassette of its document')


# -- the vault -------------------------------------------------------------------------------------


class TestVault(CanaryVault):
    """The vault of one test: canaries by default, the values a test sets, never the developer's.

    ``vault["key"] = "value"`` gives a key a real-looking value (the test's own, obviously fake);
    ``vault["key"]`` reads a key's value, minting its canary if it has none yet.
    """

    __test__ = False  # a helper class, not a test class, whatever pytest thinks of its name

    def __setitem__(self, key: str, value: object) -> None:
        text = parameter_text(value)
        self.entries = [e for e in self.entries if e.key != key]
        self.entries.append(VaultEntry(str(key), text, "the test", allowed_hosts=self._hosts.get(key)))

    def __getitem__(self, key: str) -> str:
        return self.mint(str(key))

    def __contains__(self, key: object) -> bool:
        return any(entry.key == key for entry in self.entries)

    def load_local(
        self, env_file: str | os.PathLike[str] | None = None, vault_file: str | os.PathLike[str] | None = None
    ) -> TestVault:
        """Opt in to the developer's local vault (``.env``, ``vault.json``, ``VAULT_*``): its entries
        replace the canaries of the same keys.  Returns self."""
        local = load_vault(env_file=env_file, vault_file=vault_file)
        keys = {entry.key for entry in local.entries}
        self.entries = [e for e in self.entries if e.key not in keys] + list(local.entries)
        self.settings.update(local.settings)
        return self


@pytest.fixture
def vault() -> TestVault:
    """This test's vault: every key a script reads gets a canary; ``vault["key"] = "value"`` sets one."""
    return TestVault()


# -- documents -------------------------------------------------------------------------------------


def _document(
    uri: str = "https://example.com/document",
    metadata: Mapping[str, Mapping[str, Any]] | None = None,
    data_streams: Mapping[str, str | bytes] | None = None,
    permissions: list[dict[str, Any]] | None = None,
    parameters: Mapping[str, Any] | None = None,
) -> DocumentData:
    streams: dict[str, Any] = {}
    for name, content in (data_streams or {}).items():
        if isinstance(content, (bytes, bytearray)):
            streams[name] = {"inlineContent": base64.b64encode(bytes(content)).decode("ascii")}
        else:
            streams[name] = content
    friendly: dict[str, Any] = {
        "uri": uri,
        "metadata": {origin: dict(values) for origin, values in (metadata or {}).items()},
        "dataStreams": streams,
        "permissions": list(permissions or []),
        "parameters": dict(parameters or {}),
    }
    return parse_document(friendly, "make_document(...)")


@pytest.fixture
def make_document() -> Callable[..., DocumentData]:
    """Build a document in code: ``make_document(uri=..., metadata={origin: {name: value(s)}},
    data_streams={name: text or bytes}, permissions=[...], parameters={...})``."""
    return _document


# -- running extensions ----------------------------------------------------------------------------


class IpeSession:
    """The ``ipe`` fixture: runs extensions for one test and remembers what they did."""

    def __init__(self, request: pytest.FixtureRequest, vault: TestVault) -> None:
        self._request = request
        self.vault = vault
        self.results: list[ExtensionResult] = []
        """Every result of this test, in order (the leak rule reads them)."""
        self._documents: dict[int, Path] = {}

    @property
    def allowed_hosts(self) -> list[str]:
        """Hosts runs may connect to: the ``ipe_allow_hosts`` markers and ini option."""
        hosts = list(self._request.config.getini("ipe_allow_hosts"))
        for marker in self._request.node.iter_markers("ipe_allow_hosts"):
            hosts += [str(h) for h in marker.args]
        return hosts

    def run(
        self,
        extension: str | os.PathLike[str] | Extension,
        document: DocumentInput,
        *,
        parameters: Mapping[str, Any] | None = None,
        vault: VaultInput = None,
        timeout: float | None = None,
        cassette: bool | str | None = None,
        isolated: bool | None = None,
        memory_limit: int | None = None,
    ) -> ExtensionResult:
        """Run ``extension`` (folder or script) on ``document`` (a path, a dict in either format, or
        a ``make_document`` result) and return its (redacted) result.

        ``vault`` defaults to this test's ``vault`` fixture; a dict gives exactly those values.
        ``cassette``: True replays the document's cassette (``extensions/<name>/cassettes/<document
        stem>.yaml``; the test's name when the document is not a file), ``"record"`` records it;
        None follows the ``ipe_cassette`` marker.  ``--ipe-record`` turns every replay into a
        recording.

        ``isolated=True`` runs the script in a child process, as the ``ipe`` CLI does, with
        ``memory_limit`` MiB (default: the ``ipe_memory_limit`` ini option, else the CLI's); the
        ``ipe_isolated`` ini option makes it the default.  A mock set up in the test (the
        ``requests_mock`` fixture) still answers the child, which inherits it, but the mock's
        ``request_history`` does not see the child's requests: read ``result.requests``.
        """
        config = self._request.config
        if isolated is None:
            isolated = bool(config.getini("ipe_isolated"))
        if memory_limit is None and str(config.getini("ipe_memory_limit")).strip():
            text = str(config.getini("ipe_memory_limit")).strip()
            if not text.isdigit():
                raise HarnessError(f"ipe_memory_limit: expected a whole number of MiB, got {text!r}")
            memory_limit = int(text)
        runner = Runner(extension, parameters=parameters, vault=self.vault if vault is None else vault,
                        timeout=timeout, isolated=isolated, memory_limit=memory_limit)
        path = Path(document) if isinstance(document, (str, os.PathLike)) else None
        mode = self._cassette_mode(cassette)
        with ExitStack() as stack:
            if mode is not None:
                name = path.stem if path is not None else re.sub(r"\W+", "_", self._request.node.name).strip("_")
                stack.enter_context(
                    use_cassette(cassette_for(runner.extension, name), runner.vault, runner.extension, mode=mode)
                )
            if mode != "record":  # recording is a deliberate trip to the real services
                stack.enter_context(guard_sockets(self.allowed_hosts, loopback=True, hint=BLOCKED_HINT))
            result = runner.run(document)
        self.results.append(result)
        if path is not None:
            self._documents[id(result)] = path
        return result

    def pipeline(
        self,
        source: str | os.PathLike[str] | Mapping[str, Any],
        document: str | os.PathLike[str] | Mapping[str, Any] | DocumentData,
        *,
        extensions: str | os.PathLike[str] = "extensions",
        vault: VaultInput = None,
        timeout: float | None = None,
    ) -> PipelineResult:
        """Run ``document`` through a source's extensions (:class:`harness.Pipeline`: conditions,
        actionOnError, each step's parameters) with no network by accident; every step's run counts
        for the leak rule.  ``vault`` defaults to this test's ``vault`` fixture."""
        pipe = Pipeline(source, extensions=extensions, vault=self.vault if vault is None else vault, timeout=timeout)
        with guard_sockets(self.allowed_hosts, loopback=True, hint=BLOCKED_HINT):
            result = pipe.run(document)
        self.results += result.results
        return result

    def _cassette_mode(self, cassette: bool | str | None) -> str | None:
        if cassette is None:
            marker = self._request.node.get_closest_marker("ipe_cassette")
            if marker is None:
                return None
            cassette = marker.kwargs.get("mode", marker.args[0] if marker.args else "replay")
        if cassette is False:
            return None
        mode = "replay" if cassette is True else str(cassette)
        if mode not in ("replay", "record"):
            raise HarnessError(f'cassette must be True, False, "replay" or "record", not {cassette!r}')
        if mode == "replay" and self._request.config.getoption("ipe_record"):
            return "record"
        return mode

    def assert_golden(self, result: ExtensionResult, path: str | os.PathLike[str] | None = None) -> None:
        """Compare ``result`` with its golden file (default: ``<document stem>.expected.json`` beside
        the document it ran on); with ``--ipe-update-golden``, (re)write the file instead."""
        __tracebackhide__ = True
        if path is None:
            document = self._documents.get(id(result))
            if document is None:
                raise HarnessError("this result's document is not a file: give assert_golden(result, path)")
            path = golden_path(document)
        if self._request.config.getoption("ipe_update_golden"):
            write_golden(result, path)
            return
        try:
            diff = compare_golden(result, path)
        except HarnessError as exc:
            problem = str(exc)
        else:
            problem = ""
        if problem:
            pytest.fail(problem, pytrace=False)
        if diff is not None:
            pytest.fail(f"the result differs from its golden file {path} "
                        f"(accept it with pytest --ipe-update-golden):\n{diff}", pytrace=False)

    def leak_report(self) -> str:
        """The findings of every leaking run of this test, or "" when none leaked."""
        lines = []
        for result in self.results:
            if result.leaks:
                lines.append(f"  {result.extension} on {result.source}:")
                lines += [f"    {leak}" for leak in result.leaks]
        if not lines:
            return ""
        return "\n".join([
            "ipe-harness: a vault value leaked during this test (key: channel (alias) at place; values are never shown):",
            *lines,
            "Keep vault values out of logs, output, metadata, URLs and plain http; a test of the leak "
            "detector itself can opt out with @pytest.mark.ipe_allow_leaks.",
        ])


@pytest.fixture
def ipe(request: pytest.FixtureRequest, vault: TestVault) -> Iterator[IpeSession]:
    """Runs extensions: ``ipe.run(EXT, document=..., parameters=..., vault=..., timeout=...)``."""
    session = IpeSession(request, vault)
    request.node.stash[_SESSION] = session
    yield session


# -- the leak rule ---------------------------------------------------------------------------------


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """After the test body: fail it when one of its runs leaked and it did not opt out."""
    try:
        outcome = yield
    except BaseException:
        session = item.stash.get(_SESSION, None)
        report = session.leak_report() if session is not None else ""
        if report:  # the test failed anyway; still say what leaked
            item.add_report_section("call", "ipe leaks", report)
        raise
    session = item.stash.get(_SESSION, None)
    if session is not None and item.get_closest_marker("ipe_allow_leaks") is None:
        report = session.leak_report()
        if report:
            pytest.fail(report, pytrace=False)
    return outcome
