"""``ipe push``, ``ipe pull``, ``ipe vault push`` and ``ipe remote-test`` against a loopback stand-in
of the Coveo platform (tests/platform_standin.py), through the CLI.

Every test ends by checking that nothing it printed, and no file it left, holds the API key or
the vault value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.cli import main
from tests.platform_standin import PlatformStandIn

API_KEY = "xx-fake-api-key-1f2e3d4c5b6a"
ORG = "fakeorganization"
SECRET = "fake-vault-secret-7c1d9e"
"""The value of vault key pim_token: must never be printed or written."""

READS_VAULT = """
token = vault_parameters["pim_token"]
document.add_meta_data({"enriched": "yes"})
log("enriched with the PIM", "Notification")
"""

LEAKS_VAULT = """
log("token is " + vault_parameters["pim_token"])
"""

DOCUMENT = {
    "uri": "https://intranet.example.com/docs/welcome.html",
    "metadata": {"crawler": {"title": "Welcome"}},
    "dataStreams": {"body_text": "Hello"},
}


@pytest.fixture
def platform(monkeypatch: pytest.MonkeyPatch) -> Iterator[PlatformStandIn]:
    standin = PlatformStandIn(API_KEY, ORG)
    with standin.serve() as url:
        monkeypatch.setenv("COVEO_PLATFORM_URL", url)
        monkeypatch.setenv("COVEO_API_KEY", API_KEY)
        monkeypatch.setenv("COVEO_ORGANIZATION_ID", ORG)
        monkeypatch.setenv("VAULT_pim_token", SECRET)
        yield standin


@pytest.fixture
def ipe(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> Iterator[Callable[..., tuple[int, str, str]]]:
    """Run ``ipe ARGS``: (exit code, stdout, stderr); at teardown, no output or file holds a secret."""
    seen: list[str] = []

    def run(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        out, err = capsys.readouterr()
        seen.extend((out, err))
        return code, out, err

    yield run
    for text in seen:
        assert API_KEY not in text and SECRET not in text
    for path in tmp_path.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert API_KEY.encode() not in data and SECRET.encode() not in data, path


@pytest.fixture
def extension(make_extension: Callable[..., Path]) -> Path:
    return make_extension(READS_VAULT, name="pim-enricher",
                          manifest={"description": "Adds PIM data", "useVault": True, "stage": "pre",
                                    "requiredDataStreams": ["BODY_TEXT"]},
                          documents={"welcome.json": DOCUMENT})


def manifest(folder: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((folder / "extension.json").read_text(encoding="utf-8"))
    return data


# -- push --------------------------------------------------------------------------------------

def test_push_creates_then_updates(platform: PlatformStandIn, ipe: Any, extension: Path) -> None:
    before = list(manifest(extension))
    code, out, err = ipe("push", str(extension))
    assert code == 0, err
    extension_id = manifest(extension)["id"]
    assert extension_id.startswith(f"{ORG}-")
    assert f"created extension 'pim-enricher' ({extension_id})" in out
    keys = list(manifest(extension))
    assert keys == before[:1] + ["id"] + before[1:]  # right after the name; the others keep their order

    (post,) = platform.calls("POST", "/extensions")
    assert post.headers["Authorization"] == f"Bearer {API_KEY}"
    body = json.loads(post.body)
    assert body == {
        "name": "pim-enricher", "description": "Adds PIM data",
        "content": (extension / "extension.py").read_text(encoding="utf-8"),
        "apiVersion": "v1", "language": "PYTHON3", "requiredDataStreams": ["BODY_TEXT"], "useVault": True,
    }
    version = platform.extensions[extension_id]["versionId"]

    (extension / "extension.py").write_text(READS_VAULT + "log('v2')\n", encoding="utf-8")
    code, out, err = ipe("push", str(extension))
    assert code == 0, err
    assert f"updated extension 'pim-enricher' ({extension_id})" in out
    assert len(platform.extensions) == 1
    assert platform.extensions[extension_id]["content"].endswith("log('v2')\n")
    assert platform.extensions[extension_id]["versionId"] != version
    assert len(platform.calls("PUT", f"/extensions/{extension_id}")) == 1


def test_push_dry_run_sends_nothing_and_needs_no_key(
    platform: PlatformStandIn, ipe: Any, extension: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COVEO_API_KEY")
    before = (extension / "extension.json").read_bytes()
    code, out, err = ipe("push", str(extension), "--dry-run")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == f"POST {platform_url()}/rest/organizations/{ORG}/extensions"
    assert lines[1] == "Authorization: Bearer ********"
    body = json.loads(out[out.index("{"):])
    assert body["name"] == "pim-enricher" and body["language"] == "PYTHON3"
    assert "dry run: nothing was sent" in err
    assert platform.requests == []
    assert (extension / "extension.json").read_bytes() == before


def platform_url() -> str:
    import os

    return os.environ["COVEO_PLATFORM_URL"]


def test_push_refuses_a_leaking_extension_unless_forced(
    platform: PlatformStandIn, ipe: Any, make_extension: Callable[..., Path]
) -> None:
    leaky = make_extension(LEAKS_VAULT, name="leaky", manifest={"useVault": True}, documents={"d.json": DOCUMENT})
    code, out, err = ipe("push", str(leaky))
    assert code == 3
    assert "refusing to push leaky" in err
    assert platform.requests == []
    assert "id" not in manifest(leaky)

    code, out, err = ipe("push", str(leaky), "--force")
    assert code == 0, err
    assert "despite" in err and "created extension 'leaky'" in out
    assert "id" in manifest(leaky)


def test_push_retries_429_honouring_retry_after(platform: PlatformStandIn, ipe: Any, extension: Path) -> None:
    platform.fail("POST", "/extensions", 429, headers={"Retry-After": "1"})
    code, out, err = ipe("push", str(extension), "--verbose")
    assert code == 0, err
    assert len(platform.calls("POST", "/extensions")) == 2
    assert "created extension" in out
    assert "-> 201 (after 1 retry)" in err  # --verbose: the request line, never the key


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits urllib3's Retry asks for, recorded instead of slept."""
    import urllib3.util.retry

    waited: list[float] = []
    monkeypatch.setattr(urllib3.util.retry.time, "sleep", waited.append)
    return waited


