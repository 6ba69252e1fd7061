"""extensions/http_enrichment: PIM lookups over HTTP with a vault password: mocked, recorded, real.

Most tests use the plugin's fixtures as a user's tests would: ``ipe`` runs the extension,
``vault`` holds this test's password (a canary unless set), ``requests_mock`` answers for the
PIM.  The shipped cassettes replay the PIM offline; the loopback-server tests call a real
socket, through ``harness.run_extension`` since they send the password over plain http on
purpose (a leak the ``ipe`` fixture would, rightly, fail).
"""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
import requests

import harness
from harness.cli import main

from harness.check import check_extension
from harness.redaction import Redactor

from ..conftest import EXTENSIONS, loopback_server
from .fake_pim import CATALOGUE, openssl_available, record
from .helpers import comments

EXT = EXTENSIONS / "http_enrichment"
DOCS = EXT / "documents"
BASE = "https://pim.acme.example/api/v2"
PASSWORD = "fake-pim-password-123"
VAULT = {"pim_api_password": PASSWORD}
ANVIL = CATALOGUE["ACME-1234"]  # what the fake PIM (and the cassettes) know of the anvil


def basic_auth(header: str) -> tuple[str, str]:
    scheme, _, token = header.partition(" ")
    assert scheme == "Basic"
    user, _, password = base64.b64decode(token).decode("utf-8").partition(":")
    return user, password


def test_product_is_enriched_from_the_pim(ipe, vault, requests_mock):
    vault["pim_api_password"] = PASSWORD
    requests_mock.get(f"{BASE}/products/ACME-1234", json=ANVIL)
    result = ipe.run(EXT, DOCS / "product.json")
    assert result.status == "SUCCESS", result.reason
    assert result.added_metadata == {
        "productname": ["Acme Anvil 20 kg"],
        "productbrand": ["Acme"],
        "productcategories": ["Tools", "Anvils"],
        "productinstock": ["true"],
        "productprice": [149.5],
        "productcurrency": ["CAD"],
    }
    assert result.metadata("ProductName") == ["Acme Anvil 20 kg"]
    assert comments(result) == [("NORMAL", "enriched SKU ACME-1234 with 6 fields from the PIM")]
    sent = requests_mock.last_request
    assert sent.headers["Accept"] == "application/json"
    assert basic_auth(sent.headers["Authorization"]) == ("coveo-indexer", PASSWORD)
    assert sent.timeout == 3.0
    assert result.leaks == []  # Basic auth over https to the PIM is where the password belongs


def test_password_comes_from_the_vault_and_user_from_parameters(ipe, vault, requests_mock):
    requests_mock.get(f"{BASE}/products/ACME-1234", json=ANVIL)
    result = ipe.run(EXT, DOCS / "product.json", parameters={"pim_user": "indexer-ci"})
    assert result.status == "SUCCESS"
    # the test vault gave the script a canary; it is what went out, and only in the auth header
    assert basic_auth(requests_mock.last_request.headers["Authorization"]) == ("indexer-ci", vault["pim_api_password"])
    assert result.leaks == []


def test_the_secret_is_never_logged(ipe, vault, requests_mock):
    vault["pim_api_password"] = PASSWORD
    requests_mock.get(f"{BASE}/products/ACME-1234", status_code=401)
    result = ipe.run(EXT, DOCS / "product.json")
    assert result.status == "SUCCESS"
    assert comments(result) == [
        ("ERROR", "PIM refused user coveo-indexer (HTTP 401): check the pim_api_password vault entry")
    ]
    for entry in result.logs:  # neither the value nor a mask of it (the harness masks what leaks)
        assert PASSWORD not in entry.comment and "REDACTED" not in entry.comment
    assert [(r.method, r.url) for r in result.requests] == [("GET", f"{BASE}/products/ACME-1234")]
    assert result.leaks == []


def test_sku_is_quoted_into_the_path_and_document_parameters_apply(ipe, vault, requests_mock):
    vault["pim_api_password"] = PASSWORD
    """rocket_skates.json is a Test API request: GZIP body, parameters of its own, a '/' in the SKU."""
    requests_mock.get(f"{BASE}/products/RS-88%2FB", json={"name": "Rocket Skates", "stock": 0})
    result = ipe.run(EXT, DOCS / "rocket_skates.json")
    assert result.status == "SUCCESS", result.reason
    assert result.added_metadata == {"productname": ["Rocket Skates"], "productinstock": ["false"]}
    assert requests_mock.last_request.url == f"{BASE}/products/RS-88%2FB"


def test_upstream_500_keeps_the_item_with_a_warning(ipe, vault, requests_mock):
    vault["pim_api_password"] = PASSWORD
    requests_mock.get(f"{BASE}/products/ACME-1234", status_code=500, text="Internal Server Error")
    result = ipe.run(EXT, DOCS / "product.json")
    assert result.status == "SUCCESS"
    assert result.changes == []
    assert comments(result) == [
        ("WARNING", "PIM answered HTTP 500 for SKU ACME-1234; indexed without product fields")
    ]


