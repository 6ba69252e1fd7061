"""One HTTP session with the Coveo platform: Bearer auth, retries, one-line errors, no secret shown.

Why each piece is here:

* ``Authorization: Bearer <key>`` is set by an auth object on the session, so a ``~/.netrc``
  cannot replace it and requests drops it on a redirect to another host (and redirects are not
  followed anyway: the platform API never redirects, so one is reported as an error).
* Retries are urllib3's :class:`~urllib3.util.Retry`, mounted through an ``HTTPAdapter``: 429 and
  5xx are retried with exponential backoff, and a ``Retry-After`` header is honoured (capped, so a
  stray huge value cannot hang the command).  POST is not idempotent (a retried create could make
  two extensions), so a POST is retried only on 429 and 503, the answers that say it was not
  processed; read errors are not retried for the same reason.
* 401, 403, 404, 412 and every other failure become one :class:`PlatformError` line that says
  what to do, exit code 2.
* The API key and every local vault value are masked (with the harness's :class:`Redactor`) in
  every message this module produces: errors, ``--dry-run`` output and ``--verbose`` log lines,
  including the server's own error text, which may echo what was sent.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Collection, Mapping
from typing import Any
from urllib.parse import quote, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util import Retry

import harness
from harness.errors import HarnessError
from harness.platform.settings import PlatformSettings
from harness.redaction import Redactor

__all__ = ["MASK", "LOGGER", "PlatformClient", "PlatformError", "segment"]

MASK = "********"
LOGGER = logging.getLogger("harness.platform")
MAX_RETRY_AFTER = 120.0
"""Seconds: the longest ``Retry-After`` we wait for before trying again."""
_TIMEOUT = (10.0, 90.0)
"""(connect, read) seconds: the Test API runs the script before it answers."""
_IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})


class PlatformError(HarnessError):
    """The platform refused or failed a call: one line, exit code 2; ``status`` is the HTTP status."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def segment(value: str) -> str:
    """``value`` as one URL path segment (a vault key or an id may hold ``/`` or spaces)."""
    return quote(value, safe="")


class _Bearer(requests.auth.AuthBase):
    """``Authorization: Bearer <key>`` on every request; its repr never shows the key."""

    def __init__(self, key: str) -> None:
        self._key = key

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._key}"
        return request

    def __repr__(self) -> str:
        return "_Bearer(********)"


class _Retry(Retry):
    """urllib3's Retry, with the two choices above: no status retry of a POST that may have
    been processed, and a cap on ``Retry-After``."""

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        if method.upper() not in _IDEMPOTENT and status_code not in (429, 503):
            return False
        return super().is_retry(method, status_code, has_retry_after)

    def get_retry_after(self, response: Any) -> float | None:
        seconds = super().get_retry_after(response)
        return None if seconds is None else min(seconds, MAX_RETRY_AFTER)


class _Scrub(logging.Filter):
    """Masks secrets in every record that goes through the ``--verbose`` handler."""

    def __init__(self, scrub: Callable[[str], str]) -> None:
        super().__init__()
        self._scrub = scrub

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self._scrub(record.getMessage())
        record.args = None
        return True


