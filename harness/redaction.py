"""Redaction: replace every vault value, in every form it can take in text, by ``[REDACTED:<key>]``.

A script rarely prints a secret as is.  It prints it inside a URL (percent-encoded), in an
``Authorization: Basic`` header (base64 of ``user:secret``), inside ``repr(dict)``, in JSON with
``\\uXXXX`` escapes, as hex, one line of a PEM key at a time...  So each value is registered
with all its *aliases*, and one multi-pattern scan finds every alias of every value in a single
pass over the text, however many values there are.  Overlapping, nested and adjacent
occurrences are merged into one range, and each range is replaced by one marker naming every
key it covers.

Engines
-------
The parent process redacts everything its workers send back, so the scan must run close to
memory speed.  Two engines give exactly the same matches:

* ``hyperscan`` (Intel Hyperscan, SIMD literal matching), where its package has a wheel
  (x86-64 Linux, Windows and macOS, and Apple silicon): 0.13-0.28x the speed of ``bytes.find``
  of an absent literal on ASCII or Latin-1 text and on bytes, with 10 to 1,000 values.  It
  scans bytes: text is scanned as Latin-1 where it fits, else as UTF-8 with the offsets of the
  few hits converted back to characters (about 0.04x: the conversions cost more than the
  scan).  Aliases longer than 1,024 bytes are found by their first 1,024 bytes and compared
  whole.
* ``pyahocorasick``, the fallback with a wheel everywhere: about 0.02-0.04x.

The fastest available is used; the environment variable ``IPE_REDACTION_ENGINE`` (read when a
redactor is built) can name the other.  ``benchmarks/bench_redaction.py`` measures both.

Alias families (the ``alias`` of a :class:`Match`)
--------------------------------------------------
``plain``       the value as given.
``stripped``    the value without surrounding whitespace (and without one pair of surrounding
                quotes, for a value written as ``"..."`` in a ``.env``).
``line``        one line of a multi-line value (stripped).
``json-leaf``   a string or number leaf of a value that is a JSON object or array.
``json-value``  such a JSON value re-serialized (``json.dumps`` default, compact, ``indent=2``,
                and the Python ``repr`` of the parsed object): a structured secret is masked
                whole however the script re-dumps it, and leaf by leaf otherwise.
``json``        the body of a JSON string, ``ensure_ascii=False`` (also with ``/`` as ``\\/``).
``json-ascii``  the same with ``ensure_ascii=True`` (``\\u00e9``; upper-case hex too).
``repr``        the body of ``repr(str)``, both quote styles (what ``str(dict)`` shows).
``repr-bytes``  the body of ``repr(value.encode())``, both quote styles.
``html``        ``html.escape`` with ``quote`` False/True (``&#x27;``, ``&#39;``, ``&apos;``), and
                with numeric character references for non-ASCII characters.
``shell``       ``'`` written as ``'"'"'`` (what ``shlex.quote`` does inside its quotes).
``url``         percent-encoding: ``quote`` with ``safe=''``, ``'/'``, JavaScript's
                ``encodeURIComponent`` set and the RFC 3986 reserved set (what ``requests``
                keeps in a URL); upper- and lower-case hex.
``form``        ``quote_plus`` (space as ``+``, what ``urlencode`` and HTML forms produce); both
                hex cases.
``base64``      standard base64 of the UTF-8 bytes.  For each of the three byte alignments the
                value can have inside a larger encoded buffer, only the *stable core* is
                registered: the characters whose 6 bits all come from the value.  That catches
                ``base64(secret)`` with or without padding, ``base64(secret + "\\n")`` (trailing
                data changes only the last characters) and ``base64("user:" + secret)`` (HTTP
                Basic auth: leading data changes only the first ones).  At most the 2 or 3
                characters at each edge, which also depend on the neighbouring bytes, stay
                visible.
``base64url``   the same cores in the URL-safe alphabet (``-`` and ``_``).
``hex``         hex of the UTF-8 bytes, lower and upper case.
``part``        a piece between square brackets of an alias that contains ``[`` or ``]`` (see
                markers below).
``utf-16-le``, ``utf-16-be``  the value (and each base form) encoded so, one code unit to two bytes.
                In bytes (:meth:`Redactor.find_bytes`) as they are; in text as those bytes read
                one byte a character: what UTF-16 output becomes once captured as text (a
                child's stdout read as UTF-8, a ``log()`` of ``.decode('latin-1')``), the ASCII
                characters of the value with a NUL between them.
``latin-1``     only in :meth:`Redactor.find_bytes`: the value encoded so.

An encoding of a derived form is named ``family(form)``: ``base64(line)``, ``json(repr)`` (a
``repr`` inside a JSON string), ``url(json-leaf)``.  The string escapes ``json``, ``json-ascii``
and ``repr`` are applied a second time on top of each other, and ``url`` (``safe=''``) and
``form`` on top of them, because a ``repr`` of a JSON payload, or JSON in a query string, is
common in logs.

Short values (the policy)
-------------------------
A value whose text, once stripped of surrounding whitespace, is shorter than ``min_length``
(6 by default) is **not masked at all**: masking every ``true``, ``8080`` or ``a`` in the output
would hide everything else.  Its key is listed in :attr:`Redactor.short_keys` so the harness
warns about it.  Likewise any alias shorter than ``min_length`` is dropped (a 3-character line of
a multi-line value, a short JSON leaf, a short piece between brackets); the whole value and its
longer aliases are still masked.  Base64 cores are at least as long as the value, so they are
never dropped for a value that is masked.  ``min_length=1`` masks everything, GitHub-style.
Empty values and ``None`` are ignored; numbers and booleans are registered by their ``str()``.

Markers
-------
A range covering one key becomes ``[REDACTED:key]``; a range covering several keys (overlapping
or adjacent values, or one value held by several keys) becomes ``[REDACTED:a,b]``, labels sorted
and deduplicated.  A label is the key with ``[``, ``]``, ``,`` and non-printable characters
replaced by ``_``.

Text already inside a marker is never matched: a well-formed marker of this redactor's labels
(sorted, deduplicated, as the redactor writes them) is set aside, and no match may start, end
or pass inside it.  So a value such as ``REDACTED`` or a key's own name never rewrites a
marker, and ``redact(redact(x)) == redact(x)``.  A script could print a forged marker next to
a value whose alias starts or ends with a bracket, to shield that alias; the ``part`` aliases
(the pieces between brackets) still mask what is outside the forged marker.

Streaming
---------
:meth:`Redactor.stream` gives the same output as one :meth:`Redactor.redact` over the
concatenated writes, whatever the chunking.  Each write emits everything that cannot change
any more: it holds back the last ``longest alias - 1`` characters, plus, only when needed, an
unfinished run of overlapping or adjacent matches (emitted as one marker when the run ends) or
an unfinished ``[REDACTED:`` that may still become a marker.

Known limits: encodings of encodings beyond the ones listed (say base64 of a JSON string with
escapes), MIME line-wrapped base64 of values longer than about 55 bytes, case changes, and
values split by the script itself are not recognized.  A value that is one long run of a
repeated character (``"x" * 5000``) makes scanning text full of that run slow: the value
occurs at every position of the run, and each occurrence is found and reported (about 1 s
for a run of 100,000 with Hyperscan, 3 s with pyahocorasick).

A :class:`Redactor` is immutable once built; it can be shared between threads.
"""

