"""``ipe.pipeline(...)``: a source's pipeline from a pytest test, run through pytester as a user would."""

from __future__ import annotations

import json
import textwrap

import pytest


def write(pytester: pytest.Pytester, name: str, script: str, extension_id: str) -> None:
    folder = pytester.path / "extensions" / name
    folder.mkdir(parents=True)
    (folder / "extension.py").write_text(textwrap.dedent(script).lstrip("\n"), encoding="utf-8")
    (folder / "extension.json").write_text(json.dumps({"id": extension_id, "name": name}), encoding="utf-8")


SOURCE = {
    "preConversionExtensions": [
        {"extensionId": "org-classify", "actionOnError": "REJECT_DOCUMENT", "condition": None, "parameters": {}},
    ],
    "postConversionExtensions": [
        {"extensionId": "org-sign", "actionOnError": "SKIP_EXTENSION", "condition": "%[kind] == 'pdf'",
         "parameters": {"prefix": "doc-"}},
    ],
}


def test_ipe_pipeline_asserts_on_steps_and_the_final_document(pytester: pytest.Pytester) -> None:
    write(pytester, "classify", """
        name = document.uri.rsplit(".", 1)[-1]
        document.add_meta_data({"kind": name})
    """, "org-classify")
    write(pytester, "sign", """
        document.add_meta_data({"signature": parameters["prefix"] + vault_parameters["signing_key"]})
    """, "org-sign")
    (pytester.path / "source.json").write_text(json.dumps(SOURCE), encoding="utf-8")
    pytester.makepyfile(test_source="""
        def test_pdf_goes_through_both(ipe):
            result = ipe.pipeline("source.json", {"uri": "https://x.example/a.pdf"})
            assert [(s.extension, s.outcome) for s in result.steps] == [("classify", "applied"), ("sign", "applied")]
            assert result.metadata("kind") == ["pdf"]

        def test_html_skips_the_signing_step(ipe):
            result = ipe.pipeline("source.json", {"uri": "https://x.example/a.html"})
            assert result.step("sign").ran is False
            assert result.step("org-sign").outcome == "not-run"
            assert result.status == "SUCCESS"
    """)
    outcome = pytester.runpytest("-p", "no:cacheprovider", "-rf")
    # the first test put a (canary) vault value into metadata: the leak rule fails it
    outcome.assert_outcomes(passed=1, failed=1)
    assert "a vault value leaked during this test" in outcome.stdout.str()
    assert "signing_key" in outcome.stdout.str()
    outcome.stdout.fnmatch_lines(["FAILED test_source.py::test_pdf_goes_through_both*"])
