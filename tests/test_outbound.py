"""What a run records besides the document API: logging records and outgoing HTTP requests,
and the network guard that keeps checks and tests offline."""

from __future__ import annotations

import http.server
import logging
import socket
from collections.abc import Iterator

import pytest
import requests

from harness import run_extension
from harness.network import BlockedConnection, guard_sockets, offline
from tests.conftest import SAMPLE_DOCUMENT, loopback_server


class _Handler(http.server.BaseHTTPRequestHandler):
    seen: list[tuple[str, str, dict[str, str], bytes]] = []

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        type(self).seen.append((self.command, self.path, dict(self.headers), body))
        payload = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:  # keep the test output clean
        pass


@pytest.fixture
def server() -> Iterator[str]:
    _Handler.seen = []
    with loopback_server(_Handler) as url:
        yield url


def test_logging_records_of_a_run_are_in_the_result(make_extension):
    ext = make_extension(
        "import logging\n"
        "logging.getLogger('pim.client').warning('price %s for %s', 12, 'sku-1')\n"
        "logging.getLogger('quiet').debug('not emitted: the level is WARNING')\n",
    )
    result = run_extension(ext, SAMPLE_DOCUMENT, vault={})
    assert [(r.logger, r.level, r.message) for r in result.logging] == [("pim.client", "WARNING", "price 12 for sku-1")]
    assert result.to_json()["harness"]["logging"] == [
        {"logger": "pim.client", "level": "WARNING", "message": "price 12 for sku-1"}
    ]


def test_logging_exception_text_is_part_of_the_record(make_extension):
    ext = make_extension(
        "import logging\n"
        "try:\n"
        "    raise ValueError('upstream said no')\n"
        "except ValueError:\n"
        "    logging.getLogger('x').exception('call failed')\n",
    )
    [record] = run_extension(ext, SAMPLE_DOCUMENT, vault={}).logging
    assert record.level == "ERROR"
    assert record.message.startswith("call failed\nTraceback")
    assert "ValueError: upstream said no" in record.message


def test_a_scripts_basicconfig_does_not_outlive_its_run(make_extension):
    root = logging.getLogger()
    before = (root.handlers[:], root.level)
    ext = make_extension("import logging\nlogging.basicConfig(level=logging.DEBUG, force=True)\nlogging.debug('x')\n")
    result = run_extension(ext, SAMPLE_DOCUMENT, vault={})
    assert result.status == "SUCCESS"
    assert "DEBUG:root:x" in result.stderr  # basicConfig wrote to the script's own stderr
    assert (root.handlers, root.level) == before


def test_requests_through_requests_mock_are_recorded(make_extension, requests_mock):
    requests_mock.get("https://pim.example.com/v1/items/42", json={"name": "x"})
    ext = make_extension(
        "import requests\n"
        "r = requests.get('https://pim.example.com/v1/items/42', params={'lang': 'en'},\n"
        "                 headers={'X-Trace': 't1'}, timeout=2)\n"
        "log(str(r.status_code))\n",
    )
    result = run_extension(ext, SAMPLE_DOCUMENT, vault={})
    [request] = result.requests
    assert (request.method, request.url, request.via) == ("GET", "https://pim.example.com/v1/items/42?lang=en", "requests")
    assert request.headers["X-Trace"] == "t1"
    assert result.to_json()["harness"]["requests"] == [{"method": "GET", "url": "https://pim.example.com/v1/items/42?lang=en"}]


def test_requests_to_a_real_server_are_recorded_once(make_extension, server):
    ext = make_extension(
        "import requests\n"
        "r = requests.post(parameters['base'] + '/hook', data=b'payload', timeout=5)\n"
        "log(r.text)\n",
    )
    result = run_extension(ext, SAMPLE_DOCUMENT, vault={}, parameters={"base": server})
    assert result.status == "SUCCESS", result.reason
    assert [(r.method, r.url, r.body, r.via) for r in result.requests] == [("POST", server + "/hook", b"payload", "requests")]
    assert _Handler.seen[0][:2] == ("POST", "/hook")


def test_urllib_requests_are_recorded_at_the_http_client_level(make_extension, server):
    ext = make_extension(
        "import urllib.request\n"
        "req = urllib.request.Request(parameters['base'] + '/u?q=1', data=b'abc', headers={'X-K': 'v'})\n"
        "log(urllib.request.urlopen(req, timeout=5).read().decode())\n",
    )
    result = run_extension(ext, SAMPLE_DOCUMENT, vault={}, parameters={"base": server})
    assert result.status == "SUCCESS", result.reason
    [request] = result.requests
    assert (request.method, request.url, request.body, request.via) == ("POST", server + "/u?q=1", b"abc", "http.client")
    assert request.headers["X-K"] == "v"


def test_nothing_is_recorded_outside_a_run(server):
    requests.get(server + "/outside", timeout=5)  # must simply work, unrecorded
    assert _Handler.seen[-1][1] == "/outside"


def test_guard_refuses_non_loopback_connections_before_any_packet():
    with guard_sockets(hint="mock it"), socket.socket() as sock:
        with pytest.raises(BlockedConnection, match=r"blocked a connection to 192\.0\.2\.1:80: mock it"):
            sock.connect(("192.0.2.1", 80))


def test_guard_refuses_even_the_dns_lookup():
    with guard_sockets(), pytest.raises(BlockedConnection, match="pim.example.com"):
        socket.getaddrinfo("pim.example.com", 443)


def test_guard_lets_loopback_and_allowed_hosts_through(server):
    with guard_sockets():
        assert requests.get(server + "/ok", timeout=5).json() == {"ok": True}
    with guard_sockets(["127.0.0.1"], loopback=False):
        assert requests.get(server + "/ok", timeout=5).status_code == 200
    with guard_sockets(loopback=False), pytest.raises(requests.ConnectionError):
        requests.get(server + "/no", timeout=5)
    assert [s[1] for s in _Handler.seen] == ["/ok", "/ok"]


def test_offline_answers_requests_with_an_empty_200_and_refuses_other_clients(make_extension, server):
    ext = make_extension(
        "import requests, urllib.request\n"
        "r = requests.get('https://pim.example.com/v1/items/1', timeout=2)\n"
        "log(f'{r.status_code} {len(r.content)}')\n"
        "urllib.request.urlopen(parameters['base'] + '/x', timeout=2)\n",
    )
    with offline():
        result = run_extension(ext, SAMPLE_DOCUMENT, vault={}, parameters={"base": server})
    assert [e.comment for e in result.logs] == ["200 0"]
    assert result.status == "EXECUTION_ERROR"
    assert "blocked a connection to 127.0.0.1" in result.reason
    assert _Handler.seen == []
