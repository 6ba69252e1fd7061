"""The redaction engine: every leak case of reference/secret-masking.md, then properties.

Each leak case that GitHub, GitLab, Jenkins or Airflow get wrong is its own test.  The
property tests embed random values through every encoding into random text and check, by
decoding what is left, that no value can be read back.
"""

from __future__ import annotations

import base64
import html
import itertools
import json
import random
import re
import string
import traceback
import urllib.parse

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.redaction import DEFAULT_MIN_LENGTH, Match, Redactor

MARKER = re.compile(r"\[REDACTED:[^\[\]]*\]")


def segments(text: str) -> list[str]:
    """The parts of a redacted text that are not markers: what a reader can see."""
    return MARKER.split(text)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def b64_reveals(visible: str, secret: bytes) -> bool:
    """Whether ``secret`` can be decoded from any run of base64 characters of ``visible``."""
    for alphabet, decode in (("+/", base64.b64decode), ("-_", base64.urlsafe_b64decode)):
        run = re.compile(f"[A-Za-z0-9{re.escape(alphabet)}]+")
        for chunk in run.findall(visible):
            for offset in range(4):
                part = chunk[offset:]
                part = part[: len(part) - len(part) % 4]
                if part and secret in decode(part):
                    return True
    return False


def readable(redactor: Redactor, output: str, secret: str) -> bool:
    """Whether ``secret`` is readable in ``output``: plainly or as base64 in a visible part."""
    return any(secret in seg or b64_reveals(seg, secret.encode()) for seg in segments(output))


# ----------------------------------------------------------------------------------------------
# Leak cases, one test each


def test_overlapping_secrets_are_both_fully_hidden() -> None:
    r = Redactor({"a": "abcXYZ", "b": "XYZdef"})
    assert r.redact("see abcXYZdef here") == "see [REDACTED:a,b] here"
    assert r.redact("abcXYZ XYZdef") == "[REDACTED:a] [REDACTED:b]"


def test_adjacent_secrets_become_one_marker() -> None:
    r = Redactor({"a": "fake-one-111", "b": "fake-two-222"})
    assert r.redact("fake-one-111fake-two-222!") == "[REDACTED:a,b]!"


def test_secret_that_is_a_prefix_of_another() -> None:
    r = Redactor({"short": "fake-token-123", "long": "fake-token-123-extended"})
    assert r.redact("t=fake-token-123-extended;") == "t=[REDACTED:long,short];"
    assert r.redact("t=fake-token-123;") == "t=[REDACTED:short];"


def test_secret_that_is_a_substring_of_another() -> None:
    r = Redactor({"inner": "token-456-fake", "outer": "my-token-456-fake-pw"})
    assert r.redact("[my-token-456-fake-pw]") == "[[REDACTED:inner,outer]]"
    assert r.redact("xtoken-456-fakex") == "x[REDACTED:inner]x"


@pytest.mark.parametrize("secret", ["fake-pw-123", "fake-pw-1234", "fake-pw-12345"])
def test_base64_followed_by_a_newline_for_every_length_modulo_3(secret: str) -> None:
    assert {len(s.encode()) % 3 for s in ["fake-pw-123", "fake-pw-1234", "fake-pw-12345"]} == {0, 1, 2}
    r = Redactor({"pw": secret})
    for trailing in ("\n", "\nmore data after it", ""):
        encoded = b64(secret + trailing)
        out = r.redact(f"body={encoded}")
        assert out.startswith("body=[REDACTED:pw]")
        assert len(out) - len("body=[REDACTED:pw]") <= len(b64(trailing)) + 4
        assert not readable(r, out, secret)


@pytest.mark.parametrize("user", ["u", "ux", "indexer", "indexer1", "indexer12"])
def test_http_basic_auth_header(user: str) -> None:
    r = Redactor({"pw": "fake-pim-password-123"})
    header = "Authorization: Basic " + b64(f"{user}:fake-pim-password-123")
    out = r.redact(header)
    assert "[REDACTED:pw]" in out
    before = out.split("Basic ")[1].split("[REDACTED:pw]")[0]
    assert len(before) <= len(b64(user + ":")) + 1
    assert not readable(r, out, "fake-pim-password-123")


