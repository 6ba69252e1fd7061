"""Coveo's JSON encoder, installed in the ``json`` module while a script runs.

Coveo's Python 3 runner replaces ``json.JSONEncoder`` and ``json._default_encoder`` by its own
encoder for as long as a document's script runs (see ``docs/coveo-behaviour.md``).  A script
that calls ``json.dumps`` therefore gets, in Coveo:

* a ``datetime`` as an int of seconds since 1970-01-01, computed on the wall-clock time (the
  epoch is taken in the datetime's own ``tzinfo``, so the offset cancels out);
* a ``date`` as an int of seconds (its days since 1970-01-01 times 86,400);
* a document object (``document``, a ``MetaDataValue``, a permission, a stream) as its JSON
  form (``{"URI", "MetaData", ...}``, ``{"Origin", "Values"}``, ...);
* anything else that JSON cannot encode as ``str(obj)``, instead of a ``TypeError``.

The same rules turn the values a script added with ``add_meta_data`` into what the Test API
returns (:func:`encode_value`).  :func:`installed` swaps the encoder in and always puts the
original back, so nothing outside a run (the harness's own output, other tests) sees it.
"""

from __future__ import annotations

import datetime
import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["CoveoJSONEncoder", "encode_value", "epoch_seconds", "installed"]

_ORIGINAL_ENCODER = json.JSONEncoder


def epoch_seconds(value: datetime.date) -> int:
    """Seconds since 1970-01-01 as Coveo's encoder computes them (wall clock for a datetime)."""
    if isinstance(value, datetime.datetime):  # a datetime is also a date: test it first
        epoch = datetime.datetime(1970, 1, 1, tzinfo=value.tzinfo)
        return int((value - epoch).total_seconds())
    return int((value - datetime.date(1970, 1, 1)).total_seconds())


class CoveoJSONEncoder(_ORIGINAL_ENCODER):
    """``json.JSONEncoder`` with Coveo's fallbacks for what JSON cannot encode natively."""

    def default(self, o: Any) -> Any:
        to_json = getattr(type(o), "_to_json", None)
        if to_json is not None and getattr(type(o), "__module__", "") == "harness.document":
            return to_json(o)
        if isinstance(o, datetime.date):
            return epoch_seconds(o)
        return str(o)


@contextmanager
def installed() -> Iterator[None]:
    """Coveo's encoder as ``json.JSONEncoder`` and ``json._default_encoder`` for the block."""
    saved_class, saved_default = json.JSONEncoder, json._default_encoder  # type: ignore[attr-defined]
    json.JSONEncoder = CoveoJSONEncoder  # type: ignore[misc]
    json._default_encoder = CoveoJSONEncoder()  # type: ignore[attr-defined]
    try:
        yield
    finally:
        json.JSONEncoder = saved_class  # type: ignore[misc]
        json._default_encoder = saved_default  # type: ignore[attr-defined]


def encode_value(value: Any) -> Any:
    """One metadata value as the Test API returns it: what Coveo's encoder makes of it.

    ``add_meta_data`` keeps int, bool, float, str, datetime, date and bytes as they are and
    turns everything else into ``str``; the encoder then turns datetime/date into epoch
    seconds and bytes into their ``str()`` (``"b'...'"``).  A float that is not finite
    becomes its ``str()`` so that the harness's output stays valid JSON (Coveo's encoder
    would write ``NaN``).
    """
    if isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, datetime.date):
        return epoch_seconds(value)
    if isinstance(value, dict):  # an API v2 dictionary field
        return {str(k): encode_value(v) for k, v in value.items()}
    return str(value)