def test_unknown_sku_is_a_warning(ipe, vault, requests_mock):
    vault["pim_api_password"] = PASSWORD
    requests_mock.get(f"{BASE}/products/ACME-1234", status_code=404)
    result = ipe.run(EXT, DOCS / "product.json")
    assert result.status == "SUCCESS"
    assert result.changes == []
    assert comments(result) == [("WARNING", "SKU ACME-1234 is not in the PIM")]


def test_non_json_answer_is_a_warning(ipe, vault, requests_mock):
    vault["pim_api_password"] = PASSWORD
    requests_mock.get(f"{BASE}/products/ACME-1234", text="<html>maintenance</html>")
    result = ipe.run(EXT, DOCS / "product.json")
    assert result.status == "SUCCESS"
    assert comments(result) == [("WARNING", "PIM answer for SKU ACME-1234 is not JSON; indexed without product fields")]


def test_pim_timeout_keeps_the_item_with_a_warning(ipe, vault, requests_mock):
    vault["pim_api_password"] = PASSWORD
    requests_mock.get(f"{BASE}/products/ACME-1234", exc=requests.exceptions.ReadTimeout)
    result = ipe.run(EXT, DOCS / "product.json", parameters={"pim_timeout": "1.5"})
    assert result.status == "SUCCESS"
    assert result.changes == []
    assert comments(result) == [
        ("WARNING", "PIM did not answer within 1.5s for SKU ACME-1234; indexed without product fields")
    ]
    assert requests_mock.last_request.timeout == 1.5


def test_connection_error_keeps_the_item_with_a_warning(ipe, vault, requests_mock):
    vault["pim_api_password"] = PASSWORD
    requests_mock.get(f"{BASE}/products/ACME-1234", exc=requests.exceptions.ConnectionError)
    result = ipe.run(EXT, DOCS / "product.json")
    assert result.status == "SUCCESS"
    assert comments(result) == [
        ("WARNING", "PIM unreachable for SKU ACME-1234 (ConnectionError); indexed without product fields")
    ]


def test_item_without_sku_is_skipped_without_reading_the_vault(ipe, vault, requests_mock):
    result = ipe.run(EXT, DOCS / "no_sku.json")
    assert "pim_api_password" not in vault
    assert result.status == "SKIPPED"
    assert result.reason == "no sku metadata: nothing to look up"
    assert requests_mock.call_count == 0


def test_missing_vault_entry_fails_the_item_naming_the_key(ipe, requests_mock):
    result = ipe.run(EXT, DOCS / "product.json", vault={})
    assert result.status == "EXECUTION_ERROR"
    assert "pim_api_password" in result.reason and ".env" in result.reason
    assert requests_mock.call_count == 0


# -- a real HTTP server on the loopback interface ------------------------------------------