def test_base64url_at_every_alignment_with_and_without_padding() -> None:
    secret = "fake>>??secret~~key"  # bytes that encode to + and / in standard base64
    assert set("+/") & set(b64(secret))
    r = Redactor({"k": secret})
    for prefix in ("", "a", "ab"):
        encoded = base64.urlsafe_b64encode((prefix + secret).encode()).decode()
        for text in (encoded, encoded.rstrip("=")):
            out = r.redact("jwt." + text + ".sig")
            assert "[REDACTED:k]" in out
            assert not readable(r, out, secret)


def test_percent_encoding_in_both_hex_cases() -> None:
    secret = "fake pass/wörd+1&2"
    r = Redactor({"k": secret})
    for encoded in (urllib.parse.quote(secret, safe=""), urllib.parse.quote(secret)):
        for form in (encoded, re.sub("%[0-9A-F]{2}", lambda m: m.group(0).lower(), encoded)):
            assert r.redact(f"GET /x?p={form}&q=1") == "GET /x?p=[REDACTED:k]&q=1"


def test_form_encoding_space_as_plus() -> None:
    secret = "fake pass word+123"
    r = Redactor({"k": secret})
    body = urllib.parse.urlencode({"user": "indexer", "password": secret})
    assert "fake+pass+word%2B123" in body
    assert r.redact(body) == "user=indexer&password=[REDACTED:k]"


def test_json_unicode_escapes_with_and_without_ensure_ascii() -> None:
    secret = 'fake-pässwörd-€-"quoted"\\'
    r = Redactor({"k": secret})
    for dumped in (json.dumps({"pw": secret}), json.dumps({"pw": secret}, ensure_ascii=False)):
        assert r.redact(dumped) == '{"pw": "[REDACTED:k]"}'
    upper = re.sub(r"\\u[0-9a-f]{4}", lambda m: m.group(0).upper().replace("\\U", "\\u"), json.dumps(secret))
    assert "\\u20AC" in upper
    assert r.redact(upper) == '"[REDACTED:k]"'


@pytest.mark.parametrize("secret", ["fake'pass\\word", 'fake"pass\\word', "fake'pa\"ss\nword"])
def test_repr_of_a_str(secret: str) -> None:
    r = Redactor({"k": secret})
    out = r.redact(f"value is {secret!r}")
    assert out in ("value is '[REDACTED:k]'", 'value is "[REDACTED:k]"')


def test_repr_of_a_dict() -> None:
    secret = "fake'pass\\word\t€"
    r = Redactor({"k": secret})
    out = r.redact(str({"password": secret, "user": "indexer"}))
    assert out in ("{'password': \"[REDACTED:k]\", 'user': 'indexer'}", "{'password': '[REDACTED:k]', 'user': 'indexer'}")


def test_repr_of_bytes() -> None:
    secret = "fake'pässwörd\\x"
    r = Redactor({"k": secret})
    out = r.redact(repr(secret.encode()))
    assert out in ("b'[REDACTED:k]'", 'b"[REDACTED:k]"')
    assert r.redact(str([secret.encode("utf-8")])) in ("[b'[REDACTED:k]']", '[b"[REDACTED:k]"]')


def test_hex_lower_and_upper_case() -> None:
    secret = "fake-hex-secret-é"
    r = Redactor({"k": secret})
    data = secret.encode()
    assert r.redact("h=" + data.hex()) == "h=[REDACTED:k]"
    assert r.redact("H=" + data.hex().upper()) == "H=[REDACTED:k]"


def test_html_and_xml_escapes() -> None:
    secret = "fake<pw>&'\"é"
    r = Redactor({"k": secret})
    for form in (html.escape(secret), html.escape(secret, quote=False)):
        assert r.redact(f"<td>{form}</td>") == "<td>[REDACTED:k]</td>"
    refs = html.escape(secret).encode("ascii", "xmlcharrefreplace").decode()
    assert r.redact(refs) == "[REDACTED:k]"


