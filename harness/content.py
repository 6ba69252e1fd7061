"""Binary output seen the way a reader would see it: UTF-16 decoded, gzip and zlib inflated.

A data stream or a request body is bytes.  The redactor's byte engine finds a value written in
UTF-8, UTF-16 or Latin-1, and the ASCII aliases (base64, URL, JSON escapes ...) of UTF-8 text.
It cannot see an alias *inside* UTF-16 text (``body_text`` is UTF-16LE in Coveo, so a base64
token written there is two bytes a character), nor anything inside compressed content.  So
before scanning, bytes are opened layer by layer:

* gzip (``1f 8b``) and zlib (a valid two-byte zlib header) content is inflated, at most
  :data:`MAX_INFLATED` bytes of it (a small bomb must not exhaust memory), then opened again;
* UTF-16 text (a byte-order mark, or the zero bytes every other byte that mostly-ASCII text
  has) is decoded and searched with the text engine, so every alias is found in it.

Rewriting (redaction, cassette placeholders) goes the same way back: the decoded text is
rewritten and encoded again with the same codec and byte-order mark, so a UTF-16 stream stays
valid UTF-16; inflated content is rewritten and compressed again in its own format.  Content
that inflates past the cap is rewritten from its first :data:`MAX_INFLATED` bytes only, and
:func:`rewrite` says so, so the caller can warn.
"""

from __future__ import annotations

import codecs
import gzip
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from harness.redaction import Match, Redactor

__all__ = ["MAX_INFLATED", "Rewritten", "find", "rewrite", "utf16_codec"]

MAX_INFLATED = 32 * 1024 * 1024
"""Bytes of compressed content inflated before scanning (and rewriting)."""
_MAX_DEPTH = 3
"""Layers opened inside each other at most (gzip of gzip of UTF-16 text ...)."""


def utf16_codec(data: bytes) -> tuple[str, bytes] | None:
    """``(codec, byte-order mark)`` when ``data`` reads as UTF-16 text, else None.

    A byte-order mark decides; without one, mostly-ASCII text shows zero bytes at every odd
    (little-endian) or even (big-endian) offset.  The text must also decode strictly.
    """
    if len(data) < 2 or len(data) % 2:
        return None
    if data.startswith(codecs.BOM_UTF16_LE):
        codec, bom = "utf-16-le", codecs.BOM_UTF16_LE
    elif data.startswith(codecs.BOM_UTF16_BE):
        codec, bom = "utf-16-be", codecs.BOM_UTF16_BE
    else:
        sample = data[:4096]
        pairs = len(sample) // 2
        odd = sample[1::2].count(0)
        even = sample[0::2].count(0)
        if odd * 2 >= pairs and even * 8 < pairs:
            codec, bom = "utf-16-le", b""
        elif even * 2 >= pairs and odd * 8 < pairs:
            codec, bom = "utf-16-be", b""
        else:
            return None
    try:
        data[len(bom):].decode(codec)
    except UnicodeDecodeError:
        return None
    return codec, bom


def _compression(data: bytes) -> str | None:
    if data[:2] == b"\x1f\x8b":
        return "gzip"
    if len(data) >= 2 and data[0] & 0x0F == 8 and data[0] >> 4 <= 7 and (data[0] << 8 | data[1]) % 31 == 0:
        return "zlib"
    return None


def _inflate(data: bytes, kind: str) -> tuple[bytes, bool] | None:
    """The inflated content (at most :data:`MAX_INFLATED` bytes) and whether it was cut; None
    when ``data`` only looked compressed."""
    inflater = zlib.decompressobj(31 if kind == "gzip" else 15)
    try:
        inflated = inflater.decompress(data, MAX_INFLATED)
    except zlib.error:
        return None
    return inflated, bool(inflater.unconsumed_tail)


def _compress(data: bytes, kind: str) -> bytes:
    return gzip.compress(data, mtime=0) if kind == "gzip" else zlib.compress(data)


def find(redactor: Redactor, data: bytes, depth: int = 0) -> list[Match]:
    """Every alias occurrence in ``data`` and in its decoded and inflated layers.

    Offsets are meaningful only for matches in the raw bytes; a match found in a layer has
    its alias named after the layer (``utf-16-le(base64)``, ``gzip(plain)``).
    """
    from harness.redaction import Match

    if not data:
        return []
    if depth < _MAX_DEPTH:
        kind = _compression(data)
        opened = _inflate(data, kind) if kind is not None else None
        if kind is not None and opened is not None:
            return [Match(0, len(data), m.key, f"{kind}({m.alias})") for m in find(redactor, opened[0], depth + 1)]
        utf16 = utf16_codec(data)
        if utf16 is not None:  # the raw bytes too: binary that merely looks like UTF-16 may hold UTF-8
            codec, bom = utf16
            text = data[len(bom):].decode(codec)
            raw = [m for m in redactor.find_bytes(data) if not m.alias.startswith("utf-16")]
            return raw + [Match(0, len(data), m.key, f"{codec}({m.alias})") for m in redactor.find(text)]
    return list(redactor.find_bytes(data))


@dataclass(frozen=True)
class Rewritten:
    """What :func:`rewrite` made of some bytes."""

    data: bytes
    cut: bool = False
    """Compressed content inflated past :data:`MAX_INFLATED`: only its first part was kept."""


def rewrite(
    data: bytes,
    text: Callable[[str], str],
    raw: Callable[[bytes], bytes],
    depth: int = 0,
) -> Rewritten:
    """``data`` with ``text`` applied to its decoded text and ``raw`` to its raw bytes.

    Compressed content is inflated, rewritten, and compressed again (only when something
    changed); UTF-16 text is decoded, rewritten and encoded again; anything else goes to
    ``raw``.  Unchanged content comes back as the same bytes.
    """
    if not data or depth >= _MAX_DEPTH:
        return Rewritten(raw(data) if data else data)
    kind = _compression(data)
    if kind is not None:
        opened = _inflate(data, kind)
        if opened is not None:
            inflated, cut = opened
            inner = rewrite(inflated, text, raw, depth + 1)
            if inner.data == inflated and not cut:
                return Rewritten(data)
            if inner.data == inflated:  # cut, but nothing to change in the part read
                return Rewritten(data, inner.cut)
            return Rewritten(_compress(inner.data, kind), cut or inner.cut)
    utf16 = utf16_codec(data)
    if utf16 is not None:
        codec, bom = utf16
        decoded = data[len(bom):].decode(codec)
        changed = text(decoded)
        encoded = data if changed == decoded else bom + changed.encode(codec, "surrogatepass")
        return Rewritten(raw(encoded))  # unchanged unless UTF-8 hid in bytes that looked like UTF-16
    return Rewritten(raw(data))
