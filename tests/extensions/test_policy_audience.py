"""extensions/policy_audience, and the intranet source that chains the three example extensions."""

from __future__ import annotations

from ..conftest import EXTENSIONS, ROOT

EXT = EXTENSIONS / "policy_audience"
SOURCE = ROOT / "sources" / "intranet.json"


def item(**metadata: str) -> dict:
    return {"uri": "https://intranet.acme.example/p.pdf", "metadata": {"crawler": {"title": "Policy", **metadata}}}


def test_company_wide_owner_means_everyone(ipe):
    assert ipe.run(EXT, item(department="HR")).metadata("audience") == ["everyone"]


def test_the_map_comes_from_the_parameters(ipe):
    result = ipe.run(EXT, item(department="Legal"), parameters={"audiences": "legal = lawyers"})
    assert result.metadata("audience") == ["lawyers"]


def test_no_owner_is_rejected(ipe):
    result = ipe.run(EXT, EXT / "documents" / "employee_handbook.json")
    assert result.status == "REJECTED"
    assert result.reason.startswith("no owning department")


def test_an_unknown_department_fails(ipe):
    result = ipe.run(EXT, EXT / "documents" / "brand_guide.json")
    assert result.status == "EXECUTION_ERROR"
    assert "KeyError: 'marketing'" in result.reason


def test_the_intranet_source_runs_all_three_on_a_policy(ipe):
    document = EXTENSIONS / "classify_documents" / "documents" / "travel_policy.json"
    result = ipe.pipeline(SOURCE, document, extensions=EXTENSIONS)
    assert [(s.extension, s.outcome) for s in result.steps] == [
        ("classify_documents", "applied"), ("parse_revision", "applied"), ("policy_audience", "applied")]
    assert result.metadata("audience") == ["department:finance"]
    assert result.metadata("revisionmajor") == [3]


def test_the_intranet_source_skips_a_bad_revision_and_goes_on(ipe):
    document = EXTENSIONS / "parse_revision" / "documents" / "remote_work_policy.json"
    result = ipe.pipeline(SOURCE, document, extensions=EXTENSIONS)
    assert result.status == "SUCCESS" and result.errored
    assert result.step("parse_revision").outcome == "discarded"
    assert result.metadata("revisionmajor") == []
    assert result.metadata("audience") == ["everyone"]


def test_the_intranet_source_rejects_an_item_whose_audience_fails(ipe):
    result = ipe.pipeline(SOURCE, EXT / "documents" / "brand_guide.json", extensions=EXTENSIONS)
    assert result.status == "REJECTED"
    assert result.step("policy_audience").outcome == "rejected"
    assert result.reason.startswith("policy_audience ended EXECUTION_ERROR and its actionOnError is REJECT_DOCUMENT")