def test_secret_split_across_two_stream_writes() -> None:
    secret = "fake-stream-secret-42"
    r = Redactor({"k": secret})
    for cut in range(1, len(secret)):
        stream = r.stream()
        out = stream.write("a " + secret[:cut]) + stream.write(secret[cut:] + " b") + stream.flush()
        assert out == "a [REDACTED:k] b"


def test_secret_whose_start_repeats_inside_itself_split_at_a_write_boundary() -> None:
    # GitLab's writer, having matched "fakefake", restarts after a mismatch and misses the value.
    secret = "fakefakeX"
    r = Redactor({"k": secret})
    text = "fakefake" + "fakefakeX" + " end"
    assert r.redact(text) == "fakefake[REDACTED:k] end"
    for cut in range(1, len(text)):
        stream = r.stream()
        assert stream.write(text[:cut]) + stream.write(text[cut:]) + stream.flush() == "fakefake[REDACTED:k] end"
    small = Redactor({"k": "aab"}, min_length=3)
    stream = small.stream()
    assert stream.write("aa") + stream.write("aab") + stream.flush() == "aa[REDACTED:k]"


def test_stream_holds_back_only_the_longest_alias_minus_one() -> None:
    r = Redactor({"k": "fake-secret-9"})
    stream = r.stream()
    out = stream.write("x" * 1000)
    assert out == "x" * (1001 - r.max_alias_length)
    assert stream.pending == r.max_alias_length - 1
    assert stream.flush() == "x" * (r.max_alias_length - 1)


def test_multi_line_secret_is_masked_whole_and_line_by_line() -> None:
    secret = "-----BEGIN FAKE KEY-----\nMIIfakeline1abc\nMIIfakeline2def\n-----END FAKE KEY-----\n"
    r = Redactor({"pem": secret})
    assert r.redact("key:\n" + secret + "done") == "key:\n[REDACTED:pem]done"
    for line in secret.splitlines():
        assert r.redact(f"log: {line}") == "log: [REDACTED:pem]"
    crlf = secret.replace("\n", "\r\n")
    assert not any(line in r.redact(crlf) for line in secret.splitlines())
    assert r.redact(json.dumps({"key": secret})) == '{"key": "[REDACTED:pem]"}'


def test_leading_and_trailing_whitespace_of_a_value() -> None:
    r = Redactor({"k": "  fake-secret-42 \n"})
    assert r.redact("token=fake-secret-42;") == "token=[REDACTED:k];"
    assert r.redact("[  fake-secret-42 \n]") == "[[REDACTED:k]]"
    assert r.redact(json.dumps("fake-secret-42")) == '"[REDACTED:k]"'
    quoted = Redactor({"k": '"fake-quoted-secret"'})
    assert quoted.redact("pw=fake-quoted-secret") == "pw=[REDACTED:k]"


def test_very_long_secret_over_4_kib() -> None:
    rnd = random.Random(7)
    secret = "".join(rnd.choice(string.ascii_letters + string.digits + "+/=-_ ") for _ in range(5000))
    r = Redactor({"big": secret})
    assert r.redact("<" + secret + ">") == "<[REDACTED:big]>"
    out = r.redact("data: " + b64("x" + secret + "\n"))
    assert not readable(r, out, secret[:64]) and not readable(r, out, secret[-64:])
    text = "head " + secret + " tail"
    stream = r.stream()
    pieces = [stream.write(text[i : i + 97]) for i in range(0, len(text), 97)]
    assert "".join(pieces) + stream.flush() == "head [REDACTED:big] tail"


def test_thousands_of_secrets() -> None:
    secrets = {f"key{i}": f"fake-{i:05d}-{i * 7919 % 100003:06d}" for i in range(3000)}
    r = Redactor(secrets)
    assert len(r.keys) == 3000
    text = " | ".join(f"{k}={v}" for k, v in secrets.items())
    assert r.redact(text) == " | ".join(f"{k}=[REDACTED:{k}]" for k in secrets)
    assert len(r.find(text)) == 3000