from __future__ import annotations

import base64
import contextlib
import html
import importlib
import json
import os
import re
from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping
from itertools import pairwise
from operator import itemgetter
from typing import Any, AnyStr, NamedTuple
from urllib.parse import quote, quote_plus

import ahocorasick  # pyahocorasick ships no type hints (ignored in pyproject)

__all__ = [
    "DEFAULT_MIN_LENGTH",
    "ENGINES",
    "ENGINE_VARIABLE",
    "MARKER_PREFIX",
    "Match",
    "RedactingStream",
    "Redactor",
    "selected_engine",
]

DEFAULT_MIN_LENGTH = 6
MARKER_PREFIX = "[REDACTED:"
_MARKER_PREFIX_BYTES = MARKER_PREFIX.encode("ascii")

_URL_SAFE_SETS = ("", "/", "!~*'()", "!#$&'()*+,/:;=?@[]~")
_B64_URL = str.maketrans("+/", "-_")
_UPPER_HEX_ESCAPE = re.compile(r"%[0-9A-F]{2}")
_JSON_U_ESCAPE = re.compile(r"(\\\\)|\\u([0-9a-f]{4})")
_BRACKETS = re.compile(r"[\[\]]")
_LABEL_UNSAFE = re.compile(r"[\[\],]")
_SCAN_CHUNK = 1 << 16


class Match(NamedTuple):
    """One occurrence of one alias of one key's value: ``text[start:end]``."""

    start: int
    end: int
    key: str
    alias: str
    """The alias family (``plain``, ``base64``, ``url``, ...; see the module docstring)."""


# ----------------------------------------------------------------------------------------------
# Aliases of one value