def test_retry_after_is_honoured_and_capped(platform: PlatformStandIn, ipe: Any, extension: Path, sleeps: list[float]) -> None:
    platform.fail("POST", "/extensions", 429, headers={"Retry-After": "7"})
    platform.fail("POST", "/extensions", 503, headers={"Retry-After": "86400"})
    code, out, err = ipe("push", str(extension))
    assert code == 0, err
    assert sleeps == [7.0, 120.0]  # what the platform asked for, a day capped at two minutes
    assert len(platform.calls("POST", "/extensions")) == 3


def test_429_after_every_retry_is_one_line(platform: PlatformStandIn, ipe: Any, extension: Path, sleeps: list[float]) -> None:
    platform.fail("POST", "/extensions", 429, times=100)
    code, out, err = ipe("push", str(extension))
    assert code == 2
    assert len(platform.calls("POST", "/extensions")) == 6  # the first try and five retries
    assert err == "ipe: error: 429 Too Many Requests on POST /extensions (after 5 retries): wait a minute and try again\n"
    assert sleeps == [1.0, 2.0, 4.0, 8.0]  # backoff 0.5 s x 2^n: none before the first retry


def test_put_is_retried_on_5xx(platform: PlatformStandIn, ipe: Any, extension: Path) -> None:
    assert ipe("push", str(extension))[0] == 0
    extension_id = manifest(extension)["id"]
    platform.fail("PUT", f"/extensions/{extension_id}", 502, times=2)
    code, out, err = ipe("push", str(extension))
    assert code == 0, err
    assert len(platform.calls("PUT", f"/extensions/{extension_id}")) == 3


def test_post_is_not_retried_on_500(platform: PlatformStandIn, ipe: Any, extension: Path) -> None:
    """A create that failed with 500 may have been done: retrying it could make two extensions."""
    platform.fail("POST", "/extensions", 500)
    code, out, err = ipe("push", str(extension))
    assert code == 2
    assert len(platform.calls("POST", "/extensions")) == 1
    assert err.startswith("ipe: error: 500 ") and err.count("\n") == 1


