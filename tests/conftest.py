"""Helpers shared by the harness's own tests."""

from __future__ import annotations

import json
import textwrap
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXTENSIONS = ROOT / "extensions"

SAMPLE_DOCUMENT: dict[str, Any] = {
    "uri": "https://intranet.example.com/docs/welcome.html",
    "metadata": {"crawler": {"title": "Welcome", "author": ["Ada", "Grace"]}},
}


@pytest.fixture(autouse=True)
def _isolated_vault(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees the developer's .env, vault.json or VAULT_* variables by accident."""
    import os

    for name in list(os.environ):
        if name.startswith("VAULT_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def make_extension(tmp_path: Path) -> Callable[..., Path]:
    """Write an extension folder (script, manifest, documents) into tmp_path and return it."""
    counter = iter(range(1_000_000))

    def make(
        script: str,
        name: str | None = None,
        manifest: dict[str, Any] | None = None,
        documents: dict[str, Any] | None = None,
    ) -> Path:
        folder = tmp_path / (name or f"ext{next(counter)}")
        folder.mkdir()
        (folder / "extension.py").write_text(textwrap.dedent(script).lstrip("\n"), encoding="utf-8")
        data = {"name": folder.name, "apiVersion": "v1", **(manifest or {})}
        (folder / "extension.json").write_text(json.dumps(data), encoding="utf-8")
        if documents:
            (folder / "documents").mkdir()
            for filename, document in documents.items():
                (folder / "documents" / filename).write_text(json.dumps(document), encoding="utf-8")
        return folder

    return make


@contextmanager
def loopback_server(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 (a free port) for the block; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


pytest_plugins = ["pytester"]  # tests/test_pytest_plugin.py runs pytest sessions of its own
