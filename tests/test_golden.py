"""Golden results: stable JSON beside the document, compared as data, written on request."""

from __future__ import annotations

import json

import pytest

import harness
from harness.errors import HarnessError
from harness.extension import load_extension
from harness.golden import compare_golden, golden_json, golden_path, golden_text, write_golden

SCRIPT = """
log("tagging %s" % document.uri, "Notification")
document.add_meta_data({"tags": ["b", "a"], "checked": True})
"""


@pytest.fixture
def folder(make_extension):
    return make_extension(SCRIPT, name="tagger",
                          documents={"page.json": {"uri": "https://example.com/p", "metadata": {"crawler": {"z": 1}}}})


def test_golden_json_leaves_out_dates_durations_and_the_source_path(folder):
    data = golden_json(harness.run_extension(folder, folder / "documents" / "page.json", vault={}))
    assert "duration" not in data
    assert data["logs"] == [{"comment": "tagging https://example.com/p", "severity": "NOTIFICATION", "fields": {}}]
    assert "source" not in data["harness"]
    assert data["result"] == {"status": "SUCCESS", "reason": ""}
    assert data["document"]["metadata"][-1] == {"origin": "tagger", "values": {"tags": ["b", "a"], "checked": [True]}}


def test_two_runs_give_the_same_text_with_sorted_keys(folder):
    document = folder / "documents" / "page.json"
    first = golden_text(harness.run_extension(folder, document, vault={}))
    second = golden_text(harness.run_extension(folder, document, vault={}))
    assert first == second
    assert first.endswith("}\n")
    assert list(json.loads(first)) == sorted(json.loads(first))


def test_written_golden_matches_and_sits_beside_the_document_without_becoming_one(folder):
    document = folder / "documents" / "page.json"
    result = harness.run_extension(folder, document, vault={})
    path = write_golden(result, golden_path(document))
    assert path == folder / "documents" / "page.expected.json"
    assert compare_golden(result, path) is None
    assert load_extension(folder).documents == [document]


def test_hand_reformatted_golden_still_matches(folder):
    document = folder / "documents" / "page.json"
    result = harness.run_extension(folder, document, vault={})
    path = golden_path(document)
    path.write_text(json.dumps(golden_json(result)), encoding="utf-8")  # one line, unsorted
    assert compare_golden(result, path) is None


def test_a_difference_is_a_unified_diff_from_expected_to_actual(folder):
    document = folder / "documents" / "page.json"
    path = write_golden(harness.run_extension(folder, document, vault={}), golden_path(document))
    (folder / "extension.py").write_text(SCRIPT.replace('"a"]', '"c"]'), encoding="utf-8")
    diff = compare_golden(harness.run_extension(folder, document, vault={}), path)
    assert diff is not None
    assert diff.startswith(f"--- {path} (expected)\n+++ this run\n")
    assert '\n-            "a"\n+            "c"\n' in diff


def test_missing_or_broken_golden_files_are_clear_errors(folder, tmp_path):
    result = harness.run_extension(folder, folder / "documents" / "page.json", vault={})
    with pytest.raises(HarnessError, match="no golden result yet; write it with `pytest --ipe-update-golden`"):
        compare_golden(result, tmp_path / "missing.expected.json")
    broken = tmp_path / "broken.expected.json"
    broken.write_text("{", encoding="utf-8")
    with pytest.raises(HarnessError, match=r"broken\.expected\.json: not JSON \(line 1"):
        compare_golden(result, broken)