def test_401_is_one_line_without_the_key(
    platform: PlatformStandIn, ipe: Any, extension: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COVEO_API_KEY", "xx-wrong-fake-key-000")
    code, out, err = ipe("push", str(extension))
    assert code == 2
    assert err.count("\n") == 1
    assert "401 Unauthorized on POST /extensions" in err and "COVEO_API_KEY" in err
    assert "xx-wrong-fake-key-000" not in err


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (403, "403 Forbidden on POST /extensions: the API key lacks the privilege 'Extensions - Create'"),
        (404, "404 Not Found on POST /extensions: the new extension 'pim-enricher' does not exist"),
        (412, "412 Precondition Failed on POST /extensions: Coveo refused the new extension 'pim-enricher': "
              "SCRIPTED: scripted 412"),
    ],
)
def test_refusals_are_one_line(platform: PlatformStandIn, ipe: Any, extension: Path, status: int, expected: str) -> None:
    platform.fail("POST", "/extensions", status)
    code, out, err = ipe("push", str(extension))
    assert code == 2
    assert err.count("\n") == 1 and expected in err
    assert "id" not in manifest(extension)


def test_update_of_a_deleted_extension_says_how_to_recreate_it(platform: PlatformStandIn, ipe: Any, extension: Path) -> None:
    assert ipe("push", str(extension))[0] == 0
    platform.extensions.clear()
    code, out, err = ipe("push", str(extension))
    assert code == 2
    assert "404 Not Found on PUT" in err and 'remove "id" from' in err


def test_server_error_text_is_masked(platform: PlatformStandIn, ipe: Any, extension: Path) -> None:
    """A platform that echoes what it was sent (here the key and a vault value) does not get them printed."""
    platform.fail("POST", "/extensions", 400, body={"message": f"bad request from {API_KEY} with {SECRET}"})
    code, out, err = ipe("push", str(extension))
    assert code == 2
    assert "bad request from ********" in err  # and the teardown checks neither value is anywhere


def test_region_picks_the_regional_host(platform: PlatformStandIn, ipe: Any, extension: Path) -> None:
    code, out, err = ipe("push", str(extension), "--dry-run", "--region", "eu")
    assert code == 0, err
    assert out.startswith(f"POST https://platform-eu.cloud.coveo.com/rest/organizations/{ORG}/extensions\n")


