"""harness.Pipeline: a source's extensions in order, with conditions, actionOnError and scoped vaults."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness import HarnessError, Pipeline
from harness.source import parse_source
from harness.vault import load_vault

DOC: dict[str, Any] = {
    "uri": "https://intranet.example.com/a.pdf",
    "metadata": {"crawler": {"filetype": "pdf", "title": "A"}},
}

TAG = """
document.add_meta_data({parameters["name"]: parameters["value"]})
"""
CRASH = """
document.add_meta_data({"half": "done"})
raise RuntimeError("the service is down")
"""
REJECT = """
document.reject("not for the index")
"""
SKIP = """
document.add_meta_data({"ignored": "yes"})
document.skip("nothing to do")
"""
SLOW = """
document.add_meta_data({"slow": "yes"})
while True:
    pass
"""


@pytest.fixture
def extensions(make_extension: Any, tmp_path: Path) -> Path:
    """tmp_path holds the extension folders (make_extension writes there)."""
    for name, script in {"tag": TAG, "crash": CRASH, "reject": REJECT, "skip": SKIP, "slow": SLOW}.items():
        make_extension(script, name=name, manifest={"id": f"org-{name}"})
    return tmp_path


def entry(extension_id: str, condition: str | None = None, action: str = "SKIP_EXTENSION", **parameters: str) -> dict[str, Any]:
    return {"extensionId": extension_id, "versionId": None, "actionOnError": action, "condition": condition,
            "itemType": None, "parameters": parameters}


def pipeline(extensions: Path, pre: list[dict[str, Any]], post: list[dict[str, Any]] | None = None, **kwargs: Any) -> Pipeline:
    source = {"preConversionExtensions": pre, "postConversionExtensions": post or []}
    return Pipeline(source, extensions=extensions, vault={}, **kwargs)


def outcomes(result: Any) -> list[tuple[str, str | None, str]]:
    return [(s.extension, s.status, s.outcome) for s in result.steps]


def test_later_extensions_see_earlier_metadata_under_their_origin(extensions: Path) -> None:
    result = pipeline(extensions, [
        entry("org-tag", name="doctype", value="policy"),
        entry("org-tag", "%[doctype] == 'policy'", name="audience", value="everyone"),
    ], [entry("org-tag", "%[audience] == 'nobody'", name="never", value="x")]).run(DOC)
    assert result.status == "SUCCESS"
    assert outcomes(result) == [("tag", "SUCCESS", "applied"), ("tag", "SUCCESS", "applied"), ("tag", None, "not-run")]
    assert [s.condition_value for s in result.steps] == [True, True, False]
    assert result.metadata("audience") == ["everyone"]
    assert [origin for origin, _ in result.document.metadata] == ["crawler", "tag", "tag"]
    assert result.changes() == [("doctype", [], ["policy"]), ("audience", [], ["everyone"])]
    assert not result.errored


def test_a_false_condition_does_not_run_the_extension(extensions: Path) -> None:
    result = pipeline(extensions, [entry("org-crash", "%[filetype] == 'docx'")]).run(DOC)
    assert outcomes(result) == [("crash", None, "not-run")]
    assert result.steps[0].ran is False and result.steps[0].result is None
    assert result.document == result.input


def test_skip_extension_discards_the_changes_of_an_error_and_goes_on(extensions: Path) -> None:
    result = pipeline(extensions, [entry("org-crash"), entry("org-tag", name="after", value="1")]).run(DOC)
    assert result.status == "SUCCESS"
    assert outcomes(result) == [("crash", "EXECUTION_ERROR", "discarded"), ("tag", "SUCCESS", "applied")]
    assert result.metadata("half") == []
    assert result.metadata("after") == ["1"]
    assert result.errored
    assert "the service is down" in result.steps[0].reason


def test_reject_document_after_an_error_rejects_and_stops(extensions: Path) -> None:
    result = pipeline(extensions, [entry("org-crash", action="REJECT_DOCUMENT"), entry("org-tag", name="a", value="1")]).run(DOC)
    assert result.status == "REJECTED"
    assert result.reason.startswith("crash ended EXECUTION_ERROR and its actionOnError is REJECT_DOCUMENT: ")
    assert "the service is down" in result.reason
    assert outcomes(result) == [("crash", "EXECUTION_ERROR", "rejected"), ("tag", None, "not-run")]
    assert result.steps[1].condition_value is None  # never reached


def test_a_timeout_follows_action_on_error(extensions: Path) -> None:
    result = pipeline(extensions, [entry("org-slow"), entry("org-tag", name="a", value="1")], timeout=0.3).run(DOC)
    assert outcomes(result) == [("slow", "TIMEOUT", "discarded"), ("tag", "SUCCESS", "applied")]
    assert result.metadata("slow") == []


def test_reject_ends_the_document_whatever_the_action_on_error(extensions: Path) -> None:
    result = pipeline(extensions, [entry("org-reject"), entry("org-tag", name="a", value="1")]).run(DOC)
    assert result.status == "REJECTED"
    assert result.reason == "not for the index"
    assert outcomes(result) == [("reject", "REJECTED", "rejected"), ("tag", None, "not-run")]
    assert not result.errored


def test_skip_lets_the_item_go_on_without_the_changes(extensions: Path) -> None:
    result = pipeline(extensions, [entry("org-skip"), entry("org-tag", name="a", value="1")]).run(DOC)
    assert outcomes(result) == [("skip", "SKIPPED", "discarded"), ("tag", "SUCCESS", "applied")]
    assert result.metadata("ignored") == []
    assert not result.errored


def test_pre_conversion_runs_before_post_conversion_whatever_the_file_order(extensions: Path) -> None:
    source = {"postConversionExtensions": [entry("org-tag", "%[first]", name="second", value="2")],
              "preConversionExtensions": [entry("org-tag", name="first", value="1")]}
    result = Pipeline(source, extensions=extensions, vault={}).run(DOC)
    assert [s.stage for s in result.steps] == ["PRE_CONVERSION", "POST_CONVERSION"]
    assert result.metadata("second") == ["2"]


def test_match_by_name_when_no_manifest_has_the_id(make_extension: Any, tmp_path: Path) -> None:
    make_extension(TAG, name="Tagger", manifest={})
    result = Pipeline({"preConversionExtensions": [entry("tagger", name="k", value="v")]},
                      extensions=tmp_path, vault={}).run(DOC)
    assert result.steps[0].extension == "Tagger"
    assert result.metadata("k") == ["v"]


def test_an_unmatched_id_lists_what_was_found(extensions: Path) -> None:
    with pytest.raises(HarnessError) as error:
        pipeline(extensions, [entry("org-tag"), entry("org-missing")])
    message = str(error.value)
    assert "$.preConversionExtensions[1].extensionId" in message
    assert "'org-missing'" in message
    assert "tag (id org-tag)" in message and "crash (id org-crash)" in message


def test_each_extension_sees_only_its_own_vault_scope(make_extension: Any, tmp_path: Path) -> None:
    script = 'document.add_meta_data({"has_key": "api_key" in vault_parameters})'
    make_extension(script, name="scoped", manifest={"id": "org-scoped"})
    make_extension(script, name="other", manifest={"id": "org-other"})
    vault_file = tmp_path / "vault.json"
    vault_file.write_text(json.dumps([{"key": "api_key", "value": "fake-key-0123456789",
                                       "scopes": [{"id": "org-scoped", "resourceType": "EXTENSION"}]}]))
    source = {"preConversionExtensions": [entry("org-scoped"), entry("org-other")]}
    result = Pipeline(source, extensions=tmp_path, vault=load_vault(vault_file=vault_file, environ={})).run(DOC)
    assert [s.result.metadata("has_key") for s in result.steps if s.result] == [[True], [False]]


def test_a_leak_in_any_step_is_reported(make_extension: Any, tmp_path: Path) -> None:
    make_extension('log("key is " + vault_parameters["api_key"])', name="leaky", manifest={"id": "org-leaky"})
    source = {"preConversionExtensions": [entry("org-leaky")]}
    result = Pipeline(source, extensions=tmp_path, vault={"api_key": "fake-key-0123456789"}).run(DOC)
    assert result.leaks and result.leaks[0].key == "api_key"
    assert "fake-key-0123456789" not in json.dumps(result.to_json())


def test_default_documents_are_those_of_every_extension_involved(make_extension: Any, tmp_path: Path) -> None:
    make_extension(TAG, name="one", manifest={"id": "org-one"}, documents={"b.json": DOC, "a.json": DOC})
    make_extension(TAG, name="two", manifest={"id": "org-two"}, documents={"c.json": DOC})
    make_extension(TAG, name="unused", manifest={"id": "org-unused"}, documents={"z.json": DOC})
    pipe = Pipeline({"preConversionExtensions": [entry("org-two", name="n", value="v"), entry("org-one", name="n", value="v")]},
                    extensions=tmp_path, vault={})
    assert [p.name for p in pipe.documents()] == ["c.json", "a.json", "b.json"]


def test_to_json_has_the_test_api_document_and_the_steps(extensions: Path) -> None:
    data = pipeline(extensions, [entry("org-tag", "%[filetype] == 'pdf'", name="k", value="v")]).run(DOC).to_json()
    assert data["result"] == {"status": "SUCCESS", "reason": ""}
    assert data["document"]["metadata"][-1] == {"origin": "tag", "values": {"k": ["v"]}}
    step = data["steps"][0]
    assert {k: step[k] for k in ("extension", "extensionId", "stage", "condition", "ran", "status", "outcome",
                                 "actionOnError")} == {
        "extension": "tag", "extensionId": "org-tag", "stage": "PRE_CONVERSION", "condition": "%[filetype] == 'pdf'",
        "ran": True, "status": "SUCCESS", "outcome": "applied", "actionOnError": "SKIP_EXTENSION"}


@pytest.mark.parametrize(("source", "message"), [
    ([], "$: expected the source object"),
    ({"name": "x"}, "$: no preConversionExtensions or postConversionExtensions"),
    ({"preConversionExtensions": {}}, "$.preConversionExtensions: expected a list"),
    ({"preConversionExtensions": ["x"]}, "$.preConversionExtensions[0]: expected an object"),
    ({"preConversionExtensions": [{"condition": ""}]}, "$.preConversionExtensions[0].extensionId: expected"),
    ({"postConversionExtensions": [{"extensionId": "a", "actionOnError": "SKIP"}]},
     "$.postConversionExtensions[0].actionOnError: expected SKIP_EXTENSION or REJECT_DOCUMENT, found 'SKIP'"),
    ({"postConversionExtensions": [{"extensionId": "a", "condition": "%[a] == %[b]"}]},
     "$.postConversionExtensions[0].condition: column 9: a metadata cannot be compared"),
    ({"postConversionExtensions": [{"extensionId": "a", "condition": 3}]}, "$.postConversionExtensions[0].condition: expected"),
    ({"preConversionExtensions": [{"extensionId": "a", "parameters": []}]}, "$.preConversionExtensions[0].parameters"),
    ({"preConversionExtensions": [{"extensionId": "a", "parameters": {"p": {}}}]}, "$.preConversionExtensions[0].parameters.p"),
])
def test_bad_sources_name_the_json_path(source: Any, message: str) -> None:
    with pytest.raises(HarnessError) as error:
        parse_source(source, "SOURCE.json")
    assert str(error.value).startswith("SOURCE.json: ")
    assert message in str(error.value)


def test_the_source_api_model_and_the_two_lists_alone_read_the_same() -> None:
    lists = {"preConversionExtensions": [entry("a", "%[x]")], "postConversionExtensions": [entry("b")]}
    model = {"id": "org-src", "name": "Intranet", "sourceType": "SITEMAP", **lists}
    assert parse_source(model).steps == parse_source(lists).steps
    assert parse_source(model).name == "Intranet"
    step = parse_source({"preConversionExtensions": [{"extensionId": "a"}]}).steps[0]
    assert step.action_on_error == "SKIP_EXTENSION" and step.condition.evaluate({})


def test_item_type_and_stage_mismatches_are_warned(make_extension: Any, tmp_path: Path) -> None:
    make_extension(TAG, name="late", manifest={"id": "org-late", "stage": "post"})
    source = {"preConversionExtensions": [{**entry("org-late", name="k", value="v"), "itemType": "Page"}]}
    pipe = Pipeline(source, extensions=tmp_path, vault={})
    assert pipe.warnings == [
        "$.preConversionExtensions[0]: late is a post-conversion extension (its extension.json) applied at pre-conversion",
        "$.preConversionExtensions[0].itemType: 'Page' is not applied locally (item types come from the source's "
        "crawler): the step runs on every document",
    ]
    assert pipe.run(DOC).metadata("k") == ["v"]


def test_no_stage_warning_when_the_manifest_does_not_say_its_stage(make_extension: Any, tmp_path: Path) -> None:
    make_extension(TAG, name="plain", manifest={"id": "org-plain"})
    pipe = Pipeline({"postConversionExtensions": [entry("org-plain", name="k", value="v")]}, extensions=tmp_path, vault={})
    assert pipe.warnings == []