class PlatformClient:
    """Calls ``{platform}/rest/organizations/{org}/...`` for one organization.

    ``secrets`` are the values (the local vault's) that must never appear in what this client
    prints or raises; the API key is always among them.  With ``dry_run=True`` nothing is sent:
    :meth:`call` hands the request to ``echo`` (method, URL, masked Authorization, JSON body)
    and returns None.
    """

    def __init__(
        self,
        settings: PlatformSettings,
        *,
        secrets: Mapping[str, str] | None = None,
        dry_run: bool = False,
        echo: Callable[[str], None] | None = None,
        retries: int = 5,
        backoff_factor: float = 0.5,
    ) -> None:
        self.settings = settings
        self.dry_run = dry_run
        self.echo = echo or print
        masked = dict(secrets or {})
        if settings.api_key:
            masked["COVEO_API_KEY"] = settings.api_key
        self._redactor = Redactor(masked)
        self._key = settings.api_key
        self.session = requests.Session()
        if not dry_run:
            self.session.auth = _Bearer(settings.require_key())
        self.session.headers.update({
            "Accept": "application/json",
            "User-Agent": f"ipe-harness/{harness.__version__}",
        })
        retry = _Retry(
            total=retries, connect=2, read=0, status=retries, other=0,
            allowed_methods=None, status_forcelist=(429, 500, 502, 503, 504),
            backoff_factor=backoff_factor, respect_retry_after_header=True, raise_on_status=False,
        )
        adapter = HTTPAdapter(max_retries=retry)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)

    @property
    def base(self) -> str:
        """The organization's REST root: every path below is relative to it."""
        return f"{self.settings.platform_url}/rest/organizations/{segment(self.settings.organization_id)}"

    def scrub(self, text: str) -> str:
        """``text`` with the API key and every local vault value masked."""
        if self._key:
            text = text.replace(self._key, MASK)
        return self._redactor.redact(text) if self._redactor else text

    def verbose_handler(self) -> logging.Handler:
        """A stderr handler for ``--verbose``: request lines and urllib3's retries, secrets masked."""
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("ipe: %(name)s: %(message)s"))
        handler.addFilter(_Scrub(self.scrub))
        return handler

    def call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        what: str,
        privilege: str,
        accept: Collection[int] = (),
    ) -> requests.Response | None:
        """Send one request; a 2xx answer (or one whose status is in ``accept``) is returned.

        ``what`` names the thing the call is about ("extension 'x'") and ``privilege`` the
        privilege it needs, for the error messages.  None in dry-run mode.
        """
        url = self.base + path
        if self.dry_run:
            self.echo(self._describe(method, url, body))
            return None
        LOGGER.debug("%s %s", method, url)
        try:
            response = self.session.request(method, url, json=body, timeout=_TIMEOUT, allow_redirects=False)
        except requests.exceptions.RetryError:
            raise PlatformError(f"{method} {url}: no answer after retries; try again later") from None
        except requests.exceptions.Timeout:
            raise PlatformError(f"{method} {url}: timed out waiting for Coveo; try again later") from None
        except requests.exceptions.RequestException as exc:
            host = urlsplit(url).netloc
            raise PlatformError(f"cannot reach {host} ({type(exc).__name__}): check COVEO_PLATFORM_URL, "
                                "--region and your network") from None
        LOGGER.debug("%s %s -> %s%s", method, url, response.status_code, self._retried(response))
        if 200 <= response.status_code < 300 or response.status_code in accept:
            return response
        raise self._failure(method, path, response, what, privilege)

    def json_of(self, response: requests.Response, method: str, path: str) -> Any:
        """The JSON body of an answer, or a one-line error when it is not JSON."""
        try:
            return response.json()
        except ValueError:
            raise PlatformError(f"{method} {self.base + path}: Coveo answered {response.status_code} "
                                "with a body that is not JSON") from None

    # -- messages ---------------------------------------------------------------------------------

    def _describe(self, method: str, url: str, body: Any) -> str:
        lines = [f"{method} {url}", f"Authorization: Bearer {MASK}"]
        if body is not None:
            lines += ["Content-Type: application/json", "", json.dumps(body, indent=2, ensure_ascii=False)]
        return self.scrub("\n".join(lines))

    @staticmethod
    def _retried(response: requests.Response) -> str:
        retries = getattr(response.raw, "retries", None)
        history = getattr(retries, "history", ()) or ()
        return f" (after {len(history)} retr{'y' if len(history) == 1 else 'ies'})" if history else ""

    def _failure(self, method: str, path: str, response: requests.Response, what: str, privilege: str) -> PlatformError:
        status = response.status_code
        where = f"{method} {path}"
        detail = self._detail(response)
        org, host = self.settings.organization_id, urlsplit(self.settings.platform_url).netloc
        if status == 401:
            message = (f"401 Unauthorized on {where}: Coveo refused the API key (COVEO_API_KEY): it is wrong, "
                       f"expired, or belongs to another organization or region than {org} on {host}")
        elif status == 403:
            message = (f"403 Forbidden on {where}: the API key lacks the privilege '{privilege}' "
                       f"in organization {org}")
        elif status == 404:
            message = f"404 Not Found on {where}: {what} does not exist in organization {org} on {host}"
        elif status == 412:
            message = f"412 Precondition Failed on {where}: Coveo refused {what}" + (f": {detail}" if detail else "")
        elif status == 429:
            message = f"429 Too Many Requests on {where}{self._retried(response)}: wait a minute and try again"
        elif status >= 500:
            message = (f"{status} {response.reason} on {where}{self._retried(response)}: Coveo failed; "
                       "try again later" + (f" ({detail})" if detail else ""))
        elif 300 <= status < 400:
            message = f"{status} on {where}: an unexpected redirect; check COVEO_PLATFORM_URL and --region"
        else:
            message = f"{status} {response.reason} on {where}" + (f": {detail}" if detail else "")
        return PlatformError(self.scrub(message), status)

    def _detail(self, response: requests.Response) -> str:
        """The server's own explanation (Coveo answers ``{"message", "errorCode"}``), on one line."""
        try:
            data = response.json()
        except ValueError:
            text = response.text.strip()
        else:
            if isinstance(data, dict):
                parts = [str(data[k]) for k in ("errorCode", "message") if data.get(k)]
                text = ": ".join(parts)
            else:
                text = ""
        text = self.scrub(" ".join(text.split()))  # masked before cutting: a cut value would not match
        return text[:300] + ("..." if len(text) > 300 else "")