def test_structured_json_secret_is_fully_masked_not_just_braces() -> None:
    secret = json.dumps(
        {"user": "fake-indexer", "password": "fake-pim-pass-123", "tenant": {"id": 73219054, "name": "acme-fake"}},
        indent=2,
    )
    r = Redactor({"creds": secret})
    assert r.redact(secret) == "[REDACTED:creds]"
    parsed = json.loads(secret)
    for shown in (json.dumps(parsed), json.dumps(parsed, separators=(",", ":")), repr(parsed), str(parsed)):
        assert r.redact(shown) == "[REDACTED:creds]"
    # the script picks leaves out and logs them on their own
    out = r.redact(f"login {parsed['user']} / {parsed['password']} tenant={parsed['tenant']['id']}")
    assert out == "login [REDACTED:creds] / [REDACTED:creds] tenant=[REDACTED:creds]"
    # braces and short lines are not aliases: ordinary JSON output stays readable
    assert r.redact('{\n  "ok": true\n}') == '{\n  "ok": true\n}'


def test_url_with_secret_in_query_string_in_an_exception_message() -> None:
    secret = "fake token/with+plus&amp"
    r = Redactor({"api_key": secret})
    url = "https://pim.example.com/api/items?" + urllib.parse.urlencode({"key": secret, "page": 2})

    def fetch() -> None:
        try:
            raise OSError("connection refused")
        except OSError as exc:
            raise RuntimeError(f"HTTPSConnectionPool: Max retries exceeded with url: {url} ({exc!r})") from exc

    with pytest.raises(RuntimeError) as info:
        fetch()
    message = str(info.value)
    assert r.redact(message) == (
        "HTTPSConnectionPool: Max retries exceeded with url: https://pim.example.com/api/items?"
        "key=[REDACTED:api_key]&page=2 (OSError('connection refused'))"
    )
    full = "".join(traceback.format_exception(info.type, info.value, info.tb))
    redacted = r.redact(full)
    assert urllib.parse.quote_plus(secret) not in redacted and "[REDACTED:api_key]" in redacted
    assert r.find(redacted) == []
    # urllib3's debug log: path and query percent-encoded by quote with its own safe set
    assert r.redact("GET /api?key=" + urllib.parse.quote(secret)) == "GET /api?key=[REDACTED:api_key]"


def test_short_secrets_policy() -> None:
    r = Redactor({"flag": True, "port": 8080, "pin": "1234", "blank": "   ", "pw": "fake-pw", "none": None, "empty": ""})
    assert DEFAULT_MIN_LENGTH == 6
    assert r.short_keys == ("flag", "port", "pin", "blank")
    assert r.keys == ("pw",)
    text = "true True 8080 1234 and fake-pw"
    assert r.redact(text) == "true True 8080 1234 and [REDACTED:pw]"
    # padded short values are judged by their stripped length
    assert Redactor({"k": "   abc   "}).short_keys == ("k",)
    # an alias shorter than the minimum is dropped, the rest of the value is still masked
    multi = Redactor({"k": "x\nfake-line-two\nyz"})
    assert multi.redact("x yz fake-line-two") == "x yz [REDACTED:k]"
    # the policy is a parameter: min_length=1 masks everything, GitHub-style
    every = Redactor({"k": "a"}, min_length=1)
    assert every.keys == ("k",) and every.redact("banana") == "b[REDACTED:k]n[REDACTED:k]n[REDACTED:k]"
    assert Redactor({"k": "fake-pw"}, min_length=8).short_keys == ("k",)


# ----------------------------------------------------------------------------------------------
# Markers and idempotence


@pytest.mark.parametrize("secret", ["REDACTED", "[REDACTED:", "EDACTED:pw]", "pw]fake-tail", "fake-head[RED", "]]]]]]]]", "[[[[[["])
def test_marker_text_is_never_a_match_trigger(secret: str) -> None:
    r = Redactor({"pw": secret, "other": "fake-other-secret"})
    for text in (secret, f"a {secret} b fake-other-secret {secret}{secret}", f"[REDACTED:pw]{secret}"):
        once = r.redact(text)
        assert r.redact(once) == once
        assert secret not in "".join(segments(once))


