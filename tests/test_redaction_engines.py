"""The redactor's two scanning engines: Hyperscan where it has a wheel, pyahocorasick everywhere.

Every test of ``test_redaction.py`` runs again here with the fallback engine forced through
``IPE_REDACTION_ENGINE``, and property tests check that both engines give exactly the same
matches, redactions and streams, on text full of non-ASCII characters, lone surrogates, NUL
bytes and markers (Hyperscan scans bytes: offsets must come back as character offsets).
"""

from __future__ import annotations

import pickle
import random
import string
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import harness.redaction
from harness.redaction import ENGINE_VARIABLE, ENGINES, Redactor, selected_engine
from tests import test_redaction as _cases
from tests.test_redaction import CHARS, FILLER, _encoders, b64, secret_sets

# The whole leak-case and property suite, collected again in this module, where the fixture
# below makes every redactor use the fallback engine.
globals().update({name: getattr(_cases, name) for name in dir(_cases) if name.startswith("test_")})

FALLBACK = "pyahocorasick"
both_engines = pytest.mark.skipif("hyperscan" not in ENGINES, reason="hyperscan has no wheel for this platform")


@pytest.fixture(autouse=True, scope="module")
def _fallback_engine() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(ENGINE_VARIABLE, FALLBACK)
        yield


def build(engine: str, secrets: dict[str, object], min_length: int = 6) -> Redactor:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(ENGINE_VARIABLE, engine)
        assert selected_engine() == engine
        return Redactor(secrets, min_length=min_length)


def outputs(r: Redactor, text: str, cuts: list[int]) -> tuple[object, ...]:
    """Everything the public API says about ``text``, as text and as bytes."""
    data = text.encode("utf-8", "surrogatepass")
    stream = r.stream()
    bounds = sorted({min(c, len(text)) for c in cuts})
    streamed = "".join(stream.write(text[a:b]) for a, b in zip([0, *bounds], [*bounds, len(text)])) + stream.flush()
    wide = text.encode("utf-16-le", "surrogatepass")
    return (
        r.find(text),
        r.redact(text),
        streamed,
        r.find_bytes(data),
        r.redact_bytes(data),
        r.find_bytes(wide),
        r.redact_bytes(wide),
    )


def assert_same(secrets: dict[str, object], text: str, cuts: list[int] = [], min_length: int = 6) -> Redactor:  # noqa: B006
    fast = build("hyperscan", secrets, min_length)
    slow = build(FALLBACK, secrets, min_length)
    assert outputs(fast, text, cuts) == outputs(slow, text, cuts)
    return fast


def test_the_environment_variable_selects_the_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    assert selected_engine() == FALLBACK  # this module's fixture
    monkeypatch.setenv(ENGINE_VARIABLE, "no-such-engine")
    assert selected_engine() == ENGINES[0]
    monkeypatch.delenv(ENGINE_VARIABLE)
    assert selected_engine() == ENGINES[0]
    assert FALLBACK in ENGINES


# ----------------------------------------------------------------------------------------------
# The engines agree


SURROGATES = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
ANY_CHAR = st.one_of(CHARS, SURROGATES, st.sampled_from(["\x00", "é", "😀", "\U0010ffff"]))


@both_engines
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=secret_sets(), data=st.data(), min_length=st.integers(1, 8))
def test_property_both_engines_agree_on_encoded_values(values: list[str], data: st.DataObject, min_length: int) -> None:
    parts = []
    for value in values:
        parts.append(data.draw(st.one_of(FILLER, st.text(ANY_CHAR, max_size=10))))
        parts.append(data.draw(st.sampled_from(_encoders(value))))
    text = "".join(parts)
    cuts = data.draw(st.lists(st.integers(0, len(text)), max_size=5))
    assert_same({f"k{i}": v for i, v in enumerate(values)}, text, cuts, min_length)


@both_engines
@settings(max_examples=150, deadline=None)
@given(
    values=st.lists(st.text(ANY_CHAR, min_size=1, max_size=12), min_size=1, max_size=4),
    text=st.lists(st.one_of(ANY_CHAR, st.sampled_from(["[REDACTED:k0]", "[REDACTED:", "]", ","])), max_size=30).map(
        "".join
    ),
    cuts=st.lists(st.integers(0, 80), max_size=6),
    min_length=st.integers(1, 4),
)
def test_property_both_engines_agree_on_any_text(
    values: list[str], text: str, cuts: list[int], min_length: int
) -> None:
    secrets = {f"k{i}": v for i, v in enumerate(values)}
    fast = assert_same(secrets, text + "".join(values) + text, cuts, min_length)
    assert fast.redact(fast.redact(text)) == fast.redact(text)


# ----------------------------------------------------------------------------------------------
# What only the fast engine has to get right


