"""Keeping a run off the network: for leak checks, and for tests that must not call out by accident.

Two layers, because scripts reach the network two ways:

* requests (what IPE scripts almost always use) is served by requests-mock: a catch-all
  answer for ``ipe check``, or the test's own mocks;
* anything else (``urllib.request``, ``http.client``, raw sockets) meets a guard on
  ``socket.connect``, ``sendto`` (UDP) and the DNS lookups (``getaddrinfo``,
  ``gethostbyname``, ``gethostbyname_ex``) that refuses every address except the ones allowed,
  before a single packet leaves.  A datagram and a refused lookup are recorded with the run's
  requests (``udp://`` and ``dns://`` URLs), so a value sent that way is a finding too.

A refused connection raises ``ConnectionRefusedError`` (an ``OSError``), which requests and
urllib turn into their own connection errors, so the script sees an ordinary network failure
whose message names the URL or address and says how to allow it.
"""

from __future__ import annotations

import contextvars
import ipaddress
import socket
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import requests_mock

from harness.outbound import OutgoingRequest, record

__all__ = ["BlockedConnection", "guard_sockets", "offline"]


class BlockedConnection(ConnectionRefusedError):
    """A connection the harness refused to open."""


_original_getaddrinfo = socket.getaddrinfo
_original_gethostbyname = socket.gethostbyname
_original_gethostbyname_ex = socket.gethostbyname_ex
_original_connect = socket.socket.connect
_original_sendto = socket.socket.sendto
_original_connect_ex = socket.socket.connect_ex
_install_lock = threading.Lock()
_installed = False


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return host.lower() == "localhost"


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


class _Rules:
    """What one guarded block allows: names, the addresses they resolved to, loopback."""

    def __init__(self, hosts: Iterable[str], loopback: bool, hint: str) -> None:
        self.hosts = {h.lower().rstrip(".") for h in hosts}
        self.loopback = loopback
        self.hint = hint

    def allows(self, host: str) -> bool:
        return (self.loopback and _is_loopback(host)) or host.lower().rstrip(".") in self.hosts

    def refuse(self, host: str, port: Any) -> BlockedConnection:
        return BlockedConnection(f"ipe-harness blocked a connection to {host}:{port}: {self.hint}")


_rules: contextvars.ContextVar[_Rules | None] = contextvars.ContextVar("ipe_socket_rules", default=None)


def _check(sock: socket.socket, address: Any) -> None:
    rules = _rules.get()
    if rules is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return
    host = str(address[0]) if isinstance(address, tuple) and address else str(address)
    if not rules.allows(host):
        raise rules.refuse(host, address[1] if isinstance(address, tuple) and len(address) > 1 else "?")


def _refuse_lookup(rules: _Rules, name: str, port: Any) -> BlockedConnection:
    """The refusal of a DNS lookup, recorded as a request: the name itself would have left the
    machine (a value hidden in ``<value>.attacker.example`` reaches the attacker's DNS server)."""
    if not _is_address(name):  # an address literal needs no query: nothing leaves
        record(OutgoingRequest(method="LOOKUP", url=f"dns://{name}", via="dns"))
    return rules.refuse(name, port)


def _getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
    """Refuse even the DNS lookup of a host that is not allowed: the query itself leaves the machine."""
    rules = _rules.get()
    name = host.decode("idna") if isinstance(host, bytes) else str(host)
    if rules is not None and host is not None and not rules.allows(name):
        raise _refuse_lookup(rules, name, port)
    answers = _original_getaddrinfo(host, port, *args, **kwargs)
    if rules is not None:
        rules.hosts.update(str(info[4][0]).lower() for info in answers)
    return answers


def _gethostbyname(host: str) -> str:
    rules = _rules.get()
    if rules is not None and not rules.allows(str(host)):
        raise _refuse_lookup(rules, str(host), "?")
    return _original_gethostbyname(host)


def _gethostbyname_ex(host: str) -> tuple[str, list[str], list[str]]:
    rules = _rules.get()
    if rules is not None and not rules.allows(str(host)):
        raise _refuse_lookup(rules, str(host), "?")
    return _original_gethostbyname_ex(host)


def _sendto(self: socket.socket, data: Any, *args: Any) -> Any:
    """A datagram is recorded (its payload is what leaves), then checked like a connection."""
    address = args[-1] if args else None
    if isinstance(address, tuple) and len(address) > 1 and self.family in (socket.AF_INET, socket.AF_INET6):
        host = f"[{address[0]}]" if ":" in str(address[0]) else str(address[0])
        record(OutgoingRequest(method="SENDTO", url=f"udp://{host}:{address[1]}",
                               body=bytes(data) if isinstance(data, (bytes, bytearray, memoryview)) else b"",
                               via="socket"))
    _check(self, address)
    return _original_sendto(self, data, *args)


def _connect(self: socket.socket, address: Any) -> Any:
    _check(self, address)
    return _original_connect(self, address)


def _connect_ex(self: socket.socket, address: Any) -> Any:
    _check(self, address)
    return _original_connect_ex(self, address)


def _install() -> None:
    global _installed
    with _install_lock:
        if not _installed:
            socket.getaddrinfo = _getaddrinfo
            socket.gethostbyname = _gethostbyname
            socket.gethostbyname_ex = _gethostbyname_ex
            socket.socket.sendto = _sendto  # type: ignore[method-assign,assignment]
            socket.socket.connect = _connect  # type: ignore[method-assign,assignment]
            socket.socket.connect_ex = _connect_ex  # type: ignore[method-assign,assignment]
            _installed = True


@contextmanager
def guard_sockets(
    allowed_hosts: Iterable[str] = (), *, loopback: bool = True, hint: str = "the harness runs offline"
) -> Iterator[None]:
    """Refuse, in this context (the script's thread included), every socket connection except to ``allowed_hosts`` (IP addresses
    or names as given to ``connect``) and, with ``loopback``, to this machine."""
    _install()
    token = _rules.set(_Rules(allowed_hosts, loopback, hint))
    try:
        yield
    finally:
        _rules.reset(token)


EMPTY_ANSWER_HEADERS = {"Content-Type": "application/json", "X-Ipe-Harness": "offline empty answer"}


@contextmanager
def offline() -> Iterator[requests_mock.Mocker]:
    """No request leaves the machine: requests gets an empty 200 answer for any URL, other
    clients get a refused connection.  Yields the Mocker, so recorded answers can be added."""
    with requests_mock.Mocker(real_http=False) as mocker, guard_sockets(
        loopback=False, hint="ipe check runs offline; record a cassette to give the script real answers"
    ):
        mocker.register_uri(requests_mock.ANY, requests_mock.ANY, status_code=200, content=b"",
                            headers=EMPTY_ANSWER_HEADERS)
        yield mocker