def _utf8(text: str) -> bytes | None:
    """UTF-8 bytes, or None for text no program could encode (lone surrogates)."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return None


def _strip(value: str) -> str:
    stripped = value.strip()
    if len(stripped) >= 2 and stripped[0] == stripped[-1] and stripped[0] in "'\"":
        stripped = stripped[1:-1].strip()
    return stripped


_WIDE_CODECS = ("utf-16-le", "utf-16-be")


def _name(family: str, inner: str | None) -> str:
    return family if inner is None else f"{family}({inner})"


def _repr_bodies(text: str) -> list[str]:
    # repr() escapes each character on its own, so appending both quote kinds forces the
    # single-quoted style (quote escaped as \'), and the 3 characters they add are cut off.
    single = repr(text + "'\"")[1:-4]
    if "'" not in text:
        return [single]
    double = "'".join(repr(part + "'\"")[1:-4] for part in text.split("'"))
    return [single, double]


def _bytes_repr_bodies(data: bytes) -> list[str]:
    single = repr(data + b"'\"")[2:-4]
    if b"'" not in data:
        return [single]
    double = "'".join(repr(part + b"'\"")[2:-4] for part in data.split(b"'"))
    return [single, double]


def _json_bodies(text: str) -> list[tuple[str, str]]:
    plain = json.dumps(text, ensure_ascii=False)[1:-1]
    ascii_ = json.dumps(text)[1:-1]
    upper = _JSON_U_ESCAPE.sub(lambda m: m.group(1) or "\\u" + m.group(2).upper(), ascii_)
    out = [("json", plain), ("json", plain.replace("/", "\\/")), ("json-ascii", ascii_)]
    out += [("json-ascii", upper), ("json-ascii", ascii_.replace("/", "\\/"))]
    return out


def _html_forms(text: str) -> list[str]:
    escaped = html.escape(text)
    forms = [html.escape(text, quote=False), escaped]
    forms += [escaped.replace("&#x27;", "&#39;"), escaped.replace("&#x27;", "&apos;")]
    if not text.isascii():
        forms.append("".join(c if c.isascii() else f"&#{ord(c)};" for c in escaped))
        forms.append("".join(c if c.isascii() else f"&#x{ord(c):x};" for c in escaped))
    return forms


def _string_escapes(text: str) -> list[tuple[str, str]]:
    """The escapes of a string literal (JSON both ways, repr both quote styles)."""
    out = [("json", json.dumps(text, ensure_ascii=False)[1:-1]), ("json-ascii", json.dumps(text)[1:-1])]
    return out + [("repr", form) for form in _repr_bodies(text)]


def _escapes(text: str, inner: str | None) -> list[tuple[str, str]]:
    """Text escapes of ``text``: (family name, escaped form)."""
    out = [(_name(family, inner), form) for family, form in _json_bodies(text)]
    out += [(_name("repr", inner), form) for form in _repr_bodies(text)]
    data = _utf8(text)
    if data is not None:
        out += [(_name("repr-bytes", inner), form) for form in _bytes_repr_bodies(data)]
    out += [(_name("html", inner), form) for form in _html_forms(text)]
    if "'" in text:
        out.append((_name("shell", inner), text.replace("'", "'\"'\"'")))
    return out


def _percent(text: str, inner: str | None, safe_sets: tuple[str, ...] = _URL_SAFE_SETS) -> list[tuple[str, str]]:
    out = []
    try:
        forms = [("url", quote(text, safe=safe)) for safe in safe_sets]
        forms.append(("form", quote_plus(text, safe="")))
    except UnicodeEncodeError:
        return []
    for family, form in forms:
        out.append((_name(family, inner), form))
        if "%" in form:
            out.append((_name(family, inner), _UPPER_HEX_ESCAPE.sub(lambda m: m.group(0).lower(), form)))
    return out


def _base64_cores(data: bytes) -> list[str]:
    """The characters of base64 that depend on ``data`` alone, for each byte alignment.

    With ``j`` bytes of other data before it (modulo 3), ``data`` occupies bits
    ``[8j, 8j + 8n)`` of the encoded stream; output character ``i`` covers bits
    ``[6i, 6i + 6)``, so it is stable when that interval lies inside the value's bits.
    """
    cores = []
    for j in (0, 1, 2):
        encoded = base64.b64encode(b"\0" * j + data).decode("ascii")
        first = -(-8 * j // 6)
        last = 8 * (j + len(data)) // 6
        cores.append(encoded[first:last])
    return cores


def _encodings(text: str, inner: str | None) -> list[tuple[str, str]]:
    """Every alias of one base form, in priority order (the first family of a string wins)."""
    out = _escapes(text, inner)
    out += _percent(text, inner)
    data = _utf8(text)
    if data is not None:
        cores = _base64_cores(data)
        out += [(_name("base64", inner), core) for core in cores]
        out += [(_name("base64url", inner), core.translate(_B64_URL)) for core in cores]
        out += [(_name("hex", inner), data.hex()), (_name("hex", inner), data.hex().upper())]
    # A second layer: repr of a JSON payload, JSON of a repr, a URL carrying a JSON string.
    done = {text}
    for family, form in _string_escapes(text):
        if form in done:
            continue
        done.add(form)
        inner_name = _name(family, inner)
        out += [(_name(f, inner_name), v) for f, v in _string_escapes(form)]
        out += _percent(form, inner_name, ("",))
    return out


def _json_parts(stripped: str) -> list[tuple[str, str]]:
    """Re-serializations and leaves of a value that is a JSON object or array."""
    if not stripped or stripped[0] not in "{[":
        return []
    try:
        parsed = json.loads(stripped)
        if not isinstance(parsed, (dict, list)):
            return []
        parts = [
            ("json-value", json.dumps(parsed)),
            ("json-value", json.dumps(parsed, ensure_ascii=False)),
            ("json-value", json.dumps(parsed, separators=(",", ":"), ensure_ascii=False)),
            ("json-value", json.dumps(parsed, indent=2, ensure_ascii=False)),
            ("json-value", repr(parsed)),
        ]
    except (ValueError, RecursionError):  # not JSON, or nested too deep to re-serialize
        return []
    stack: list[Any] = [parsed]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, str):
            parts.append(("json-leaf", node))
        elif isinstance(node, (int, float)) and not isinstance(node, bool):
            parts.append(("json-leaf", json.dumps(node)))
    return parts


def _bases(value: str) -> list[tuple[str, str]]:
    """The forms of a value that are secret on their own: the value, stripped, lines, leaves."""
    stripped = _strip(value)
    bases = [("plain", value), ("stripped", stripped)]
    lines = value.splitlines()
    if len(lines) > 1:
        bases += [("line", line.strip()) for line in lines]
    bases += _json_parts(stripped)
    return bases


def _aliases(value: str, min_length: int) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """All aliases of ``value`` (alias -> family) and its base forms, short ones dropped."""
    aliases: dict[str, str] = {}

    def add(alias: str, family: str) -> None:
        if len(alias) >= min_length and alias not in aliases:
            aliases[alias] = family

    if len(value.strip()) < min_length:
        return aliases, []
    bases = [(name, text) for name, text in _bases(value) if len(text) >= min_length]
    seen: set[str] = set()
    for name, text in bases:
        if text in seen:
            continue
        seen.add(text)
        add(text, name)
        inner = None if name == "plain" else name
        for family, alias in _encodings(text, inner):
            add(alias, family)
        for codec in _WIDE_CODECS:  # UTF-16 output read back as text, a byte a character
            with contextlib.suppress(UnicodeEncodeError):  # a lone surrogate has no UTF-16 form
                add(text.encode(codec).decode("latin-1"), _name(codec, inner))
    # A forged marker next to an alias that starts or ends with a bracket could shield it;
    # the pieces between brackets cannot be shielded that way.
    for alias in [a for a in aliases if "[" in a or "]" in a]:
        for piece in _BRACKETS.split(alias):
            add(piece, "part")
    return aliases, bases


# ----------------------------------------------------------------------------------------------
# Markers


def _label(key: str) -> str:
    label = _LABEL_UNSAFE.sub("_", key)
    label = "".join(c if c.isprintable() else "_" for c in label)
    return label or "_"


def _marker(labels: Iterable[str]) -> str:
    return MARKER_PREFIX + ",".join(sorted(set(labels))) + "]"


# ----------------------------------------------------------------------------------------------
# Scanners: find every occurrence of every alias string (the only part whose speed matters)

_Entry = tuple[str, str, str]  # (key, family, label)
_Value = tuple[int, tuple[_Entry, ...], tuple[str, ...]]  # (length, entries, labels)
_Hit = tuple[int, int, _Value]  # (start, end, value)

ENGINE_VARIABLE = "IPE_REDACTION_ENGINE"
"""Environment variable naming the engine to use (``hyperscan`` or ``pyahocorasick``), read
when a :class:`Redactor` is created; unset, unknown or unavailable means the fastest available."""

hyperscan: Any
try:  # a wheel for x86-64 (Linux, Windows, macOS) and Apple silicon only: see pyproject
    hyperscan = importlib.import_module("hyperscan")
except (ImportError, OSError):  # no wheel for this platform, or its library does not load
    hyperscan = None

ENGINES: tuple[str, ...] = ("hyperscan", "pyahocorasick") if hyperscan is not None else ("pyahocorasick",)
"""The scanning engines available here, fastest first."""


def selected_engine() -> str:
    """The engine a redactor built now uses: :data:`ENGINE_VARIABLE` if available, else the fastest."""
    wanted = os.environ.get(ENGINE_VARIABLE, "").strip().lower()
    return wanted if wanted in ENGINES else ENGINES[0]


class _AhoCorasickScanner:
    """pyahocorasick: a wheel for every platform, 25-160 MB/s on log text whatever the number
    of aliases (each character costs a step of the automaton)."""

    name = "pyahocorasick"

    def __init__(self, words: list[str], values: list[_Value]) -> None:
        self.automaton = ahocorasick.Automaton()
        for word, value in zip(words, values):
            self.automaton.add_word(word, value)
        self.automaton.make_automaton()
        self.overlap = max(map(len, words)) - 1

    def scan(self, text: str | bytes) -> tuple[list[_Hit], bool | None]:
        """Every hit, unsorted; and None: whether the text holds a marker is not known."""
        return self._hits(text if isinstance(text, str) else text.decode("latin-1")), None

    def _hits(self, text: str) -> list[_Hit]:
        if len(text) <= 2 * _SCAN_CHUNK:
            return [(end + 1 - value[0], end + 1, value) for end, value in self.automaton.iter(text)]
        # The automaton works on a copy of its input: copies that fit in the CPU cache make a
        # large text about 1.5x faster, so it is scanned in overlapping slices.
        hits = []
        iterate = self.automaton.iter
        for offset in range(0, len(text), _SCAN_CHUNK):
            for end, value in iterate(text[offset : offset + _SCAN_CHUNK + self.overlap]):
                start = end + 1 - value[0]
                if start < _SCAN_CHUNK:  # a hit starting later is found by the next slice
                    hits.append((offset + start, offset + end + 1, value))
        return hits


_PROBE = 1024
"""Longest prefix of an alias given to Hyperscan (its limit is about 16 KB of pattern text); a
hit of a longer alias's prefix is confirmed by comparing the whole alias."""
_HS_BLOCK = 1 << 30
"""Bytes per Hyperscan call: its block length is a 32-bit number."""
_HS_ESCAPE = [bytes([c]) if chr(c).isascii() and chr(c).isalnum() else b"\\x%02x" % c for c in range(256)]
# Every other byte is written \xHH: Hyperscan's literal API takes C strings, so a NUL byte (in
# every UTF-16 alias) would cut the pattern short; an escaped expression is still a plain literal.
_CONTINUATION = bytes(range(0x80, 0xC0))


