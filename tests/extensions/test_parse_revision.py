"""extensions/parse_revision: "3.2" becomes revisionmajor 3 and revisionminor 2."""

from __future__ import annotations

import pytest

from ..conftest import EXTENSIONS

EXT = EXTENSIONS / "parse_revision"


def item(revision: str) -> dict:
    return {"uri": "https://intranet.acme.example/p.pdf", "metadata": {"crawler": {"revision": revision}}}


@pytest.mark.parametrize(("revision", "major", "minor"), [("3.2", 3, 2), ("v4", 4, 0), ("V1.10", 1, 10)])
def test_revision_numbers(ipe, revision, major, minor):
    result = ipe.run(EXT, item(revision))
    assert result.added_metadata == {"revisionmajor": [major], "revisionminor": [minor]}


def test_a_malformed_revision_fails_so_that_action_on_error_decides(ipe):
    result = ipe.run(EXT, EXT / "documents" / "remote_work_policy.json")
    assert result.status == "EXECUTION_ERROR"
    assert "ValueError" in result.reason
    assert result.changes == []