@both_engines
def test_offsets_are_characters_after_non_ascii_text() -> None:
    r = build("hyperscan", {"k": "fake-sécret-€-42", "j": "fake-\ud800-lone"})
    text = "😀é€ \x00 fake-sécret-€-42 \udfff fake-\ud800-lone 𝄞 " + b64("fake-sécret-€-42")
    found = r.find(text)
    assert [(m.key, m.alias) for m in found] == [("k", "plain"), ("j", "plain"), ("k", "base64")]
    assert [text[m.start : m.end] for m in found[:2]] == ["fake-sécret-€-42", "fake-\ud800-lone"]
    assert b64("fake-sécret-€-42").startswith(text[found[2].start : found[2].end])
    assert r.redact(text).startswith("😀é€ \x00 [REDACTED:k] \udfff [REDACTED:j] 𝄞 ")


@both_engines
def test_aliases_longer_than_what_hyperscan_takes_are_compared_whole() -> None:
    rnd = random.Random(11)
    head = "".join(rnd.choice(string.ascii_letters) for _ in range(3000))
    secrets: dict[str, object] = {"a": head + "-fake-tail-one", "b": head + "-fake-tail-two", "c": head[:2000]}
    text = f"<{head}-fake-tail-two> <{head}-fake-tail-thr> <{head[:2500]}>"
    r = assert_same(secrets, text, [1500, 3100, 4000])
    # all three share the first 1,024 bytes Hyperscan is given: the rest decides
    expected = f"<[REDACTED:b,c]> <[REDACTED:c]{head[2000:]}-fake-tail-thr> <[REDACTED:c]{head[2000:2500]}>"
    assert r.redact(text) == expected
    wide = r.redact_bytes(text.encode("utf-16-le"))
    assert wide.count(b"[REDACTED:b,c]") == 1 and wide.count(b"[REDACTED:c]") == 2
    assert head[:2000].encode("utf-16-le")[2:] not in wide and "-fake-tail-thr".encode("utf-16-le") in wide


@both_engines
def test_text_longer_than_one_hyperscan_block(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(harness.redaction, "_HS_BLOCK", 64)  # 1 GiB otherwise
    secrets: dict[str, object] = {"k": "fake-block-edge-secret", "é": "fake-é-" + "x" * 90}
    rnd = random.Random(3)
    parts = []
    for _ in range(60):
        parts.append("".join(rnd.choice("ab é😀[]") for _ in range(rnd.randint(0, 70))))
        parts.append(
            rnd.choice(["fake-block-edge-secret", "fake-é-" + "x" * 90, "[REDACTED:k]", b64("fake-block-edge-secret")])
        )
    text = "".join(parts)
    r = assert_same(secrets, text)
    assert "fake-block-edge-secret" not in r.redact(text)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_redactor_survives_pickling(engine: str) -> None:
    r = build(engine, {"k": "fake-pickled-secret", "j": "fake-other-\x00-value"})
    text = "a fake-pickled-secret b fake-other-\x00-value"
    copy = pickle.loads(pickle.dumps(r))
    assert copy.redact(text) == r.redact(text) == "a [REDACTED:k] b [REDACTED:j]"
    assert copy.redact_bytes(text.encode("utf-16-le")) == r.redact_bytes(text.encode("utf-16-le"))


@pytest.mark.parametrize("engine", ENGINES)
def test_non_ascii_keys_and_text_keep_markers_whole(engine: str) -> None:
    r = build(engine, {"clé_€": "fake-välue-1😀", "ключ-ключ": "fake-other-ü", "name": "ключ-ключ"})
    text = "é fake-välue-1😀fake-other-ü 😀 [REDACTED:ключ-ключ,clé_€] ключ-ключ"
    once = r.redact(text)
    # a marker's labels are never matched again, even where a value is a key's name
    assert once == "é [REDACTED:clé_€,ключ-ключ] 😀 [REDACTED:[REDACTED:name],clé_€] [REDACTED:name]"
    assert r.redact(once) == once
    assert r.find(once) == []
    assert r.redact_bytes(text.encode()) == once.encode()


@both_engines
@pytest.mark.parametrize("filler", ["café crème ß ÿ \x00 ", "Grüße 😀 ", "ключ € "])
def test_latin1_and_wider_text(filler: str) -> None:
    secrets: dict[str, object] = {"fr": "fake-crème-brûlée", "euro": "fake-€-price", "de": "fake-straße-42"}
    text = filler.join(["", "fake-crème-brûlée", b64("fake-straße-42"), "[REDACTED:fr]", "fake-straße-42", ""])
    r = assert_same(secrets, text, [3, 30, 60])
    expected = filler.join(["", "[REDACTED:fr]", "[REDACTED:de]", "[REDACTED:fr]", "[REDACTED:de]", ""])
    assert r.redact(text) == expected
    assert r.redact(expected) == expected