class _HyperscanScanner:
    """Intel Hyperscan: SIMD literal matching, 0.6-1.7 GB/s on log text with 10 to 1,000
    values.  It scans bytes, so ``str`` text
    is scanned as ASCII or Latin-1 where it fits (byte and character offsets agree; a second
    database of the aliases that fit in Latin-1 is compiled on first need), and as UTF-8
    otherwise, the few hit offsets being converted back to characters.  UTF-8 (with lone
    surrogates passed through) is a prefix code, so a byte match of an alias is exactly a
    character match."""

    name = "hyperscan"

    def __init__(self, words: list[str], values: list[_Value], codec: str) -> None:
        self.codec = codec
        self.words = words
        self.values = values
        self.narrow: _HyperscanScanner | _NoScanner | None = None  # the Latin-1 database, once needed
        self.narrow_refused = False
        self.patterns = [word.encode(codec, "surrogatepass" if codec == "utf-8" else "strict") for word in words]
        probes: dict[bytes, list[int]] = {}
        for index, pattern in enumerate(self.patterns):
            probes.setdefault(pattern[:_PROBE], []).append(index)
        self.groups = list(probes.values())
        # One more probe, the marker prefix: the scan tells whether the text holds a marker.
        self.probes = [*probes, _MARKER_PREFIX_BYTES]
        self.probe_lengths = [len(probe) for probe in self.probes]
        self.overlap = max(self.probe_lengths) - 1
        self.database = self._compile(self.probes)

    @staticmethod
    def _compile(probes: list[bytes]) -> Any:
        database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        expressions = [b"".join([_HS_ESCAPE[c] for c in probe]) for probe in probes]
        database.compile(expressions=expressions, ids=list(range(len(probes))), flags=0)
        return database

    def __getstate__(self) -> dict[str, Any]:  # a compiled database does not pickle: recompile
        return {k: v for k, v in self.__dict__.items() if k != "database"} | {"narrow": None}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.database = self._compile(self.probes)

    def scan(self, text: str | bytes) -> tuple[list[_Hit], bool | None]:
        """Every hit, unsorted; and whether the text holds the marker prefix.  Bytes are the
        text already encoded with the codec: their hits are in bytes."""
        if isinstance(text, bytes):
            data, same = text, True
        elif self.codec == "latin-1":
            data, same = text.encode("latin-1"), True
        elif text.isascii():
            data, same = text.encode("ascii"), True
        else:
            narrow = _latin1(text)
            scanner = self._narrow() if narrow is not None else None
            if narrow is not None and scanner is not None:
                return scanner.scan(narrow)
            data, same = text.encode("utf-8", "surrogatepass"), False
        found = self._probe_ends(data)
        if not found:
            return [], False
        marker_id = len(self.groups)
        marked = False
        ends: list[tuple[int, int]] = []  # (pattern index, end in bytes)
        for probe, end in found:
            if probe == marker_id:
                marked = True
                continue
            group = self.groups[probe]
            if len(group) == 1 and len(self.patterns[group[0]]) <= _PROBE:
                ends.append((group[0], end))
                continue
            start = end - self.probe_lengths[probe]
            for index in group:  # the probe is a prefix of longer aliases: compare them whole
                pattern = self.patterns[index]
                if data.startswith(pattern, start):
                    ends.append((index, start + len(pattern)))
        values = self.values
        if same:  # bytes, or ASCII text: offsets in bytes are the offsets wanted
            patterns = self.patterns
            return [(end - len(patterns[i]), end, values[i]) for i, end in ends], marked
        chars = _char_offsets(data, {end for _, end in ends})
        return [(chars[end] - values[i][0], chars[end], values[i]) for i, end in ends], marked

    def _narrow(self) -> _HyperscanScanner | _NoScanner | None:
        """The scanner of Latin-1 text: the aliases whose characters all fit in a byte (None
        if Hyperscan refused it: the text is then scanned as UTF-8)."""
        if self.narrow is None and not self.narrow_refused:
            fit = [(w, v) for w, v in zip(self.words, self.values) if _latin1(w) is not None]
            words, values = [w for w, _ in fit], [v for _, v in fit]
            try:
                self.narrow = _HyperscanScanner(words, values, "latin-1") if fit else _NoScanner()
            except Exception:  # noqa: BLE001 - redaction never raises; UTF-8 finds the same
                self.narrow_refused = True
        return self.narrow

    def _probe_ends(self, data: bytes) -> list[tuple[int, int]]:
        """(probe id, end in bytes) of every probe occurrence."""
        found: list[tuple[int, int]] = []
        append = found.append

        def on_match(probe: int, _from: int, end: int, _flags: int, offset: int) -> None:
            append((probe, offset + end))

        if len(data) <= _HS_BLOCK:
            self.database.scan(data, match_event_handler=on_match, context=0)
            return found
        view = memoryview(data)
        lengths = self.probe_lengths
        for offset in range(0, len(data), _HS_BLOCK):
            before = len(found)
            block = view[offset : offset + _HS_BLOCK + self.overlap]
            self.database.scan(block, match_event_handler=on_match, context=offset)
            # a probe starting in the overlap is found again by the next block
            found[before:] = [f for f in found[before:] if f[1] - lengths[f[0]] < offset + _HS_BLOCK]
        return found


