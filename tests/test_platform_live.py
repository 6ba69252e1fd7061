"""The deploy loop against a real Coveo organization: opt-in, never by default.

Runs only with ``IPE_COVEO_LIVE=1`` and ``COVEO_API_KEY`` and ``COVEO_ORGANIZATION_ID`` in the
environment (``COVEO_PLATFORM_URL`` too for another region)::

    IPE_COVEO_LIVE=1 COVEO_API_KEY=... COVEO_ORGANIZATION_ID=... python -m pytest -m coveo_live

It creates one extension and one vault entry with unique, obviously-test names, runs the same
flow as tests/test_platform.py (push, push again, vault push, remote-test, pull) and deletes both
at the end, whatever happened.  The API key needs the Extensions (View, Edit, Create) and Vault
entries (View, Edit, Create) privileges.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from harness.cli import main
from harness.platform.client import PlatformClient, PlatformError
from harness.platform.extensions import ExtensionsAPI
from harness.platform.settings import load_settings
from harness.platform.vault_entries import VaultEntriesAPI

pytestmark = [
    pytest.mark.coveo_live,
    pytest.mark.skipif(
        not (os.environ.get("IPE_COVEO_LIVE") == "1" and os.environ.get("COVEO_API_KEY")
             and os.environ.get("COVEO_ORGANIZATION_ID")),
        reason="live Coveo tests: set IPE_COVEO_LIVE=1, COVEO_API_KEY and COVEO_ORGANIZATION_ID",
    ),
]

SUFFIX = secrets.token_hex(4)
KEY = f"ipe_harness_live_{SUFFIX}"
VALUE = f"ipe-live-{secrets.token_hex(12)}"

SCRIPT = f"""
token = vault_parameters["{KEY}"]
document.add_meta_data({{"ipeharnesslive": "token length %d" % len(token)}})
log("ipe-harness live test", "Notification")
"""

DOCUMENT = {
    "uri": "https://intranet.example.com/docs/ipe-harness-live.html",
    "metadata": {"crawler": {"title": "ipe-harness live test"}},
    "dataStreams": {"body_text": "Hello from ipe-harness"},
}


@pytest.fixture
def live_extension(make_extension: Callable[..., Path], monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv(f"VAULT_{KEY}", VALUE)
    folder = make_extension(SCRIPT, name=f"ipe-harness-live-{SUFFIX}", manifest={"useVault": True},
                            documents={"live.json": DOCUMENT})
    yield folder
    client = PlatformClient(load_settings())
    data = json.loads((folder / "extension.json").read_text(encoding="utf-8"))
    for cleanup in (lambda: VaultEntriesAPI(client).delete(KEY),
                    lambda: ExtensionsAPI(client).delete(data["id"]) if data.get("id") else None):
        try:
            cleanup()
        except PlatformError:
            pass  # not created: nothing to delete


def test_deploy_loop_against_coveo(live_extension: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    key = os.environ["COVEO_API_KEY"]
    outputs: list[str] = []

    def ipe(*args: str) -> int:
        code = main(list(args))
        out, err = capsys.readouterr()
        outputs.extend((out, err))
        return code

    folder = str(live_extension)
    assert ipe("push", folder) == 0, outputs
    assert ipe("push", folder) == 0, outputs  # an update now
    assert ipe("vault", "push", folder) == 0, outputs
    assert ipe("vault", "push", folder) == 0, outputs  # the entry exists: an update
    code = ipe("remote-test", folder, "--json")
    assert code == 0, outputs[-2]
    extension_id = json.loads((live_extension / "extension.json").read_text(encoding="utf-8"))["id"]
    assert ipe("pull", extension_id, str(tmp_path / "pulled")) == 0, outputs
    assert (tmp_path / "pulled" / "extension.py").read_bytes() == (live_extension / "extension.py").read_bytes()
    for text in outputs:
        assert key not in text and VALUE not in text
