"""extensions/reject_by_metadata: drafts, confidential items and denied file types never reach the index."""

from __future__ import annotations

import json

import pytest

from harness.cli import main

from ..conftest import EXTENSIONS
from .helpers import comments

EXT = EXTENSIONS / "reject_by_metadata"
DOCS = EXT / "documents"


def item(**metadata: str) -> dict:
    return {"uri": "https://intranet.acme.example/doc", "metadata": {"crawler": {"title": "Doc", **metadata}}}


def test_draft_is_rejected(ipe):
    result = ipe.run(EXT, DOCS / "draft_policy.json")
    assert result.status == "REJECTED"
    assert result.reason == "draft: not published yet"
    assert comments(result) == [("NOTIFICATION", "REJECT: draft (status 'draft')")]


def test_confidential_test_api_document_is_rejected(ipe):
    result = ipe.run(EXT, DOCS / "confidential_sheet.json")
    assert result.status == "REJECTED"
    assert result.reason == "classified confidential"


def test_published_public_item_is_kept_unchanged(ipe):
    result = ipe.run(EXT, DOCS / "published_handbook.json")
    assert result.status == "SUCCESS"
    assert result.changes == []
    assert comments(result) == [("DEBUG", "kept: status=published, confidentiality=public, filetype=pdf")]


def test_item_without_any_deciding_metadata_is_skipped(ipe):
    result = ipe.run(EXT, DOCS / "untagged_page.json")
    assert result.status == "SKIPPED"
    assert result.reason == "no status, classification or file type to decide on"


@pytest.mark.parametrize(
    ("metadata", "reason"),
    [
        ({"status": "In Review"}, "draft: not published yet"),
        ({"documentstatus": "work in progress"}, "draft: not published yet"),
        ({"draft": "TRUE", "status": "Published"}, "draft: not published yet"),
        ({"confidentiality": "Secret"}, "classified secret"),
        ({"classification": "Internal Only"}, "classified internal only"),
        ({"filetype": "bak"}, "file type bak is not indexed"),
        ({"filetype": ".TMP"}, "file type tmp is not indexed"),
    ],
)
def test_every_rule_rejects(ipe, metadata, reason):
    result = ipe.run(EXT, item(**metadata))
    assert (result.status, result.reason) == ("REJECTED", reason)


def test_the_newest_origin_decides(ipe):
    """A converter that re-classified the item overrides the crawler's value."""
    document = {
        "id": "https://intranet.acme.example/doc",
        "metadata": [
            {"origin": "crawler", "values": {"confidentiality": ["confidential"]}},
            {"origin": "converter", "values": {"confidentiality": ["public"]}},
        ],
    }
    assert ipe.run(EXT, document).status == "SUCCESS"


def test_denied_filetypes_parameter_replaces_the_default_list(ipe):
    assert ipe.run(EXT, item(filetype="bak"), parameters={"denied_filetypes": "zip, exe"}).status == "SUCCESS"
    rejected = ipe.run(EXT, item(filetype="EXE"), parameters={"denied_filetypes": "zip, exe"})
    assert (rejected.status, rejected.reason) == ("REJECTED", "file type exe is not indexed")


def test_rejection_discards_nothing_but_keeps_the_logs_in_the_json(capsys):
    assert main(["run", str(EXT), "--document", str(DOCS / "draft_policy.json"), "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["result"] == {"status": "REJECTED", "reason": "draft: not published yet"}
    assert [log["severity"] for log in answer["logs"]] == ["NOTIFICATION"]


def test_ipe_run_on_its_documents_exits_0(capsys):
    assert main(["run", str(EXT)]) == 0
    assert "4 documents: 2 REJECTED, 1 SKIPPED, 1 SUCCESS" in capsys.readouterr().out