class _NoScanner:
    """Finds nothing: no alias can occur in the text."""

    @staticmethod
    def scan(text: str | bytes) -> tuple[list[_Hit], bool | None]:
        return [], None


def _latin1(text: str) -> bytes | None:
    """``text`` in Latin-1 (a copy, for text stored one byte a character), or None."""
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return None


def _char_offsets(data: bytes, offsets: Iterable[int]) -> dict[int, int]:
    """Character offsets of byte offsets of UTF-8 ``data``: one character per byte that is not
    a continuation byte (``0x80-0xBF``)."""
    out = {}
    pos = chars = 0
    for offset in sorted(offsets):
        chars += len(data[pos:offset].translate(None, _CONTINUATION))
        out[offset] = chars
        pos = offset
    return out


def _scanner(
    words: list[str], values: list[_Value], codec: str, engine: str
) -> _AhoCorasickScanner | _HyperscanScanner:
    if engine == "hyperscan":
        try:
            return _HyperscanScanner(words, values, codec)
        except Exception:  # noqa: BLE001 - an alias Hyperscan refuses, or a CPU it does not support
            pass
    return _AhoCorasickScanner(words, values)


# ----------------------------------------------------------------------------------------------
# The matching engine (one for text, one for bytes seen as latin-1 text)


class _Engine:
    """A scanner over alias strings, plus the marker rules; works on any str, and on the
    same text encoded with ``codec`` (offsets are then in bytes).

    ``codec`` is how the scanner sees the text as bytes: ``utf-8`` for text, ``latin-1`` for
    the engine of :meth:`Redactor.find_bytes`, whose text is bytes decoded as latin-1.
    """

    def __init__(self, patterns: Mapping[str, list[_Entry]], labels: Iterable[str], codec: str, engine: str) -> None:
        words = list(patterns)
        values: list[_Value] = [
            (len(word), tuple(entries), tuple(sorted({e[2] for e in entries}))) for word, entries in patterns.items()
        ]
        self.scanner = _scanner(words, values, codec, engine)
        self.labels = frozenset(labels)
        self.max_len = max(map(len, words))
        self.min_len = min(map(len, words))
        self.max_content = len(",".join(self.labels))
        self.codec = codec
        self.errors = "surrogatepass" if codec == "utf-8" else "strict"
        self.max_content_bytes = len(",".join(self.labels).encode(codec, self.errors))
        self.markers: dict[tuple[str, ...], str] = {}
        self.byte_markers: dict[tuple[str, ...], bytes] = {}
        # Rendering text beyond Latin-1 in bytes and decoding it once beats slicing and joining
        # str: slices of wide text are re-compacted one by one, then widened again.
        self.render_in_bytes = isinstance(self.scanner, _HyperscanScanner) and codec == "utf-8"

    # -- markers ---------------------------------------------------------------------------

    def _valid_content(self, content: str) -> bool:
        pieces = content.split(",")
        labels = self.labels
        return all(p in labels for p in pieces) and all(a < b for a, b in pairwise(pieces))

    def spans(self, text: AnyStr) -> list[tuple[int, int]]:
        """Complete markers in ``text`` (sorted, never overlapping); bytes are read with the codec."""
        if isinstance(text, str):
            return _marker_spans(text, MARKER_PREFIX, "]", self.max_content, self._valid_content)
        codec, errors = self.codec, self.errors
        return _marker_spans(
            text,
            _MARKER_PREFIX_BYTES,
            b"]",
            self.max_content_bytes,
            lambda c: self._valid_content(c.decode(codec, errors)),
        )

    def open_marker(self, text: str, after: int, marked: bool = True) -> int | None:
        """Where an unfinished marker may start at the end of ``text`` (a stream's buffer);
        ``marked`` False says the text holds no whole marker prefix (the scan saw none)."""
        i = text.rfind(MARKER_PREFIX, after) if marked else -1
        if i != -1 and text.find("]", i) == -1 and len(text) - i <= len(MARKER_PREFIX) + self.max_content:
            return i
        for k in range(min(len(MARKER_PREFIX) - 1, len(text) - after), 0, -1):
            if text.endswith(MARKER_PREFIX[:k]):
                return len(text) - k
        return None

    def marker(self, labels: tuple[str, ...]) -> str:
        text = self.markers.get(labels)
        if text is None:
            text = self.markers[labels] = _marker(labels)
        return text

    def marker_bytes(self, labels: tuple[str, ...]) -> bytes:
        """The marker in bytes (the bytes engine's labels are latin-1 views of UTF-8)."""
        data = self.byte_markers.get(labels)
        if data is None:
            data = self.byte_markers[labels] = self.marker(labels).encode(self.codec, self.errors)
        return data

    # -- matching --------------------------------------------------------------------------

    def scan(self, text: str) -> tuple[list[_Hit], bool]:
        """Every alias occurrence, unsorted, markers included; and whether ``text`` holds the
        marker prefix (the fast scanner answers in the same pass)."""
        hits, marked = self.scanner.scan(text) if len(text) >= self.min_len else ([], None)
        return hits, MARKER_PREFIX in text if marked is None else marked

    def hits(self, text: AnyStr, spans: list[tuple[int, int]] | None = None) -> list[_Hit]:
        """Every alias occurrence not overlapping a marker, sorted by start."""
        if len(text) < self.min_len:
            return []
        hits, marked = self.scanner.scan(text)
        if not hits:
            return hits
        if spans is None:
            if marked is None:
                marked = MARKER_PREFIX in text if isinstance(text, str) else _MARKER_PREFIX_BYTES in text
            spans = self.spans(text) if marked else []
        return self.outside(hits, spans)

    @staticmethod
    def outside(hits: list[_Hit], spans: list[tuple[int, int]]) -> list[_Hit]:
        """The hits that do not overlap a marker, sorted by start."""
        if spans:
            starts = [s for s, _ in spans]
            kept = []
            for hit in hits:
                k = bisect_right(starts, hit[1] - 1) - 1  # last marker starting before hit end
                if k < 0 or spans[k][1] <= hit[0]:
                    kept.append(hit)
            hits = kept
        hits.sort(key=itemgetter(0))
        return hits

    @staticmethod
    def merge(hits: list[_Hit]) -> list[list[Any]]:
        """Merge overlapping and adjacent hits: ``[start, end, set of labels]``."""
        ranges: list[list[Any]] = []
        for start, end, value in hits:
            if ranges and start <= ranges[-1][1]:
                last = ranges[-1]
                last[1] = max(last[1], end)
                last[2].update(value[2])
            else:
                ranges.append([start, end, set(value[2])])
        return ranges

    def render(self, text: AnyStr, ranges: list[list[Any]], stop: int) -> AnyStr:
        """``text[:stop]`` with each range (all ending by ``stop``) replaced by its marker."""
        marker: Callable[[tuple[str, ...]], AnyStr]
        if isinstance(text, str):
            marker, empty = self.marker, ""
        else:
            marker, empty = self.marker_bytes, b""
        pieces = []
        pos = 0
        for start, end, labels in ranges:
            pieces.append(text[pos:start])
            pieces.append(marker(tuple(sorted(labels))))
            pos = end
        pieces.append(text[pos:stop])
        return empty.join(pieces)

    def redact(self, text: AnyStr) -> AnyStr:
        if isinstance(text, str) and self.render_in_bytes and not text.isascii() and _latin1(text) is None:
            data = text.encode("utf-8", "surrogatepass")
            out = self.redact(data)
            return text if out is data else out.decode("utf-8", "surrogatepass")
        hits = self.hits(text)
        if not hits:
            return text
        return self.render(text, self.merge(hits), len(text))