def test_a_key_name_as_value_does_not_rewrite_markers() -> None:
    r = Redactor({"pim_password": "fake-pim-pass", "password": "pim_password"})
    once = r.redact("pim_password=fake-pim-pass")
    assert once == "[REDACTED:password]=[REDACTED:pim_password]"
    assert r.redact(once) == once


def test_forged_marker_does_not_shield_a_value() -> None:
    r = Redactor({"k": "k]fake-shielded-tail", "j": "fake-shielded-head[REDACTED:k"})
    out = r.redact("[REDACTED:k]fake-shielded-tail and fake-shielded-head[REDACTED:k]")
    assert "fake-shielded" not in out
    forged = r.redact("[REDACTED:k" + "fake-value-xyz" + "]")  # not a marker: content is no label
    assert "fake-value-xyz]" in forged and r.redact(forged) == forged


def test_marker_names_keys_sorted_and_deduplicated_and_sanitized() -> None:
    r = Redactor({"zeta": "fake-shared-value", "alpha": "fake-shared-value", "we[ird],key": "fake-other-value"})
    assert r.redact("fake-shared-value") == "[REDACTED:alpha,zeta]"
    assert r.redact("fake-other-value") == "[REDACTED:we_ird__key]"
    assert [m.key for m in r.find("fake-shared-value")] == ["alpha", "zeta"]


# ----------------------------------------------------------------------------------------------
# API


def test_empty_redactor_is_a_cheap_no_op() -> None:
    r = Redactor({})
    assert not r and r.keys == () and r.short_keys == ()
    assert r.redact("anything") == "anything" and r.find("anything") == []
    assert r.redact_bytes(b"\xff") == b"\xff" and r.find_bytes(b"x") == []
    stream = r.stream()
    assert stream.write("abc") == "abc" and stream.flush() == ""
    assert not Redactor({"k": None, "j": ""})


def test_non_string_values_are_registered_by_their_str() -> None:
    r = Redactor({"account": 73219054, "ratio": 3.14159265, "flag": True})
    assert r.keys == ("account", "ratio") and r.short_keys == ("flag",)
    assert r.redact({"id": 73219054, "r": 3.14159265}) == "{'id': [REDACTED:account], 'r': [REDACTED:ratio]}"


def test_redact_never_raises_and_stringifies_anything() -> None:
    class Broken:
        def __str__(self) -> str:
            raise ValueError("no")

        def __repr__(self) -> str:
            raise ValueError("no")

    r = Redactor({"k": "fake-secret-1"})
    assert r.redact(None) == "None"
    assert r.redact(12) == "12"
    assert r.redact(b"x fake-secret-1") == "b'x [REDACTED:k]'"
    assert r.redact(Broken()) == "<unprintable Broken object>"
    assert r.redact("\ud800 fake-secret-1 \udfff") == "\ud800 [REDACTED:k] \udfff"
    assert r.redact_bytes("str fake-secret-1") == b"str [REDACTED:k]"  # type: ignore[arg-type]
    assert r.stream().write(None) == ""  # held back: shorter than the longest alias
    deep = Redactor({"deep": "[" * 5000 + "fake"})  # json.loads would recurse too deep
    assert deep.redact("[" * 5000 + "fake") == "[REDACTED:deep]"


def test_find_returns_every_raw_occurrence_sorted_by_start() -> None:
    r = Redactor({"a": "abcXYZ", "b": "XYZdef"})
    text = "abcXYZdef " + b64("abcXYZ")
    found = r.find(text)
    assert found[:2] == [Match(0, 6, "a", "plain"), Match(3, 9, "b", "plain")]
    assert [m.alias for m in found[2:]] == ["base64"]
    assert text[found[2].start : found[2].end] in b64("abcXYZ")
    assert all(x.start <= y.start for x, y in itertools.pairwise(found))


