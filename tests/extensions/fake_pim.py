"""A stand-in for the PIM of extensions/http_enrichment, reachable as https://pim.acme.example.

The example's cassettes must show what a real recording holds - the real https URL, a Basic
``Authorization`` header - so they are recorded, not written by hand, against this server:

* an HTTPS server on 127.0.0.1 with a throw-away certificate for ``pim.acme.example``
  (made with the ``openssl`` command), trusted through ``REQUESTS_CA_BUNDLE``;
* ``pim.acme.example:443`` resolved to that server for the duration (no DNS query is made);
* a small catalogue behind ``GET /api/v2/products/<sku>``, Basic auth required.

Re-record the shipped cassettes with ``python -m tests.extensions.fake_pim`` from the
repository root; ``test_http_enrichment.py`` checks that a fresh recording equals them.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote

HOST = "pim.acme.example"
USER = "coveo-indexer"
PASSWORD = "fake-pim-password-123"
CATALOGUE: dict[str, dict[str, Any]] = {
    "ACME-1234": {
        "sku": "ACME-1234",
        "name": "Acme Anvil 20 kg",
        "brand": "Acme",
        "price": {"amount": 149.5, "currency": "CAD"},
        "stock": 12,
        "categories": ["Tools", "Anvils"],
    },
    "RS-88/B": {
        "sku": "RS-88/B",
        "name": "Acme Rocket Skates",
        "brand": "Acme",
        "price": {"amount": 899.0, "currency": "USD"},
        "stock": 0,
        "categories": ["Sports", "Propulsion"],
    },
}


def openssl_available() -> bool:
    return shutil.which("openssl") is not None


class _Pim(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        prefix = "/api/v2/products/"
        if self.headers.get("Authorization") != expected:
            self._send(401, {"error": "unauthorized"})
        elif not self.path.startswith(prefix) or unquote(self.path[len(prefix):]) not in CATALOGUE:
            self._send(404, {"error": "no such product"})
        else:
            self._send(200, CATALOGUE[unquote(self.path[len(prefix):])])

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def version_string(self) -> str:
        return "acme-pim/2.4"

    def date_time_string(self, timestamp: float | None = None) -> str:
        return "Mon, 02 Sep 2024 09:00:00 GMT"  # a fixed Date header: recordings compare equal

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def fake_pim() -> Iterator[None]:
    """https://pim.acme.example answered by a local fake for the duration of the block."""
    with tempfile.TemporaryDirectory() as folder:
        key, cert = Path(folder) / "key.pem", Path(folder) / "cert.pem"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
             "-days", "2", "-subj", f"/CN={HOST}", "-addext", f"subjectAltName=DNS:{HOST}"],
            check=True, capture_output=True,
        )
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Pim)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        port = server.server_address[1]
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        resolve = socket.getaddrinfo

        def getaddrinfo(host: Any, service: Any, *args: Any, **kwargs: Any) -> Any:
            if host == HOST:
                return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", ("127.0.0.1", port))]
            return resolve(host, service, *args, **kwargs)

        saved = {name: os.environ.get(name) for name in ("REQUESTS_CA_BUNDLE", "HTTPS_PROXY", "https_proxy")}
        os.environ["REQUESTS_CA_BUNDLE"] = str(cert)
        os.environ.pop("HTTPS_PROXY", None)
        os.environ.pop("https_proxy", None)
        socket.getaddrinfo = getaddrinfo
        try:
            yield
        finally:
            socket.getaddrinfo = resolve
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
            server.shutdown()
            server.server_close()
            thread.join(5)


def record(extension: Path) -> int:
    """``ipe run EXT --record`` against the fake PIM, with the fake password in the vault."""
    from harness.cli import main

    saved = os.environ.get("VAULT_pim_api_password")
    os.environ["VAULT_pim_api_password"] = PASSWORD
    try:
        with fake_pim():
            return main(["run", str(extension), "--record", "--json"])
    finally:
        if saved is None:
            os.environ.pop("VAULT_pim_api_password", None)
        else:
            os.environ["VAULT_pim_api_password"] = saved


if __name__ == "__main__":
    sys.exit(record(Path(__file__).resolve().parents[2] / "extensions" / "http_enrichment"))