def _marker_spans(
    text: AnyStr, prefix: AnyStr, close: AnyStr, max_content: int, valid: Callable[[AnyStr], bool]
) -> list[tuple[int, int]]:
    spans = []
    skip = len(prefix)
    i = text.find(prefix)
    while i != -1:
        j = text.find(close, i + skip, i + skip + max_content + 1)
        if j != -1 and valid(text[i + skip : j]):
            spans.append((i, j + 1))
            i = text.find(prefix, j + 1)
        else:
            i = text.find(prefix, i + 1)
    return spans


def _as_text(value: object) -> str:
    """Any object as text, never raising (a broken ``__str__`` falls back to ``repr``)."""
    if type(value) is str:
        return value
    if isinstance(value, str):
        return str.__str__(value)
    for convert in (str, repr):
        try:
            text = convert(value)
        except Exception:  # noqa: BLE001 - redaction must never raise: try the next way
            continue
        if isinstance(text, str):
            return str.__str__(text)
    return f"<unprintable {type(value).__name__} object>"


def _value_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, (bytes, bytearray)):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return bytes(value).decode("latin-1")
    if isinstance(value, (dict, list)):
        try:
            return json.dumps(value)
        except (TypeError, ValueError):
            return _as_text(value)
    return _as_text(value)


def _latin1_view(text: str) -> str | None:
    data = _utf8(text)
    return None if data is None else data.decode("latin-1")