def test_plain_http_to_a_remote_host_is_refused(
    platform: PlatformStandIn, ipe: Any, extension: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COVEO_PLATFORM_URL", "http://platform.example.com")
    code, out, err = ipe("push", str(extension))
    assert code == 2 and "plain http" in err


def test_settings_come_from_dotenv(
    platform: PlatformStandIn, ipe: Any, extension: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    url = platform_url()
    for name in ("COVEO_PLATFORM_URL", "COVEO_API_KEY", "COVEO_ORGANIZATION_ID"):
        monkeypatch.delenv(name)
    env = tmp_path / "settings" / ".env"
    env.parent.mkdir()
    env.write_text(f"COVEO_PLATFORM_URL={url}\nCOVEO_API_KEY={API_KEY}\nCOVEO_ORGANIZATION_ID={ORG}\n", encoding="utf-8")
    code, out, err = ipe("push", str(extension), "--env-file", str(env))
    assert code == 0, err
    env.unlink()  # the only file allowed to hold the key: the teardown scans the rest


def test_missing_organization_is_one_line(
    platform: PlatformStandIn, ipe: Any, extension: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COVEO_ORGANIZATION_ID")
    code, out, err = ipe("push", str(extension))
    assert code == 2 and "COVEO_ORGANIZATION_ID" in err


# -- vault push --------------------------------------------------------------------------------

def test_vault_push_creates_the_entry_scoped_to_the_extension(platform: PlatformStandIn, ipe: Any, extension: Path) -> None:
    assert ipe("push", str(extension))[0] == 0
    extension_id = manifest(extension)["id"]
    code, out, err = ipe("vault", "push", str(extension))
    assert code == 0, err
    assert out == f"created vault entry 'pim_token' (scoped to EXTENSION {extension_id})\n"
    entry = platform.vault["pim_token"]
    assert entry["value"] == SECRET
    assert entry["scopes"] == [{"id": extension_id, "resourceType": "EXTENSION"}]
    assert entry["vaultVisibilityType"] == "OBFUSCATED" and entry["valueType"] == "STRING"
    assert entry["organizationId"] == ORG


@pytest.mark.parametrize("exists_status", [409, 412])
def test_vault_push_updates_an_existing_entry_and_keeps_its_other_scopes(
    platform: PlatformStandIn, ipe: Any, extension: Path, exists_status: int
) -> None:
    platform.exists_status = exists_status
    assert ipe("push", str(extension))[0] == 0
    extension_id = manifest(extension)["id"]
    other = {"id": f"{ORG}-someotherextension", "resourceType": "EXTENSION"}
    platform.vault["pim_token"] = {"key": "pim_token", "value": "old-fake-value", "valueType": "STRING",
                                   "vaultVisibilityType": "OBFUSCATED", "organizationId": ORG, "scopes": [other]}
    code, out, err = ipe("vault", "push", str(extension), "--verbose")
    assert code == 0, err
    assert out == f"updated vault entry 'pim_token' (scoped to EXTENSION {extension_id}, kept 1 other scope(s))\n"
    assert platform.vault["pim_token"]["value"] == SECRET
    assert platform.vault["pim_token"]["scopes"] == [other, {"id": extension_id, "resourceType": "EXTENSION"}]
    assert [r.method for r in platform.calls(suffix="/vaultentries") + platform.calls(suffix="/pim_token")] == [
        "POST", "GET", "PUT"]


def test_vault_push_refuses_without_an_extension_id(platform: PlatformStandIn, ipe: Any, extension: Path) -> None:
    code, out, err = ipe("vault", "push", str(extension))
    assert code == 2
    assert 'no "id"' in err and "ipe push" in err
    assert platform.requests == []


def test_vault_push_reports_keys_missing_locally(
    platform: PlatformStandIn, ipe: Any, extension: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert ipe("push", str(extension))[0] == 0
    monkeypatch.delenv("VAULT_pim_token")
    code, out, err = ipe("vault", "push", str(extension))
    assert code == 1
    assert "vault key 'pim_token' is not defined" in err and "not pushed" in err
    assert platform.vault == {}


def test_vault_push_dry_run_masks_the_value(platform: PlatformStandIn, ipe: Any, extension: Path) -> None:
    assert ipe("push", str(extension))[0] == 0
    sent = len(platform.requests)
    code, out, err = ipe("vault", "push", str(extension), "--dry-run")
    assert code == 0, err
    assert f"POST {platform_url()}/rest/organizations/{ORG}/vaultentries" in out
    assert '"value": "********"' in out
    assert "would create vault entry 'pim_token'" in out
    assert len(platform.requests) == sent


# -- remote-test -------------------------------------------------------------------------------

def deployed(ipe: Any, extension: Path) -> str:
    assert ipe("push", str(extension))[0] == 0
    assert ipe("vault", "push", str(extension))[0] == 0
    return str(manifest(extension)["id"])


def test_remote_test_agrees(platform: PlatformStandIn, ipe: Any, extension: Path) -> None:
    extension_id = deployed(ipe, extension)
    code, out, err = ipe("remote-test", str(extension))
    assert code == 0, err
    assert out == f"{Path('pim-enricher', 'documents', 'welcome.json')}: agree (SUCCESS)\n"
    (test,) = platform.calls("POST", f"/extensions/{extension_id}/test")
    request = json.loads(test.body)
    assert request["document"]["id"] == DOCUMENT["uri"]
    assert request["document"]["metadata"] == [{"origin": "crawler", "values": {"title": ["Welcome"]}}]
    assert request["document"]["dataStreams"][0]["values"]["body_text"]["compressionType"] == "UNCOMPRESSED"


def test_remote_test_json_gives_both_results(platform: PlatformStandIn, ipe: Any, extension: Path) -> None:
    deployed(ipe, extension)
    code, out, err = ipe("remote-test", str(extension), "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["agree"] is True and report["differences"] == []
    assert report["local"]["result"]["status"] == report["remote"]["result"]["status"] == "SUCCESS"
    assert report["remote"]["logs"][0]["comment"] == "enriched with the PIM"


def test_remote_test_shows_each_difference(platform: PlatformStandIn, ipe: Any, extension: Path) -> None:
    deployed(ipe, extension)

    def tamper(report: dict[str, Any]) -> None:
        report["logs"][0]["severity"] = "WARNING"
        report["document"]["metadata"][-1]["values"]["enriched"] = ["no"]
        report["duration"] = 99.0  # harmless: never compared
        report["logs"][0]["date"] = "2001-01-01T00:00:00.000Z"

    platform.tamper = tamper
    code, out, err = ipe("remote-test", str(extension))
    assert code == 1
    assert "2 differences (local SUCCESS, Coveo SUCCESS)" in out
    assert '  logs[0]: local "NOTIFICATION: enriched with the PIM", remote "WARNING: enriched with the PIM"' in out
    assert '  metadata.enriched: local ["yes"], remote ["no"]' in out
    assert "docs/platform.md" in err

    code, out, err = ipe("remote-test", str(extension), "--json")
    assert code == 1
    fields = [d["field"] for d in json.loads(out)["differences"]]
    assert fields == ["logs[0]", "metadata.enriched"]


def test_remote_test_compares_errors_without_file_names(
    platform: PlatformStandIn, ipe: Any, make_extension: Callable[..., Path]
) -> None:
    broken = make_extension('x = 1\ndocment.add_meta_data({"a": "b"})\n', name="broken", documents={"d.json": DOCUMENT})
    code, _, err = ipe("push", str(broken))
    assert code == 3 and "leak check that could not run" in err  # a check that checked nothing is no pass
    assert ipe("push", str(broken), "--force")[0] == 0
    code, out, err = ipe("remote-test", str(broken), "--json")
    assert code == 0, out
    report = json.loads(out)
    assert report["remote"]["result"]["reason"].startswith("Coveo::PythonScriptException: Traceback")
    assert report["local"]["result"]["status"] == "EXECUTION_ERROR"


def test_remote_test_masks_what_the_remote_leaks(
    platform: PlatformStandIn, ipe: Any, extension: Path
) -> None:
    deployed(ipe, extension)

    def tamper(report: dict[str, Any]) -> None:
        report["logs"].append({"comment": f"token={SECRET}", "severity": "NORMAL"})
        report["logs"].append({"comment": f"key={API_KEY}", "severity": "NORMAL"})

    platform.tamper = tamper
    for args in ((), ("--json",)):
        code, out, err = ipe("remote-test", str(extension), *args)
        assert code == 1
        assert "token=[REDACTED:pim_token]" in out  # the teardown checks the value itself is nowhere
        assert "key=[REDACTED:COVEO_API_KEY]" in out


def test_remote_test_warns_when_the_deployed_script_differs(platform: PlatformStandIn, ipe: Any, extension: Path) -> None:
    deployed(ipe, extension)
    (extension / "extension.py").write_text(READS_VAULT + "log('local only')\n", encoding="utf-8")
    code, out, err = ipe("remote-test", str(extension))
    assert code == 1
    assert "differs from" in err and "ipe push" in err


def test_remote_test_needs_an_id(platform: PlatformStandIn, ipe: Any, extension: Path) -> None:
    code, out, err = ipe("remote-test", str(extension))
    assert code == 2 and 'no "id"' in err


# -- pull --------------------------------------------------------------------------------------

def test_pull_writes_the_script_byte_for_byte(platform: PlatformStandIn, ipe: Any, tmp_path: Path) -> None:
    content = "# café\r\nlog('crlf kept')\r\ntabs = '\t'\n"
    extension_id = f"{ORG}-pulledextension"
    platform.extensions[extension_id] = {
        "id": extension_id, "name": "Pulled One", "description": "from Coveo", "content": content,
        "apiVersion": "v2", "language": "PYTHON3", "requiredDataStreams": ["BODY_HTML"], "useVault": False,
        "enabled": True, "versionId": "v", "createdDate": 0, "lastModified": 0, "status": {},
    }
    (tmp_path / "extensions").mkdir()
    code, out, err = ipe("pull", extension_id)
    assert code == 0, err
    folder = tmp_path / "extensions" / "Pulled-One"
    assert (folder / "extension.py").read_bytes() == content.encode("utf-8")
    assert manifest(folder) == {"name": "Pulled One", "id": extension_id, "description": "from Coveo",
                                "apiVersion": "v2", "requiredDataStreams": ["BODY_HTML"], "useVault": False}

    code, out, err = ipe("pull", extension_id)
    assert code == 2 and "already exists" in err and "--force" in err
    (folder / "extension.py").write_text("changed", encoding="utf-8")
    assert ipe("pull", extension_id, "--force")[0] == 0
    assert (folder / "extension.py").read_bytes() == content.encode("utf-8")

    document = tmp_path / "doc.json"
    document.write_text(json.dumps(DOCUMENT), encoding="utf-8")
    code, out, err = ipe("run", str(folder), "--document", str(document), "--json")
    assert code == 0, err
    assert json.loads(out)["logs"][0]["comment"] == "crlf kept"


def test_pull_into_a_given_folder_then_push_updates_it(platform: PlatformStandIn, ipe: Any, extension: Path, tmp_path: Path) -> None:
    assert ipe("push", str(extension))[0] == 0
    extension_id = manifest(extension)["id"]
    code, out, err = ipe("pull", extension_id, str(tmp_path / "copy"))
    assert code == 0, err
    assert (tmp_path / "copy" / "extension.py").read_bytes() == (extension / "extension.py").read_bytes()
    assert ipe("push", str(tmp_path / "copy"))[0] == 0
    assert len(platform.extensions) == 1


def test_pull_of_an_unknown_id_is_one_line(platform: PlatformStandIn, ipe: Any) -> None:
    code, out, err = ipe("pull", f"{ORG}-nosuchextension")
    assert code == 2
    assert f"404 Not Found on GET /extensions/{ORG}-nosuchextension" in err and err.count("\n") == 1


def test_remote_test_agrees_on_a_skip_reported_as_success(
    platform: PlatformStandIn, ipe: Any, make_extension: Callable[..., Path]
) -> None:
    """The Test API has no SKIPPED status: a skip answers SUCCESS with the item unchanged, and so
    does the harness's Test API JSON (harness.status keeps SKIPPED): the two agree."""
    skipper = make_extension('document.skip("nothing to do")\n', name="skipper", documents={"d.json": DOCUMENT})
    assert ipe("push", str(skipper))[0] == 0
    code, out, err = ipe("remote-test", str(skipper))
    assert code == 0, out + err
    assert "agree (SUCCESS)" in out

    def answer_rejected(report: dict[str, Any]) -> None:  # were Coveo to answer a skip otherwise
        report["result"] = {"status": "REJECTED", "reason": "nothing to do"}

    platform.tamper = answer_rejected
    code, out, err = ipe("remote-test", str(skipper))
    assert code == 1
    assert '  result.status: local "SUCCESS", remote "REJECTED"' in out
    assert "the script called document.skip()" in out and "worth a report" in out


def test_an_unreachable_platform_is_one_line(
    platform: PlatformStandIn, ipe: Any, extension: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("COVEO_PLATFORM_URL", f"http://127.0.0.1:{port}")
    code, out, err = ipe("push", str(extension))
    assert code == 2
    assert err == f"ipe: error: cannot reach 127.0.0.1:{port} (ConnectionError): check COVEO_PLATFORM_URL, --region and your network\n"


def test_remote_test_compares_the_error_line_and_message(
    platform: PlatformStandIn, ipe: Any, make_extension: Callable[..., Path]
) -> None:
    broken = make_extension('x = 1\ndocment.add_meta_data({"a": "b"})\n', name="broken", documents={"d.json": DOCUMENT})
    code, _, err = ipe("push", str(broken))
    assert code == 3 and "leak check that could not run" in err  # a check that checked nothing is no pass
    assert ipe("push", str(broken), "--force")[0] == 0

    def tamper(report: dict[str, Any]) -> None:
        report["result"]["reason"] = report["result"]["reason"].replace("line 2", "line 3")

    platform.tamper = tamper
    code, out, err = ipe("remote-test", str(broken))
    assert code == 1
    # Python 3.10's traceback module adds "Did you mean: 'document'?"; 3.11's does not
    said = "NameError: name 'docment' is not defined(?:. Did you mean: 'document'\\?)?"
    assert re.search(f'  result.reason: local "line 2: {said}", remote "line 3: {said}"', out), out


def test_remote_test_goes_on_without_the_view_privilege(platform: PlatformStandIn, ipe: Any, extension: Path) -> None:
    extension_id = deployed(ipe, extension)
    platform.fail("GET", f"/extensions/{extension_id}", 403)
    code, out, err = ipe("remote-test", str(extension))
    assert code == 0, err
    assert "cannot read the deployed script" in err and "agree (SUCCESS)" in out


REWRITES = """
html = document.DataStream("body_html")
html.write("<p>rewritten</p>")
document.add_data_stream(html)
document.add_allowed("alice@example.com", "user", "Email Security Provider")
"""


@pytest.fixture
def rewriter(make_extension: Callable[..., Path], ipe: Any) -> Path:
    folder = make_extension(REWRITES, name="rewriter", documents={"d.json": DOCUMENT})
    assert ipe("push", str(folder))[0] == 0
    return folder


def _added_stream(report: dict[str, Any]) -> dict[str, Any]:
    (entry,) = [e for e in report["document"]["dataStreams"] if "body_html" in e["values"]]
    body: dict[str, Any] = entry["values"]["body_html"]
    return body


def test_remote_test_compares_streams_and_permissions(platform: PlatformStandIn, ipe: Any, rewriter: Path) -> None:
    assert ipe("remote-test", str(rewriter))[0] == 0

    def tamper(report: dict[str, Any]) -> None:
        import base64

        _added_stream(report)["inlineContent"] = base64.b64encode(b"<p>other</p>").decode()
        report["document"]["permissions"][0]["permissionSets"][0]["permissions"][0]["identity"] = "bob@example.com"

    platform.tamper = tamper
    code, out, err = ipe("remote-test", str(rewriter), "--json")
    assert code == 1
    differences = {d["field"]: d for d in json.loads(out)["differences"]}
    assert set(differences) == {"dataStreams.body_html", "document.permissions"}
    assert differences["dataStreams.body_html"]["local"] == "<p>rewritten</p>"
    assert differences["dataStreams.body_html"]["remote"] == "<p>other</p>"
    assert differences["document.permissions"]["remote"][0]["permissionSets"][0]["permissions"][0]["identity"] == "bob@example.com"


def test_remote_test_tolerates_harmless_differences(platform: PlatformStandIn, ipe: Any, rewriter: Path) -> None:
    """Identity types in another case, a compressed stream, a stream given by id, metadata origins."""

    def tamper(report: dict[str, Any]) -> None:
        import base64
        import zlib

        for level in report["document"]["permissions"]:
            for pset in level["permissionSets"]:
                for perm in pset["permissions"]:
                    perm["identityType"] = perm["identityType"].lower()
        stream = _added_stream(report)
        content = base64.b64decode(stream["inlineContent"])
        stream.update(inlineContent=base64.b64encode(zlib.compress(content)).decode(), compressionType="ZLIB")
        report["document"]["dataStreams"].append({"origin": "uploaded", "values": {"DOCUMENT_DATA": {
            "id": "47ce8655-3d0e-43d8-a997-f85fc5ab9e95", "compressionType": "UNCOMPRESSED"}}})
        for entry in report["document"]["metadata"]:
            entry["origin"] = entry["origin"].upper()

    platform.tamper = tamper
    code, out, err = ipe("remote-test", str(rewriter))
    assert code == 0, out
    assert "agree (SUCCESS)" in out
    assert "note: remote data stream 'documentdata' is given by id, not inline: not compared" in out


def test_push_refuses_a_script_holding_a_vault_value(
    platform: PlatformStandIn, ipe: Any, make_extension: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    pasted = "fake-pasted-secret-3b9f01"
    monkeypatch.setenv("VAULT_crm_key", pasted)
    folder = make_extension(f'x = 1\ntoken = "{pasted}"\n', name="pasted", documents={"d.json": DOCUMENT})
    code, out, err = ipe("push", str(folder))
    assert code == 3
    assert "extension.py:2 holds the value of vault key 'crm_key' literally" in err
    assert platform.requests == []
    assert pasted not in out + err

    code, out, err = ipe("push", str(folder), "--force")
    assert code == 0, err
    assert "warning: extension.py:2 holds" in err and "created extension 'pasted'" in out
