"""Throughput of the redactor, per engine, against ``bytes.find`` of an absent literal.

The parent process redacts and scans everything the workers send back, so the redactor must
scan close to memory speed however many vault values there are.  ``bytes.find`` of a literal
that does not occur is the yardstick: one SIMD-assisted pass over the same bytes, about as fast
as Python reads memory.  The text is a punctuation-rich log (JSON payloads, URLs with query
strings, quotes, brackets, escapes), and 1% of its lines hold a vault value, plainly, in an
HTTP Basic header (base64), form-encoded or as a JSON string.

For 10, 100 and 1,000 vault values and each engine installed (``hyperscan``, then the
``pyahocorasick`` fallback), this prints, in one run, the MB/s of:

* ``Redactor.redact`` on the log as ``str``,
* ``Redactor.redact_bytes`` on its UTF-8 bytes,
* ``RedactingStream`` fed the ``str`` in 64 KiB writes,

and each one's ratio to ``bytes.find`` measured in the same rounds.  ``--charset`` puts accented (``latin-1``) or wider (``wide``:
CJK, emoji) product names in one line of 10; the log is ASCII otherwise.  Timings are interleaved
(every action once per round, best of ``--repeat`` rounds) so a shared machine's noise falls on
all of them alike.

Goal: ``Redactor.redact`` with the default engine at 100 and at 1,000 values runs at least
0.1x ``bytes.find`` (exit status 1 otherwise).

    python benchmarks/bench_redaction.py [--mb 10] [--repeat 5] [--charset ascii|latin-1|wide]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import string
import time
import urllib.parse
from collections.abc import Callable
from functools import partial

from harness.redaction import ENGINE_VARIABLE, ENGINES, Redactor

COUNTS = (10, 100, 1000)
GOAL = 0.1
CHUNK = 64 * 1024
ABSENT = b"fake-absent-literal-7Qz"


def make_values(count: int, rnd: random.Random) -> dict[str, str]:
    """Vault-like values: API tokens, passwords with punctuation."""
    alphabets = [string.ascii_letters + string.digits, string.ascii_letters + string.digits + "!#%&*+/=?@ -"]
    values = {}
    for i in range(count):
        alphabet = alphabets[0] if i % 4 else alphabets[1]
        size = rnd.randint(12, 40)
        values[f"secret_{i}"] = "fake-" + "".join(rnd.choice(alphabet) for _ in range(size))
    return values


PRODUCTS = {
    "ascii": [],
    "latin-1": ["Crème brûlée", "Smørrebrød", "Käsespätzle", "Façade à l'été"],
    "wide": ["Crème brûlée", "Żubrówka", "抹茶ラテ", "Käsespätzle 🧀"],
}
"""Product names in one line of 10: none, Latin-1 only (text stored one byte a character),
or beyond (stored two or four bytes a character)."""


def make_text(megabytes: float, values: dict[str, str], rnd: random.Random, charset: str = "ascii") -> str:
    """Log lines full of punctuation, a vault value in one line of 100.

    Half of those values are among the first 10, so every value count has something to mask.
    """
    words = ["GET", "POST", "item", "sku", "price", "indexed", "skipped", "retry", "ok", "cache"]
    secrets = list(values.values())
    lines = []
    size = 0
    target = int(megabytes * 1_000_000)
    n = 0
    while size < target:
        n += 1
        item = rnd.randint(1, 99999)
        payload = {
            "op": rnd.choice(words),
            "url": f"https://pim.example.com/api/items/{item}?page={n % 50}&q={rnd.choice(words)}%20{item}&sort=-date",
            "status": rnd.choice([200, 200, 200, 404, 500]),
            "ms": rnd.randint(1, 900),
            "tags": rnd.sample(words, 3),
        }
        if PRODUCTS[charset] and n % 10 == 0:
            payload["title"] = rnd.choice(PRODUCTS[charset])
        line = (
            f"2026-05-09T07:{n // 60 % 60:02d}:{n % 60:02d}.{n % 1000:03d}Z INFO [worker-{n % 8}] "
            f"<{rnd.choice(words)}> {json.dumps(payload, ensure_ascii=False)} "
            f"path='C:\\\\data\\\\{item}.json' ({rnd.randint(0, 99)}%) #{n};"
        )
        if n % 100 == 0:
            secret = rnd.choice(secrets[:10] if n % 200 == 0 else secrets)  # some for every count
            form = rnd.choice(
                [
                    secret,
                    "Authorization: Basic " + base64.b64encode(f"indexer:{secret}".encode()).decode(),
                    urllib.parse.urlencode({"token": secret}),
                    json.dumps({"password": secret}),
                ]
            )
            line += f" {form}"
        lines.append(line)
        size += len(line.encode()) + 1
    return "\n".join(lines) + "\n"


def interleaved_best(actions: dict[str, Callable[[], object]], repeat: int) -> dict[str, float]:
    """Best time of each action over ``repeat`` rounds that run every action once, in turn."""
    best = dict.fromkeys(actions, float("inf"))
    for _ in range(repeat):
        for name, action in actions.items():
            start = time.perf_counter()
            action()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def streamed(redactor: Redactor, text: str) -> str:
    stream = redactor.stream()
    out = [stream.write(text[i : i + CHUNK]) for i in range(0, len(text), CHUNK)]
    out.append(stream.flush())
    return "".join(out)


def build(engine: str, values: dict[str, str]) -> tuple[Redactor, float]:
    previous = os.environ.get(ENGINE_VARIABLE)
    os.environ[ENGINE_VARIABLE] = engine
    try:
        start = time.perf_counter()
        redactor = Redactor(values)
        return redactor, time.perf_counter() - start
    finally:
        if previous is None:
            del os.environ[ENGINE_VARIABLE]
        else:
            os.environ[ENGINE_VARIABLE] = previous


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--mb", type=float, default=10.0, help="size of the log text in MB (default 10)")
    parser.add_argument("--repeat", type=int, default=5, help="best of this many rounds (default 5)")
    parser.add_argument(
        "--charset", choices=sorted(PRODUCTS), default="ascii", help="non-ASCII text in one line of 10 (default: none)"
    )
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)

    rnd = random.Random(args.seed)
    all_values = make_values(max(COUNTS), rnd)
    text = make_text(args.mb, all_values, rnd, args.charset)
    data = text.encode()
    mb = len(data) / 1_000_000
    assert data.find(ABSENT) == -1

    redactors: dict[tuple[str, int], Redactor] = {}
    builds: dict[tuple[str, int], float] = {}
    for engine in ENGINES:
        for count in COUNTS:
            redactors[engine, count], builds[engine, count] = build(engine, dict(list(all_values.items())[:count]))
    outputs = {}
    for (engine, count), r in redactors.items():  # every engine and way gives the same output
        outputs[engine, count] = out = r.redact(text)
        assert out == redactors[ENGINES[-1], count].redact(text), "engines disagree"
        assert r.redact_bytes(data) == out.encode(), "redact_bytes disagrees"
        assert streamed(r, text) == out, "stream and one-shot disagree"

    actions: dict[str, Callable[[], object]] = {"find": partial(data.find, ABSENT)}
    for (engine, count), r in redactors.items():
        actions[f"{engine} {count} redact"] = partial(r.redact, text)
        actions[f"{engine} {count} bytes"] = partial(r.redact_bytes, data)
        actions[f"{engine} {count} stream"] = partial(streamed, r, text)
    best = interleaved_best(actions, args.repeat)
    find_rate = mb / best["find"]

    print(
        f"text: {mb:.1f} MB of punctuation-rich log ({args.charset}), 1% of lines with a value; "
        f"best of {args.repeat} rounds"
    )
    print(f"bytes.find of an absent literal: {find_rate:,.0f} MB/s (ratio 1.0)")
    print(
        f"{'engine':<14} {'values':>6} {'build s':>8} {'redact MB/s':>12} {'ratio':>6} "
        f"{'bytes MB/s':>11} {'ratio':>6} {'stream MB/s':>12} {'ratio':>6} {'masked':>7}"
    )
    ratios: dict[tuple[str, int], float] = {}
    for engine, count in redactors:
        rates = [mb / best[f"{engine} {count} {way}"] for way in ("redact", "bytes", "stream")]
        ratios[engine, count] = rates[0] / find_rate
        cells = " ".join(f"{rate:>{w},.0f} {rate / find_rate:>6.3f}" for rate, w in zip(rates, (12, 11, 12)))
        print(
            f"{engine:<14} {count:>6} {builds[engine, count]:>8.2f} {cells} "
            f"{outputs[engine, count].count('[REDACTED:'):>7}"
        )

    default = ENGINES[0]
    ok = all(ratios[default, count] >= GOAL for count in (100, 1000))
    print()
    print(
        f"{default} redact / bytes.find at 100 values: {ratios[default, 100]:.3f}, at 1,000: "
        f"{ratios[default, 1000]:.3f} (goal >= {GOAL}) {'OK' if ok else 'MISSED'}"
    )
    if len(ENGINES) > 1:
        print(f"{default} / {ENGINES[-1]} at 1,000 values: {ratios[default, 1000] / ratios[ENGINES[-1], 1000]:.0f}x")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