# ----------------------------------------------------------------------------------------------
# Public API


class Redactor:
    """Masks a set of secret values (a key -> value mapping) in text, bytes and streams."""

    def __init__(self, secrets: Mapping[str, object] | None, *, min_length: int = DEFAULT_MIN_LENGTH) -> None:
        self.min_length = max(1, int(min_length))
        keys: list[str] = []
        short: list[str] = []
        patterns: dict[str, list[_Entry]] = {}
        self._sources: list[tuple[str, str, dict[str, str], list[tuple[str, str]]]] = []
        for raw_key, raw_value in (secrets or {}).items():
            key = _as_text(raw_key)
            value = _value_text(raw_value)
            if not value:
                continue
            aliases, bases = _aliases(value, self.min_length)
            if not aliases:
                short.append(key)
                continue
            keys.append(key)
            label = _label(key)
            self._sources.append((key, label, aliases, bases))
            for alias, family in aliases.items():
                patterns.setdefault(alias, []).append((key, family, label))
        self.keys: tuple[str, ...] = tuple(keys)
        """Keys whose values are masked."""
        self.short_keys: tuple[str, ...] = tuple(short)
        """Keys whose values are not masked: shorter than ``min_length`` once stripped."""
        # Chosen once: the bytes engine, built later, uses the same one.
        self._engine_name = selected_engine()
        self._engine = (
            _Engine(patterns, (s[1] for s in self._sources), "utf-8", self._engine_name) if patterns else None
        )
        self._bytes_engine: _Engine | None = None

    def __bool__(self) -> bool:
        return self._engine is not None

    def __repr__(self) -> str:  # never show a value
        return f"Redactor(keys={list(self.keys)!r}, short_keys={list(self.short_keys)!r})"

    @property
    def max_alias_length(self) -> int:
        """Length of the longest alias: a stream holds back one character less than this."""
        return self._engine.max_len if self._engine else 0

    # -- text ------------------------------------------------------------------------------

    def find(self, text: str) -> list[Match]:
        """Every alias occurrence in ``text`` (unmerged, sorted by start), markers excepted."""
        if self._engine is None:
            return []
        return _matches(self._engine.hits(_as_text(text)))

    def redact(self, text: object) -> str:
        """``text`` (anything; non-str is ``str()``-ed) with every alias occurrence masked."""
        text = _as_text(text)
        if self._engine is None:
            return text
        return self._engine.redact(text)

    def stream(self) -> RedactingStream:
        """An incremental redactor: same output as :meth:`redact` over all writes joined."""
        return RedactingStream(self._engine)

    # -- bytes -----------------------------------------------------------------------------

    def find_bytes(self, data: bytes) -> list[Match]:
        """Every alias occurrence in raw bytes (UTF-8, UTF-16, Latin-1 values, ASCII aliases)."""
        engine = self._bytes()
        if engine is None:
            return []
        return _matches(engine.hits(_as_bytes(data)))

    def redact_bytes(self, data: bytes) -> bytes:
        """``data`` with every alias occurrence replaced by the UTF-8 marker."""
        data = _as_bytes(data)
        engine = self._bytes()
        if engine is None:
            return data
        return engine.redact(data)

    def _bytes(self) -> _Engine | None:
        """The engine for bytes, built on first use: many runs never write a data stream."""
        if self._engine is None:
            return None
        if self._bytes_engine is None:
            patterns: dict[str, list[_Entry]] = {}
            labels = []
            for key, label, aliases, bases in self._sources:
                view_label = _latin1_view(label) or "_"
                labels.append(view_label)
                found: dict[str, str] = {}
                for alias, family in aliases.items():
                    view = _latin1_view(alias)
                    if view is not None:
                        found.setdefault(view, family)
                for name, text in bases:
                    inner = None if name == "plain" else name
                    for codec in (*_WIDE_CODECS, "latin-1"):
                        try:
                            encoded = text.encode(codec).decode("latin-1")
                        except UnicodeEncodeError:
                            continue
                        found.setdefault(encoded, _name(codec, inner))
                for view, family in found.items():
                    patterns.setdefault(view, []).append((key, family, view_label))
            self._bytes_engine = _Engine(patterns, labels, "latin-1", self._engine_name)
        return self._bytes_engine


