"""The HTML report (--report FILE.html) opened in a real headless Chromium.

The page is rendered (a screenshot of the asked size that is not blank), and its script is
checked by what it did to the DOM: the filter and the sort given in the URL's hash.  Skipped,
with the reason, where Debian's ``chromium`` package is not installed.
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from harness.cli import main

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium); the HTML report is not checked in a browser"
)

SECRET = "fake-html-secret-4c1d9e"

SCRIPT = """
title = document.get_meta_data_value("title")[0]
log("title was " + title, "Warning")
if title == "boom":
    raise RuntimeError("no good <b>" + title + "</b>")
if title == "leak":
    log("key " + vault_parameters["api_key"])
document.add_meta_data({"title": title.upper()})
html = document.DataStream("body_html")
html.write("<html><body><h1>" + title.upper() + "</h1><p>same paragraph</p></body></html>")
document.add_data_stream(html)
document.clear_permissions()
document.add_allowed("everyone@example.com", "Group", "Email Security Provider")
"""


def doc(title: str) -> dict[str, object]:
    return {
        "uri": f"https://example.com/{title}",
        "metadata": {"crawler": {"title": title}},
        "dataStreams": {"body_html": f"<html><body><h1>{title}</h1><p>same paragraph</p></body></html>"},
        "permissions": [{"name": "Share", "permissionSets": [{"name": "ACL", "permissions": [
            {"identity": "ACME\\Staff", "identityType": "GROUP", "securityProvider": "AD", "allowed": True}]}]}],
    }


@pytest.fixture
def report(make_extension, tmp_path: Path) -> Path:
    titles = ["alpha", "boom", "<img src=x onerror=alert(1)>", "leak", "zulu"]
    folder = make_extension(SCRIPT, name="htmlext", documents={f"{i}.json": doc(t) for i, t in enumerate(titles, 1)})
    (tmp_path / ".env").write_text(f"VAULT_api_key={SECRET}\n")
    path = tmp_path / "report.html"
    assert main(["run", str(folder), "--quiet", "--env-file", str(tmp_path / ".env"), "--report", str(path)]) == 1
    return path


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    profile = tmp_path / "chromium-profile"
    profile.mkdir(exist_ok=True)
    command = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}", *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=180)


def png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and the unfiltered rows of an 8-bit RGB/RGBA PNG (what Chromium writes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, chunks, idat = 8, {}, b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IDAT":
            idat += body
        else:
            chunks[kind] = body
        pos += 12 + length
    width, height, depth, color = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert depth == 8 and color in (2, 6), f"unexpected PNG format depth={depth} color={color}"
    bpp = 3 if color == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            left = line[x - bpp] if x >= bpp else 0
            up, corner = previous[x], previous[x - bpp] if x >= bpp else 0
            if kind == 1:
                line[x] = (line[x] + left) & 0xFF
            elif kind == 2:
                line[x] = (line[x] + up) & 0xFF
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[x] = (line[x] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xFF
        rows.append(bytes(x for i, x in enumerate(line) if bpp == 3 or i % 4 != 3))  # RGB only
        previous = line
    return width, height, rows


def test_the_page_is_self_contained_escaped_and_redacted(report):
    page = report.read_text(encoding="utf-8")
    assert SECRET not in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)  # no CDN, no external file
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert page.count("<script>") == 1
    # each document's before/after: metadata, permissions, the text stream as a line diff
    assert '<td>title</td><td class="del">[&#34;alpha&#34;]</td><td class="add">[&#34;ALPHA&#34;]</td>' in page
    assert '<span class="del">- Share / ACL: allowed GROUP ACME\\Staff (AD)</span>' in page
    assert '<span class="add">+ level 1 / set 1: allowed GROUP everyone@example.com (Email Security Provider)</span>' in page
    assert '<span class="del">-&lt;html&gt;&lt;body&gt;&lt;h1&gt;alpha&lt;/h1&gt;' in page
    assert '<span class="add">+&lt;html&gt;&lt;body&gt;&lt;h1&gt;ALPHA&lt;/h1&gt;' in page
    assert "RuntimeError: no good &lt;b&gt;boom&lt;/b&gt;" in page and "[REDACTED:api_key]" in page


@needs_chromium
def test_the_report_renders_in_chromium(report, tmp_path):
    shot = tmp_path / "report.png"
    done = chromium(tmp_path, f"--screenshot={shot}", "--window-size=1100,900", "--hide-scrollbars",
                    report.as_uri())
    assert shot.is_file(), done.stderr[-2000:]
    width, height, rows = png_pixels(shot.read_bytes())
    assert (width, height) == (1100, 900)
    colors = {row[i:i + 3] for row in rows[::7] for i in range(0, len(row), 21)}
    assert len(colors) > 20, "the screenshot is (almost) one colour: the page did not render"
    white = sum(row.count(b"\xff\xff\xff") for row in rows[::9])
    assert white < 0.97 * sum(len(row) // 3 for row in rows[::9])


def dom(tmp_path: Path, report: Path, fragment: str) -> str:
    done = chromium(tmp_path, "--dump-dom", "--virtual-time-budget=3000", report.as_uri() + fragment)
    assert done.returncode == 0 and "</html>" in done.stdout, done.stderr[-2000:]
    return done.stdout


def rows_of(page: str) -> list[tuple[str, bool]]:
    """``(status, hidden)`` of each row of the documents table, in the DOM's order."""
    body = page[page.index('<table id="docs"'):]
    body = body[:body.index("</table>")]
    return [(m[1], " hidden" in m[0]) for m in re.finditer(r'<tr[^>]*data-status="([A-Z_]+)"[^>]*>', body)]