def test_alias_family_names() -> None:
    secret = "fake pw/ä'\"x"
    r = Redactor({"k": secret, "pem": "line-one-fake\nline-two-fake"})

    def family(text: str) -> str:
        (match,) = {(m.start, m.end, m.alias) for m in r.find(text) if m.start == 0 and m.end == len(text)}
        return match[2]

    assert family(secret) == "plain"
    assert family(json.dumps(secret)[1:-1]) == "json-ascii"
    assert family(urllib.parse.quote_plus(secret)) == "form"
    assert family(urllib.parse.quote(secret, safe="")) == "url"
    assert family(secret.encode().hex()) == "hex"
    assert family("line-two-fake") == "line"
    assert family(json.dumps("line-two-fake")[1:-1]) == "line"
    assert family(b64("line-two-fake")[:17]) == "base64(line)"  # 13 bytes: 104 bits, 17 whole characters


def test_redact_bytes_finds_utf8_utf16_and_ascii_aliases() -> None:
    secret = "fake-pässwörd-7"
    r = Redactor({"k": secret})
    body = b"a=" + secret.encode() + b"&b=" + secret.encode("utf-16-le") + b"&c=" + b64(secret).encode() + b"\xff"
    # the last base64 character also holds zero fill bits: it stays, with the padding
    assert r.redact_bytes(body) == b"a=[REDACTED:k]&b=[REDACTED:k]&c=[REDACTED:k]c=\xff"
    assert [m.alias for m in r.find_bytes(body)] == ["plain", "utf-16-le", "base64"]
    assert r.redact_bytes(secret.encode("latin-1")) == b"[REDACTED:k]"
    once = r.redact_bytes(body)
    assert r.redact_bytes(once) == once


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_output_read_back_as_text_is_masked(codec: str) -> None:
    """UTF-16 bytes that became text (a child's stderr read as UTF-8, a log() of .decode('latin-1'))."""
    secret = "fake-wide-secret-42"
    r = Redactor({"k": secret})
    text = "got " + secret.encode(codec).decode("latin-1") + " then"
    assert r.redact(text) == "got [REDACTED:k] then"
    assert [m.alias for m in r.find(text)] == [codec]
    assert r.redact(secret.encode(codec).decode("utf-8")) == "[REDACTED:k]"  # ASCII: the same text


# ----------------------------------------------------------------------------------------------
# Properties

SPECIALS = list("\\'\"\n\r\t []{}().*+?^$|%&<>/=:,;#@!~ \x00\x7f") + ["é", "€", "😀", "\u2028", "ß"]
CHARS = st.one_of(st.sampled_from(SPECIALS), st.characters(blacklist_categories=("Cs",)))
FILLER = st.one_of(
    st.text(CHARS, max_size=25),
    st.sampled_from(["[REDACTED:", "]", "[REDACTED:k0]", "k1", ",", "REDACTED", "=", "%"]),
)


def _encoders(value: str) -> list[str]:
    """The value as scripts and libraries print it (independent of the module's own list)."""
    data = value.encode()
    return [
        value,
        b64(value),
        b64(value + "\n"),
        b64("user:" + value),
        base64.urlsafe_b64encode(b"ab" + data).decode().rstrip("="),
        urllib.parse.quote(value, safe=""),
        re.sub("%[0-9A-F]{2}", lambda m: m.group(0).lower(), urllib.parse.quote(value)),
        urllib.parse.quote_plus(value),
        urllib.parse.urlencode({"key": value}),
        json.dumps(value),
        json.dumps({"k": value}, ensure_ascii=False),
        repr(value),
        repr({"k": value}),
        repr(data),
        data.hex(),
        data.hex().upper(),
        html.escape(value),
        html.escape(value, quote=False),
        json.dumps(repr({"k": value})),
    ]


@st.composite
def secret_sets(draw: st.DrawFn) -> list[str]:
    """A few values, some of them overlapping, nested in or prefixes of others."""
    values = draw(st.lists(st.text(CHARS, min_size=1, max_size=40), min_size=1, max_size=6))
    for _ in range(draw(st.integers(0, 3))):
        a, b = draw(st.sampled_from(values)), draw(st.sampled_from(values))
        i = draw(st.integers(0, len(a)))
        values.append(draw(st.sampled_from([a[i:] + b, a + b[:i], a[:i], "  " + a + "\n", a + "\n" + b])))
    return [v for v in values if v]