def _as_bytes(data: object) -> bytes:
    if isinstance(data, bytes):
        return data
    if isinstance(data, (bytearray, memoryview)):
        return bytes(data)
    return _as_text(data).encode("utf-8", "surrogatepass")


def _matches(hits: list[_Hit]) -> list[Match]:
    out = [Match(start, end, key, family) for start, end, value in hits for key, family, _ in value[1]]
    out.sort()
    return out


class RedactingStream:
    """Redacts text written in pieces; a value split across writes is still masked.

    ``write`` returns the text that is safe to emit now; ``flush`` returns the rest.  The
    concatenation of everything returned equals ``Redactor.redact`` of everything written.
    """

    def __init__(self, engine: _Engine | None) -> None:
        self._engine = engine
        self._buffer = ""

    @property
    def pending(self) -> int:
        """How many characters are held back, waiting for the next write."""
        return len(self._buffer)

    def write(self, chunk: object) -> str:
        engine = self._engine
        if engine is None:
            return _as_text(chunk)
        buffer = self._buffer + _as_text(chunk)
        n = len(buffer)
        # A match starting before `horizon` ends inside the buffer: it is known now.
        horizon = n - engine.max_len + 1
        if horizon <= 0:
            self._buffer = buffer
            return ""
        found, marked = engine.scan(buffer)
        spans = engine.spans(buffer) if marked else []
        opening = engine.open_marker(buffer, spans[-1][1] if spans else 0, marked)
        if opening is not None and opening < horizon:
            horizon = opening
        ranges = engine.merge(engine.outside(found, spans))
        cut = horizon
        done = 0
        for start, end, _ in ranges:
            if end >= horizon:  # a later match may still extend (or join) this range
                cut = min(cut, start)
                break
            done += 1
        for start, end in spans:
            if start < cut < end:
                cut = start
                break
        self._buffer = buffer[cut:]
        return engine.render(buffer, ranges[:done], cut)

    def flush(self) -> str:
        """Everything still held back, redacted; the stream can be written to again after."""
        buffer, self._buffer = self._buffer, ""
        return buffer if self._engine is None else self._engine.redact(buffer)
