"""Where the platform is and who we are to it: ``COVEO_API_KEY``, ``COVEO_ORGANIZATION_ID``, the host.

The values come from the process environment or from ``.env`` (the environment wins), read by
:func:`harness.vault.load_vault`, which already keeps these lines apart from the vault entries.
The host is ``COVEO_PLATFORM_URL`` (default ``https://platform.cloud.coveo.com``), or the
regional host that ``--region`` names.  Coveo's regional hosts are ``platform-<region>.cloud.coveo.com``
(docs.coveo.com "Organization endpoints", and platform-client's ``Endpoints``), HIPAA has its own.

The API key is a secret like a vault value: :class:`PlatformSettings` never shows it in its
``repr``, and plain ``http://`` is refused for any host but the loopback one, so the key never
travels in clear.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from harness.errors import HarnessError
from harness.vault import load_vault

__all__ = ["DEFAULT_PLATFORM_URL", "REGIONS", "PlatformSettings", "load_settings"]

DEFAULT_PLATFORM_URL = "https://platform.cloud.coveo.com"
REGIONS: dict[str, str] = {
    "us": DEFAULT_PLATFORM_URL,
    "eu": "https://platform-eu.cloud.coveo.com",
    "au": "https://platform-au.cloud.coveo.com",
    "ca": "https://platform-ca.cloud.coveo.com",
    "hipaa": "https://platformhipaa.cloud.coveo.com",
}
"""``--region`` -> platform host."""

_LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class PlatformSettings:
    """The organization, the platform host and the API key (``""`` when none is set)."""

    organization_id: str
    platform_url: str
    api_key: str = field(default="", repr=False)

    def __repr__(self) -> str:  # never the key, not even its length
        key = "set" if self.api_key else "not set"
        return f"PlatformSettings(organization_id={self.organization_id!r}, platform_url={self.platform_url!r}, api_key={key})"

    def require_key(self) -> str:
        """The API key, or a one-line error saying where to set it."""
        if not self.api_key:
            raise HarnessError("no API key: set COVEO_API_KEY in the environment or in .env "
                               "(an API key with the Extensions and Vault entries privileges)")
        return self.api_key


def load_settings(
    region: str | None = None,
    *,
    env_file: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> PlatformSettings:
    """Read the settings from the environment and ``.env``; ``region`` picks a regional host.

    An explicit ``region`` wins over ``COVEO_PLATFORM_URL``: the command line is the more
    deliberate choice.  A missing organization is an error (every URL holds it); a missing key
    is not, so that ``--dry-run`` works without one (see :meth:`PlatformSettings.require_key`).
    """
    settings = load_vault(env_file=env_file, environ=environ).settings
    organization = settings.get("COVEO_ORGANIZATION_ID", "").strip()
    if not organization:
        raise HarnessError("no organization: set COVEO_ORGANIZATION_ID in the environment or in .env")
    if region is not None:
        url = REGIONS.get(region.lower())
        if url is None:
            raise HarnessError(f"--region {region!r}: expected one of {', '.join(REGIONS)}")
    else:
        url = settings.get("COVEO_PLATFORM_URL", "").strip() or DEFAULT_PLATFORM_URL
    return PlatformSettings(organization, _checked_url(url), settings.get("COVEO_API_KEY", "").strip())


def _checked_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise HarnessError(f"COVEO_PLATFORM_URL {url!r}: expected an https:// URL such as {DEFAULT_PLATFORM_URL}")
    if parts.scheme == "http" and parts.hostname not in _LOOPBACK:
        raise HarnessError(f"COVEO_PLATFORM_URL {url!r}: plain http is allowed only for a loopback host "
                           "(the API key would travel in clear); use https://")
    if parts.query or parts.fragment:
        raise HarnessError(f"COVEO_PLATFORM_URL {url!r}: expected a bare host URL, without ?query or #fragment")
    return url.rstrip("/")