class _FakePim(BaseHTTPRequestHandler):
    seen: list[dict[str, Any]] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        type(self).seen.append({"path": self.path, "authorization": self.headers.get("Authorization", "")})
        body = json.dumps({**ANVIL, "name": "Anvil from the loopback PIM"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # keep the test output quiet
        pass


@pytest.fixture
def fake_pim(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    seen: list[dict[str, Any]] = []
    handler = type("Handler", (_FakePim,), {"seen": seen})
    with loopback_server(handler) as url:
        yield f"{url}/pim/api", seen


def test_real_http_server_gets_the_request_with_path_and_auth(fake_pim):
    base, seen = fake_pim
    result = harness.run_extension(EXT, DOCS / "product.json", parameters={"pim_base_url": base}, vault=VAULT)
    assert result.status == "SUCCESS", result.reason
    assert result.added_metadata["productname"] == ["Anvil from the loopback PIM"]
    assert len(seen) == 1
    assert seen[0]["path"] == "/pim/api/products/ACME-1234"
    assert basic_auth(seen[0]["authorization"]) == ("coveo-indexer", PASSWORD)
    # ...and the harness flags it: the password went out over plain http://
    assert [(leak.key, leak.channel) for leak in result.leaks] == [("pim_api_password", "plain_http")]
    assert PASSWORD not in json.dumps(result.to_json())


def test_ipe_run_param_points_the_cli_at_the_real_server(fake_pim, capsys, monkeypatch):
    base, seen = fake_pim
    monkeypatch.setenv("VAULT_pim_api_password", PASSWORD)
    code = main(["run", str(EXT), "--document", str(DOCS / "product.json"), "--param", f"pim_base_url={base}",
                 "--json", "--live"])
    assert code == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["result"]["status"] == "SUCCESS"
    added = answer["document"]["metadata"][-1]
    assert added["origin"] == "http_enrichment"
    assert added["values"]["productname"] == ["Anvil from the loopback PIM"]
    assert [s["path"] for s in seen] == ["/pim/api/products/ACME-1234"]
    assert basic_auth(seen[0]["authorization"])[1] == PASSWORD


# -- the extension's own documents, end to end ---------------------------------------------


def test_ipe_run_on_its_documents_exits_0_with_the_vault_from_the_environment(requests_mock, monkeypatch, capsys):
    monkeypatch.setenv("VAULT_pim_api_password", PASSWORD)
    requests_mock.get(f"{BASE}/products/ACME-1234", json=ANVIL)
    requests_mock.get(f"{BASE}/products/RS-88%2FB", status_code=503)
    assert main(["run", str(EXT)]) == 0
    out = capsys.readouterr().out
    assert "3 documents: 1 SKIPPED, 2 SUCCESS" in out
    assert "PIM answered HTTP 503 for SKU RS-88/B" in out
    # ipe run runs each document in a child process: the mock answers there (the child inherits
    # it), so this process's call_count stays 0; the answers above show both mocks were used.
    assert "Acme Anvil 20 kg" in out


def test_ipe_run_without_the_vault_entry_exits_1(requests_mock, capsys):
    assert main(["run", str(EXT)]) == 1
    out = capsys.readouterr().out
    assert "EXECUTION_ERROR" in out and "pim_api_password" in out
    assert requests_mock.call_count == 0


# -- the shipped cassettes: the PIM's answers, offline ---------------------------------------------


@pytest.mark.ipe_cassette
def test_documents_replay_their_cassettes_offline_with_this_tests_password(ipe, vault):
    vault["pim_api_password"] = "fake-pim-password-rotated-456"  # not the one recorded: placeholders match any
    anvil = ipe.run(EXT, DOCS / "product.json")
    assert anvil.status == "SUCCESS", anvil.reason
    assert anvil.metadata("productprice") == [149.5]
    assert [r.url for r in anvil.requests] == [f"{BASE}/products/ACME-1234"]
    skates = ipe.run(EXT, DOCS / "rocket_skates.json")
    assert skates.metadata("productname") == ["Acme Rocket Skates"]
    assert skates.metadata("productinstock") == ["false"]


def test_a_request_the_cassette_does_not_hold_fails_the_run_clearly(ipe):
    result = ipe.run(EXT, DOCS / "product.json", parameters={"pim_base_url": "https://pim-eu.acme.example/api/v2"},
                     cassette=True)
    assert result.status == "EXECUTION_ERROR"
    assert "no interaction recorded in" in result.reason
    assert "GET https://pim-eu.acme.example/api/v2/products/ACME-1234" in result.reason
    assert "--record" in result.reason


def test_shipped_cassettes_hold_placeholders_never_the_password():
    for cassette in sorted((EXT / "cassettes").glob("*.yaml")):
        text = cassette.read_text(encoding="utf-8")
        assert "{{ VAULT.pim_api_password }}" in text
        assert Redactor({"pim_api_password": PASSWORD}).find(text) == [], cassette.name


def test_ipe_run_on_its_documents_runs_offline_on_the_cassettes(monkeypatch, capsys):
    monkeypatch.setenv("VAULT_pim_api_password", "fake-any-password-789")
    assert main(["run", str(EXT)]) == 0
    captured = capsys.readouterr()
    assert "3 documents: 1 SKIPPED, 2 SUCCESS" in captured.out
    assert "Acme Rocket Skates" in captured.out
    assert "replaying" in captured.err and "product.yaml" in captured.err


def test_ipe_check_replays_the_cassettes_and_finds_the_extension_clean():
    report = check_extension(EXT)
    assert [r.status for r in report.results] == ["SKIPPED", "SUCCESS", "SUCCESS"]
    assert report.results[1].metadata("productname") == ["Acme Anvil 20 kg"]
    assert report.clean, report.to_json()


@pytest.mark.skipif(not openssl_available(), reason="recording needs the openssl command for a certificate")
def test_shipped_cassettes_are_what_recording_the_pim_gives(tmp_path, capsys):
    """The cassettes are recorded, not hand-written: a fresh recording equals them."""
    copy = tmp_path / "http_enrichment"
    shutil.copytree(EXT, copy, ignore=shutil.ignore_patterns("cassettes"))
    assert record(copy) == 0
    capsys.readouterr()
    for shipped in sorted((EXT / "cassettes").glob("*.yaml")):
        fresh = copy / "cassettes" / shipped.name
        assert _comparable(fresh) == _comparable(shipped), shipped.name


def _comparable(cassette) -> list:
    """A cassette's interactions without the User-Agent header (it names the requests version)."""
    import yaml

    interactions = yaml.safe_load(cassette.read_text(encoding="utf-8"))["interactions"]
    for interaction in interactions:
        interaction["request"]["headers"].pop("User-Agent", None)
    return interactions
