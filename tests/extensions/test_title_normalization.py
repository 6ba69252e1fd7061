"""extensions/title_normalization: the README's demo, titles and dates from crawler metadata."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from harness.cli import main

from ..conftest import EXTENSIONS
from .helpers import comments

EXT = EXTENSIONS / "title_normalization"
DOCS = EXT / "documents"


def page(title: str | None = None, **metadata: str) -> dict:
    values = dict(metadata)
    if title is not None:
        values["title"] = title
    return {"uri": "https://docs.acme.example/page", "metadata": {"crawler": values}}


def test_blog_title_loses_site_suffix_and_double_space(ipe):
    result = ipe.run(EXT, DOCS / "blog.json")
    assert result.status == "SUCCESS"
    assert result.added_metadata == {"title": ["Release notes"]}
    assert result.changes[0].before == ["Release notes  | Acme Docs"]
    assert comments(result) == [("NORMAL", "title normalised")]


def test_test_api_document_is_recased_and_its_rfc2822_date_made_iso_utc(ipe):
    result = ipe.run(EXT, DOCS / "press_release.json")
    assert result.status == "SUCCESS"
    assert result.added_metadata["title"] == ["Acme Announces Third Quarter Results"]
    # Tue, 05 Mar 2024 14:30:00 -0500 is 19:30 UTC
    assert result.added_metadata["date"] == ["2024-03-05T19:30:00Z"]
    # the input's compressed body went through untouched
    body = next(s for s in result.document.data_streams if s.name == "body_text")
    assert body.content.decode("utf-16-le").startswith("ACME ANNOUNCES THIRD QUARTER RESULTS")


def test_lower_case_title_is_title_cased_keeping_small_words_and_acronyms(ipe):
    result = ipe.run(EXT, DOCS / "faq.json")
    assert result.added_metadata["title"] == ["Frequently Asked Questions About the API"]
    assert result.added_metadata["date"] == ["2024-03-05T00:00:00Z"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-07-01", "2024-07-01T00:00:00Z"),
        ("2024-07-01T09:15:00+02:00", "2024-07-01T07:15:00Z"),
        ("2024-07-01T09:15:00Z", "2024-07-01T09:15:00Z"),
        ("2024/07/01", "2024-07-01T00:00:00Z"),
        ("1 July 2024", "2024-07-01T00:00:00Z"),
        ("Jul 1, 2024", "2024-07-01T00:00:00Z"),
        ("Mon, 01 Jul 2024 08:00:00 GMT", "2024-07-01T08:00:00Z"),
    ],
)
def test_date_formats_of_crawled_pages_become_iso_8601(ipe, raw, expected):
    result = ipe.run(EXT, page("Pricing", published=raw))
    assert result.status == "SUCCESS"
    assert result.added_metadata == {"date": [expected]}


def test_unreadable_date_is_a_warning_and_the_title_still_changes(ipe):
    result = ipe.run(EXT, page("PRICING | Acme", published="sometime next spring"))
    assert result.status == "SUCCESS"
    assert result.added_metadata == {"title": ["Pricing"]}
    assert ("WARNING", "cannot read the date in 'published': 'sometime next spring'") in comments(result)


def test_date_fields_parameter_picks_the_metadata_to_read(ipe):
    document = page("Pricing", published="2024-01-01", modified="2024-02-02")
    result = ipe.run(EXT, document, parameters={"date_fields": "modified,published"})
    assert result.added_metadata == {"date": ["2024-02-02T00:00:00Z"]}


def test_mixed_case_title_keeps_its_casing_and_other_suffixes_stay(ipe):
    result = ipe.run(EXT, page("iPhone setup with SSO \u2013 Contoso Wiki"))
    assert result.status == "SUCCESS"
    assert result.changes == []
    assert comments(result) == [("DEBUG", "nothing to normalise")]


def test_site_suffixes_parameter_replaces_the_default_list(ipe):
    result = ipe.run(EXT, page("Setup :: Contoso Wiki"), parameters={"site_suffixes": "Contoso Wiki"})
    assert result.added_metadata == {"title": ["Setup"]}


def test_a_title_that_is_only_the_site_name_is_kept(ipe):
    result = ipe.run(EXT, page("Acme"))
    assert result.changes == []


def test_item_without_title_is_skipped_and_unchanged(ipe):
    result = ipe.run(EXT, DOCS / "untitled.json")
    assert result.status == "SKIPPED"
    assert result.reason == "no title to normalise"
    assert result.changes == []


def test_ipe_run_on_its_documents_exits_0(capsys):
    assert main(["run", str(EXT)]) == 0
    out = capsys.readouterr().out
    assert "4 documents: 1 SKIPPED, 3 SUCCESS" in out
    assert "['Release notes']" in out


def test_readme_demo_runs_with_the_console_script_and_no_env(tmp_path):
    """The README's first command, from a folder with no .env, ends SUCCESS."""
    ipe = os.path.join(os.path.dirname(sys.executable), "ipe")
    env = {k: v for k, v in os.environ.items() if not k.startswith("VAULT_")}
    done = subprocess.run([ipe, "run", str(EXT)], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "SUCCESS" in done.stdout and "EXECUTION_ERROR" not in done.stdout
    assert "title normalised" in done.stdout
    assert done.stderr == ""


@pytest.mark.parametrize("name", sorted(p.name for p in DOCS.glob("*.json") if not p.name.endswith(".expected.json")))
def test_each_document_matches_its_golden_result(ipe, name):
    """The whole result (metadata, logs, streams...) pinned in documents/<stem>.expected.json;
    `pytest --ipe-update-golden` rewrites them after an intended change."""
    ipe.assert_golden(ipe.run(EXT, DOCS / name))