def check_redaction(r: Redactor, text: str, values: list[str]) -> str:
    out = r.redact(text)
    visible = segments(out)
    for value in values:
        if len(value.strip()) >= r.min_length:
            for enc in {value, *_encoders(value)[5:]}:
                assert not any(enc in seg for seg in visible)
            assert not readable(r, out, value.strip())
    for seg in visible:
        assert r.find(seg) == []
    assert r.redact(out) == out
    return out


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=secret_sets(), data=st.data())
def test_property_no_value_readable_through_any_alias(values: list[str], data: st.DataObject) -> None:
    r = Redactor({f"k{i}": v for i, v in enumerate(values)})
    parts = []
    for value in values:
        parts.append(data.draw(FILLER))
        parts.append(data.draw(st.sampled_from(_encoders(value))))
    parts.append(data.draw(FILLER))
    text = "".join(parts)
    out = check_redaction(r, text, values)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(text)), max_size=6)))
    stream = r.stream()
    pieces = [stream.write(text[a:b]) for a, b in zip([0, *cuts], [*cuts, len(text)])]
    assert "".join(pieces) + stream.flush() == out


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32), count=st.integers(1, 1000), longest=st.integers(1, 5000))
def test_property_many_random_values_of_up_to_5000_characters(seed: int, count: int, longest: int) -> None:
    rnd = random.Random(seed)
    alphabet = SPECIALS + list(string.ascii_letters + string.digits) + ["\u0416", "\U0001f510"]
    values = []
    for i in range(count):
        size = longest if i == 0 else min(longest, 1 + int(rnd.expovariate(1 / 20)))
        values.append("".join(rnd.choice(alphabet) for _ in range(size)))
    r = Redactor({f"k{i}": v for i, v in enumerate(values)})
    picked = rnd.sample(values, min(len(values), 40))
    parts = []
    for value in picked:
        parts.append("".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 30))))
        parts.append(rnd.choice(_encoders(value)))
    text = "".join(parts) + " end"
    out = check_redaction(r, text, picked)
    stream = r.stream()
    pieces, pos = [], 0
    while pos < len(text):
        step = rnd.randint(1, 400)
        pieces.append(stream.write(text[pos : pos + step]))
        pos += step
    assert "".join(pieces) + stream.flush() == out


@settings(max_examples=150, deadline=None)
@given(
    values=st.lists(st.text(st.sampled_from("ab[]REDACTED:k0,1"), min_size=1, max_size=12), min_size=1, max_size=4),
    text=st.text(st.sampled_from("ab[]REDACTED:k0,1 x"), max_size=80),
    cuts=st.lists(st.integers(0, 80), max_size=8),
)
def test_property_streaming_equals_one_shot_around_markers(values: list[str], text: str, cuts: list[int]) -> None:
    r = Redactor({f"k{i}": v for i, v in enumerate(values)}, min_length=2)
    once = r.redact(text)
    assert r.redact(once) == once
    stream = r.stream()
    bounds = sorted({min(c, len(text)) for c in cuts})
    pieces = [stream.write(text[a:b]) for a, b in zip([0, *bounds], [*bounds, len(text)])]
    assert "".join(pieces) + stream.flush() == once


ANYTHING = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(), st.binary(), st.lists(st.integers(), max_size=3)
)


@settings(max_examples=100, deadline=None)
@given(
    secrets=st.dictionaries(st.text(max_size=8), st.one_of(ANYTHING, st.text(CHARS, max_size=30)), max_size=5),
    inputs=st.lists(ANYTHING, max_size=4),
    min_length=st.integers(-2, 10),
)
def test_property_never_raises(secrets: dict, inputs: list, min_length: int) -> None:
    r = Redactor(secrets, min_length=min_length)
    stream = r.stream()
    for value in inputs:
        assert isinstance(r.redact(value), str)
        assert isinstance(r.find(value), list)
        assert isinstance(r.redact_bytes(value), bytes)
        assert isinstance(r.find_bytes(value), list)
        assert isinstance(stream.write(value), str)
    assert isinstance(stream.flush(), str)