@needs_chromium
def test_the_table_filters_and_sorts_from_the_url(report, tmp_path):
    page = dom(tmp_path, report, "#status=EXECUTION_ERROR")
    rows = rows_of(page)
    assert len(rows) == 5
    assert [status for status, hidden in rows if not hidden] == ["EXECUTION_ERROR"]
    assert "1 of 5 shown" in page
    leaking = dom(tmp_path, report, "#status=LEAK")
    assert "1 of 5 shown" in leaking
    words = dom(tmp_path, report, "#q=5.json")
    assert "1 of 5 shown" in words
    ordered = dom(tmp_path, report, "#sort=document&desc=1")
    body = ordered[ordered.index('<table id="docs"'):]
    numbers = re.findall(r'<tr[^>]*>\s*<td data-v="(\d+)"', body)
    assert numbers == ["5", "4", "3", "2", "1"] and 'aria-sort="descending"' in body
    assert "5 of 5 shown" in ordered
    opened = dom(tmp_path, report, "#doc-2")
    assert re.search(r'<details class="doc" id="doc-2"[^>]*\bopen', opened)
    assert not re.search(r'<details class="doc" id="doc-1"[^>]*\bopen', opened)


def test_a_big_batch_keeps_every_row_but_details_only_for_the_first_and_failed(make_extension, tmp_path, monkeypatch):
    import harness.reports.html as html_report

    monkeypatch.setattr(html_report, "DETAILS", 1)
    monkeypatch.setattr(html_report, "PROBLEM_DETAILS", 1)
    titles = ["alpha", "boom", "beta", "leak", "zulu"]
    folder = make_extension(SCRIPT, name="big", documents={f"{i}.json": doc(t) for i, t in enumerate(titles, 1)})
    (tmp_path / ".env").write_text(f"VAULT_api_key={SECRET}\n")
    path = tmp_path / "big.html"
    main(["run", str(folder), "--quiet", "--env-file", str(tmp_path / ".env"), "--report", str(path)])
    page = path.read_text(encoding="utf-8")
    assert page.count('<tr data-status="') == 5
    assert re.findall(r'<details class="doc" id="doc-(\d+)"', page) == ["1", "2"]  # the first, then the failure
    assert "3 documents have no details here" in page
