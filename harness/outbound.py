"""Outgoing HTTP: what a script sends over the network, seen at the transport level.

Leak detection needs every request a script makes, whether it reaches a real server or
requests-mock.  Both paths meet at a requests *transport adapter* (``HTTPAdapter.send`` for
the network, requests-mock's ``Adapter.send`` for mocks), so those two methods are wrapped,
once per process.  Requests made without requests (``urllib.request``, ``http.client``) are
seen one level lower, where ``http.client`` writes the request line, headers and body.

Recording is active only inside :func:`observe`; elsewhere the wrappers cost one
context-variable lookup.  Nothing here prints, logs or stores anything outside the list the
caller gets back.
"""

from __future__ import annotations

import contextvars
import http.client
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

__all__ = ["OutgoingRequest", "observe", "record"]


@dataclass
class OutgoingRequest:
    """One request as it left the script: method, full URL, headers and body bytes."""

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    via: str = "requests"
    """``requests`` (any requests adapter, mocked or real), ``http.client`` (urllib and others),
    ``socket`` (a UDP datagram, ``udp://`` URL) or ``dns`` (a lookup the guard refused, ``dns://``)."""

    @property
    def scheme(self) -> str:
        return urlsplit(self.url).scheme.lower()

    @property
    def host(self) -> str:
        return (urlsplit(self.url).hostname or "").lower()


# The classes as Python defines them, kept at import: vcrpy swaps the module attributes for its
# own stubs while a cassette is in use, and wrapping a stub would miss every later request.
_HTTP_CONNECTION = http.client.HTTPConnection
_HTTPS_CONNECTION = http.client.HTTPSConnection

_recording: contextvars.ContextVar[list[OutgoingRequest] | None] = contextvars.ContextVar(
    "ipe_outgoing_requests", default=None
)
_inside_adapter = threading.local()
_installed = False
_install_lock = threading.Lock()


def _body_bytes(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode("utf-8", "surrogateescape")
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body)
    return b""  # a file or generator body: not read, so the script still gets to send it


def _record(request: OutgoingRequest) -> None:
    target = _recording.get()
    if target is not None:
        target.append(request)


def record(request: OutgoingRequest) -> None:
    """Add a request seen elsewhere (a datagram, a refused DNS lookup) to the run's log, if any."""
    _record(request)


def _wrap_adapter_send(cls: Any) -> None:
    original = cls.send

    def send(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        if _recording.get() is not None:
            _record(OutgoingRequest(
                method=str(request.method or "GET").upper(),
                url=str(request.url),
                headers={str(k): str(v) for k, v in (request.headers or {}).items()},
                body=_body_bytes(request.body),
            ))
        depth = getattr(_inside_adapter, "depth", 0)
        _inside_adapter.depth = depth + 1
        try:
            return original(self, request, *args, **kwargs)
        finally:
            _inside_adapter.depth = depth

    send.__wrapped__ = original  # type: ignore[attr-defined]
    send.__doc__ = original.__doc__
    cls.send = send


def _wrap_http_client() -> None:
    """Record requests written through ``http.client`` by code that does not use requests."""
    connection = _HTTP_CONNECTION
    putrequest, putheader, send = connection.putrequest, connection.putheader, connection.send

    def active() -> bool:
        return _recording.get() is not None and not getattr(_inside_adapter, "depth", 0)

    def wrapped_putrequest(self: Any, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        if active():
            full = url
            if "://" not in url:
                scheme = "https" if isinstance(self, _HTTPS_CONNECTION) else "http"
                default = 443 if scheme == "https" else 80
                netloc = self.host if self.port in (None, default) else f"{self.host}:{self.port}"
                full = f"{scheme}://{netloc}{url}"
            self._ipe_request = OutgoingRequest(method=str(method).upper(), url=full, via="http.client")
            self._ipe_head_sent = False
            _record(self._ipe_request)
        else:
            self._ipe_request = None
        return putrequest(self, method, url, *args, **kwargs)

    def wrapped_putheader(self: Any, header: Any, *values: Any) -> Any:
        request = getattr(self, "_ipe_request", None)
        if request is not None and active():
            name = header.decode("latin-1") if isinstance(header, bytes) else str(header)
            request.headers[name] = ", ".join(
                v.decode("latin-1") if isinstance(v, bytes) else str(v) for v in values
            )
        return putheader(self, header, *values)

    def wrapped_send(self: Any, data: Any) -> Any:
        request = getattr(self, "_ipe_request", None)
        if request is not None and active():
            chunk = _body_bytes(data)
            if not getattr(self, "_ipe_head_sent", False):
                # The first send is the header block, with the body glued on when it is small.
                self._ipe_head_sent = True
                chunk = chunk.partition(b"\r\n\r\n")[2]
            request.body += chunk
        return send(self, data)

    connection.putrequest = wrapped_putrequest  # type: ignore[method-assign]
    connection.putheader = wrapped_putheader  # type: ignore[method-assign]
    connection.send = wrapped_send  # type: ignore[method-assign]


def _install() -> None:
    global _installed
    with _install_lock:
        if _installed:
            return
        import requests.adapters

        _wrap_adapter_send(requests.adapters.HTTPAdapter)
        try:
            import requests_mock.adapter
        except ImportError:  # pragma: no cover - requests-mock is a dependency
            pass
        else:
            _wrap_adapter_send(requests_mock.adapter.Adapter)
        _wrap_http_client()
        _installed = True


class observe:
    """Record every request sent inside the block; ``with`` gives the list that fills up.

    A class rather than a ``@contextmanager`` generator: it is entered once per document,
    and the generator machinery costs more than the recording.
    """

    __slots__ = ("sent", "_token")

    def __init__(self) -> None:
        self.sent: list[OutgoingRequest] = []
        self._token: contextvars.Token[list[OutgoingRequest] | None] | None = None

    def __enter__(self) -> list[OutgoingRequest]:
        if not _installed:
            _install()
        self._token = _recording.set(self.sent)
        return self.sent

    def __exit__(self, *exc: object) -> None:
        if self._token is not None:
            _recording.reset(self._token)
