"""Throughput of the redactor against a Python ``re`` alternation of the same alias strings.

The obvious way to mask many strings is one regular expression ``a|b|c...`` (``re.escape``'d,
longest first, as Jenkins and Airflow do).  Python's ``re`` tries the alternatives one after
the other at every position, so it slows down with every pattern added; an Aho-Corasick
automaton reads each character once, however many patterns there are.

For 10, 100 and 1,000 vault values this prints, in one run, the MB/s of:

* ``Redactor.redact`` on log-like text (``--mb`` megabytes, 10 by default, with some values
  embedded plainly, in base64 and percent-encoded),
* ``RedactingStream`` fed the same text in 64 KiB writes,
* ``re.sub`` with the alternation of exactly the aliases the redactor registered.  That
  baseline is slow with many patterns, so it runs on a slice of the text (the size is printed);
  MB/s does not depend on the slice length for this kind of scan.

Goals: the redactor at least 10x the alternation at 100 values, and its throughput at 1,000
values at least half of its throughput at 10.  Ratios are measured in this one run.

    python benchmarks/bench_redaction.py [--mb 10] [--repeat 3]
"""

from __future__ import annotations

import argparse
import base64
import random
import re
import string
import time
import urllib.parse
from collections.abc import Callable
from functools import partial

from harness.redaction import Redactor

COUNTS = (10, 100, 1000)
RE_SLICE_MB = {10: 2.0, 100: 0.5, 1000: 0.05}
"""How much text the ``re`` baseline scans per value count, capped at the whole text."""
SPEED_GOAL = 10.0
FLAT_GOAL = 0.5
CHUNK = 64 * 1024


def make_values(count: int, rnd: random.Random) -> dict[str, str]:
    """Vault-like values: API tokens, passwords with punctuation, a few base64 keys."""
    alphabets = [string.ascii_letters + string.digits, string.ascii_letters + string.digits + "!#%&*+/=?@ -"]
    values = {}
    for i in range(count):
        alphabet = alphabets[0] if i % 4 else alphabets[1]
        size = rnd.randint(12, 40)
        values[f"secret_{i}"] = "fake-" + "".join(rnd.choice(alphabet) for _ in range(size))
    return values


def make_text(megabytes: float, values: dict[str, str], rnd: random.Random) -> str:
    """Log lines with a value (plain, base64 or percent-encoded) in one line of 200.

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
        line = (
            f"2026-05-09T07:{n // 60 % 60:02d}:{n % 60:02d}.{n % 1000:03d}Z INFO [worker-{n % 8}] "
            f"{rnd.choice(words)} https://pim.example.com/api/items/{rnd.randint(1, 99999)}?page={n % 50} "
            f"-> {rnd.choice([200, 200, 200, 404, 500])} in {rnd.randint(1, 900)} ms "
            + " ".join(rnd.choice(words) for _ in range(rnd.randint(2, 8)))
        )
        if n % 200 == 0:
            secret = rnd.choice(secrets[:10] if n % 400 == 0 else secrets)  # some for every count
            form = rnd.choice(
                [secret, base64.b64encode(f"indexer:{secret}".encode()).decode(), urllib.parse.quote_plus(secret)]
            )
            line += f" token={form}"
        lines.append(line)
        size += len(line) + 1
    return "\n".join(lines) + "\n"


def best_seconds(action: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - start)
    return best


def interleaved_best(actions: dict[int, Callable[[], object]], repeat: int) -> dict[int, float]:
    """Best time of each action over ``repeat`` rounds that run every action once, in turn.

    Interleaving spreads the noise of a shared machine evenly over the value counts, so the
    ratio between them means something.
    """
    best = {name: float("inf") for name in actions}
    for _ in range(repeat):
        for name, action in actions.items():
            start = time.perf_counter()
            action()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def alias_strings(redactor: Redactor) -> list[str]:
    """Every string the redactor's automaton looks for (a benchmark may look inside)."""
    engine = redactor._engine
    assert engine is not None
    return list(engine.automaton.keys())


def alternation(aliases: list[str]) -> re.Pattern[str]:
    """The same alias strings as one ``re`` alternation, longest first."""
    return re.compile("|".join(map(re.escape, sorted(aliases, key=len, reverse=True))))


def streamed(redactor: Redactor, text: str) -> str:
    stream = redactor.stream()
    out = [stream.write(text[i : i + CHUNK]) for i in range(0, len(text), CHUNK)]
    out.append(stream.flush())
    return "".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=10.0, help="size of the log text in MB (default 10)")
    parser.add_argument("--repeat", type=int, default=3, help="best of this many timings (default 3)")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)

    rnd = random.Random(args.seed)
    all_values = make_values(max(COUNTS), rnd)
    text = make_text(args.mb, all_values, rnd)
    mb = len(text.encode()) / 1_000_000
    print(f"text: {mb:.1f} MB of log lines, best of {args.repeat}; MB/s = megabytes of UTF-8 text per second")
    print(
        f"{'values':>6} {'aliases':>8} {'build s':>8} {'redact MB/s':>12} {'stream MB/s':>12} "
        f"{'re MB/s':>9} {'re slice':>9} {'speedup':>8} {'masked':>7}"
    )
    redactors: dict[int, Redactor] = {}
    builds: dict[int, float] = {}
    for count in COUNTS:
        start = time.perf_counter()
        redactors[count] = Redactor(dict(list(all_values.items())[:count]))
        builds[count] = time.perf_counter() - start
    outputs = {count: r.redact(text) for count, r in redactors.items()}
    for count, r in redactors.items():
        assert streamed(r, text) == outputs[count], "stream and one-shot disagree"
    redact_s = interleaved_best({c: partial(r.redact, text) for c, r in redactors.items()}, args.repeat)
    stream_s = interleaved_best({c: partial(streamed, r, text) for c, r in redactors.items()}, args.repeat)

    rates: dict[int, float] = {}
    speedups: dict[int, float] = {}
    for count, redactor in redactors.items():
        rates[count] = mb / redact_s[count]
        aliases = alias_strings(redactor)
        pattern = alternation(aliases)
        piece = text[: int(min(mb, RE_SLICE_MB[count]) * 1_000_000)]
        piece_mb = len(piece.encode()) / 1_000_000
        re_rate = piece_mb / best_seconds(partial(pattern.sub, "[REDACTED]", piece), max(1, args.repeat - 1))
        speedups[count] = rates[count] / re_rate
        print(
            f"{count:>6} {len(aliases):>8} {builds[count]:>8.2f} {rates[count]:>12.1f} {mb / stream_s[count]:>12.1f} "
            f"{re_rate:>9.2f} {piece_mb:>6.2f} MB {speedups[count]:>7.0f}x {outputs[count].count('[REDACTED:'):>7}"
        )

    flat = rates[1000] / rates[10]
    print()
    print(
        f"redactor vs re alternation at 100 values: {speedups[100]:.0f}x (goal >= {SPEED_GOAL:.0f}x) "
        f"{'OK' if speedups[100] >= SPEED_GOAL else 'MISSED'}"
    )
    print(
        f"redactor at 1,000 values / at 10 values: {flat:.2f} (goal >= {FLAT_GOAL}) "
        f"{'OK' if flat >= FLAT_GOAL else 'MISSED'}"
    )
    print("(the re baseline scans only the slice shown; its MB/s is for that slice)")
    return 0 if speedups[100] >= SPEED_GOAL and flat >= FLAT_GOAL else 1


if __name__ == "__main__":
    raise SystemExit(main())
