"""Golden files keep text streams as lines of text, so a changed body reads as a changed line."""

from __future__ import annotations

import base64
import json

import harness
from harness.golden import compare_golden, golden_json, write_golden

SCRIPT = """
html = document.DataStream("body_html")
html.write("<h1>" + parameters.get("heading", "Hello") + "</h1>\\n<p>one</p>\\n<p>two</p>\\n")
document.add_data_stream(html)
text = document.DataStream("body_text")
text.write("Hello, wörld")
document.add_data_stream(text)
blob = document.DataStream("thumbnail")
blob.write(b"\\x89PNG\\r\\n\\x1a\\n\\x00\\x00\\xff\\xfe")
document.add_data_stream(blob)
"""


def streams(data):
    [mine] = [o for o in data["document"]["dataStreams"] if o["origin"] == "pager"]
    return mine["values"]


def test_text_streams_are_lines_and_binary_stays_base64(make_extension):
    folder = make_extension(SCRIPT, name="pager")
    values = streams(golden_json(harness.run_extension(folder, {"uri": "https://example.com/p"}, vault={})))
    assert values["body_html"] == {"compressionType": "UNCOMPRESSED", "text": ["\ufeff<h1>Hello</h1>\n", "<p>one</p>\n", "<p>two</p>\n"]}
    assert values["body_text"]["text"] == ["Hello, wörld"]  # UTF-16LE, Coveo's encoding for body_text
    assert base64.b64decode(values["thumbnail"]["inlineContent"]).startswith(b"\x89PNG")


def test_a_changed_line_shows_as_one_line_of_the_diff(make_extension, tmp_path):
    folder = make_extension(SCRIPT, name="pager")
    golden = write_golden(harness.run_extension(folder, {"uri": "https://example.com/p"}, vault={}), tmp_path / "p.expected.json")
    changed = harness.run_extension(folder, {"uri": "https://example.com/p"}, vault={}, parameters={"heading": "Bye"})
    diff = compare_golden(changed, golden)
    assert diff is not None
    removed = [line for line in diff.splitlines() if line.startswith("-") and not line.startswith("---")]
    added = [line for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")]
    assert [line[1:].strip() for line in removed] == ['"\ufeff<h1>Hello</h1>\\n",']  # Coveo writes body_html with a BOM
    assert [line[1:].strip() for line in added] == ['"\ufeff<h1>Bye</h1>\\n",']


def test_golden_files_of_the_base64_form_still_match(make_extension, tmp_path):
    folder = make_extension(SCRIPT, name="pager")
    result = harness.run_extension(folder, {"uri": "https://example.com/p"}, vault={})
    old = result.to_json()  # what golden files held before: base64 everywhere
    old.pop("duration")
    for entry in old["logs"]:
        entry.pop("date"), entry.pop("duration")
    old["harness"].pop("source")
    path = tmp_path / "old.expected.json"
    path.write_text(json.dumps(old, indent=2), encoding="utf-8")
    assert "inlineContent" in path.read_text() and '"text"' not in path.read_text()
    assert compare_golden(result, path) is None
